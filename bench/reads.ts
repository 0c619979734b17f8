/**
 * `npm run bench -- reads [--players N] [--solves M] [--challenges C] [--mode users|teams]`: the reads every player
 * makes (issue 12), measured through HTTP on real Postgres and Redis, each beside a bare Node server sending the
 * same bytes in the same run.
 *
 *  1. `flaghost migrate` into a fresh schema, then an event of N players and M solves (default 10,000 and 200,000),
 *     with wrong submissions, awards, hint unlocks and hidden and banned accounts, written with set-based SQL
 *     (support/event-seed.ts); seeding time is reported.
 *  2. flaghost serves it as its own process (`flaghost start`, core/ctf and the scoreboard, as events run). For each read (the challenge list, one
 *     challenge, /users/me, /teams/me in team mode or /users/:id in user mode, /users?page=1): 50 keep-alive
 *     connections of one signed-in player (an API token) for a fixed time, alternating with a bare node:http process
 *     answering the same bytes captured from flaghost. Req/s, p50, p99, errors, the ratio to bare Node, and the
 *     target (>= 0.5 of bare Node, p99 < 20 ms).
 *  3. Attempts during the read load: a second load generator posts correct and wrong attempts from every player
 *     while the challenge list is read (target >= 1,500 attempts/s, p99 < 50 ms).
 *  4. Memory of the flaghost process after warm-up (RSS, heap), and at the end what the event holds in memory (read
 *     models, the scoreboard's engine, cached answers): the live heap after a full collection, read through the V8
 *     inspector, minus the same figure for a flaghost on an empty event.
 *  6. After warm-up, both consistency jobs (core/ctf's read models, the scoreboard) run once: their time and whether
 *     fingerprints sufficed on the quiet event (they should; a full load means the fingerprints disagree).
 *  5. Conditional GETs: each read again with If-None-Match of its ETag; the share of 304 answers.
 * Prints figures and writes bench/results/reads.json. BENCH_DURATION_S (default 10) sets each measurement;
 * `--only reads` or `--only attempts` measures one part and writes nothing (for profiling one load).
 */
import { cpus, loadavg, tmpdir } from "node:os";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import pg from "pg";
import { dropSchema } from "../test/helpers/kernel.js";
import { capture, startBare, type CapturedAnswer } from "./support/bare.js";
import { seedEvent, type EventSpec, type SeededEvent } from "./support/event-seed.js";
import { loadGet, loadTool, type LoadResult } from "./support/load.js";
import { attemptLoad, warmCallers } from "./support/attempt-load.js";
import { cpuSeconds, dropRedisKeys, migrateFlaghost, processMemory, startFlaghost } from "./support/processes.js";
import { liveHeapMb } from "./support/heap.js";

const root = resolve(import.meta.dirname, "..");
const CONNECTIONS = 50;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
/** Rounds per read, alternating flaghost and bare Node: the machine's speed drifts, each side's figure is its median round. */
const ROUNDS = 3;
/** A round lasts BENCH_DURATION_S / 2, at least this long. */
const MIN_ROUND_S = 3;
/**
 * wrk only counts requests answered before a run ends, so a read slower than a few seconds would have its latency
 * cut off at the round's length. A slow read's flaghost rounds last three times its expected latency (connections
 * divided by the warm-up's rate: Little's law), up to this long.
 */
const MAX_SLOW_ROUND_S = 20;
/** A slow server's requests may take seconds: wait this long before counting a timeout. */
const TIMEOUT_S = 20;
const TARGET = { ratio: 0.5, p99Ms: 20, attemptsPerSec: 1500, attemptsP99Ms: 50 };
const ADMIN_TOKEN = randomBytes(24).toString("hex");

const databaseUrl = process.env.DATABASE_URL ?? "";
const redisUrl = process.env.REDIS_URL ?? "";
if (!databaseUrl || !redisUrl) {
  console.error("bench reads needs DATABASE_URL and REDIS_URL (real Postgres and Redis)");
  process.exit(1);
}

