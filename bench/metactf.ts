/**
 * `npm run bench -- metactf`: the MetaCTF sync's API budget and staleness on the `large` dataset (300 competitors
 * with six months of activity), against the mock platform with 50 ms latency per call.
 *
 * flaghost (core/ctf + metactf-sync, embedded PGlite, or real Postgres/Redis when DATABASE_URL/REDIS_URL are set)
 * runs in this process; its 300 users are onboarded (each found on the platform: one lookup). Then:
 *  - the first cycle: every competitor's whole ODL history once, the first totals and the first Flash CTF fetch;
 *  - two simulated days of the schedule (ODL every 30 min = 48 runs a day, totals hourly, Flash CTF daily), run on
 *    demand back to back, with simulated activity: 30 "active" competitors solving with a chance of 1 in 4 per
 *    half hour, the other 270 once a month on average; a new Flash CTF on day 2.
 * It reports API calls per day (against the naive 14,400: every competitor every 30 min), wall time per run, and
 * how stale an active and an inactive competitor's scores get: from the half hour a solve happened in to the run
 * that synced it (for active competitors also counted from the moment the sync first saw them active, as an active
 * competitor is discovered by the rotation). Activity windows use real solve times while the days are simulated
 * back to back: "active within activeDays" covers the whole simulation. Prints figures and writes bench/results/metactf.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { resolve } from "node:path";
import { loadConfig } from "../core/kernel/config.js";
import { Kernel } from "../core/kernel/kernel.js";
import { metactfConfig } from "../plugins/metactf-sync/config.js";
import { random } from "../plugins/metactf-sync/mock/datasets.js";
import { startMockServer } from "../plugins/metactf-sync/mock/server.js";
import { dropSchema } from "../test/helpers/kernel.js";

const root = resolve(import.meta.dirname, "..");
const COMPETITORS = 300;
const LATENCY_MS = 50;
const RUNS_PER_DAY = 48;
const DAYS = 2;
const ACTIVE = 30;
const ACTIVE_CHANCE = 0.25; // per half hour
const INACTIVE_CHANCE = 1 / (30 * RUNS_PER_DAY); // about once a month
const ADMIN_TOKEN = "bench-admin-token-0123456789abcdef";
const API_TOKEN = "bench-metactf-token";
const databaseUrl = process.env.DATABASE_URL || undefined;
const redisUrl = process.env.REDIS_URL || undefined;
const backend = databaseUrl ? `postgres${redisUrl ? " + redis" : ""}` : "embedded PGlite + in-process";
const schema = `bench_metactf_${Date.now()}`;

// The mock's deterministic PRNG, so two runs of the bench simulate the same activity.
const rand = random(15);

const mock = await startMockServer({ token: API_TOKEN, dataset: "large" });
const mockAdmin = (path: string, method = "GET", body?: unknown) =>
  fetch(`${mock.url}/__admin${path}`, { method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined }).then((r) => r.json() as Promise<any>);
await mockAdmin("/faults", "POST", { latencyMs: LATENCY_MS });

process.env.METACTF_API_TOKEN = API_TOKEN;
const NEVER = "0 0 1 1 *"; // the bench runs every job itself
const config = loadConfig({
  root,
  env: {},
  overrides: {
    host: "127.0.0.1",
    port: 0,
    dataDir: "memory:",
    databaseUrl,
    databaseSchema: databaseUrl ? schema : "public",
    redisUrl,
    redisKeyPrefix: `${schema}:`,
    adminToken: ADMIN_TOKEN,
    log: { level: "silent" },
    pluginPaths: [resolve(root, "core/ctf"), resolve(root, "plugins/metactf-sync")],
    plugins: { "metactf-sync": { enabled: true, baseUrl: mock.baseUrl, odlCron: NEVER, totalsCron: NEVER, flashCron: NEVER, rosterCron: NEVER } },
  },
});
const kernel = new Kernel(config);
await kernel.listen(); // the plugin reads the token while it registers
delete process.env.METACTF_API_TOKEN;
const { enabled: _enabled, ...slice } = config.plugins["metactf-sync"]!;
/** The plugin's effective settings (its defaults, as the bench sets only the URL and the crons). */
const settings = metactfConfig.parse(slice);

