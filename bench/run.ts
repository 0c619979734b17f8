/**
 * `npm run bench`: the kernel's boot time and the scheduler's claim overhead per slot, on the embedded backends
 * and (when DATABASE_URL / REDIS_URL are set) on real Postgres and Redis. Prints figures and writes
 * bench/results/kernel.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { loadConfig } from "../core/kernel/config.js";
import { Kernel } from "../core/kernel/kernel.js";
import { RunStore } from "../core/kernel/scheduler/run-store.js";
import { dropSchema } from "../test/helpers/kernel.js";

// `npm run bench -- <name>` runs that benchmark instead (it exits when done); no argument runs this kernel bench.
if (process.argv[2] === "scoreboard") await import("./scoreboard.js");
if (process.argv[2] === "attempts") await import("./attempts.js");
if (process.argv[2] === "reads") await import("./reads.js");
if (process.argv[2] === "metactf") await import("./metactf.js");
if (process.argv[2] === "whale") await import("./whale.js");
if (process.argv[2] === "whale-engine") await import("./whale-engine.js"); // the engine's own start times: whale's floor
if (process.argv[2] === "phase2") await import("./phase2.js");
if (process.argv[2] === "event") await import("./event.js"); // issue 16: a compressed event on a cluster (--faults: with faults)

const root = resolve(import.meta.dirname, "..");
const plugins = [resolve(root, "docs/examples/countdown"), resolve(root, "test/fixtures/plugins/alpha"), resolve(root, "test/fixtures/plugins/beta")];

function kernelFor(backend: "embedded" | "postgres", schema: string): Kernel {
  const config = loadConfig({
    root,
    env: {},
    overrides: {
      host: "127.0.0.1",
      port: 0,
      dataDir: "memory:",
      databaseUrl: backend === "postgres" ? process.env.DATABASE_URL : undefined,
      databaseSchema: backend === "postgres" ? schema : "public",
      redisUrl: backend === "postgres" ? process.env.REDIS_URL : undefined,
      redisKeyPrefix: `${schema}:`,
      log: { level: "silent" },
      pluginPaths: plugins,
    },
  });
  return new Kernel(config);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const summarize = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: samples.length, meanMs: +(samples.reduce((a, b) => a + b, 0) / samples.length).toFixed(3), p50Ms: +percentile(sorted, 50).toFixed(3), p99Ms: +percentile(sorted, 99).toFixed(3) };
};

async function bootTime(backend: "embedded" | "postgres", runs: number) {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const schema = `bench_boot_${Date.now()}_${i}`;
    const started = performance.now();
    const kernel = kernelFor(backend, schema);
    await kernel.listen();
    const ready = await kernel.readiness();
    samples.push(performance.now() - started);
    if (!ready.ready) throw new Error(`kernel not ready: ${JSON.stringify(ready)}`);
    await kernel.stop();
    if (backend === "postgres") await dropSchema(schema);
  }
  return summarize(samples);
}

/** Claim + finish of one slot, as every scheduled run does it; and three instances racing for the same slot. */
async function claimOverhead(backend: "embedded" | "postgres", slots: number) {
  const schema = `bench_claim_${Date.now()}`;
  const kernel = kernelFor(backend, schema);
  await kernel.start();
  await kernel.scheduler.stop(); // measure the claim path alone, without live timers
  const store = new RunStore(kernel.db);
  const base = Date.UTC(2030, 0, 1);
  const request = (i: number, instance: string) => ({
    job: "bench.job",
    slot: new Date(base + i * 1000),
    claimKey: `bench.job@${new Date(base + i * 1000).toISOString()}`,
    trigger: "schedule" as const,
    instance,
    leaseMs: 30_000,
    overlap: false,
    instanceScoped: false,
  });
  const single: number[] = [];
  for (let i = 0; i < slots; i++) {
    const t0 = performance.now();
    const claim = await store.claim(request(i, "a"));
    await store.finish(claim!.run.id, "succeeded", null);
    single.push(performance.now() - t0);
  }
  const contended: number[] = [];
  let winners = 0;
  for (let i = slots; i < slots * 2; i++) {
    const t0 = performance.now();
    const results = await Promise.all(["a", "b", "c"].map((instance) => store.claim(request(i, instance))));
    const won = results.filter((r) => r?.outcome === "running");
    winners += won.length;
    await Promise.all(won.map((r) => store.finish(r!.run.id, "succeeded", null)));
    contended.push(performance.now() - t0);
  }
  await kernel.stop();
  if (backend === "postgres") await dropSchema(schema);
  if (winners !== slots) throw new Error(`expected exactly one winner per contended slot, got ${winners} for ${slots}`);
  return { uncontended: summarize(single), threeWayRace: summarize(contended) };
}

const backendsToRun: Array<"embedded" | "postgres"> = ["embedded", ...(process.env.DATABASE_URL ? (["postgres"] as const) : [])];
const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, plugins: plugins.length };
for (const backend of backendsToRun) {
  const boot = await bootTime(backend, 10);
  const claims = await claimOverhead(backend, 300);
  results[backend] = { bootTime: boot, claimPerSlot: claims };
  console.log(`\n${backend === "postgres" ? "Postgres + Redis" : "embedded PGlite + in-process"}`);
  console.log(`  boot to ready (${plugins.length} plugins, migrations on a fresh database): mean ${boot.meanMs} ms, p50 ${boot.p50Ms} ms, p99 ${boot.p99Ms} ms (n=${boot.n})`);
  console.log(`  claim + record per slot, one instance:     mean ${claims.uncontended.meanMs} ms, p50 ${claims.uncontended.p50Ms} ms, p99 ${claims.uncontended.p99Ms} ms (n=${claims.uncontended.n})`);
  console.log(`  claim per slot, three instances racing:    mean ${claims.threeWayRace.meanMs} ms, p50 ${claims.threeWayRace.p50Ms} ms, p99 ${claims.threeWayRace.p99Ms} ms (n=${claims.threeWayRace.n}, one winner each)`);
}
if (!process.env.DATABASE_URL) console.log("\n(DATABASE_URL not set: Postgres figures not measured)");
mkdirSync(resolve(root, "bench/results"), { recursive: true });
writeFileSync(resolve(root, "bench/results/kernel.json"), JSON.stringify(results, null, 2));
console.log(`\nwrote bench/results/kernel.json`);
process.exit(0);