const round = (n: number, digits = 2) => +n.toFixed(digits);

/** The event's size from the command line: the issue's sizes unless told. */
const PARTS = ["reads", "attempts"] as const;
type Part = (typeof PARTS)[number];

/** `--only reads|attempts` measures one part (for profiling one load); such a run does not replace the results of record. */
function onlyPart(): Part | null {
  const only = options().only;
  if (only === undefined) return null;
  if (!(PARTS as readonly string[]).includes(only)) throw new Error(`--only must be one of ${PARTS.join(", ")}, not ${only}`);
  return only as Part;
}

function options() {
  return parseArgs({
    args: process.argv.slice(3),
    options: { players: { type: "string" }, solves: { type: "string" }, challenges: { type: "string" }, mode: { type: "string" }, "team-size": { type: "string" }, only: { type: "string" } },
    strict: true,
  }).values;
}

function eventSpec(): EventSpec {
  const values = options();
  const count = (name: string, value: string | undefined, fallback: number) => {
    const n = value === undefined ? fallback : Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive whole number, not ${value}`);
    return n;
  };
  const mode = values.mode ?? "users";
  if (mode !== "users" && mode !== "teams") throw new Error(`--mode must be users or teams, not ${mode}`);
  const players = count("players", values.players, 10_000);
  return {
    mode,
    players,
    solves: count("solves", values.solves, 200_000),
    // An event of a few hundred players has a few dozen challenges; a big one a few hundred.
    challenges: count("challenges", values.challenges, players >= 2_000 ? 300 : 50),
    teamSize: count("team-size", values["team-size"], 4),
  };
}

/** A read the benchmark measures: its label in the report and the path it GETs. */
interface Read {
  name: string;
  path: string;
}

/** The reads of issue 12, as the signed-in reader makes them. */
function readsOf(spec: EventSpec, event: SeededEvent): Read[] {
  // Another player's profile (the reader is the middle one): a player three quarters down the list.
  const other = event.players[Math.floor((event.players.length * 3) / 4)]!;
  return [
    { name: "challenge list", path: "/api/v1/challenges" },
    { name: "one challenge", path: `/api/v1/challenges/${event.challengeIds[0]}` },
    { name: "own profile", path: "/api/v1/users/me" },
    spec.mode === "teams" ? { name: "own team", path: "/api/v1/teams/me" } : { name: "another profile", path: `/api/v1/users/${other.userId}` },
    { name: "account list", path: "/api/v1/users?page=1" },
  ];
}

/** Waits until flaghost has worked off what a load run left in flight: its next answer to `url` comes back. */
async function drain(url: string, headers: Record<string, string>): Promise<void> {
  await fetch(url, { headers, signal: AbortSignal.timeout(120_000) }).then((r) => r.arrayBuffer());
}

interface ReadFigures {
  flaghost: LoadResult;
  bareNode: LoadResult;
  ratio: number;
  targetMet: boolean;
  /**
   * Server CPU (user + system, every thread) per answered request, in microseconds, median of the rounds. The load
   * tool shares the two cores, so req/s also moves with how much CPU it gets; these say what each server spends.
   */
  cpuUsPerRequest: { flaghost: number | null; bareNode: number | null };
  rounds: { flaghostReqPerSec: number[]; bareNodeReqPerSec: number[]; flaghostCpuUs: (number | null)[]; bareNodeCpuUs: (number | null)[]; flaghostSeconds: number; bareNodeSeconds: number };
}

/** A server under measurement: where to send requests, and its process (for its CPU time). */
interface Side {
  url: string;
  pid: number;
}

/** One load run on `side`, with the server's CPU microseconds per answered request over it. */
async function measuredRun(side: Side, path: string, seconds: number, options: Parameters<typeof loadGet>[3]): Promise<{ run: LoadResult; cpuUs: number | null }> {
  const before = cpuSeconds(side.pid);
  const run = await loadGet(side.url + path, CONNECTIONS, seconds, options);
  const after = cpuSeconds(side.pid);
  const answered = run.requests - run.errors;
  return { run, cpuUs: before === null || after === null || answered <= 0 ? null : Math.round(((after - before) * 1e6) / answered) };
}

/** How long each round of a read lasts: flaghost's longer when the warm-up showed it slow (MAX_SLOW_ROUND_S). */
function roundSeconds(warm: LoadResult) {
  const base = Math.max(MIN_ROUND_S, Math.round(DURATION_S / 2));
  const expectedLatencyS = warm.reqPerSec > 0 ? CONNECTIONS / warm.reqPerSec : Infinity;
  return { flaghost: Math.max(base, Math.min(MAX_SLOW_ROUND_S, Math.ceil(3 * expectedLatencyS))), bare: base };
}

/** ROUNDS alternating runs of flaghost and the bare server on one read; each side's median round. */
async function measureRead(flaghost: Side, bare: Side, path: string, headers: Record<string, string>, warm: LoadResult): Promise<ReadFigures> {
  const seconds = roundSeconds(warm);
  const options = { headers, allowErrors: true, timeoutSeconds: TIMEOUT_S };
  await loadGet(bare.url + path, CONNECTIONS, 1, options); // the bare server's warm-up (flaghost's was the general one)
  const served: Awaited<ReturnType<typeof measuredRun>>[] = [];
  const ceiling: Awaited<ReturnType<typeof measuredRun>>[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    served.push(await measuredRun(flaghost, path, seconds.flaghost, options));
    await drain(flaghost.url + path, headers);
    ceiling.push(await measuredRun(bare, path, seconds.bare, options));
  }
  const median = <T>(values: T[], by: (v: T) => number) => [...values].sort((a, b) => by(a) - by(b))[Math.floor(values.length / 2)]!;
  const [flaghostMedian, bareMedian] = [median(served, (r) => r.run.reqPerSec).run, median(ceiling, (r) => r.run.reqPerSec).run];
  const medianCpu = (runs: typeof served) => {
    const known = runs.map((r) => r.cpuUs).filter((us): us is number => us !== null);
    return known.length === 0 ? null : median(known, (us) => us);
  };
  // Two significant digits: a read at 0.002 of the ceiling is not "0".
  const ratio = +(flaghostMedian.reqPerSec / bareMedian.reqPerSec).toPrecision(2);
  const clean = served.every(({ run }) => run.errors === 0 && run.non2xx === 0);
  return {
    flaghost: flaghostMedian,
    bareNode: bareMedian,
    ratio,
    targetMet: clean && ratio >= TARGET.ratio && flaghostMedian.p99Ms < TARGET.p99Ms,
    cpuUsPerRequest: { flaghost: medianCpu(served), bareNode: medianCpu(ceiling) },
    rounds: {
      flaghostReqPerSec: served.map(({ run }) => run.reqPerSec),
      bareNodeReqPerSec: ceiling.map(({ run }) => run.reqPerSec),
      flaghostCpuUs: served.map((r) => r.cpuUs),
      bareNodeCpuUs: ceiling.map((r) => r.cpuUs),
      flaghostSeconds: seconds.flaghost,
      bareNodeSeconds: seconds.bare,
    },
  };
}

/** The flaghost process's memory: RSS from /proc, heap and any read-model gauge from /metrics. */
async function serverMemory(url: string, pid: number) {
  const response = await fetch(`${url}/metrics`, { headers: { authorization: `Token ${ADMIN_TOKEN}` } });
  const text = response.ok ? await response.text() : "";
  const gauge = (pattern: RegExp) => {
    const lines = text.split("\n").filter((line) => pattern.test(line.split(/[{ ]/)[0]!));
    return lines.length === 0 ? null : lines.reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
  };
  const mb = (bytes: number | null) => (bytes === null ? null : round(bytes / 2 ** 20, 1));
  return {
    ...processMemory(pid),
    heapUsedMb: mb(gauge(/^flaghost_nodejs_heap_size_used_bytes$/)),
    heapTotalMb: mb(gauge(/^flaghost_nodejs_heap_size_total_bytes$/)),
  };
}

/** The ETag flaghost sends for `url` now (null if none). */
async function etagOf(url: string, headers: Record<string, string>): Promise<string | null> {
  const response = await fetch(url, { headers });
  await response.arrayBuffer();
  return response.headers.get("etag");
}

/**
 * The ETag once it stops changing: writes just made (the attempts before) may still be reaching the read models, and
 * a conditional GET with an ETag that is already stale rightly gets 200. Two answers SETTLE_MS apart must agree;
 * how long that took is reported (null: it never settled within SETTLE_LIMIT_MS).
 */
const SETTLE_MS = 500;
const SETTLE_LIMIT_MS = 30_000;
async function settledEtag(url: string, headers: Record<string, string>): Promise<{ etag: string | null; settledAfterMs: number | null }> {
  const started = performance.now();
  let etag = await etagOf(url, headers);
  while (etag !== null && performance.now() - started < SETTLE_LIMIT_MS) {
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const again = await etagOf(url, headers);
    if (again === etag) return { etag, settledAfterMs: Math.round(performance.now() - started) };
    etag = again;
  }
  return { etag, settledAfterMs: etag === null ? 0 : null };
}

/** One load run with If-None-Match of `read`'s settled ETag, and whether the ETag was the same after it. */
async function conditionalRun(url: string, headers: Record<string, string>) {
  const { etag, settledAfterMs } = await settledEtag(url, headers);
  if (!etag) return null;
  const run = await loadGet(url, CONNECTIONS, Math.max(2, Math.round(DURATION_S / 4)), { headers: { ...headers, "if-none-match": etag }, allowErrors: true, countStatuses: true, timeoutSeconds: TIMEOUT_S });
  const answered = Object.values(run.statuses ?? {}).reduce((a, b) => a + b, 0);
  const share304 = answered === 0 ? 0 : round((run.statuses?.["304"] ?? 0) / answered, 3);
  const etagAfter = await etagOf(url, headers);
  return { etag, settledAfterMs, etagAfter, answered, share304, ...run };
}

/**
 * Each read once more with If-None-Match of its settled ETag: how many answers are 304. An ETag that changed during
 * the run without any write (a cache refreshing itself) is reported, and the run made once more with the new one.
 */
async function conditionalGets(url: string, reads: Read[], headers: Record<string, string>) {
  const results: Record<string, unknown> = {};
  for (const read of reads) {
    let run = await conditionalRun(url + read.path, headers);
    if (!run) {
      results[read.path] = { etag: null };
      console.log(`  ${read.path.padEnd(28)} no ETag sent: conditional GETs not possible`);
      continue;
    }
    const changedDuringRun = run.etagAfter !== run.etag ? run : null;
    if (changedDuringRun) run = (await conditionalRun(url + read.path, headers))!;
    results[read.path] = { ...run, ...(changedDuringRun ? { etagChangedWithoutWrites: { before: changedDuringRun.etag, after: changedDuringRun.etagAfter, share304: changedDuringRun.share304 } } : {}) };
    const settled = run.settledAfterMs === null ? `still changing after ${SETTLE_LIMIT_MS / 1000} s` : `settled after ${run.settledAfterMs} ms`;
    const changed = changedDuringRun ? `; the ETag changed during a first run with no write (${Math.round(changedDuringRun.share304 * 100)}% 304s then)` : "";
    console.log(`  ${read.path.padEnd(28)} ETag ${run.etag} (${settled}): ${Math.round(run.share304 * 100)}% of ${run.answered} answers were 304, ${run.reqPerSec} req/s, p99 ${run.p99Ms} ms${changed}`);
  }
  return results;
}

/**
 * What flaghost answered, for comparing runs (the seed is deterministic, so the same event gives the same answer
 * before and after a change): its size and digest, and the body itself when it is small (a profile's score and place).
 */
function answerSummary(answer: CapturedAnswer) {
  const body = answer.body.toString();
  return { bytes: answer.body.length, sha256: createHash("sha256").update(answer.body).digest("hex"), ...(answer.body.length <= 1024 ? { answer: JSON.parse(body) as unknown } : {}) };
}

const verdict = (met: boolean) => (met ? "target met" : "target MISSED");

function printRead(read: Read, bytes: number, f: ReadFigures) {
  const side = (r: LoadResult) => `${String(r.reqPerSec).padStart(6)} req/s p50 ${r.p50Ms} ms p99 ${r.p99Ms} ms${r.errors || r.non2xx ? ` (${r.errors} errors, ${r.non2xx} 4xx/5xx)` : ""}`;
  console.log(`  GET ${read.path} (${read.name}, ${bytes} bytes; rounds of ${f.rounds.flaghostSeconds} s on flaghost, ${f.rounds.bareNodeSeconds} s on bare node)`);
  console.log(`    flaghost  ${side(f.flaghost)}`);
  console.log(`    bare node ${side(f.bareNode)}`);
  console.log(`    ${f.ratio} of bare node: ${verdict(f.targetMet)} (>= ${TARGET.ratio}, p99 < ${TARGET.p99Ms} ms)`);
  const cpu = f.cpuUsPerRequest;
  if (cpu.flaghost !== null && cpu.bareNode !== null) console.log(`    server CPU per request: flaghost ${cpu.flaghost} µs, bare node ${cpu.bareNode} µs`);
}

/** `flaghost migrate` into the fresh schema, then the event by SQL; how long each took. */
async function seed(spec: EventSpec, schema: string, env: Record<string, string>) {
  let started = performance.now();
  await migrateFlaghost(env);
  const migrateS = round((performance.now() - started) / 1000);
  const db = new pg.Client({ connectionString: databaseUrl, options: `-c search_path=${schema}` });
  await db.connect();
  started = performance.now();
  try {
    const event = await seedEvent(db, spec);
    const seedS = round((performance.now() - started) / 1000, 1);
    console.log(`\nseeding: migrate ${migrateS} s, SQL ${seedS} s (${Object.entries(event.stepSeconds).map(([k, v]) => `${k} ${v}`).join(", ")})`);
    console.log(`  rows: ${Object.entries(event.rows).map(([k, v]) => `${v} ${k}`).join(", ")}`);
    return { event, seeding: { migrateS, seedS, steps: event.stepSeconds, rows: event.rows } };
  } finally {
    await db.end();
  }
}

/**
 * Each read under load once (caches, JIT, connection pools; its rate sets the length of its rounds), then one real
 * answer of each for the bare server.
 */
async function warmUp(url: string, reads: Read[], headers: Record<string, string>): Promise<Array<{ warm: LoadResult; answer: CapturedAnswer }>> {
  console.log(`\nwarm-up (${CONNECTIONS} connections, 2 s per read)`);
  const warmed: LoadResult[] = [];
  for (const read of reads) {
    const warm = await loadGet(url + read.path, CONNECTIONS, 2, { headers, allowErrors: true, timeoutSeconds: TIMEOUT_S });
    await drain(url + read.path, headers);
    console.log(`  ${read.path.padEnd(28)} ${warm.reqPerSec} req/s, p99 ${warm.p99Ms} ms, ${warm.errors} errors, ${warm.non2xx} 4xx/5xx`);
    warmed.push(warm);
  }
  const result = [];
  for (const [i, read] of reads.entries()) result.push({ warm: warmed[i]!, answer: await capture(url, read.path, headers) });
  return result;
}

/** Every read against flaghost and the bare server. */
async function measureReads(flaghost: Side, bare: Side, reads: Read[], warmed: Array<{ warm: LoadResult; answer: CapturedAnswer }>, headers: Record<string, string>) {
  console.log(`\nreads (${ROUNDS} rounds each side, alternating, medians)`);
  const results: Record<string, { name: string } & ReturnType<typeof answerSummary> & ReadFigures> = {};
  for (const [i, read] of reads.entries()) {
    const { warm, answer } = warmed[i]!;
    const figures = await measureRead(flaghost, bare, read.path, headers, warm);
    printRead(read, answer.body.length, figures);
    results[read.path] = { name: read.name, ...answerSummary(answer), ...figures };
  }
  return results;
}

/** Attempts from every player while the reader's 50 connections read the challenge list. */
async function measureAttemptsDuringReads(url: string, event: SeededEvent, headers: Record<string, string>) {
  console.log(`\nattempts while ${CONNECTIONS} connections read the challenge list (${DURATION_S} s)`);
  await warmCallers(url, event.players);
  const during = await attemptLoad(url, event, DURATION_S, () => loadGet(url + "/api/v1/challenges", CONNECTIONS, DURATION_S, { headers, allowErrors: true, timeoutSeconds: TIMEOUT_S }));
  await drain(url + "/api/v1/challenges", headers);
  const { attempts, reads } = during;
  const targetMet = attempts.errors === 0 && attempts.perSec >= TARGET.attemptsPerSec && attempts.p99Ms < TARGET.attemptsP99Ms;
  console.log(`  attempts  ${attempts.perSec} /s p50 ${attempts.p50Ms} ms p99 ${attempts.p99Ms} ms, ${attempts.errors} errors, answers ${JSON.stringify(attempts.statuses)}: ${verdict(targetMet)} (>= ${TARGET.attemptsPerSec}/s, p99 < ${TARGET.attemptsP99Ms} ms)`);
  console.log(`  reads     ${reads.reqPerSec} req/s p50 ${reads.p50Ms} ms p99 ${reads.p99Ms} ms, ${reads.errors} errors, ${reads.non2xx} 4xx/5xx`);
  return { ...during, targetMet };
}

type Memory = Awaited<ReturnType<typeof serverMemory>>;

function printMemory(afterWarmUp: Memory, atEnd: Memory, held: { eventLiveHeapMb: number; emptyLiveHeapMb: number; heldMb: number }, spec: EventSpec) {
  console.log(`\nflaghost memory after warm-up: ${afterWarmUp.rssMb} MB RSS, heap ${afterWarmUp.heapUsedMb} MB used of ${afterWarmUp.heapTotalMb} MB`);
  console.log(`  at the end: ${atEnd.rssMb} MB RSS (peak ${atEnd.peakRssMb} MB), heap ${atEnd.heapUsedMb} MB used`);
  console.log(
    `  held for the event (read models, the scoreboard's engine, cached answers): ${held.heldMb} MB for ${spec.players} players and ${spec.solves} solves` +
      ` (live heap after a full collection: ${held.eventLiveHeapMb} MB, minus ${held.emptyLiveHeapMb} MB on an empty event)`,
  );
}

/** Runs both consistency jobs once through the admin API: duration, and whether fingerprints sufficed. */
async function consistencyChecks(url: string) {
  console.log(`\nconsistency checks on the quiet event`);
  const results: Record<string, { outcome: string; durationMs: number; compared: unknown }> = {};
  for (const [job, compared] of [
    ["ctf.read-models", (result: any) => result?.solveIndex?.compared],
    ["scoreboard.consistency", (result: any) => result?.compared],
  ] as const) {
    const started = performance.now();
    const response = await fetch(`${url}/api/v1/admin/jobs/${job}/run`, { method: "POST", headers: { authorization: `Token ${ADMIN_TOKEN}` } });
    const body = (await response.json()) as { data?: { outcome: string; result: unknown } };
    const durationMs = round(performance.now() - started, 0);
    results[job] = { outcome: body.data?.outcome ?? `HTTP ${response.status}`, durationMs, compared: compared(body.data?.result) ?? null };
    console.log(`  ${job.padEnd(24)} ${results[job]!.outcome} in ${durationMs} ms, compared: ${results[job]!.compared}`);
  }
  return results;
}

/** The live heap of a flaghost with the same plugins on a migrated, empty event: what the process holds for no event. */
async function emptyEventLiveHeap(env: Record<string, string>, schema: string): Promise<number> {
  const emptySchema = `${schema}_empty`;
  const emptyEnv = { ...env, FLAGHOST_DB_SCHEMA: emptySchema, FLAGHOST_REDIS_PREFIX: `${emptySchema}:` };
  await migrateFlaghost(emptyEnv);
  const server = await startFlaghost(emptyEnv, { inspect: true });
  try {
    // The same routes answered once, so both processes have compiled and cached the same code paths.
    for (const path of ["/api/v1/challenges", "/api/v1/scoreboard", "/api/v1/users?page=1"]) await (await fetch(server.url + path)).arrayBuffer();
    return await liveHeapMb(server.inspectorUrl!);
  } finally {
    server.child.kill("SIGTERM");
    await new Promise((resolveExit) => server.child.once("exit", resolveExit));
    await dropSchema(emptySchema);
    await dropRedisKeys(redisUrl, `${emptySchema}:`);
  }
}

/** The figures in one table, in the shape of the issue's. */
function printSummary(spec: EventSpec, reads: Awaited<ReturnType<typeof measureReads>> | null, attempts: Awaited<ReturnType<typeof measureAttemptsDuringReads>> | null) {
  console.log(`\nsummary: ${spec.players} players, ${spec.solves} solves, ${spec.mode} mode`);
  const cpuHead = `${"µs/req".padStart(7)} ${"bare".padStart(5)}`;
  console.log(`  ${"read".padEnd(30)} ${"req/s".padStart(7)} ${"p99 ms".padStart(9)} ${"bare req/s".padStart(10)} ${"ratio".padStart(8)} ${cpuHead}  target`);
  for (const [path, r] of Object.entries(reads ?? {})) {
    const cpu = `${String(r.cpuUsPerRequest.flaghost ?? "?").padStart(7)} ${String(r.cpuUsPerRequest.bareNode ?? "?").padStart(5)}`;
    console.log(`  ${path.padEnd(30)} ${String(r.flaghost.reqPerSec).padStart(7)} ${String(r.flaghost.p99Ms).padStart(9)} ${String(r.bareNode.reqPerSec).padStart(10)} ${String(r.ratio).padStart(8)} ${cpu}  ${r.targetMet ? "met" : "missed"}`);
  }
  if (attempts) console.log(`  ${"attempts during reads".padEnd(30)} ${String(attempts.attempts.perSec).padStart(7)} ${String(attempts.attempts.p99Ms).padStart(9)} ${"".padStart(10)} ${"".padStart(8)} ${"".padStart(13)}  ${attempts.targetMet ? "met" : "missed"}`);
}

async function main() {
  const spec = eventSpec();
  const only = onlyPart();
  const schema = `bench_reads_${Date.now().toString(36)}`;
  const scratch = mkdtempSync(resolve(tmpdir(), "flaghost-bench-reads-"));
  const children: ChildProcess[] = [];
  const env = { FLAGHOST_DB_SCHEMA: schema, FLAGHOST_REDIS_PREFIX: `${schema}:`, FLAGHOST_PLUGIN_PATHS: "core/ctf,plugins/scoreboard", FLAGHOST_ADMIN_TOKEN: ADMIN_TOKEN };
  const report: Record<string, unknown> = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    backend: "postgres + redis",
    loadTool,
    connections: CONNECTIONS,
    durationS: DURATION_S,
    rounds: ROUNDS,
    target: TARGET,
    event: spec,
    // The machine is shared: a load average well above the core count at the start means noisy figures.
    loadAverageAtStart: loadavg().map((n) => round(n)),
  };
  console.log(
    `reads benchmark: ${spec.players} players, ${spec.solves} solves, ${spec.challenges} challenges, ${spec.mode} mode; ${cpus().length} CPUs (load average ${loadavg()[0]!.toFixed(1)}), ${CONNECTIONS} connections (${loadTool}), ${DURATION_S} s per read`,
  );
  try {
    const { event, seeding } = await seed(spec, schema, env);
    report.seeding = seeding;

    const started = performance.now();
    const server = await startFlaghost(env, { inspect: true });
    children.push(server.child);
    report.serverBootS = round((performance.now() - started) / 1000);
    console.log(`flaghost started in ${report.serverBootS} s`);

    // The reader: a player in the middle of the field, neither hidden nor banned, signed in with an API token.
    const reader = event.players[Math.floor(event.players.length / 2)]!;
    const headers = { authorization: `Token ${reader.token}` };
    const reads = readsOf(spec, event);
    report.reader = { userId: reader.userId, teamId: reader.teamId, credential: "API token" };

    const warmed = await warmUp(server.url, reads, headers);
    const memoryAfterWarmUp = await serverMemory(server.url, server.child.pid!);
    report.consistencyChecks = await consistencyChecks(server.url);
    const bare = await startBare(warmed.map((w) => w.answer), scratch);
    children.push(bare.child);

    const readResults =
      only === "attempts" ? null : await measureReads({ url: server.url, pid: server.child.pid! }, { url: bare.url, pid: bare.child.pid! }, reads, warmed, headers);
    report.reads = readResults;
    const attempts = only === "reads" ? null : await measureAttemptsDuringReads(server.url, event, headers);
    report.attemptsDuringReads = attempts;
    if (only === null) {
      console.log(`\nconditional GETs (If-None-Match of the last ETag)`);
      report.conditionalGets = await conditionalGets(server.url, reads, headers);
    }

    const memoryAtEnd = await serverMemory(server.url, server.child.pid!);
    // Last: a full collection stalls the process, and nothing is measured after it.
    const eventLiveHeapMb = await liveHeapMb(server.inspectorUrl!);
    const emptyLiveHeapMb = await emptyEventLiveHeap(env, schema);
    const held = { eventLiveHeapMb, emptyLiveHeapMb, heldMb: round(eventLiveHeapMb - emptyLiveHeapMb, 1) };
    report.serverMemory = { afterWarmUp: memoryAfterWarmUp, atEnd: memoryAtEnd, heldForTheEvent: held };
    printMemory(memoryAfterWarmUp, memoryAtEnd, held, spec);
    printSummary(spec, readResults, attempts);
    report.loadAverageAtEnd = loadavg().map((n) => round(n));
  } finally {
    for (const child of children) child.kill("SIGTERM");
    await Promise.all(children.map((child) => (child.exitCode === null ? new Promise((r) => child.once("exit", r)) : null)));
    rmSync(scratch, { recursive: true, force: true });
    await dropSchema(schema);
    await dropRedisKeys(redisUrl, `${schema}:`);
  }
  if (only !== null) {
    console.log(`\n--only ${only}: bench/results/reads.json (the whole run's figures) is left as it was`);
    return;
  }
  mkdirSync(resolve(root, "bench/results"), { recursive: true });
  writeFileSync(resolve(root, "bench/results/reads.json"), JSON.stringify(report, null, 2));
  console.log(`\nwrote bench/results/reads.json`);
}

await main();
process.exit(0);
