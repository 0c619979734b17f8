/**
 * `npm run bench -- scoreboard [a] [b]`: the scoreboard plugin under load, on two datasets loaded with bulk SQL:
 * (a) 500 users, 50 challenges, 5,000 solves; (b) 10,000 users, 300 challenges, 200,000 solves, 20,000 awards.
 *
 * For each dataset: the data is loaded into a fresh database (real Postgres when DATABASE_URL is set, with Redis
 * when REDIS_URL is set; else an embedded PGlite folder), then flaghost serves it as its own process
 * (`flaghost start`, core/ctf + scoreboard), and this process is the load generator:
 *  - `GET /api/v1/scoreboard` and `/api/v1/scoreboard/top/10`, anonymous, 50 keep-alive connections (wrk when
 *    installed, else autocannon: support/load.ts),
 *    and the same with a bare `node:http` process answering the very same bytes and headers: the ceiling;
 *  - a solve made through the API (POST /challenges/attempt) reaching 1,000 connected stream clients: latency
 *    from the request to each client's receipt;
 *  - the engine alone, in this process: rebuild time, heap, and the cost of applying one solve;
 *  - the server's memory (VmRSS / VmHWM).
 * Prints figures and writes bench/results/scoreboard.json. BENCH_DURATION_S (default 10) sets each load run.
 */
import type { ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import WebSocket from "ws";
import { createReadService } from "../core/ctf/read-service.js";
import { loadConfig } from "../core/kernel/config.js";
import type { Database } from "../core/kernel/db/data-source.js";
import { Kernel } from "../core/kernel/kernel.js";
import { boardBody } from "../plugins/scoreboard/engine/rows.js";
import { StandingsState } from "../plugins/scoreboard/engine/state.js";
import { dropSchema } from "../test/helpers/kernel.js";
import { capture, startBare } from "./support/bare.js";
import { loadGet, loadTool } from "./support/load.js";
import { startFlaghost } from "./support/processes.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const root = resolve(import.meta.dirname, "..");
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = 50;
const STREAM_CLIENTS = Number(process.env.BENCH_STREAM_CLIENTS ?? 1000);
const FANOUT_SOLVES = 30;
const ADMIN_TOKEN = randomBytes(24).toString("hex");
const databaseUrl = process.env.DATABASE_URL || undefined;
const redisUrl = process.env.REDIS_URL || undefined;
const backend = databaseUrl ? `postgres${redisUrl ? " + redis" : ""}` : "embedded PGlite + in-process";

interface Dataset {
  users: number;
  challenges: number;
  solvesPerUser: number;
  awards: number;
}
const DATASETS: Record<string, Dataset> = {
  a: { users: 500, challenges: 50, solvesPerUser: 10, awards: 0 },
  b: { users: 10_000, challenges: 300, solvesPerUser: 20, awards: 20_000 },
};

const sha256 = (v: string) => createHash("sha256").update(v).digest("hex");
const round = (n: number, digits = 3) => +n.toFixed(digits);
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
function summarize(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: samples.length, meanMs: round(samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length)), p50Ms: round(percentile(sorted, 50)), p99Ms: round(percentile(sorted, 99)), maxMs: round(sorted.at(-1) ?? NaN) };
}

/** Where a dataset lives: a Postgres schema or a PGlite folder, shared by the loader and the server process. */
interface Place {
  schema: string;
  dataDir: string | null;
}

function kernelConfig(place: Place) {
  return loadConfig({
    root,
    env: {},
    overrides: {
      host: "127.0.0.1",
      port: 0,
      databaseUrl,
      databaseSchema: databaseUrl ? place.schema : "public",
      redisUrl,
      redisKeyPrefix: `${place.schema}:`,
      dataDir: place.dataDir ?? "memory:",
      adminToken: ADMIN_TOKEN,
      log: { level: "silent" },
      pluginPaths: [resolve(root, "core/ctf"), resolve(root, "plugins/scoreboard")],
    },
  });
}

