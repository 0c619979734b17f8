/**
 * `npm run bench -- event [--players N] [--minutes M] [--faults] [--stream-share S] [--port P]`: a compressed event
 * (issue 16, part 3; with --faults, part 4's faults). A cluster of 3 web, 2 worker and 1 scheduler processes behind
 * nginx (core/cluster/launcher.ts) on real Postgres and Redis, whale on the real Docker engine at DOCKER_HOST (host
 * network), and Artillery (bench/event/artillery, installed on first use) driving N players (default 2,000) for M
 * minutes (default 10) through nginx: sign-in (seeded API tokens; a share logs in, a share registers), challenge
 * list, challenge pages, wrong and right flags, hints, containers (start, poll until ready or failed, read the flag
 * from the container, submit it, stop), the scoreboard. A share of the players (this process) holds the score stream
 * open; the delay from a correct answer's response to its delta on each stream is measured.
 *
 * Without --faults it uses DATABASE_URL and REDIS_URL (a schema and key prefix of its own, removed afterwards). With
 * --faults it starts a Postgres and a Redis of its own (the machine's shared ones serve others and are never
 * restarted) and, one at a time, spaced over the run: SIGKILLs a web process (restarted ~20 s later), a worker while
 * it starts a container (restarted), the scheduler (restarted), and restarts Redis, then Postgres; each fault's time
 * and the errors and latency around it are reported.
 *
 * Afterwards a consistency report: every acknowledged correct answer is a solve, every account's score on every web
 * process (asked directly, not through nginx) is the database's, every container record matches the engine (by
 * labels), every job slot succeeded at most once. Prints figures with the issue's targets (PASS/MISS) and writes
 * bench/results/event.json (event-faults.json with --faults).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import Docker from "dockerode";
import pg from "pg";
import { startCluster, type RunningCluster } from "../core/cluster/launcher.js";
import { hashPassword } from "../core/ctf/passwords.js";
import { startPrivatePostgres, startPrivateRedis } from "../test/helpers/private-services.js";
import { ensureArtillery, runArtillery, type ArtilleryPeriod, type ArtilleryReport } from "./support/artillery.js";
import { seedEvent } from "./support/event-seed.js";
import { deliveryDelays, EventStreams } from "./support/event-streams.js";
import { cpuSeconds, dropRedisKeys, migrateFlaghost } from "./support/processes.js";

const root = resolve(import.meta.dirname, "..");
const { values: args } = parseArgs({
  args: process.argv.slice(3),
  options: {
    players: { type: "string", default: "2000" },
    minutes: { type: "string", default: "10" },
    faults: { type: "boolean", default: false },
    "stream-share": { type: "string", default: "0.25" },
    port: { type: "string", default: "8400" },
    "private-services": { type: "boolean", default: false },
  },
});
const PLAYERS = Number(args.players);
const MINUTES = Number(args.minutes);
const STREAM_SHARE = Number(args["stream-share"]);
const PORT = Number(args.port);
const FAULTS = args.faults;
/** A Postgres and Redis of the bench's own: always with --faults (they are restarted), on request otherwise. */
const PRIVATE_SERVICES = FAULTS || args["private-services"];
for (const [name, value, ok] of [
  ["--players", PLAYERS, Number.isInteger(PLAYERS) && PLAYERS >= 10 && PLAYERS <= 20_000],
  ["--minutes", MINUTES, MINUTES > 0 && MINUTES <= 180],
  ["--stream-share", STREAM_SHARE, STREAM_SHARE >= 0 && STREAM_SHARE <= 1],
  ["--port", PORT, Number.isInteger(PORT) && PORT >= 1024 && PORT <= 65000],
] as const) {
  if (!ok) {
    console.error(`bench event: ${name} ${value} is out of range (players 10..20000, minutes 0..180, stream-share 0..1, port 1024..65000)`);
    process.exit(2);
  }
}
if (!process.env.DOCKER_HOST || (!PRIVATE_SERVICES && (!process.env.DATABASE_URL || !process.env.REDIS_URL))) {
  console.error("bench event needs DOCKER_HOST (a Docker engine with flaghost/flag-server:test) and, without --faults, DATABASE_URL and REDIS_URL");
  process.exit(1);
}

/** The issue's targets. */
const TARGETS = { readP99Ms: 100, attemptP99Ms: 150, streamP99Ms: 250, fiveHundreds: 0 };
const CHALLENGES = 27; // plus 3 container challenges: 30
const CONTAINER_CHALLENGES = 3;
const IMAGE = "flaghost/flag-server:test";
/** Host ports of the bench's containers (host network): apart from the tests' and the whale bench's ranges. */
const PORTS: [number, number] = [34000, 34199];
/**
 * The launcher's nginx has one worker with 4,096 connections; a proxied request or stream holds two (client and
 * upstream). Each player keeps one keep-alive connection; each stream holds two; a few hundred upstream requests are
 * in flight at most.
 */
const NGINX_CONNECTIONS = 4096;
const MAX_CONTAINERS = 100;
/** How long the restarted services stay down: long enough to see how requests fare meanwhile. */
const REDIS_DOWN_MS = 5_000;
const POSTGRES_DOWN_MS = 10_000;
/** Of the players without a seeded token: who logs in with a password, who registers on the spot. */
const LOGIN_SHARE = 0.03;
const REGISTER_SHARE = 0.03;
const PASSWORD = "bench-event-password";
const RAMP_SECONDS = Math.max(10, Math.min(120, Math.round(MINUTES * 60 * 0.15)));
/** What a player does per visit of the board (processor.cjs reads these). */
const RATES = {
  thinkMs: [6_000, 18_000],
  wrong: 0.5,
  solve: 0.12,
  hint: 0.15,
  scoreboard: 0.3,
  top: 0.1,
  containerWeight: 0.3,
  maxPolls: 90,
};

const stamp = Date.now().toString(36);
const schema = `bench_event_${stamp}`;
const adminToken = `bench-event-admin-${randomBytes(16).toString("hex")}`;
const work = mkdtempSync(join(tmpdir(), "flaghost-event-"));
const serverLog: string[] = [];
const errorLines: Record<string, number> = {};
/** The first error lines of each process (shortened), to say what the errors were. */
const errorSamples: string[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 1) => +n.toFixed(digits);
const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);
const verdict = (ok: boolean | null) => (ok === null ? "n/a" : ok ? "PASS" : "MISS");
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

/** The whole machine's CPU time so far (all cores, seconds) and its idle part, from /proc/stat. */
function machineCpu(): { total: number; idle: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0) / 100;
  return { total, idle: (fields[3]! + fields[4]!) / 100 };
}

/** Children of a process (nginx's workers), from /proc. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * CPU per named process over the run. A process killed by a fault is read just before the signal, and its
 * successor is added to the same name.
 */
