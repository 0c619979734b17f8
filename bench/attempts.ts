/**
 * `npm run bench -- attempts`: throughput and latency of POST /api/v1/challenges/attempt on real Postgres and
 * Redis. The platform runs as its own process (`flaghost start`, as in production); this process seeds it and
 * is the load generator (autocannon, 50 keep-alive connections). 20,000 accounts take turns, so each gives a few
 * wrong answers a minute and the wrong-answer rate limit (10 a minute) is not what is measured. After each run, every answered attempt is checked against the
 * submissions table (each one must be durable before its answer). Prints figures, writes bench/results/attempts.json.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import autocannon from "autocannon";
import pg from "pg";
import { dropSchema } from "../test/helpers/kernel.js";
import { startFlaghost } from "./support/processes.js";

const root = resolve(import.meta.dirname, "..");
const ACCOUNTS = 20_000;
const CHALLENGES = 50;
const CONNECTIONS = 50;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);

const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;
if (!databaseUrl || !redisUrl) {
  console.error("bench attempts needs DATABASE_URL and REDIS_URL (real Postgres and Redis)");
  process.exit(1);
}

const schema = `bench_attempts_${Date.now().toString(36)}`;
const sha256 = (v: string) => createHash("sha256").update(v).digest("hex");

function startServer() {
  return startFlaghost({ FLAGHOST_DB_SCHEMA: schema, FLAGHOST_REDIS_PREFIX: `${schema}:`, FLAGHOST_PLUGIN_PATHS: "core/ctf" });
}

async function seed(url: string, db: pg.Client): Promise<{ tokens: string[]; challengeIds: number[] }> {
  const setup = await fetch(`${url}/api/v1/setup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ctf_name: "bench", user_mode: "users", name: "admin", email: "admin@bench.test", password: "bench-admin-password" }),
  });
  if (!setup.ok) throw new Error(`setup failed: ${setup.status} ${await setup.text()}`);
  // Bulk loaders: accounts and challenges straight into the tables (the admin API would hash 3,000 passwords).
  const tokens = Array.from({ length: ACCOUNTS }, () => `ctfd_${randomBytes(32).toString("hex")}`);
  await db.query(`INSERT INTO ctf_users (name, email) SELECT 'player-' || i, 'player-' || i || '@bench.test' FROM generate_series(1, $1) i`, [ACCOUNTS]);
  await db.query(
    `INSERT INTO ctf_tokens (user_id, token_hash, expires_at)
     SELECT u.id, t.hash, now() + interval '1 day' FROM unnest($1::text[]) WITH ORDINALITY AS t(hash, n)
       JOIN ctf_users u ON u.name = 'player-' || t.n`,
    [tokens.map(sha256)],
  );
  const challenges = await db.query<{ id: number }>(
    `INSERT INTO ctf_challenges (name, category, value) SELECT 'challenge-' || i, 'bench', 100 FROM generate_series(1, $1) i RETURNING id`,
    [CHALLENGES],
  );
  await db.query(`INSERT INTO ctf_flags (challenge_id, type, content) SELECT id, 'static', 'flag{' || id || '}' FROM ctf_challenges`);
  return { tokens, challengeIds: challenges.rows.map((r) => r.id) };
}

interface Scenario {
  name: string;
  /** Share of attempts that carry the right flag. */
  correctShare: number;
}

/** Request counter across runs: request i goes to account i mod ACCOUNTS on challenge i div ACCOUNTS, so no pair repeats. */
let next = 0;