/** Bulk loads a dataset with set-based SQL (no per-row round trips). */
async function load(db: Database, spec: Dataset): Promise<{ solvers: Array<{ token: string; userId: number }>; fanoutChallenge: number }> {
  await db.query(`UPDATE ctf_event SET setup_done = true, mode = 'users', name = 'bench'`);
  await db.query(`INSERT INTO ctf_users (name, verified) SELECT 'bench-' || lpad(i::text, 5, '0'), true FROM generate_series(1, $1) i`, [spec.users]);
  await db.query(
    `INSERT INTO ctf_challenges (name, category, description, value) SELECT 'challenge ' || i, 'cat' || (i % 8), '', 50 + (i % 20) * 25 FROM generate_series(1, $1) i`,
    [spec.challenges],
  );
  // Each user k solves solvesPerUser distinct challenges: indexes (7k + 13j) mod C (13 is prime to 50 and 300).
  await db.query(
    `WITH u AS (SELECT id, row_number() OVER (ORDER BY id) AS k FROM ctf_users WHERE name LIKE 'bench-%'),
          c AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS idx FROM ctf_challenges)
     INSERT INTO ctf_submissions (challenge_id, user_id, provided, type, created_at)
     SELECT c.id, u.id, 'flag{bench}', 'correct', now() - interval '10 hours' + (u.k * 131 + j * 977) % 36000 * interval '1 second'
       FROM u CROSS JOIN generate_series(0, $1 - 1) j JOIN c ON c.idx = (u.k * 7 + j * 13) % $2`,
    [spec.solvesPerUser, spec.challenges],
  );
  await db.query(`INSERT INTO ctf_solves (submission_id, challenge_id, user_id, created_at) SELECT id, challenge_id, user_id, created_at FROM ctf_submissions WHERE type = 'correct'`);
  if (spec.awards > 0) {
    await db.query(
      `WITH u AS (SELECT id, row_number() OVER (ORDER BY id) AS k FROM ctf_users WHERE name LIKE 'bench-%')
       INSERT INTO ctf_awards (user_id, name, value, created_at)
       SELECT u.id, 'bench award', (i * 37) % 300 - 100, now() - interval '10 hours' + (i * 53) % 36000 * interval '1 second'
         FROM generate_series(1, $1) i JOIN u ON u.k = i % $2 + 1`,
      [spec.awards, spec.users],
    );
  }
  // One more challenge for the fan-out solves, and API tokens for the users who make them.
  const [fanout] = await db.query<{ id: number }>(`INSERT INTO ctf_challenges (name, category, description, value) VALUES ('fan-out', 'bench', '', 1) RETURNING id`);
  await db.query(`INSERT INTO ctf_flags (challenge_id, type, content) VALUES ($1, 'static', 'flag{bench}')`, [fanout!.id]);
  const solvers = await db.query<{ id: number }>(`SELECT id FROM ctf_users WHERE name LIKE 'bench-%' ORDER BY id LIMIT $1`, [FANOUT_SOLVES]);
  const tokens: Array<{ token: string; userId: number }> = [];
  for (const { id } of solvers) {
    const token = `ctfd_${randomBytes(32).toString("hex")}`;
    await db.query(`INSERT INTO ctf_tokens (user_id, token_hash, description, expires_at) VALUES ($1, $2, 'bench', now() + interval '1 day')`, [id, sha256(token)]);
    tokens.push({ token, userId: Number(id) });
  }
  return { solvers: tokens, fanoutChallenge: fanout!.id };
}

