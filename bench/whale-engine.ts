/**
 * `npm run bench -- whale-engine`: the floor under whale's start times, the engine itself through whale's drivers
 * (no platform, no queue): for `docker` and `swarm` on the engine at DOCKER_HOST (`.ci/docker-engine start`),
 *  - one start at a time: `start()` (create + start, or service create), until `running`, until the port serves the
 *    flag, and `remove()`;
 *  - a herd with 4 starts in flight (whale's default `consumers`): starts per second until every port serves.
 * Prints figures and writes bench/results/whale-engine.json. BENCH_WHALE_SEQUENTIAL (default 15) and
 * BENCH_WHALE_HERD (default 40) set the counts. Host ports 31000-31999; removes everything it started.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { createEngineDriver, type ContainerSpec, type EngineDriver } from "../plugins/whale/engine/index.js";
import { eventually } from "../test/helpers/kernel.js";
import { firstLine } from "../test/helpers/tcp.js";

const root = resolve(import.meta.dirname, "..");
const SEQUENTIAL = Number(process.env.BENCH_WHALE_SEQUENTIAL ?? 15);
const HERD = Number(process.env.BENCH_WHALE_HERD ?? 40);
const IN_FLIGHT = 4;
const benchLabel = "flaghost.bench.whale-engine";

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
function summarize(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (v: number) => +v.toFixed(1);
  return { n: samples.length, meanMs: round(samples.reduce((a, b) => a + b, 0) / samples.length), p50Ms: round(percentile(sorted, 50)), p99Ms: round(percentile(sorted, 99)), maxMs: round(sorted.at(-1)!) };
}

function specFor(kind: string, n: number, hostPort: number): ContainerSpec {
  const startId = `bench-${kind}-${Date.now().toString(36)}-${n}`;
  return {
    name: `flaghost-whale-${startId}`,
    image: "flaghost/flag-server:test",
    env: { FLAG: `flag{${startId}}`, PORT: String(hostPort) },
    labels: { "flaghost.whale.start": startId, [benchLabel]: kind },
    memoryMb: 64,
    cpus: 0.25,
    network: "host",
    containerPort: hostPort,
    hostPort,
  };
}

async function untilRunning(driver: EngineDriver, id: string): Promise<void> {
  await eventually(async () => (await driver.inspect(id)).state === "running", 60_000, 20);
}

/** Starts one container and times each step up to its port serving the flag; leaves it running. */
async function timedStart(driver: EngineDriver, spec: ContainerSpec) {
  const t0 = performance.now();
  const { id } = await driver.start(spec);
  const started = performance.now();
  await untilRunning(driver, id);
  const running = performance.now();
  const line = await firstLine(spec.hostPort);
  if (line !== spec.env.FLAG) throw new Error(`port ${spec.hostPort} served ${line}, not the container's flag`);
  const serving = performance.now();
  return { id, startMs: started - t0, runningMs: running - t0, servingMs: serving - t0 };
}

async function benchDriver(kind: "docker" | "swarm", firstPort: number) {
  const driver = createEngineDriver({ driver: kind });
  await driver.ping();
  const removeAll = async () => {
    for (const info of await driver.list({ [benchLabel]: kind })) await driver.remove(info.id);
  };
  await removeAll();
  try {
    const start: number[] = [], running: number[] = [], serving: number[] = [], remove: number[] = [];
    for (let n = 0; n < SEQUENTIAL; n++) {
      const timed = await timedStart(driver, specFor(kind, n, firstPort + n));
      start.push(timed.startMs);
      running.push(timed.runningMs);
      serving.push(timed.servingMs);
      const t0 = performance.now();
      await driver.remove(timed.id);
      remove.push(performance.now() - t0);
    }
    const sequential = { start: summarize(start), untilRunning: summarize(running), untilServing: summarize(serving), remove: summarize(remove) };
    console.log(`${kind}: one at a time (${SEQUENTIAL})`, sequential);

    // The herd: IN_FLIGHT workers take the next start as soon as theirs serves, as whale's consumers do.
    let next = 0;
    const herdServing: number[] = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        for (let n = next++; n < HERD; n = next++) herdServing.push((await timedStart(driver, specFor(kind, 1000 + n, firstPort + 100 + n))).servingMs);
      }),
    );
    const wallS = (performance.now() - t0) / 1000;
    const herd = { starts: HERD, inFlight: IN_FLIGHT, wallS: +wallS.toFixed(2), startsPerS: +(HERD / wallS).toFixed(2), untilServing: summarize(herdServing) };
    console.log(`${kind}: herd`, herd);
    const r0 = performance.now();
    await removeAll();
    const removeHerdS = +((performance.now() - r0) / 1000).toFixed(2);
    console.log(`${kind}: removed the herd one by one in ${removeHerdS} s`);
    return { sequential, herd: { ...herd, removeOneByOneS: removeHerdS } };
  } finally {
    await removeAll();
    await driver.close();
  }
}

// Ports: docker 31000 + n (one at a time) and 31100 + n (herd), swarm the same from 31500.
if (SEQUENTIAL > 100 || HERD > 350) throw new Error("BENCH_WHALE_SEQUENTIAL ≤ 100 and BENCH_WHALE_HERD ≤ 350 (ports 31000-31999)");
const results = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  dockerHost: process.env.DOCKER_HOST ?? "(default socket)",
  docker: await benchDriver("docker", 31000),
  swarm: await benchDriver("swarm", 31500),
};
mkdirSync(resolve(root, "bench/results"), { recursive: true });
writeFileSync(resolve(root, "bench/results/whale-engine.json"), JSON.stringify(results, null, 2));
console.log("\nwrote bench/results/whale-engine.json");
process.exit(0);