async function run(url: string, scenario: Scenario, tokens: string[], challengeIds: number[], amount?: number) {
  const statuses: Record<string, number> = {};
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    ...(amount ? { amount } : { duration: DURATION_S }),
    requests: [
      {
        method: "POST",
        path: "/api/v1/challenges/attempt",
        setupRequest(request) {
          const i = next++;
          const token = tokens[i % tokens.length]!;
          const challenge = challengeIds[Math.floor(i / tokens.length) % challengeIds.length]!;
          const correct = (i * 7919) % 1000 < scenario.correctShare * 1000;
          request.headers = { "content-type": "application/json", authorization: `Token ${token}` };
          request.body = JSON.stringify({ challenge_id: challenge, submission: correct ? `flag{${challenge}}` : `flag{wrong-${i}}` });
          return request;
        },
        onResponse(status, body) {
          // A regex, not JSON.parse: the load generator shares the machine's two cores with the server.
          const key = `${status} ${/"status":"(\w+)"/.exec(body)?.[1] ?? "error"}`;
          statuses[key] = (statuses[key] ?? 0) + 1;
        },
      },
    ],
  });
  return { result, statuses };
}

async function main() {
  const server = await startServer();
  const db = new pg.Client({ connectionString: databaseUrl, options: `-c search_path=${schema}` });
  await db.connect();
  const report: Record<string, unknown> = {
    machine: { cpus: (await import("node:os")).cpus().length, node: process.version },
    setup: { accounts: ACCOUNTS, challenges: CHALLENGES, connections: CONNECTIONS, durationS: DURATION_S, backend: "postgres+redis", server: "one flaghost process (role all)" },
    scenarios: [] as unknown[],
  };
  try {
    const { tokens, challengeIds } = await seed(server.url, db);
    // Warm-up, one request per account: an account's first request looks its API token up in the database (later
    // ones hit the caller cache, as a player submitting every few seconds does). Reported apart from the runs.
    const warm = await run(server.url, { name: "warm-up", correctShare: 0.3 }, tokens, challengeIds, ACCOUNTS);
    report.warmUp = { requestsPerSecond: Math.round(warm.result.requests.average), latencyMs: { p50: warm.result.latency.p50, p99: warm.result.latency.p99 } };
    console.log(`warm-up (cold caller cache)  ${String(Math.round(warm.result.requests.average)).padStart(6)} req/s  p50 ${warm.result.latency.p50} ms  p99 ${warm.result.latency.p99} ms`);
    const scenarios: Scenario[] = [
      { name: "mixed (30% correct)", correctShare: 0.3 },
      { name: "wrong flags", correctShare: 0 },
      { name: "correct flags (new solves)", correctShare: 1 },

    ];
    for (const scenario of scenarios) {
      const before = Number((await db.query(`SELECT count(*) AS n FROM ctf_submissions`)).rows[0].n);
      const { result, statuses } = await run(server.url, scenario, tokens, challengeIds);
      const after = Number((await db.query(`SELECT count(*) AS n FROM ctf_submissions`)).rows[0].n);
      // Every answered correct, incorrect or rate-limited attempt must be in the table (already_solved writes nothing).
      const answeredWrites = Object.entries(statuses)
        .filter(([k]) => /(correct|incorrect|ratelimited)$/.test(k) && !k.includes("already"))
        .reduce((n, [, v]) => n + v, 0);
      const row = {
        scenario: scenario.name,
        requestsPerSecond: Math.round(result.requests.average),
        total: result.requests.total,
        latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
        errors: result.errors,
        timeouts: result.timeouts,
        non2xx: result.non2xx,
        statuses,
        submissionsWritten: after - before,
        durableBeforeAnswer: after - before >= answeredWrites,
      };
      (report.scenarios as unknown[]).push(row);
      console.log(
        `${scenario.name.padEnd(28)} ${String(row.requestsPerSecond).padStart(6)} req/s  p50 ${row.latencyMs.p50} ms  p99 ${row.latencyMs.p99} ms  ` +
          `errors ${row.errors}  statuses ${JSON.stringify(statuses)}  durable ${row.durableBeforeAnswer} (${after - before} rows for ${answeredWrites} writing answers)`,
      );
    }
  } finally {
    await db.end();
    server.child.kill("SIGTERM");
    await new Promise((r) => server.child.once("exit", r));
    await dropSchema(schema);
  }
  mkdirSync(resolve(root, "bench/results"), { recursive: true });
  writeFileSync(resolve(root, "bench/results/attempts.json"), JSON.stringify(report, null, 2));
  console.log("wrote bench/results/attempts.json");
}

await main();
process.exit(0);