/** The engine alone: load and build time, heap, and what one solve costs to apply (and to serialize after). */
async function engineFigures(db: Database) {
  const read = createReadService(db);
  let started = performance.now();
  const data = await read.scoringFacts();
  const loadMs = performance.now() - started;
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  started = performance.now();
  const state = StandingsState.build(data, read.challengeValue);
  const buildMs = performance.now() - started;
  gc();
  const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;

  // New solves by random users on fresh challenges (each user at most once per challenge).
  const users = data.users.map((u) => u.id);
  let solveId = data.solves.reduce((max, s) => Math.max(max, s.id), 0) + 1;
  const extra = Array.from({ length: 50 }, (_, i) => 1_000_000 + i);
  for (const id of extra) state.putChallenge({ id, value: 100 + (id % 7), decay: null });
  state.flush();
  const taken = new Set<string>();
  const apply: number[] = [];
  const applyAndSerialize: number[] = [];
  for (let i = 0; i < 2000; i++) {
    let user: number;
    let challenge: number;
    do {
      user = users[Math.floor(Math.random() * users.length)]!;
      challenge = extra[Math.floor(Math.random() * extra.length)]!;
    } while (taken.has(`${user}:${challenge}`));
    taken.add(`${user}:${challenge}`);
    const t0 = performance.now();
    state.addSolve({ id: solveId++, challengeId: challenge, userId: user, teamId: null, at: Date.now() });
    state.flush();
    const t1 = performance.now();
    apply.push(t1 - t0);
    if (i % 10 === 0) {
      const body = boardBody(state.standings("public").map((s) => s.tail));
      createHash("sha1").update(body).digest("base64url");
      applyAndSerialize.push(performance.now() - t0);
    }
  }
  // A value change moves every solver of the most solved challenge.
  const counts = new Map<number, number>();
  for (const s of data.solves) counts.set(s.challengeId, (counts.get(s.challengeId) ?? 0) + 1);
  const [busiest, solvers] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? [0, 0];
  const base = data.challenges.find((c) => c.id === busiest);
  let started2 = performance.now();
  if (base) {
    state.putChallenge({ ...base, value: base.value + 1 });
    state.flush();
  }
  const valueChangeMs = performance.now() - started2;
  started2 = performance.now();
  const body = boardBody(state.standings("public").map((s) => s.tail));
  const serializeMs = performance.now() - started2;
  return {
    loadFromDatabaseMs: round(loadMs, 1),
    buildMs: round(buildMs, 1),
    heapMb: round(heapMb, 1),
    applyOneSolve: summarize(apply),
    applyOneSolveThenSerializeFullBoard: summarize(applyAndSerialize),
    valueChangeOfBusiestChallenge: { solvers, ms: round(valueChangeMs) },
    serializeFullBoardMs: round(serializeMs),
    fullBoardBytes: body.length,
  };
}

function startServer(place: Place) {
  return startFlaghost({
    FLAGHOST_DB_SCHEMA: place.schema,
    FLAGHOST_REDIS_PREFIX: `${place.schema}:`,
    ...(place.dataDir ? { FLAGHOST_DATA_DIR: place.dataDir } : {}),
    FLAGHOST_PLUGIN_PATHS: "core/ctf,plugins/scoreboard",
    FLAGHOST_ADMIN_TOKEN: ADMIN_TOKEN,
  });
}

const load50 = (url: string, seconds: number) => loadGet(url, CONNECTIONS, seconds);

/**
 * flaghost and the bare ceiling, measured in alternating rounds (the machine's speed drifts while a benchmark runs,
 * and a single run of each showed swings of a third); each side's figure is its median round.
 */
const ROUNDS = 3;
async function measureEndpoint(flaghost: string, bare: string, path: string) {
  await load50(flaghost + path, 2); // warm-up
  await load50(bare + path, 2);
  const roundSeconds = Math.max(3, Math.round(DURATION_S / 2));
  const served: Array<Awaited<ReturnType<typeof load50>>> = [];
  const ceiling: Array<Awaited<ReturnType<typeof load50>>> = [];
  for (let round = 0; round < ROUNDS; round++) {
    served.push(await load50(flaghost + path, roundSeconds));
    ceiling.push(await load50(bare + path, roundSeconds));
  }
  const median = (runs: typeof served) => [...runs].sort((a, b) => a.reqPerSec - b.reqPerSec)[Math.floor(runs.length / 2)]!;
  const [flaghostMedian, ceilingMedian] = [median(served), median(ceiling)];
  return {
    flaghost: flaghostMedian,
    bareNodeCeiling: ceilingMedian,
    ratio: round(flaghostMedian.reqPerSec / ceilingMedian.reqPerSec, 2),
    rounds: { flaghostReqPerSec: served.map((r) => r.reqPerSec), bareNodeReqPerSec: ceiling.map((r) => r.reqPerSec), seconds: roundSeconds },
  };
}

