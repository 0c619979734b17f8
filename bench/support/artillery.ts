import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
export const artilleryDir = resolve(root, "bench/event/artillery");
const artilleryBin = resolve(artilleryDir, "node_modules/artillery/bin/run");

/**
 * Installs Artillery (pinned in bench/event/artillery/package-lock.json) on first use. It is not a dependency of the
 * project: with its own browser tooling it is about 590 MB, which CI and hosts would install for nothing.
 */
export async function ensureArtillery(): Promise<void> {
  if (existsSync(artilleryBin)) return;
  console.log("installing Artillery 2.0.21 into bench/event/artillery (first use, about a minute)…");
  const child = spawn("npm", ["ci", "--prefix", artilleryDir, "--no-audit", "--no-fund"], {
    cwd: root,
    env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: "1" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const code = await new Promise<number | null>((done) => child.once("exit", done));
  if (code !== 0 || !existsSync(artilleryBin)) throw new Error(`npm ci --prefix bench/event/artillery exited with ${code}`);
}

/** A running `artillery run`: its pid (for CPU figures) and its end. */
export interface ArtilleryRun {
  pid: number;
  done: Promise<number | null>;
}

/** Runs `artillery run -o <report> <script>`; its console summary goes to `onLine` (one line at a time). */
export function runArtillery(script: string, report: string, env: Record<string, string>, onLine: (line: string) => void): ArtilleryRun {
  const child = spawn(process.execPath, [artilleryBin, "run", "--output", report, script], {
    cwd: artilleryDir,
    // No telemetry to Artillery's servers from a benchmark.
    env: { ...process.env, ARTILLERY_DISABLE_TELEMETRY: "true", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let buffered = "";
  const split = (chunk: Buffer) => {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) onLine(line);
  };
  child.stdout!.on("data", split);
  child.stderr!.on("data", split);
  return { pid: child.pid!, done: new Promise((done) => child.once("exit", done)) };
}

/** The parts of Artillery's JSON report the benchmark reads. */
export interface ArtillerySummary {
  min: number;
  max: number;
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
}
export interface ArtilleryPeriod {
  counters: Record<string, number>;
  summaries: Record<string, ArtillerySummary>;
  period: string | number;
  firstMetricAt: number;
  lastMetricAt: number;
}
export interface ArtilleryReport {
  aggregate: ArtilleryPeriod;
  intermediate: ArtilleryPeriod[];
}
