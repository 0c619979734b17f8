/**
 * `npm run bench -- phase2`:
 *
 *  1. The attempt pipeline with phase2 enabled versus disabled, in the same run: two flaghost processes (`flaghost
 *     start`, role all) on real Postgres and Redis, one with core/ctf + scoreboard + phase2 and one without phase2,
 *     loaded in turn (alternating rounds, so drift of the shared 2-core machine hits both) by autocannon with 50
 *     keep-alive connections; 30 % correct flags, so solves (and phase2's blood handler) happen throughout.
 *     Target: added p99 < 5 ms, throughput within 10 %.
 *  2. One `phase2.analytics` run over 10,000 submissions in the window, in this process (embedded PGlite, and
 *     Postgres + Redis when set): duration, peak heap and RSS growth over the run, and the latency of phase2's
 *     API answered meanwhile.
 *
 * Prints figures and writes bench/results/phase2.json.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import v8 from "node:v8";
import vm from "node:vm";
import autocannon from "autocannon";
import pg from "pg";
import { startCtf } from "../test/helpers/ctf.js";
import { dropSchema, projectRoot } from "../test/helpers/kernel.js";
import { backends } from "../test/helpers/backends.js";
import { startFlaghost } from "./support/processes.js";

/** As in bench/attempts.ts: enough accounts that each gives only a few wrong answers a minute (the rate limit is not measured). */
const ACCOUNTS = 20_000;
const CHALLENGES = 50;
const CONNECTIONS = 50;
const ROUND_S = Number(process.env.BENCH_DURATION_S ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WINDOW_SUBMISSIONS = 10_000;

// A collection before the analytics run, so its memory growth is not hidden by the load's own garbage.
v8.setFlagsFromString("--expose-gc");
const collectGarbage = vm.runInNewContext("gc") as () => void;

const sha256 = (v: string) => createHash("sha256").update(v).digest("hex");
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);
const round = (n: number, digits = 2) => +n.toFixed(digits);

// ---- 1. the attempt pipeline, phase2 on and off ----

interface Server {
  name: string;
  url: string;
  schema: string;
  child: Awaited<ReturnType<typeof startFlaghost>>["child"];
  tokens: string[];
  challengeIds: number[];
  next: number;
}