class CpuLedger {
  private readonly open = new Map<string, { pid: number; from: number; last: number }>();
  readonly used = new Map<string, number>();
  private readonly startedAt = Date.now();
  // A process that exits on its own (Artillery at the end) is counted up to its last sample.
  private readonly sampler = setInterval(() => {
    for (const entry of this.open.values()) entry.last = cpuSeconds(entry.pid) ?? entry.last;
  }, 2000);
  watch(name: string, pid: number): void {
    const now = cpuSeconds(pid);
    if (now !== null) this.open.set(name, { pid, from: now, last: now });
  }
  close(name: string): void {
    const entry = this.open.get(name);
    if (!entry) return;
    const now = cpuSeconds(entry.pid) ?? entry.last;
    this.used.set(name, (this.used.get(name) ?? 0) + now - entry.from);
    this.open.delete(name);
  }
  report(): Record<string, { cpuSeconds: number; cores: number }> {
    clearInterval(this.sampler);
    for (const name of [...this.open.keys()]) this.close(name);
    const wall = (Date.now() - this.startedAt) / 1000;
    return Object.fromEntries([...this.used].map(([name, s]) => [name, { cpuSeconds: round(s), cores: round(s / wall, 2) }]));
  }
}

/**
 * CPU of every process on the machine by command name (Postgres backends, dockerd, containerd, the containers'
 * shims and processes...), sampled from /proc every 2 s: where the machine's time went besides this benchmark's own
 * processes. A process is counted from its first sample (a new one with all its time so far) to its last, so one
 * that lives less than a sample is missed: the figures are a floor.
 */
class MachineCpuByCommand {
  private readonly last = new Map<number, { command: string; seconds: number }>();
  private readonly used = new Map<string, number>();
  private readonly sampler = setInterval(() => this.sample(false), 2000);

  constructor() {
    this.sample(true);
  }

  private sample(first: boolean): void {
    for (const entry of readdirSync("/proc")) {
      const pid = Number(entry);
      if (!Number.isInteger(pid)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      } catch {
        continue; // gone between the listing and the read
      }
      const command = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
      const before = this.last.get(pid);
      // A pid seen for the first time after the start is a new process: all its time is in the run.
      const spent = before && before.command === command ? seconds - before.seconds : first ? 0 : seconds;
      if (spent > 0) this.used.set(command, (this.used.get(command) ?? 0) + spent);
      this.last.set(pid, { command, seconds });
    }
  }

  /** CPU seconds per command over the run, largest first (the first `top`). */
  report(top = 12): Array<{ command: string; cpuSeconds: number }> {
    clearInterval(this.sampler);
    this.sample(false);
    return [...this.used].sort((a, b) => b[1] - a[1]).slice(0, top).map(([command, seconds]) => ({ command, cpuSeconds: round(seconds) }));
  }
}

