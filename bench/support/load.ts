import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { resolve } from "node:path";
import autocannon from "autocannon";

/** One load run's figures. */
export interface LoadResult {
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  throughputMBps: number;
  requests: number;
}

/**
 * The load generator for plain GETs: wrk when it is installed (`apt-get install wrk`), else autocannon.
 * On a 2-core machine the generator shares the cores with the server it measures; wrk (C, one thread) costs a
 * fraction of what autocannon (JavaScript) costs per request, so a fast server, and a bare node:http ceiling,
 * are not capped by the generator. BENCH_LOAD_TOOL=autocannon forces autocannon.
 */
export const loadTool: "wrk" | "autocannon" =
  process.env.BENCH_LOAD_TOOL !== "autocannon" && spawnSync("wrk", ["--version"], { stdio: "ignore" }).error === undefined ? "wrk" : "autocannon";

/** wrk's report as one JSON line (its `done` hook); latencies are in microseconds. */
const WRK_REPORT = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"durationUs":%d,"bytes":%d,"errors":%d,"non2xx":%d,"p50Us":%d,"p99Us":%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
`;

const round = (n: number, digits = 3) => +n.toFixed(digits);

/** `connections` keep-alive connections sending GET `url` for `seconds`; any error or non-2xx answer throws. */
export async function loadGet(url: string, connections: number, seconds: number): Promise<LoadResult> {
  return loadTool === "wrk" ? wrk(url, connections, seconds) : autocannonRun(url, connections, seconds);
}

async function autocannonRun(url: string, connections: number, seconds: number): Promise<LoadResult> {
  const result = await autocannon({ url, connections, duration: seconds, pipelining: 1 });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers and ${result.errors} errors`);
  return {
    reqPerSec: round(result.requests.average, 0),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    throughputMBps: round(result.throughput.average / 2 ** 20, 1),
    requests: result.requests.total,
  };
}

async function wrk(url: string, connections: number, seconds: number): Promise<LoadResult> {
  const dir = mkdtempSync(resolve(tmpdir(), "flaghost-wrk-"));
  try {
    const script = resolve(dir, "report.lua");
    writeFileSync(script, WRK_REPORT);
    const child = spawn("wrk", ["-t1", `-c${connections}`, `-d${seconds}s`, "--timeout", "10s", "-s", script, url], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.stderr.on("data", (chunk) => (err += chunk));
    const code = await new Promise<number | null>((done) => child.once("exit", done));
    const line = out.trim().split("\n").at(-1) ?? "";
    if (code !== 0 || !line.startsWith("{")) throw new Error(`wrk ${url} exited with ${code}: ${err || out}`);
    const report = JSON.parse(line) as { requests: number; durationUs: number; bytes: number; errors: number; non2xx: number; p50Us: number; p99Us: number };
    if (report.non2xx > 0 || report.errors > 0) throw new Error(`${url}: ${report.non2xx} non-2xx answers and ${report.errors} errors`);
    const durationS = report.durationUs / 1e6;
    return {
      reqPerSec: round(report.requests / durationS, 0),
      p50Ms: round(report.p50Us / 1000),
      p99Ms: round(report.p99Us / 1000),
      throughputMBps: round(report.bytes / durationS / 2 ** 20, 1),
      requests: report.requests,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