async function api(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(kernel.url + path, {
    method,
    headers: { authorization: `Token ${ADMIN_TOKEN}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const parsed = (await response.json()) as any;
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(parsed)}`);
  return parsed.data;
}

interface Run {
  batch: number[];
  processed: number;
  withNewData: number;
  apiCalls: number;
  durationMs: number;
  errors: unknown[];
}
const runJob = async (job: string): Promise<Run> => (await api("POST", `/api/v1/admin/jobs/metactf-sync.${job}/run`)).result;

async function inChunks<T>(items: T[], size: number, work: (item: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(work));
}

// ---- setup: 300 users with the ids the dataset uses (2..301), onboarded -----------------------------------------
console.log(`metactf bench: ${COMPETITORS} competitors, mock latency ${LATENCY_MS} ms, ${backend}`);
let started = performance.now();
await api("POST", "/api/v1/setup", { ctf_name: "Bench", user_mode: "users", name: "admin", email: "admin@bench.test", password: "admin-password-123" });
const userIds: number[] = [];
for (let n = 0; n < COMPETITORS; n++) {
  const user = await api("POST", "/api/v1/users", { name: `competitor${n + 1}`, email: `competitor${n + 1}@bench.test`, password: "player-password-1" });
  userIds.push(user.id);
}
if (userIds[0] !== 2 || userIds.at(-1) !== COMPETITORS + 1) throw new Error(`users got ids ${userIds[0]}..${userIds.at(-1)}, the dataset expects 2..${COMPETITORS + 1}`);
await inChunks(userIds, 10, async (id) => {
  await api("PUT", `/api/v1/metactf/competitors/${id}`, { first_name: "Competitor", last_name: String(id), email: `competitor${id}@bench.test`, status: "compliance" });
  await api("POST", `/api/v1/metactf/competitors/${id}/onboard`);
});
const onboardCalls = (await mockAdmin("/calls")).total;
console.log(`  setup: ${COMPETITORS} users onboarded in ${((performance.now() - started) / 1000).toFixed(1)} s (${onboardCalls} platform calls: one lookup each)`);

// ---- the first cycle: whole histories --------------------------------------------------------------------------
await mockAdmin("/calls", "DELETE");
const batchSize = settings.batchSize;
const firstCycleRuns: Run[] = [];
const cycleRuns = Math.ceil(COMPETITORS / batchSize);
started = performance.now();
for (let i = 0; i < cycleRuns; i++) firstCycleRuns.push(await runJob("odl"));
const firstTotals = await runJob("totals");
const firstFlash = await runJob("flash");
const firstCycle = {
  odlRuns: cycleRuns,
  odlCalls: sum(firstCycleRuns.map((r) => r.apiCalls)),
  totalsCalls: firstTotals.apiCalls,
  flashCalls: firstFlash.apiCalls,
  wallSeconds: +((performance.now() - started) / 1000).toFixed(1),
};
console.log(`  first cycle: ${firstCycle.odlRuns} ODL runs, ${firstCycle.odlCalls} ODL calls, ${firstCycle.flashCalls} Flash CTF calls, ${firstCycle.wallSeconds} s`);

// ---- two simulated days ----------------------------------------------------------------------------------------
const activeIds = new Set(userIds.slice(0, COMPETITORS).filter((_, i) => i % (COMPETITORS / ACTIVE) === 0));
/** Per competitor: the slots (half hours) of solves not synced yet. */
const pending = new Map<number, number[]>();
const staleness = { active: [] as number[], inactive: [] as number[], activeOnceKnown: [] as number[] };
/** Active competitors whose activity the sync has seen (a run brought their new solves): from then on they are "hot". */
const known = new Set<number>();
const perDay: Array<{ odl: number; totals: number; flash: number; roster: number; total: number }> = [];
const odlDurations: number[] = [];
const totalsDurations: number[] = [];
const flashDurations: number[] = [];
const nowUnix = () => Math.floor(Date.now() / 1000);

for (let day = 0; day < DAYS; day++) {
  const calls = { odl: 0, totals: 0, flash: 0, roster: 0, total: 0 };
  if (day === 1) {
    // A new Flash CTF ended yesterday, played by a third of the competitors.
    const start = nowUnix() - 2 * 86_400;
    const results = userIds.filter((_, i) => i % 3 === 0).map((id, rank) => ({ syned_user_id: `fh-u${id}`, rank: rank + 1, solved: 1 + (rank % 4) }));
    await mockAdmin("/flash_ctfs", "POST", { name: "Flash CTF bench", start_unix: start, end_unix: start + 86_400, results });
  }
  for (let slot = 0; slot < RUNS_PER_DAY; slot++) {
    const at = day * RUNS_PER_DAY + slot;
    for (const id of userIds) {
      if (rand() >= (activeIds.has(id) ? ACTIVE_CHANCE : INACTIVE_CHANCE)) continue;
      await mockAdmin("/solves", "POST", { syned_user_id: `fh-u${id}`, challenge: Math.floor(rand() * 40), timestamp_unix: nowUnix() });
      pending.set(id, [...(pending.get(id) ?? []), at]);
    }
    const odl = await runJob("odl");
    odlDurations.push(odl.durationMs);
    calls.odl += odl.apiCalls;
    for (const id of odl.batch) {
      const solves = pending.get(id) ?? [];
      for (const created of solves) {
        const minutes = (at - created + 1) * 30;
        (activeIds.has(id) ? staleness.active : staleness.inactive).push(minutes);
        if (activeIds.has(id) && known.has(id)) staleness.activeOnceKnown.push(minutes);
      }
      if (solves.length > 0) known.add(id);
      pending.delete(id);
    }
    if (slot % 2 === 1) {
      const totals = await runJob("totals");
      totalsDurations.push(totals.durationMs);
      calls.totals += totals.apiCalls;
    }
    if (slot === 12) {
      const flash = await runJob("flash");
      flashDurations.push(flash.durationMs);
      calls.flash += flash.apiCalls;
    }
  }
  // The roster job runs every minute; with no team linked (or none changed) it makes no call. Once a day each
  // linked team is checked in full: one call per team (none here).
  calls.total = calls.odl + calls.totals + calls.flash + calls.roster;
  perDay.push(calls);
  console.log(`  day ${day + 1}: ${calls.total} calls (ODL ${calls.odl}, totals ${calls.totals}, Flash CTF ${calls.flash}${day === 1 ? ", a new Flash CTF appeared" : ""})`);
}
const unsynced = [...pending.entries()].map(([id, slots]) => ({ id, active: activeIds.has(id), oldestMinutes: (DAYS * RUNS_PER_DAY - slots[0]!) * 30 }));

function sum(values: number[]) {
  return values.reduce((a, b) => a + b, 0);
}
function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return { n: 0 };
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  return { n: sorted.length, mean: +(sum(sorted) / sorted.length).toFixed(1), p50: at(0.5), p95: at(0.95), max: sorted.at(-1)! };
}

const results = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  backend,
  competitors: COMPETITORS,
  mockLatencyMs: LATENCY_MS,
  config: { batchSize, activeSlots: settings.activeSlots, activeDays: settings.activeDays },
  naiveCallsPerDay: COMPETITORS * RUNS_PER_DAY,
  onboardingCalls: onboardCalls,
  firstCycle,
  callsPerDay: perDay,
  // A day without a new Flash CTF, plus one month's Flash CTF fan-out spread over 30 days.
  callsPerDayMonthlyAverage: +(perDay[0]!.total + (perDay[1]!.flash - perDay[0]!.flash) / 30).toFixed(1),
  runWallMs: { odl: stats(odlDurations), totals: stats(totalsDurations), flash: stats(flashDurations) },
  stalenessMinutes: {
    active: stats(staleness.active),
    /** Active competitors' solves after the sync first saw them active (steady state, without discovery). */
    activeOnceKnown: stats(staleness.activeOnceKnown),
    inactive: stats(staleness.inactive),
    boundInactive: Math.ceil(COMPETITORS / batchSize) * 30,
    unsyncedAtEnd: unsynced,
  },
};