async function api(url: string, init: RequestInit & { token?: string } = {}): Promise<any> {
  const response = await fetch(url, {
    ...init,
    headers: { "content-type": "application/json", ...(init.token ? { authorization: `Token ${init.token}` } : {}), ...(init.headers as Record<string, string>) },
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method ?? "GET"} ${url}: ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

interface Services {
  databaseUrl: string;
  redisUrl: string;
  /** Stops Postgres, waits `downMs`, starts it again (same data). */
  restartPostgres?: (downMs: number) => Promise<void>;
  /** Kills Redis, waits `downMs`, starts an empty one on the same port (it runs without persistence). */
  restartRedis?: (downMs: number) => Promise<void>;
  stop(): Promise<void>;
}

async function services(): Promise<Services> {
  if (!PRIVATE_SERVICES) return { databaseUrl: process.env.DATABASE_URL!, redisUrl: process.env.REDIS_URL!, stop: async () => {} };
  log(`starting a private Postgres and Redis${FAULTS ? " (the faults restart them)" : ""}…`);
  const postgres = await startPrivatePostgres();
  const redis = await startPrivateRedis();
  return {
    databaseUrl: postgres.url,
    redisUrl: redis.url,
    restartPostgres: async (downMs) => {
      await postgres.down();
      await sleep(downMs);
      await postgres.up();
    },
    restartRedis: async (downMs) => {
      await redis.down();
      await sleep(downMs);
      await redis.up();
    },
    stop: async () => {
      await Promise.allSettled([postgres.stop(), redis.stop()]);
    },
  };
}

/** A loopback address of a player's own (the whole 127/8 is the loopback on Linux). */
const addressOf = (i: number) => `127.${10 + Math.floor(i / 65025)}.${1 + (Math.floor(i / 255) % 255)}.${1 + (i % 255)}`;

interface PlanPlayer {
  kind: "token" | "login" | "register";
  userId?: number;
  token?: string;
  name?: string;
  email?: string;
  password?: string;
  address: string;
  solved?: number[];
}
interface PlanChallenge {
  id: number;
  value: number;
  flag?: string;
  container?: boolean;
  hint?: { id: number; cost: number };
}

/** Seeds accounts, challenges and hints by SQL (bench/support/event-seed.ts), and the players' plan. */
async function seed(databaseUrl: string): Promise<{ players: PlanPlayer[]; challenges: PlanChallenge[] }> {
  const db = new pg.Client({ connectionString: databaseUrl, options: `-c search_path="${schema}"` });
  await db.connect();
  try {
    const registering = Math.round(PLAYERS * REGISTER_SHARE);
    // Seeded accounts: the players who have one, plus the hidden and banned ones the seed leaves out of `players`. The
    // event is under way: one earlier solve per two accounts, so the board and the dynamic values start non-empty.
    const seededAccounts = Math.ceil((PLAYERS - registering) * 1.02) + 5;
    const seeded = await seedEvent(db, { mode: "users", players: seededAccounts, solves: Math.ceil(seededAccounts / 2), challenges: CHALLENGES, teamSize: 1 });
    const loggingIn = Math.round(PLAYERS * LOGIN_SHARE);
    const accounts = seeded.players.slice(0, PLAYERS - registering);
    const hash = await hashPassword(PASSWORD);
    await db.query(`UPDATE ctf_users SET password_hash = $1 WHERE id = ANY($2::int[])`, [hash, accounts.slice(0, loggingIn).map((p) => p.userId)]);
    const names = await db.query<{ id: number; name: string }>(`SELECT id, name FROM ctf_users WHERE id = ANY($1::int[])`, [accounts.slice(0, loggingIn).map((p) => p.userId)]);
    const nameOf = new Map(names.rows.map((r) => [r.id, r.name]));
    // What each player solved before: they do not try those again.
    const earlier = await db.query<{ user_id: number; ids: number[] }>(`SELECT user_id, array_agg(challenge_id) AS ids FROM ctf_solves GROUP BY user_id`);
    const solvedBy = new Map(earlier.rows.map((r) => [r.user_id, r.ids]));
    const players: PlanPlayer[] = accounts.map((p, i) => ({
      ...(i < loggingIn ? { kind: "login" as const, name: nameOf.get(p.userId)!, password: PASSWORD } : { kind: "token" as const, token: p.token }),
      userId: p.userId,
      address: addressOf(i),
      solved: solvedBy.get(p.userId) ?? [],
    }));
    for (let i = 0; i < registering; i++) {
      players.push({ kind: "register", name: `newcomer-${stamp}-${i}`, email: `newcomer-${i}@${stamp}.bench.test`, password: PASSWORD, address: addressOf(accounts.length + i) });
    }
    // Sign-ins first in the arrival order would bunch them; spread them over the crowd.
    for (let i = players.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [players[i], players[j]] = [players[j]!, players[i]!];
    }
    const rows = await db.query<{ id: number; value: number; hint_id: number | null; cost: number | null }>(
      `SELECT c.id, c.value, h.id AS hint_id, h.cost FROM ctf_challenges c LEFT JOIN ctf_hints h ON h.challenge_id = c.id ORDER BY c.id`,
    );
    const challenges = rows.rows.map((r) => ({ id: r.id, value: r.value, flag: `flag{bench-${r.id}}`, ...(r.hint_id ? { hint: { id: r.hint_id, cost: r.cost! } } : {}) }));
    return { players, challenges };
  } finally {
    await db.end();
  }
}

/** The Artillery script: one scenario, a player's whole event (processor.cjs decides each step). */
function scenario(target: string): unknown {
  const attempt = (hook: string, extra: Record<string, unknown> = {}) => ({
    post: { url: "/api/v1/challenges/attempt", name: "POST /api/v1/challenges/attempt", beforeRequest: [hook], afterResponse: "onAttempt", ...extra },
  });
  return {
    config: {
      target,
      phases: [{ duration: RAMP_SECONDS, arrivalCount: PLAYERS, name: "players arrive" }],
      processor: resolve(root, "bench/event/processor.cjs"),
      http: { timeout: 10 },
      plugins: { "metrics-by-endpoint": { useOnlyRequestNames: true, stripQueryString: true } },
    },
    scenarios: [
      {
        name: "player",
        beforeRequest: ["authorize"],
        flow: [
          { function: "identify" },
          { function: "signIn" },
          {
            loop: [
              { get: { url: "/api/v1/challenges", name: "GET /api/v1/challenges" } },
              { function: "choose" },
              { get: { url: "/api/v1/challenges/{{ cid }}", name: "GET /api/v1/challenges/:id" } },
              { function: "think" },
              { loop: [attempt("wrongBody"), { function: "shortThink" }], whileTrue: "guessing" },
              attempt("rightBody", { ifTrue: "solves" }),
              { get: { url: "/api/v1/hints/{{ hint }}", name: "GET /api/v1/hints/:id", ifTrue: "hint" } },
              { post: { url: "/api/v1/unlocks", name: "POST /api/v1/unlocks", ifTrue: "hint", beforeRequest: ["unlockBody"], afterResponse: "onUnlock" } },
              { post: { url: "/api/v1/containers", name: "POST /api/v1/containers", ifTrue: "container", beforeRequest: ["challengeBody"], afterResponse: "onStart" } },
              { loop: [{ function: "pollWait" }, { get: { url: "/api/v1/containers", name: "GET /api/v1/containers", afterResponse: "onPoll" } }], whileTrue: "polling" },
              { function: "readContainerFlag" },
              attempt("boxBody", { ifTrue: "boxFlag" }),
              { delete: { url: "/api/v1/containers", name: "DELETE /api/v1/containers", ifTrue: "stopBox", beforeRequest: ["challengeBody"] } },
              { get: { url: "/api/v1/scoreboard", name: "GET /api/v1/scoreboard", ifTrue: "readBoard" } },
              { get: { url: "/api/v1/scoreboard/top/10", name: "GET /api/v1/scoreboard/top/10", ifTrue: "readTop" } },
              { function: "think" },
            ],
            whileTrue: "playing",
          },
        ],
      },
    ],
  };
}

/** Removes containers in the bench's port range (left by an earlier run, or by this one). */
async function removeBenchContainers(docker: Docker): Promise<void> {
  const all = await docker.listContainers({ all: true, filters: { label: ["flaghost.whale.start"] } });
  for (const c of all) {
    const port = Number(c.Labels["flaghost.whale.host-port"]);
    if (port >= PORTS[0] && port <= PORTS[1]) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  }
}

// ---- the event ----

interface FaultRecord {
  fault: string;
  at: string;
  atMs: number;
  recoveredAtMs: number | null;
  note: string;
  window?: WindowFigures;
}
interface WindowFigures {
  from: string;
  to: string;
  /** Delivery delay p99 of the correct answers acknowledged in the window (null without any). */
  streamP99Ms?: number | null;
  streamDeliveries?: number;
  requests: number;
  fiveHundreds: number;
  errors: number;
  codes: Record<string, number>;
  worstP99Ms: number | null;
}

/** The faults, one at a time, spaced over the run (part 4 of the issue). */
async function runFaults(cluster: RunningCluster, svc: Services, cpu: CpuLedger, databaseUrl: string, startMs: number, durationMs: number, until: Promise<unknown>): Promise<FaultRecord[]> {
  const records: FaultRecord[] = [];
  let over = false;
  void until.then(() => (over = true));
  const at = (share: number) => startMs + durationMs * share;
  const waitUntil = async (ms: number) => {
    while (Date.now() < ms && !over) await sleep(250);
  };
  const record = (fault: string, note: string): FaultRecord => {
    const r: FaultRecord = { fault, at: new Date().toISOString(), atMs: Date.now(), recoveredAtMs: null, note };
    records.push(r);
    log(`FAULT ${fault}: ${note}`);
    return r;
  };
  const killAndRestart = async (name: string, afterMs: number, note: string) => {
    cpu.close(name);
    const r = record(`SIGKILL ${name}`, note);
    await cluster.kill(name, "SIGKILL");
    await sleep(afterMs);
    const back = await cluster.restart(name);
    cpu.watch(name, back.pid);
    r.recoveredAtMs = Date.now();
    log(`${name} is back (pid ${back.pid}), ${round((r.recoveredAtMs - r.atMs) / 1000)} s after the kill`);
  };

  await waitUntil(at(0.15));
  if (!over) await killAndRestart("web-2", 20_000, "web process killed; its clients retry through nginx, its streams reconnect; restarted after 20 s");

  await waitUntil(at(0.3));
  if (!over) {
    // Mid-start: wait (up to 60 s) until worker-1 holds a start it has not finished.
    const deadline = Date.now() + 60_000;
    let caught = false;
    while (!over && Date.now() < deadline && !caught) {
      const db = new pg.Client({ connectionString: databaseUrl });
      try {
        await db.connect();
        const r = await db.query(`SELECT 1 FROM "${schema}".whale_starts WHERE worker = 'worker-1' AND status IN ('starting', 'initialized')`);
        caught = r.rowCount! > 0;
      } catch {
        /* try again */
      } finally {
        await db.end().catch(() => undefined);
      }
      if (!caught) await sleep(200);
    }
    if (!over) await killAndRestart("worker-1", 10_000, caught ? "worker killed while it was starting a container; restarted after 10 s" : "worker killed (no start in flight was seen within 60 s); restarted after 10 s");
  }

  await waitUntil(at(0.45));
  if (!over) await killAndRestart("scheduler-1", 10_000, "scheduler killed; its jobs resume within one lease once it is back; restarted after 10 s");

  await waitUntil(at(0.6));
  if (!over && svc.restartRedis) {
    const r = record("restart Redis", `Redis killed, down for ${REDIS_DOWN_MS / 1000} s, started again empty on the same port (no persistence)`);
    await svc.restartRedis(REDIS_DOWN_MS);
    r.recoveredAtMs = Date.now();
    log(`Redis is back after ${round((r.recoveredAtMs - r.atMs) / 1000)} s`);
  }

  await waitUntil(at(0.75));
  if (!over && svc.restartPostgres) {
    const r = record("restart Postgres", `Postgres stopped (fast: sessions cut), down for ${POSTGRES_DOWN_MS / 1000} s, started again on the same data`);
    await svc.restartPostgres(POSTGRES_DOWN_MS);
    r.recoveredAtMs = Date.now();
    log(`Postgres is back after ${round((r.recoveredAtMs - r.atMs) / 1000)} s`);
  }
  return records;
}

/** A 10-second period's middle: each period counts in the one window that holds its middle, never in two. */
const middle = (p: ArtilleryPeriod) => (p.firstMetricAt + p.lastMetricAt) / 2;

/** Errors and latency in Artillery's 10-second periods whose middle is in [fromMs, toMs]. */
function windowFigures(periods: ArtilleryPeriod[], fromMs: number, toMs: number): WindowFigures {
  const inside = periods.filter((p) => middle(p) >= fromMs && middle(p) <= toMs);
  const codes: Record<string, number> = {};
  let requests = 0;
  let errors = 0;
  let worst: number | null = null;
  for (const p of inside) {
    for (const [name, n] of Object.entries(p.counters)) {
      if (name.startsWith("http.codes.")) codes[name.slice(11)] = (codes[name.slice(11)] ?? 0) + n;
      if (name === "http.requests") requests += n;
      if (name.startsWith("errors.")) errors += n;
    }
    const p99 = p.summaries["http.response_time"]?.p99;
    if (p99 !== undefined) worst = Math.max(worst ?? 0, p99);
  }
  const fiveHundreds = Object.entries(codes).filter(([c]) => c.startsWith("5")).reduce((s, [, n]) => s + n, 0);
  return { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), requests, fiveHundreds, errors, codes, worstP99Ms: worst };
}

/** Per endpoint, from Artillery's aggregate (engine requests) and the processor's own `event.*` metrics. */
function endpoints(aggregate: ArtilleryPeriod, seconds: number) {
  const rows: Record<string, { requests: number; reqPerSec: number; p50Ms: number; p95Ms: number; p99Ms: number; codes: Record<string, number>; errors: Record<string, number>; fiveHundreds: number }> = {};
  const prefixes = [
    ["plugins.metrics-by-endpoint.response_time.", "plugins.metrics-by-endpoint."],
    ["event.response_time.", "event."],
  ] as const;
  for (const [summaryPrefix, counterPrefix] of prefixes) {
    for (const [key, s] of Object.entries(aggregate.summaries)) {
      if (!key.startsWith(summaryPrefix)) continue;
      const name = key.slice(summaryPrefix.length);
      const codes: Record<string, number> = {};
      const errors: Record<string, number> = {};
      for (const [counter, n] of Object.entries(aggregate.counters)) {
        if (counter.startsWith(`${counterPrefix}${name}.codes.`)) codes[counter.slice(`${counterPrefix}${name}.codes.`.length)] = n;
        if (counter.startsWith(`${counterPrefix}${name}.errors.`)) errors[counter.slice(`${counterPrefix}${name}.errors.`.length)] = n;
      }
      const requests = Object.values(codes).reduce((a, b) => a + b, 0) + Object.values(errors).reduce((a, b) => a + b, 0);
      rows[name] = {
        requests,
        reqPerSec: round(requests / seconds, 2),
        p50Ms: s.p50,
        p95Ms: s.p95,
        p99Ms: s.p99,
        codes,
        errors,
        fiveHundreds: Object.entries(codes).filter(([c]) => c.startsWith("5")).reduce((a, [, n]) => a + n, 0),
      };
    }
  }
  return rows;
}

// ---- the consistency report ----

interface Check {
  check: string;
  ok: boolean;
  detail: string;
}

async function consistency(cluster: RunningCluster, databaseUrl: string, acks: Map<string, number>, docker: Docker): Promise<Check[]> {
  const checks: Check[] = [];
  const safely = async (name: string, work: () => Promise<Check>) => {
    try {
      checks.push(await work());
    } catch (error) {
      checks.push({ check: name, ok: false, detail: `could not check: ${(error as Error).message}` });
    }
    const c = checks[checks.length - 1]!;
    log(`${c.ok ? "PASS" : "MISS"} ${c.check}: ${c.detail}`);
  };
  const db = new pg.Client({ connectionString: databaseUrl, options: `-c search_path="${schema}"` });
  await db.connect();
  try {
    await safely("every acknowledged correct answer is a solve", async () => {
      const solves = await db.query<{ key: string }>(`SELECT user_id || ':' || challenge_id AS key FROM ctf_solves`);
      const have = new Set(solves.rows.map((r) => r.key));
      const missing = [...acks.keys()].filter((k) => !have.has(k));
      return { check: "every acknowledged correct answer is a solve", ok: missing.length === 0, detail: `${acks.size} acknowledged, ${missing.length} without a solve${missing.length ? ` (e.g. ${missing.slice(0, 5).join(", ")})` : ""}` };
    });

    await safely("every solve is on the scoreboard of every web process", async () => {
      // The database's scores (visible, unbanned accounts with a solve or an award), then each web process's board,
      // asked directly on its own port; a process may need a moment for the last events, so up to 60 s.
      const expected = await db.query<{ id: number; score: string }>(
        `SELECT u.id, (coalesce((SELECT sum(c.value) FROM ctf_solves s JOIN ctf_challenges c ON c.id = s.challenge_id WHERE s.user_id = u.id), 0)
                      + coalesce((SELECT sum(a.value) FROM ctf_awards a WHERE a.user_id = u.id), 0))::text AS score
           FROM ctf_users u WHERE NOT u.hidden AND NOT u.banned
            AND (EXISTS (SELECT 1 FROM ctf_solves s WHERE s.user_id = u.id) OR EXISTS (SELECT 1 FROM ctf_awards a WHERE a.user_id = u.id))`,
      );
      const want = new Map(expected.rows.map((r) => [r.id, Number(r.score)]));
      const solves = Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ctf_solves`)).rows[0]!.n);
      const webs = cluster.processes().filter((p) => p.role === "web");
      const details: string[] = [];
      let allOk = true;
      for (const web of webs) {
        const deadline = Date.now() + 60_000;
        let wrong: number[] = [];
        let missing = 0;
        for (;;) {
          const board = (await api(`http://127.0.0.1:${web.port}/api/v1/scoreboard`, { token: adminToken })).data as Array<{ account_id: number; score: number }>;
          const got = new Map(board.map((r) => [r.account_id, r.score]));
          wrong = [...want].filter(([id, score]) => got.has(id) && got.get(id) !== score).map(([id]) => id);
          missing = [...want.keys()].filter((id) => !got.has(id)).length;
          if ((wrong.length === 0 && missing === 0) || Date.now() > deadline) break;
          await sleep(2000);
        }
        if (wrong.length || missing) allOk = false;
        details.push(`${web.name}: ${want.size - wrong.length - missing}/${want.size} accounts at the database's score${wrong.length ? `, ${wrong.length} differ (e.g. ${wrong.slice(0, 3).join(", ")})` : ""}${missing ? `, ${missing} missing` : ""}`);
      }
      return { check: "every solve is on the scoreboard of every web process", ok: allOk, detail: `${solves} solves; ${details.join("; ")}` };
    });

    await safely("every container record matches the engine", async () => {
      // Records still moving (being started or stopped) settle first: up to 60 s.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const moving = await db.query(`SELECT 1 FROM whale_starts WHERE status IN ('queued', 'starting', 'initialized', 'stopping')`);
        if (moving.rowCount === 0 || Date.now() > deadline) break;
        await sleep(1000);
      }
      const starts = await db.query<{ id: string; status: string }>(`SELECT id::text, status FROM whale_starts`);
      const statusOf = new Map(starts.rows.map((r) => [r.id, r.status]));
      const containers = await docker.listContainers({ all: true, filters: { label: ["flaghost.whale.start"] } });
      const ours = containers.filter((c) => {
        const port = Number(c.Labels["flaghost.whale.host-port"]);
        return port >= PORTS[0] && port <= PORTS[1];
      });
      const running = new Set(ours.filter((c) => c.State === "running").map((c) => c.Labels["flaghost.whale.start"]!));
      const orphans = ours.filter((c) => !["ready", "starting", "initialized"].includes(statusOf.get(c.Labels["flaghost.whale.start"]!) ?? "none"));
      const lost = starts.rows.filter((r) => r.status === "ready" && !running.has(r.id));
      const moving = starts.rows.filter((r) => ["queued", "starting", "initialized", "stopping"].includes(r.status));
      const byStatus: Record<string, number> = {};
      for (const r of starts.rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
      return {
        check: "every container record matches the engine",
        ok: orphans.length === 0 && lost.length === 0 && moving.length === 0,
        detail: `${starts.rowCount} start records (${Object.entries(byStatus).map(([s, n]) => `${s} ${n}`).join(", ")}), ${ours.length} containers in the bench's port range; ${orphans.length} containers without a live record, ${lost.length} ready records without a running container, ${moving.length} records still moving`,
      };
    });

    await safely("every job slot succeeded at most once", async () => {
      const twice = await db.query<{ job: string; slot: Date; n: number }>(
        `SELECT job, slot, count(*)::int AS n FROM kernel_job_runs WHERE outcome = 'succeeded' AND trigger <> 'manual'
          GROUP BY job, slot, CASE WHEN position('#' in claim_key) > 0 THEN instance END HAVING count(*) > 1`,
      );
      const perJob = await db.query<{ job: string; outcome: string; n: number }>(`SELECT job, outcome, count(*)::int AS n FROM kernel_job_runs GROUP BY job, outcome ORDER BY job, outcome`);
      const summary = new Map<string, string[]>();
      for (const r of perJob.rows) summary.set(r.job, [...(summary.get(r.job) ?? []), `${r.outcome} ${r.n}`]);
      return {
        check: "every job slot succeeded at most once",
        ok: twice.rowCount === 0,
        detail: `${twice.rowCount} slots with more than one success; runs: ${[...summary].map(([job, o]) => `${job} (${o.join(", ")})`).join("; ")}`,
      };
    });
  } finally {
    await db.end();
  }
  return checks;
}

