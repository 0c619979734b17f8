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
  /** Connect, read, write errors and timeouts (a timed-out request has no latency sample). */
  errors: number;
  /** Answers of status 400 and above (wrk counts only those; autocannon counts every non-2xx unless told otherwise). */
  non2xx: number;
  /** Answers by status code, when the run was asked to count them (`countStatuses`). */
  statuses?: Record<string, number>;
}

export interface LoadOptions {
  /** Sent with every request, e.g. a player's `Authorization: Token …` or `If-None-Match`. */
  headers?: Record<string, string>;
  /** Report errors and non-2xx answers in the result instead of throwing (a server that falls over is a figure). */
  allowErrors?: boolean;
  /** Count answers by status code (wrk then runs a Lua hook per response, which costs it some speed). */
  countStatuses?: boolean;
  /** A request still unanswered after this long is a timeout (default 10 s). */
  timeoutSeconds?: number;
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
  io.write(string.format('{"requests":%d,"durationUs":%d,"bytes":%d,"errors":%d,"non2xx":%d,"p50Us":%d,"p99Us":%d,"statuses":%s}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), statuses_json()))
end
statuses_json = function() return "{}" end
`;

/**
 * Added to the report when statuses are counted: each thread counts its answers by `answer_key` (the status code
 * unless a script says more), `done` adds them up.
 */
const WRK_STATUS_COUNTS = `
local threads = {}
setup = function(thread) table.insert(threads, thread) end
counts = {}
answer_key = function(status, body) return status end
response = function(status, headers, body)
  local key = answer_key(status, body)
  counts[key] = (counts[key] or 0) + 1
end
statuses_json = function()
  local total = {}
  for _, thread in ipairs(threads) do
    for key, n in pairs(thread:get("counts")) do total[key] = (total[key] or 0) + n end
  end
  local parts = {}
  for key, n in pairs(total) do table.insert(parts, string.format('"%s":%d', tostring(key), n)) end
  return "{" .. table.concat(parts, ",") .. "}"
end
`;

const round = (n: number, digits = 3) => +n.toFixed(digits);

/** `connections` keep-alive connections sending GET `url` for `seconds`; any error or non-2xx answer throws unless `allowErrors`. */
export async function loadGet(url: string, connections: number, seconds: number, options: LoadOptions = {}): Promise<LoadResult> {
  const result = await (loadTool === "wrk" ? wrk(url, connections, seconds, options) : autocannonRun(url, connections, seconds, options));
  if (!options.allowErrors && (result.non2xx > 0 || result.errors > 0)) throw new Error(`${url}: ${result.non2xx} non-2xx answers and ${result.errors} errors`);
  return result;
}

async function autocannonRun(url: string, connections: number, seconds: number, options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({ url, connections, duration: seconds, pipelining: 1, headers: options.headers, timeout: options.timeoutSeconds ?? 10 });
  // A 304 is the answer a conditional GET asks for, not a failure.
  const notModified = result.statusCodeStats?.["304"]?.count ?? 0;
  return {
    reqPerSec: round(result.requests.average, 0),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    throughputMBps: round(result.throughput.average / 2 ** 20, 1),
    requests: result.requests.total,
    errors: result.errors,
    non2xx: result.non2xx - notModified,
    ...(options.countStatuses ? { statuses: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count ?? 0])) } : {}),
  };
}

function wrk(url: string, connections: number, seconds: number, options: LoadOptions): Promise<LoadResult> {
  return runWrk(url, connections, seconds, options, options.countStatuses ? WRK_STATUS_COUNTS : "");
}

/**
 * wrk driven by a Lua script of the caller's (it may define `init`, `request`, and `answer_key(status, body)` to
 * count answers by more than their status), with the same report as loadGet and the counts as `statuses`.
 * `env` reaches the script through os.getenv (file names of its data, say). Used where each request differs, as
 * attempts do: wrk's C and LuaJIT leave the two cores to the server, where a JavaScript generator took one.
 */
export function loadScript(url: string, connections: number, seconds: number, script: string, options: LoadOptions & { env?: Record<string, string> } = {}): Promise<LoadResult> {
  if (loadTool !== "wrk") throw new Error("a scripted load needs wrk (apt-get install wrk)");
  return runWrk(url, connections, seconds, { ...options, countStatuses: true }, WRK_STATUS_COUNTS + script, options.env);
}

async function runWrk(url: string, connections: number, seconds: number, options: LoadOptions, lua: string, env: Record<string, string> = {}): Promise<LoadResult> {
  const dir = mkdtempSync(resolve(tmpdir(), "flaghost-wrk-"));
  try {
    const script = resolve(dir, "report.lua");
    writeFileSync(script, WRK_REPORT + lua);
    const headers = Object.entries(options.headers ?? {}).flatMap(([name, value]) => ["-H", `${name}: ${value}`]);
    const args = ["-t1", `-c${connections}`, `-d${seconds}s`, "--timeout", `${options.timeoutSeconds ?? 10}s`, ...headers, "-s", script, url];
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.stderr.on("data", (chunk) => (err += chunk));
    const code = await new Promise<number | null>((done) => child.once("exit", done));
    const line = out.trim().split("\n").at(-1) ?? "";
    if (code !== 0 || !line.startsWith("{")) throw new Error(`wrk ${url} exited with ${code}: ${err || out}`);
    const report = JSON.parse(line) as { requests: number; durationUs: number; bytes: number; errors: number; non2xx: number; p50Us: number; p99Us: number; statuses: Record<string, number> };
    const durationS = report.durationUs / 1e6;
    return {
      reqPerSec: round(report.requests / durationS, 0),
      p50Ms: round(report.p50Us / 1000),
      p99Ms: round(report.p99Us / 1000),
      throughputMBps: round(report.bytes / durationS / 2 ** 20, 1),
      requests: report.requests,
      errors: report.errors,
      non2xx: report.non2xx,
      ...(options.countStatuses ? { statuses: report.statuses } : {}),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