console.log(`\n  API calls per day: ${perDay.map((d) => d.total).join(", ")} (monthly average ${results.callsPerDayMonthlyAverage}; naive ${results.naiveCallsPerDay})`);
console.log(`  wall time per run (ms): ODL ${JSON.stringify(results.runWallMs.odl)}, totals ${JSON.stringify(results.runWallMs.totals)}, Flash CTF ${JSON.stringify(results.runWallMs.flash)}`);
console.log(`  staleness (minutes, solve to synced): active ${JSON.stringify(results.stalenessMinutes.active)}, once known active ${JSON.stringify(results.stalenessMinutes.activeOnceKnown)}; inactive ${JSON.stringify(results.stalenessMinutes.inactive)}; inactive bound ${results.stalenessMinutes.boundInactive}`);
if (unsynced.length > 0) console.log(`  not synced by the end: ${unsynced.length} competitor(s), oldest ${Math.max(...unsynced.map((u) => u.oldestMinutes))} min`);

await kernel.stop();
await mock.stop();
if (databaseUrl) await dropSchema(schema);
mkdirSync(resolve(root, "bench/results"), { recursive: true });
writeFileSync(resolve(root, "bench/results/metactf.json"), JSON.stringify(results, null, 2));
console.log(`\nwrote bench/results/metactf.json`);
process.exit(0);