// ---- main ----

async function main(): Promise<void> {
  const nginxNeeds = PLAYERS + 2 * Math.round(PLAYERS * STREAM_SHARE) + 300;
  if (nginxNeeds > NGINX_CONNECTIONS) {
    console.warn(`warning: about ${nginxNeeds} connections through nginx, above its ${NGINX_CONNECTIONS} worker_connections (deploy/nginx, core/cluster/launcher.ts): expect refused connections`);
  }
  const docker = new Docker();
  // Containers are half of the event: without an engine the run would only fail later, less clearly.
  await docker.ping().catch((error: NodeJS.ErrnoException) => {
    throw new Error(`no Docker engine answers at ${process.env.DOCKER_HOST ?? "the default socket"} (${error.code ?? error.message}): start one with .ci/docker-engine start and export the DOCKER_HOST it prints`);
  });
  await ensureArtillery();
  await removeBenchContainers(docker);
  const svc = await services();
  let cluster: RunningCluster | null = null;
  let streams: EventStreams | null = null;
  try {
    const env: Record<string, string> = {
      NODE_ENV: "production",
      FLAGHOST_DB_SCHEMA: schema,
      FLAGHOST_REDIS_PREFIX: `${schema}:`,
      FLAGHOST_PLUGIN_PATHS: "core/ctf,plugins/scoreboard,plugins/whale",
      FLAGHOST_ADMIN_TOKEN: adminToken,
      FLAGHOST_LOG_LEVEL: "warn",
      FLAGHOST__log__accessLog: "false",
      DOCKER_HOST: process.env.DOCKER_HOST!,
      FLAGHOST__plugins__whale__network: "host",
      FLAGHOST__plugins__whale__portRange: JSON.stringify(PORTS),
      FLAGHOST__plugins__whale__publicHost: "127.0.0.1",
      FLAGHOST__plugins__whale__maxContainers: String(MAX_CONTAINERS),
      FLAGHOST__plugins__whale__perAccountLimit: "1",
      FLAGHOST__plugins__whale__readyTimeoutS: "30",
      // A worker killed mid-start: its starts are taken over after this long (the default is 60 s).
      FLAGHOST__plugins__whale__claimStaleAfterS: "20",
    };
    // The seed writes the tables directly, so it comes before any process has loaded them (a process that is
    // already running would not hear of rows written behind its back).
    log(`migrating and seeding the event (schema ${schema})…`);
    await migrateFlaghost({ ...env, DATABASE_URL: svc.databaseUrl, REDIS_URL: svc.redisUrl });
    const { players, challenges } = await seed(svc.databaseUrl);
    log(`cluster: 3 web, 2 worker, 1 scheduler behind nginx on :${PORT}…`);
    cluster = await startCluster({
      port: PORT,
      web: 3,
      workers: 2,
      schedulers: 1,
      databaseUrl: svc.databaseUrl,
      redisUrl: svc.redisUrl,
      env,
      onLine: (name, line) => {
        serverLog.push(`${name} ${line}`);
        if (serverLog.length > 5000) serverLog.splice(0, 1000);
        const level = /"level":(\d+)/.exec(line)?.[1];
        if ((level && Number(level) >= 50) || (name === "nginx" && /\[(error|crit|alert|emerg)\]/.test(line))) {
          errorLines[name] = (errorLines[name] ?? 0) + 1;
          if (errorLines[name]! <= 5) errorSamples.push(`${new Date().toISOString().slice(11, 19)} ${name}: ${line.slice(0, 400)}`);
        }
      },
    });
    const url = cluster.url;
    // Container challenges through the API (the admin's way), so every instance's caches hear of them.
    for (let i = 0; i < CONTAINER_CHALLENGES; i++) {
      const made = await api(`${url}/api/v1/challenges`, {
        method: "POST",
        token: adminToken,
        body: JSON.stringify({ name: `box ${i + 1}`, category: "containers", value: 300, type: "container", image: IMAGE, port: 8000 }),
      });
      challenges.push({ id: made.data.id, value: 300, container: true });
    }
    const instancesBefore = (await api(`${url}/api/v1/admin/instances`, { token: adminToken })).data as unknown[];

    const durationMs = MINUTES * 60_000;
    const startMs = Date.now() + 5_000;
    const planFile = join(work, "plan.json");
    const acksFile = join(work, "acks.txt");
    const claims = join(work, "claims");
    mkdirSync(claims);
    writeFileSync(acksFile, "");
    writeFileSync(planFile, JSON.stringify({ target: url, endAt: startMs + durationMs, players, challenges, rates: RATES }));
    const script = join(work, "event.yml");
    writeFileSync(script, JSON.stringify(scenario(url), null, 1));

    const cpu = new CpuLedger();
    const byCommand = new MachineCpuByCommand();
    for (const p of cluster.processes()) cpu.watch(p.name, p.pid);
    cpu.watch("nginx (master)", cluster.nginxPid);
    for (const [i, pid] of childrenOf(cluster.nginxPid).entries()) cpu.watch(`nginx (worker ${i + 1})`, pid);
    cpu.watch("bench driver (streams)", process.pid);
    const machineBefore = machineCpu();
    const loadBefore = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);

    await sleep(Math.max(0, startMs - Date.now()));
    log(`${PLAYERS} players for ${MINUTES} min (arriving over ${RAMP_SECONDS} s), ${Math.round(PLAYERS * STREAM_SHARE)} of them holding the score stream…`);
    const reportFile = join(work, "report.json");
    const artillery = runArtillery(script, reportFile, { EVENT_BENCH_PLAN: planFile, EVENT_BENCH_ACKS: acksFile, EVENT_BENCH_CLAIMS: claims }, (line) => {
      if (/^(Phase|All VUs|--------|Metrics for period|http\.codes|http\.requests:|http\.response_time:|vusers\.(created|failed|completed):|errors\.|\s+p99|Error|error)/.test(line.trim())) console.log(`  artillery | ${line}`);
    });
    cpu.watch("artillery", artillery.pid);
    streams = new EventStreams(url);
    const holders = players.filter((p) => p.kind === "token").slice(0, Math.round(PLAYERS * STREAM_SHARE));
    void streams.open(
      holders.map((p) => ({ token: p.token!, address: p.address })),
      Math.max(1, Math.ceil(holders.length / RAMP_SECONDS)),
    );
    const faults = FAULTS ? runFaults(cluster, svc, cpu, svc.databaseUrl, startMs, durationMs, artillery.done) : Promise.resolve([]);
    const progress = setInterval(() => log(`streams open ${streams!.openCount()}/${holders.length}, deltas ${streams!.figures.deltas}`), 30_000);
    const exit = await artillery.done;
    clearInterval(progress);
    const faultRecords = await faults;
    const wallSeconds = (Date.now() - startMs) / 1000;
    await sleep(3000); // the last deltas
    await streams.close();
    const cpuFigures = cpu.report();
    const cpuByCommand = byCommand.report();
    // The machine is shared: how busy it was in all, and how much of that was not this benchmark.
    const machineAfter = machineCpu();
    const busy = machineAfter.total - machineBefore.total - (machineAfter.idle - machineBefore.idle);
    const ours = Object.values(cpuFigures).reduce((a, c) => a + c.cpuSeconds, 0);
    const machine = {
      cores: (await import("node:os")).cpus().length,
      busyShare: round(busy / (machineAfter.total - machineBefore.total), 2),
      busyCpuSeconds: round(busy),
      thisBenchCpuSeconds: round(ours),
      othersCpuSeconds: round(busy - ours),
      // Every process's share by command name (this benchmark's included): what "others" were.
      cpuByCommand,
      loadAverageBefore: loadBefore,
      loadAverageAfter: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number),
    };
    if (exit !== 0) log(`artillery exited with ${exit}`);
    const report = JSON.parse(readFileSync(reportFile, "utf8")) as ArtilleryReport;
    const instancesAfter = (await api(`${url}/api/v1/admin/instances`, { token: adminToken })).data as unknown[];

    // Acknowledged correct answers (userId challengeId epochMs), as the processor wrote them.
    const acks = new Map<string, number>();
    for (const line of readFileSync(acksFile, "utf8").split("\n")) {
      const [user, challenge, at] = line.split(" ");
      if (user && challenge && at && user !== "undefined") acks.set(`${user}:${challenge}`, Number(at));
    }
    const { delays, acksWithoutDelta } = deliveryDelays(acks, streams.arrivals);
    delays.sort((a, b) => a - b);

    // Container starts, from the database (202 → ready as the server recorded it) and as players saw them.
    const db = new pg.Client({ connectionString: svc.databaseUrl, options: `-c search_path="${schema}"` });
    await db.connect();
    const starts = await db.query<{ ready_ms: number | null; status: string; ready_at: Date | null; created_at: Date; error: string | null }>(
      `SELECT extract(epoch FROM ready_at - created_at) * 1000 AS ready_ms, status, ready_at, created_at, error FROM whale_starts ORDER BY created_at`,
    );
    await db.end();
    const readyMs = starts.rows.filter((r) => r.ready_ms !== null).map((r) => Number(r.ready_ms)).sort((a, b) => a - b);
    const outcome = {
      accepted: starts.rowCount ?? 0,
      reachedReady: starts.rows.filter((r) => r.ready_at !== null).length,
      failed: starts.rows.filter((r) => r.status === "failed").length,
      neither: starts.rows.filter((r) => r.ready_at === null && r.status !== "failed").length,
      /** When the starts that ended neither ready nor failed were asked for, and how they ended (to place them among the faults). */
      neitherStarts: starts.rows
        .filter((r) => r.ready_at === null && r.status !== "failed")
        .slice(0, 50)
        .map((r) => ({ createdAt: new Date(r.created_at).toISOString(), status: r.status, error: r.error })),
    };

    const seconds = (report.aggregate.lastMetricAt - report.aggregate.firstMetricAt) / 1000 || wallSeconds;
    const perEndpoint = endpoints(report.aggregate, seconds);
    const checks = await consistency(cluster, svc.databaseUrl, acks, docker);
    // Each fault's window: from 10 s before it to a minute after its recovery, or to the next fault.
    const withStream = (w: WindowFigures, inside: (ackedAt: number) => boolean): WindowFigures => {
      const picked = new Map([...acks].filter(([, at]) => inside(at)));
      const d = deliveryDelays(picked, streams!.arrivals).delays.sort((a, b) => a - b);
      return { ...w, streamP99Ms: percentile(d, 99), streamDeliveries: d.length };
    };
    const spans = faultRecords.map((f, i) => [f.atMs - 10_000, Math.min((f.recoveredAtMs ?? f.atMs) + 60_000, (faultRecords[i + 1]?.atMs ?? Infinity) - 1)] as const);
    faultRecords.forEach((f, i) => {
      const [from, to] = spans[i]!;
      f.window = withStream(windowFigures(report.intermediate, from, to), (at) => at >= from && at <= to);
    });
    const outside = FAULTS ? withStream(outsideWindows(report.intermediate, faultRecords), (at) => !spans.some(([from, to]) => at >= from && at <= to)) : undefined;

    // Targets: player reads are the GETs to flaghost, attempts the attempt POST.
    const reads = Object.entries(perEndpoint).filter(([name]) => name.startsWith("GET /api/"));
    const worstRead = reads.reduce<[string, number] | null>((w, [name, r]) => (w === null || r.p99Ms > w[1] ? [name, r.p99Ms] : w), null);
    const attempts = perEndpoint["POST /api/v1/challenges/attempt"];
    const fiveHundreds = Object.values(perEndpoint).reduce((s, r) => s + r.fiveHundreds, 0);
    const streamP99 = percentile(delays, 99);
    const targets = {
      zeroFiveHundreds: { measured: fiveHundreds, target: 0, verdict: verdict(fiveHundreds === 0) },
      readP99Ms: { measured: worstRead?.[1] ?? null, endpoint: worstRead?.[0] ?? null, target: TARGETS.readP99Ms, verdict: verdict(worstRead ? worstRead[1] < TARGETS.readP99Ms : null) },
      attemptP99Ms: { measured: attempts?.p99Ms ?? null, target: TARGETS.attemptP99Ms, verdict: verdict(attempts ? attempts.p99Ms < TARGETS.attemptP99Ms : null) },
      streamP99Ms: { measured: streamP99, target: TARGETS.streamP99Ms, verdict: verdict(streamP99 === null ? null : streamP99 < TARGETS.streamP99Ms) },
      everyStartEnds: { measured: `${outcome.neither} of ${outcome.accepted} neither ready nor failed`, target: "0", verdict: verdict(outcome.neither === 0) },
    };
    const result = {
      date: new Date().toISOString(),
      options: { players: PLAYERS, minutes: MINUTES, faults: FAULTS, streamShare: STREAM_SHARE, rampSeconds: RAMP_SECONDS, rates: RATES, loginShare: LOGIN_SHARE, registerShare: REGISTER_SHARE },
      cluster: { web: 3, workers: 2, schedulers: 1, balancer: "nginx", instancesBefore: instancesBefore.length, instancesAfter: instancesAfter.length },
      machine: { ...machine, node: process.version },
      artilleryExit: exit,
      seconds: round(seconds),
      vusers: {
        created: report.aggregate.counters["vusers.created"] ?? 0,
        completed: report.aggregate.counters["vusers.completed"] ?? 0,
        failed: report.aggregate.counters["vusers.failed"] ?? 0,
      },
      totals: { requests: report.aggregate.counters["http.requests"] ?? 0, reqPerSec: round((report.aggregate.counters["http.requests"] ?? 0) / seconds), fiveHundreds, errors: Object.fromEntries(Object.entries(report.aggregate.counters).filter(([k]) => k.startsWith("errors."))) },
      attempts: Object.fromEntries(Object.entries(report.aggregate.counters).filter(([k]) => k.startsWith("event.attempt.")).map(([k, n]) => [k.slice(14), n])),
      endpoints: perEndpoint,
      stream: {
        ...streams.figures,
        acknowledgedCorrect: acks.size,
        acksWithoutDelta,
        deliveries: delays.length,
        delayMs: { p50: percentile(delays, 50), p95: percentile(delays, 95), p99: streamP99, max: delays.at(-1) ?? null },
      },
      containers: {
        ...outcome,
        requestToReadyMs: { n: readyMs.length, p50: percentile(readyMs, 50), p95: percentile(readyMs, 95), p99: percentile(readyMs, 99), max: readyMs.at(-1) ?? null },
        seenByPlayersMs: report.aggregate.summaries["event.container.start_to_final_ms"] ?? null,
        playerCounters: Object.fromEntries(Object.entries(report.aggregate.counters).filter(([k]) => k.startsWith("event.container.")).map(([k, n]) => [k.slice(16), n])),
      },
      cpu: cpuFigures,
      serverErrorLines: errorLines,
      serverErrorSamples: errorSamples,
      faults: faultRecords,
      outsideFaultWindows: outside,
      consistency: checks,
      targets,
    };

    print(result);
    mkdirSync(resolve(root, "bench/results"), { recursive: true });
    const out = resolve(root, `bench/results/${FAULTS ? "event-faults" : "event"}.json`);
    writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
    log(`wrote ${out.slice(root.length + 1)}`);
    if (process.env.BENCH_EVENT_KEEP_LOG) writeFileSync(resolve(root, "bench/results/event-server.log"), serverLog.join("\n"));
  } finally {
    await streams?.close();
    await cluster?.stop().catch((e) => log(`cluster stop: ${(e as Error).message}`));
    await removeBenchContainers(docker).catch(() => undefined);
    if (!PRIVATE_SERVICES) {
      const { dropSchema } = await import("../test/helpers/kernel.js");
      await dropSchema(schema).catch(() => undefined);
      await dropRedisKeys(process.env.REDIS_URL!, `${schema}:`).catch(() => undefined);
    }
    await svc.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Requests and 5xx outside every fault's window: what the faults must not have touched. */
function outsideWindows(periods: ArtilleryPeriod[], faults: FaultRecord[]): WindowFigures {
  const touched = (p: ArtilleryPeriod) => faults.some((f) => middle(p) >= f.atMs - 10_000 && middle(p) <= (f.recoveredAtMs ?? f.atMs) + 60_000);
  const rest = periods.filter((p) => !touched(p));
  const from = rest.length ? Math.min(...rest.map(middle)) : 0;
  const to = rest.length ? Math.max(...rest.map(middle)) : 0;
  return windowFigures(rest, from, to);
}

function print(r: any): void {
  console.log(`\n=== compressed event: ${r.options.players} players, ${r.options.minutes} min${r.options.faults ? ", with faults" : ""} ===`);
  console.log(`instances: ${r.cluster.instancesBefore} before, ${r.cluster.instancesAfter} after · virtual users ${r.vusers.created} created, ${r.vusers.completed} completed, ${r.vusers.failed} failed`);
  console.log(`requests: ${r.totals.requests} (${r.totals.reqPerSec}/s), 5xx ${r.totals.fiveHundreds}, errors ${JSON.stringify(r.totals.errors)}`);
  console.log(`attempts: ${JSON.stringify(r.attempts)}`);
  console.log("\nendpoint                                   req/s     p50     p95     p99   codes");
  for (const [name, e] of Object.entries(r.endpoints) as Array<[string, any]>) {
    const target = name === "POST /api/v1/challenges/attempt" ? TARGETS.attemptP99Ms : name.startsWith("GET /api/") ? TARGETS.readP99Ms : null;
    const mark = target === null ? "" : ` (< ${target}: ${verdict(e.p99Ms < target)})`;
    console.log(
      `${name.padEnd(40)} ${String(e.reqPerSec).padStart(7)} ${String(e.p50Ms).padStart(7)} ${String(e.p95Ms).padStart(7)} ${String(e.p99Ms).padStart(7)}   ${JSON.stringify(e.codes)}${Object.keys(e.errors).length ? ` errors ${JSON.stringify(e.errors)}` : ""}${mark}`,
    );
  }
  const s = r.stream;
  console.log(`\nstream: ${s.holders} holders, ${s.connects} connects, ${s.reconnects} reconnects, ${s.gaps} gaps, ${s.renewals} renewals; ${s.deliveries} deliveries of ${s.acknowledgedCorrect} acknowledged solves (${s.acksWithoutDelta} seen on no stream)`);
  console.log(`stream delivery delay: p50 ${s.delayMs.p50} ms, p95 ${s.delayMs.p95} ms, p99 ${s.delayMs.p99} ms (< ${TARGETS.streamP99Ms}: ${r.targets.streamP99Ms.verdict}), max ${s.delayMs.max} ms`);
  const c = r.containers;
  if (c.neither) console.log(`starts neither ready nor failed, asked at: ${c.neitherStarts.map((n: any) => `${n.createdAt.slice(11, 19)} (${n.status})`).join(", ")}`);
  console.log(`containers: ${c.accepted} accepted, ${c.reachedReady} reached ready, ${c.failed} failed, ${c.neither} neither (${r.targets.everyStartEnds.verdict}); 202 → ready p50 ${c.requestToReadyMs.p50} ms, p99 ${c.requestToReadyMs.p99} ms; players' counters ${JSON.stringify(c.playerCounters)}`);
  console.log(`\nCPU over the run (seconds, cores):`);
  for (const [name, v] of Object.entries(r.cpu) as Array<[string, any]>) console.log(`  ${name.padEnd(24)} ${String(v.cpuSeconds).padStart(8)} s  ${v.cores}`);
  const m = r.machine;
  console.log(`machine: ${m.cores} cores ${Math.round(m.busyShare * 100)} % busy (${m.busyCpuSeconds} CPU s: ${m.thisBenchCpuSeconds} this benchmark's processes above, ${m.othersCpuSeconds} everything else: Postgres, Redis, Docker, other users); load average ${m.loadAverageBefore.join(" ")} before, ${m.loadAverageAfter.join(" ")} after`);
  console.log(`  CPU by command (every process, sampled every 2 s): ${(m.cpuByCommand as Array<{ command: string; cpuSeconds: number }>).map((c) => `${c.command} ${c.cpuSeconds} s`).join(", ")}`);
  if (Object.keys(r.serverErrorLines).length) {
    console.log(`error lines in server output: ${JSON.stringify(r.serverErrorLines)}; the first ones:`);
    for (const line of r.serverErrorSamples) console.log(`  ${line.slice(0, 240)}`);
  }
  if (r.faults.length) {
    console.log(`\nfaults:`);
    for (const f of r.faults) {
      const w = f.window;
      console.log(
        `  ${f.at.slice(11, 19)} ${f.fault}: back after ${f.recoveredAtMs ? round((f.recoveredAtMs - f.atMs) / 1000) + " s" : "-"}; window ${w.from.slice(11, 19)}–${w.to.slice(11, 19)}: ${w.requests} requests, 5xx ${w.fiveHundreds}, errors ${w.errors}, worst 10-s p99 ${w.worstP99Ms} ms, stream p99 ${w.streamP99Ms} ms (${w.streamDeliveries} deliveries), codes ${JSON.stringify(w.codes)}`,
      );
    }
    const o = r.outsideFaultWindows;
    console.log(`  outside the fault windows: ${o.requests} requests, 5xx ${o.fiveHundreds}, errors ${o.errors}, worst 10-s p99 ${o.worstP99Ms} ms, stream p99 ${o.streamP99Ms} ms (${o.streamDeliveries} deliveries)`);
  }
  console.log(`\nconsistency:`);
  for (const ch of r.consistency) console.log(`  ${ch.ok ? "PASS" : "MISS"} ${ch.check}: ${ch.detail}`);
  console.log(`\ntargets:`);
  for (const [name, t] of Object.entries(r.targets) as Array<[string, any]>) {
    console.log(`  ${t.verdict.padEnd(4)} ${name}: ${t.measured}${t.endpoint ? ` (${t.endpoint})` : ""} (target ${typeof t.target === "number" && t.target > 0 ? `< ${t.target}` : t.target})`);
  }
}

await main();
process.exit(0);