async function startServer(name: string, pluginPaths: string): Promise<Server> {
  const schema = `bench_phase2_${name}_${Date.now().toString(36)}`;
  const { child, url } = await startFlaghost({ FLAGHOST_DB_SCHEMA: schema, FLAGHOST_REDIS_PREFIX: `${schema}:`, FLAGHOST_PLUGIN_PATHS: pluginPaths });
  const setup = await fetch(`${url}/api/v1/setup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ctf_name: "bench", user_mode: "users", name: "admin", email: "admin@bench.test", password: "bench-admin-password" }),
  });
  if (!setup.ok) throw new Error(`setup failed: ${setup.status} ${await setup.text()}`);
  // Bulk loaders, as bench/attempts.ts does: accounts, tokens and challenges straight into core/ctf's tables.
  const db = new pg.Client({ connectionString: process.env.DATABASE_URL, options: `-c search_path=${schema}` });
  await db.connect();
  const tokens = Array.from({ length: ACCOUNTS }, () => `ctfd_${randomBytes(32).toString("hex")}`);
  try {
    await db.query(`INSERT INTO ctf_users (name, email) SELECT 'player-' || i, 'player-' || i || '@bench.test' FROM generate_series(1, $1) i`, [ACCOUNTS]);
    await db.query(
      `INSERT INTO ctf_tokens (user_id, token_hash, expires_at)
       SELECT u.id, t.hash, now() + interval '1 day' FROM unnest($1::text[]) WITH ORDINALITY AS t(hash, n) JOIN ctf_users u ON u.name = 'player-' || t.n`,
      [tokens.map(sha256)],
    );
    const challenges = await db.query<{ id: number }>(`INSERT INTO ctf_challenges (name, category, value) SELECT 'challenge-' || i, 'bench', 100 FROM generate_series(1, $1) i RETURNING id`, [CHALLENGES]);
    await db.query(`INSERT INTO ctf_flags (challenge_id, type, content) SELECT id, 'static', 'flag{' || id || '}' FROM ctf_challenges`);
    return { name, url, schema, child, tokens, challengeIds: challenges.rows.map((r) => r.id), next: 0 };
  } finally {
    await db.end();
  }
}

async function stopServer(server: Server): Promise<void> {
  server.child.kill("SIGTERM");
  await new Promise((r) => server.child.once("exit", r));
  await dropSchema(server.schema);
}

/** Load on one server: account i mod ACCOUNTS on challenge i div ACCOUNTS, 30 % right flags. */
async function load(server: Server, seconds?: number, amount?: number) {
  const statuses: Record<string, number> = {};
  const result = await autocannon({
    url: server.url,
    connections: CONNECTIONS,
    ...(amount ? { amount } : { duration: seconds }),
    requests: [
      {
        method: "POST",
        path: "/api/v1/challenges/attempt",
        setupRequest(request) {
          const i = server.next++;
          const token = server.tokens[i % server.tokens.length]!;
          const challenge = server.challengeIds[Math.floor(i / server.tokens.length) % server.challengeIds.length]!;
          const correct = (i * 7919) % 1000 < 300;
          request.headers = { "content-type": "application/json", authorization: `Token ${token}` };
          request.body = JSON.stringify({ challenge_id: challenge, submission: correct ? `flag{${challenge}}` : `flag{wrong-${i % 500}}` });
          return request;
        },
        onResponse(status) {
          statuses[status] = (statuses[status] ?? 0) + 1;
        },
      },
    ],
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors, non2xx: result.non2xx, statuses };
}

async function pipeline() {
  const off = await startServer("off", "core/ctf,plugins/scoreboard");
  const on = await startServer("on", "core/ctf,plugins/scoreboard,plugins/phase2");
  try {
    // Warm-up: one request per account (the caller cache), not reported.
    for (const server of [off, on]) await load(server, undefined, ACCOUNTS);
    const rounds: Array<{ round: number; off: Awaited<ReturnType<typeof load>>; on: Awaited<ReturnType<typeof load>> }> = [];
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which goes first, so neither always runs on a warmer (or busier) machine.
      const first = r % 2 === 0 ? off : on;
      const second = first === off ? on : off;
      const a = await load(first, ROUND_S);
      const b = await load(second, ROUND_S);
      const row = { round: r + 1, off: first === off ? a : b, on: first === on ? a : b };
      rounds.push(row);
      console.log(`round ${r + 1}: phase2 off ${Math.round(row.off.rps)} req/s p99 ${row.off.p99} ms | on ${Math.round(row.on.rps)} req/s p99 ${row.on.p99} ms`);
    }
    const offP99 = median(rounds.map((r) => r.off.p99));
    const onP99 = median(rounds.map((r) => r.on.p99));
    const offRps = median(rounds.map((r) => r.off.rps));
    const onRps = median(rounds.map((r) => r.on.rps));
    const summary = {
      connections: CONNECTIONS,
      roundSeconds: ROUND_S,
      rounds: rounds.length,
      medianOf: { offP99Ms: offP99, onP99Ms: onP99, offRps: Math.round(offRps), onRps: Math.round(onRps) },
      addedP99Ms: round(onP99 - offP99),
      throughputChangePercent: round(((onRps - offRps) / offRps) * 100, 1),
      errors: rounds.reduce((n, r) => n + r.on.errors + r.off.errors, 0),
      /** 429s are the wrong-answer rate limit (an account's 11th wrong answer in a minute), not failures. */
      non2xx: { off: rounds.reduce((n, r) => n + r.off.non2xx, 0), on: rounds.reduce((n, r) => n + r.on.non2xx, 0) },
      targets: { addedP99BelowMs: 5, throughputWithinPercent: 10 },
      perRound: rounds,
    };
    console.log(`pipeline: added p99 ${summary.addedP99Ms} ms (target < 5), throughput ${summary.throughputChangePercent} % (target within ±10)`);
    return summary;
  } finally {
    await stopServer(on);
    await stopServer(off);
  }
}

// ---- 2. one analytics run over 10,000 submissions ----

async function analyticsRun(backend: "embedded" | "postgres") {
  const t = await startCtf({
    plugins: [resolve(projectRoot, "plugins/scoreboard"), resolve(projectRoot, "plugins/phase2")],
    config: { log: { level: "warn" }, plugins: { phase2: { analyticsCron: "0 0 1 1 *", healthCron: "0 0 1 1 *" } } },
  });
  try {
    // Load: 200 users on 20 challenges over the last 10 minutes; 70 % wrong answers from a pool (shared ones),
    // 30 % correct from 60 addresses (same-address solves).
    await t.kernel.db.query(`INSERT INTO ctf_users (name, email) SELECT 'load-' || i, 'load-' || i || '@bench.test' FROM generate_series(1, 200) i`);
    await t.kernel.db.query(`INSERT INTO ctf_challenges (name, category, value) SELECT 'load-' || i, 'cat-' || (i % 5), 100 FROM generate_series(1, 20) i`);
    await t.kernel.db.query(
      `INSERT INTO ctf_submissions (challenge_id, user_id, provided, type, ip, created_at)
       SELECT (SELECT min(id) FROM ctf_challenges WHERE name LIKE 'load-%') + g % 20,
              (SELECT min(id) FROM ctf_users WHERE name LIKE 'load-%') + (g * 7) % 200,
              CASE WHEN g % 10 < 7 THEN 'flag{guess-' || (g % 400) || '}' ELSE 'flag{right}' END,
              CASE WHEN g % 10 < 7 THEN 'incorrect' ELSE 'correct' END,
              '203.0.113.' || (g % 60),
              now() - (g % 600) * interval '1 second'
         FROM generate_series(1, $1) g`,
      [WINDOW_SUBMISSIONS],
    );
    collectGarbage();
    const base = process.memoryUsage();
    let peakHeap = base.heapUsed;
    let peakRss = base.rss;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakHeap = Math.max(peakHeap, m.heapUsed);
      peakRss = Math.max(peakRss, m.rss);
    }, 5);
    let running = true;
    const started = performance.now();
    const run = t.request("POST", "/api/v1/admin/jobs/phase2.analytics/run").finally(() => (running = false));
    const latencies: number[] = [];
    let failures = 0;
    while (running) {
      for (const path of ["/api/v1/phase2/status", "/api/v1/phase2/first_blood_leaderboard"]) {
        const t0 = performance.now();
        const res = await fetch(t.url + path);
        await res.arrayBuffer();
        latencies.push(performance.now() - t0);
        if (res.status !== 200) failures += 1;
      }
    }
    const answer = await run;
    const wall = performance.now() - started;
    clearInterval(sampler);
    const data = answer.body.data;
    if (data.outcome !== "succeeded") throw new Error(`analytics run failed: ${JSON.stringify(data)}`);
    const sorted = [...latencies].sort((a, b) => a - b);
    const figures = {
      backend,
      submissions: data.result.submissions,
      capped: data.result.capped,
      findings: data.result.findings,
      runMs: data.result.ms,
      wallMs: round(wall),
      peakHeapGrowthMB: round((peakHeap - base.heapUsed) / 1048576),
      peakRssGrowthMB: round((peakRss - base.rss) / 1048576),
      apiDuringRun: { requests: latencies.length, failures, p50Ms: round(percentile(sorted, 50)), p99Ms: round(percentile(sorted, 99)), maxMs: round(sorted[sorted.length - 1] ?? 0) },
    };
    console.log(
      `analytics over ${figures.submissions} submissions (${backend}): ${figures.runMs} ms, peak heap +${figures.peakHeapGrowthMB} MB, RSS +${figures.peakRssGrowthMB} MB; ` +
        `API meanwhile: ${figures.apiDuringRun.requests} answers, p99 ${figures.apiDuringRun.p99Ms} ms, max ${figures.apiDuringRun.maxMs} ms, ${failures} failures`,
    );
    return figures;
  } finally {
    await t.stop();
  }
}

const report: Record<string, unknown> = { date: new Date().toISOString(), machine: { cpus: (await import("node:os")).cpus().length, node: process.version } };
const analytics: unknown[] = [];
// The embedded run first: this process then holds no Postgres data.
const savedUrls = { databaseUrl: backends.databaseUrl, redisUrl: backends.redisUrl };
Object.assign(backends, { databaseUrl: undefined, redisUrl: undefined });
analytics.push(await analyticsRun("embedded"));
Object.assign(backends, savedUrls);
if (process.env.DATABASE_URL && process.env.REDIS_URL) {
  analytics.push(await analyticsRun("postgres"));
  report.pipeline = await pipeline();
} else {
  console.log("(DATABASE_URL / REDIS_URL not set: the pipeline comparison and the Postgres analytics run need them)");
}
report.analytics = analytics;
mkdirSync(resolve(projectRoot, "bench/results"), { recursive: true });
writeFileSync(resolve(projectRoot, "bench/results/phase2.json"), JSON.stringify(report, null, 2));
console.log("wrote bench/results/phase2.json");
process.exit(0);