/** STREAM_CLIENTS sockets on the stream; FANOUT_SOLVES solves through the API; latency to each client's receipt. */
async function fanout(url: string, solvers: Array<{ token: string; userId: number }>, challengeId: number) {
  const tokenResponse = await fetch(`${url}/api/v1/scoreboard/stream-token`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  const { token } = ((await tokenResponse.json()) as { data: { token: string } }).data;
  const now = () => performance.timeOrigin + performance.now();
  const received = new Map<string, number[]>();
  const sockets: WebSocket[] = [];
  let solvedOf = (_key: string) => {};
  for (let batch = 0; batch < STREAM_CLIENTS; batch += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, STREAM_CLIENTS - batch) }, () => {
        const socket = new WebSocket(`${url.replace("http", "ws")}/api/v1/scoreboard/stream?token=${encodeURIComponent(token)}`, { origin: url });
        sockets.push(socket);
        return new Promise<void>((ready, fail) => {
          socket.once("error", fail);
          socket.on("message", (data) => {
            const at = now(); // receipt, before this client's own parsing
            const message = JSON.parse(data.toString());
            if (message.type === "snapshot") return ready();
            if (message.type !== "delta" || message.event !== "solve") return;
            const key = `${message.account_id}:${message.challenge_id}`;
            let list = received.get(key);
            if (!list) received.set(key, (list = []));
            list.push(at);
            if (list.length === STREAM_CLIENTS) solvedOf(key);
          });
        });
      }),
    );
  }
  const latencies: number[] = [];
  const lastClient: number[] = [];
  const firstClient: number[] = [];
  const answered: number[] = [];
  let missing = 0;
  for (const { token: apiToken, userId } of solvers) {
    const key = `${userId}:${challengeId}`;
    const allReceived = new Promise<void>((done) => {
      solvedOf = (k) => k === key && done();
      setTimeout(done, 5000);
    });
    const t0 = now();
    const attempt = await fetch(`${url}/api/v1/challenges/attempt`, {
      method: "POST",
      headers: { authorization: `Token ${apiToken}`, "content-type": "application/json" },
      body: JSON.stringify({ challenge_id: challengeId, submission: "flag{bench}" }),
    });
    const answer = (await attempt.json()) as { data?: { status?: string } };
    answered.push(now() - t0);
    if (answer.data?.status !== "correct") throw new Error(`fan-out solve answered ${attempt.status} ${JSON.stringify(answer)}`);
    await allReceived;
    const times = received.get(key) ?? [];
    missing += STREAM_CLIENTS - times.length;
    for (const at of times) latencies.push(at - t0);
    if (times.length > 0) {
      lastClient.push(Math.max(...times) - t0);
      firstClient.push(Math.min(...times) - t0);
    }
  }
  for (const socket of sockets) socket.terminate();
  return { clients: STREAM_CLIENTS, solves: solvers.length, solveToClient: summarize(latencies), solveToFirstClient: summarize(firstClient), solveToLastClient: summarize(lastClient), attemptAnswered: summarize(answered), missingDeliveries: missing };
}

function processMemory(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rssMb: round(kb("VmRSS") / 1024, 1), peakRssMb: round(kb("VmHWM") / 1024, 1) };
}

async function runDataset(name: string, spec: Dataset) {
  const place: Place = { schema: `bench_scoreboard_${name}_${Date.now().toString(36)}`, dataDir: databaseUrl ? null : mkdtempSync(resolve(tmpdir(), "flaghost-bench-")) };
  const scratch = mkdtempSync(resolve(tmpdir(), "flaghost-bench-bare-"));
  const children: ChildProcess[] = [];
  try {
    console.log(`\ndataset (${name}): ${spec.users} users, ${spec.challenges} challenges, ${spec.users * spec.solvesPerUser} solves, ${spec.awards} awards`);
    const loader = new Kernel(kernelConfig(place));
    await loader.start();
    let started = performance.now();
    const { solvers, fanoutChallenge } = await load(loader.db, spec);
    const loadMs = performance.now() - started;
    const engine = await engineFigures(loader.db);
    await loader.stop();
    console.log(`  loaded in ${round(loadMs / 1000, 1)} s; engine: build ${engine.buildMs} ms, heap ${engine.heapMb} MB, one solve applied p50 ${engine.applyOneSolve.p50Ms} ms p99 ${engine.applyOneSolve.p99Ms} ms`);

    started = performance.now();
    const server = await startServer(place);
    children.push(server.child);
    const bootMs = performance.now() - started;
    const paths = ["/api/v1/scoreboard", "/api/v1/scoreboard/top/10"];
    const captured = await Promise.all(paths.map((path) => capture(server.url, path)));
    const rows = (JSON.parse(captured[0]!.body.toString()) as { data: unknown[] }).data.length;
    const bare = await startBare(captured, scratch);
    children.push(bare.child);

    const endpoints: Record<string, unknown> = {};
    for (const [i, path] of paths.entries()) {
      const figures = await measureEndpoint(server.url, bare.url, path);
      endpoints[path] = { bytes: captured[i]!.body.length, ...figures };
      console.log(
        `  GET ${path} (${captured[i]!.body.length} bytes): flaghost ${figures.flaghost.reqPerSec} req/s (p50 ${figures.flaghost.p50Ms} ms, p99 ${figures.flaghost.p99Ms} ms), ` +
          `bare node ${figures.bareNodeCeiling.reqPerSec} req/s (p50 ${figures.bareNodeCeiling.p50Ms} ms, p99 ${figures.bareNodeCeiling.p99Ms} ms): ${figures.ratio} of the ceiling`,
      );
    }
    const memoryAfterReads = processMemory(server.child.pid!);
    const stream = await fanout(server.url, solvers, fanoutChallenge);
    console.log(
      `  stream: a solve reached ${stream.clients} clients: p50 ${stream.solveToClient.p50Ms} ms, p99 ${stream.solveToClient.p99Ms} ms, first client p50 ${stream.solveToFirstClient.p50Ms} ms, last client p99 ${stream.solveToLastClient.p99Ms} ms; the attempt answered p50 ${stream.attemptAnswered.p50Ms} ms (${stream.solves} solves, ${stream.missingDeliveries} missing)`,
    );
    const memory = { afterReads: memoryAfterReads, afterStream: processMemory(server.child.pid!) };
    console.log(`  server memory: ${memory.afterStream.rssMb} MB RSS (peak ${memory.afterStream.peakRssMb} MB)`);
    return { ...spec, solves: spec.users * spec.solvesPerUser, boardRows: rows, loadMs: round(loadMs, 0), serverBootMs: round(bootMs, 0), engine, endpoints, stream, serverMemory: memory };
  } finally {
    for (const child of children) child.kill("SIGTERM");
    await Promise.all(children.map((child) => (child.exitCode === null ? new Promise((r) => child.once("exit", r)) : null)));
    rmSync(scratch, { recursive: true, force: true });
    if (place.dataDir) rmSync(place.dataDir, { recursive: true, force: true });
    if (databaseUrl) await dropSchema(place.schema);
  }
}

const chosen = process.argv.slice(2).filter((a) => a in DATASETS);
const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, backend, loadTool, connections: CONNECTIONS, durationS: DURATION_S, datasets: {} };
console.log(`scoreboard benchmark on ${backend}, ${cpus().length} CPUs, ${CONNECTIONS} connections (${loadTool}), ${DURATION_S} s per run`);
for (const name of chosen.length > 0 ? chosen : Object.keys(DATASETS)) (results.datasets as Record<string, unknown>)[name] = await runDataset(name, DATASETS[name]!);
mkdirSync(resolve(root, "bench/results"), { recursive: true });
writeFileSync(resolve(root, "bench/results/scoreboard.json"), JSON.stringify(results, null, 2));
console.log(`\nwrote bench/results/scoreboard.json`);
process.exit(0);
