/**
 * `npm run bench -- whale`: a herd of 200 simultaneous container starts from 200 accounts, on real Postgres, Redis
 * and the Docker engine at DOCKER_HOST (host network, ports 32750-32999). flaghost runs as two processes, as in
 * production: a `web` process answers the players and a `worker` process (4 concurrent starts) talks to Docker.
 * Measures POST /api/v1/containers latency (as the client sees it, and as the web process's own histogram has it:
 * the client's 200 new connections on the same machine are part of the first), GET /api/v1/challenges latency for
 * other players during the herd, the
 * workers' starts per second, the queue wait, and, for comparison, the engine's own create+start time (the floor).
 * Every start must end ready or failed (none lost). Prints figures and writes bench/results/whale.json.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import Docker from "dockerode";
import pg from "pg";
import { createEngineDriver } from "../plugins/whale/engine/index.js";
import { dropSchema } from "../test/helpers/kernel.js";
import { startFlaghost } from "./support/processes.js";

const root = resolve(import.meta.dirname, "..");
const HERD = Number(process.env.BENCH_WHALE_HERD ?? 200);
const OTHER_PLAYERS = 4;
/** Starts asked for one at a time before the herd (and stopped at once): the uncontended cost of one request. */
const SINGLES = 20;
const PORTS: [number, number] = [32750, 32999];
const IMAGE = "flaghost/flag-server:test";
const FLOOR_SAMPLES = 20;

const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;
if (!databaseUrl || !redisUrl || !process.env.DOCKER_HOST) {
  console.error("bench whale needs DATABASE_URL, REDIS_URL and DOCKER_HOST (real Postgres, Redis and a Docker engine with the test image)");
  process.exit(1);
}

const schema = `bench_whale_${Date.now().toString(36)}`;
const sha256 = (v: string) => createHash("sha256").update(v).digest("hex");
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const round = (n: number) => +n.toFixed(1);
function distribution(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  if (sorted.length === 0) return { n: 0 };
  return { n: sorted.length, p50: round(percentile(sorted, 50)), p90: round(percentile(sorted, 90)), p99: round(percentile(sorted, 99)), max: round(sorted[sorted.length - 1]!) };
}

const whaleEnv = {
  FLAGHOST_DB_SCHEMA: schema,
  FLAGHOST_REDIS_PREFIX: `${schema}:`,
  FLAGHOST_PLUGIN_PATHS: "core/ctf,plugins/whale",
  FLAGHOST__queues__blockMs: "250",
  FLAGHOST__plugins__whale__network: "host",
  FLAGHOST__plugins__whale__portRange: JSON.stringify(PORTS),
  FLAGHOST__plugins__whale__publicHost: "127.0.0.1",
  FLAGHOST__plugins__whale__maxContainers: String(HERD + 50),
  FLAGHOST__plugins__whale__consumers: "4",
  FLAGHOST__plugins__whale__readyTimeoutS: "60",
  FLAGHOST__plugins__whale__claimStaleAfterS: "600",
};

async function removeBenchContainers(): Promise<void> {
  const docker = new Docker();
  const all = await docker.listContainers({ all: true, filters: { label: ["flaghost.whale.start"] } });
  for (const c of all) {
    const port = Number(c.Labels["flaghost.whale.host-port"]);
    if (port >= PORTS[0] && port <= PORTS[1]) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  }
}

/** The engine alone: create+start of one container (no queue, no database), one after another. */
async function engineFloor(): Promise<ReturnType<typeof distribution>> {
  const driver = createEngineDriver({ driver: "docker" });
  const samples: number[] = [];
  try {
    for (let i = 0; i < FLOOR_SAMPLES; i++) {
      const port = PORTS[1] - i;
      const started = performance.now();
      const { id } = await driver.start({
        name: `flaghost-whale-bench-floor-${schema}-${i}`,
        image: IMAGE,
        env: { FLAG: "floor", PORT: String(port) },
        labels: { "flaghost.whale.start": `floor-${i}` },
        memoryMb: 256,
        cpus: 0.5,
        network: "host",
        containerPort: port,
        hostPort: port,
      });
      samples.push(performance.now() - started);
      await driver.remove(id);
    }
  } finally {
    await driver.close();
  }
  return distribution(samples);
}

async function seed(url: string, db: pg.Client): Promise<{ adminToken: string; herd: string[]; others: string[]; singles: string[]; challengeId: number }> {
  const adminPassword = "bench-admin-password";
  const setup = await fetch(`${url}/api/v1/setup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ctf_name: "bench", user_mode: "users", name: "admin", email: "admin@bench.test", password: adminPassword }),
  });
  if (!setup.ok) throw new Error(`setup failed: ${setup.status} ${await setup.text()}`);
  const count = HERD + OTHER_PLAYERS + SINGLES + 1;
  const tokens = Array.from({ length: count }, () => `ctfd_${randomBytes(32).toString("hex")}`);
  // Bulk loaders: accounts and their API tokens straight into the tables (the API would hash 200 passwords).
  await db.query(`INSERT INTO "${schema}".ctf_users (name, email) SELECT 'whale-' || i, 'whale-' || i || '@bench.test' FROM generate_series(1, $1) i`, [count - 1]);
  await db.query(
    `INSERT INTO "${schema}".ctf_tokens (user_id, token_hash, expires_at)
     SELECT u.id, t.hash, now() + interval '1 day' FROM unnest($1::text[]) WITH ORDINALITY AS t(hash, n)
       JOIN "${schema}".ctf_users u ON u.name = CASE WHEN t.n = 1 THEN 'admin' ELSE 'whale-' || (t.n - 1) END`,
    [tokens.map(sha256)],
  );
  const adminToken = tokens[0]!;
  const made = await fetch(`${url}/api/v1/challenges`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Token ${adminToken}` },
    body: JSON.stringify({ name: "herd box", value: 100, type: "container", image: IMAGE, port: 8000 }),
  });
  if (!made.ok) throw new Error(`challenge failed: ${made.status} ${await made.text()}`);
  const challengeId = ((await made.json()) as { data: { id: number } }).data.id;
  return { adminToken, herd: tokens.slice(1, HERD + 1), others: tokens.slice(HERD + 1, HERD + 1 + OTHER_PLAYERS), singles: tokens.slice(HERD + 1 + OTHER_PLAYERS), challengeId };
}

async function timed(url: string, init: RequestInit): Promise<{ ms: number; status: number }> {
  const started = performance.now();
  const response = await fetch(url, init);
  await response.arrayBuffer();
  return { ms: performance.now() - started, status: response.status };
}

/** The web process's own request-duration histogram (ms bucket bound → count) for one method and route. */
async function serverBuckets(url: string, adminToken: string, method: string, route: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Token ${adminToken}` } })).text();
  const buckets = new Map<number, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("flaghost_http_request_duration_seconds_bucket{") || !line.includes(`method="${method}"`) || !line.includes(`route="${route}"`)) continue;
    const le = /le="([^"]+)"/.exec(line)![1]!;
    buckets.set(le === "+Inf" ? Infinity : Number(le) * 1000, Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return buckets;
}

/**
 * Percentiles as the server measured them (from request to response in the web process, without the client's
 * connection set-up and queueing): the bound of the histogram bucket each falls in, between two readings.
 */
function serverPercentiles(before: Map<number, number>, after: Map<number, number>) {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  const at = (p: number) => bounds.find((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0) >= Math.ceil((p / 100) * total)) ?? null;
  return { n: total, p50_at_most: at(50), p99_at_most: at(99) };
}

async function main() {
  await removeBenchContainers();
  console.log(`engine floor: ${FLOOR_SAMPLES} sequential create+start on the engine alone…`);
  const floor = await engineFloor();

  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const web = await startFlaghost({ ...whaleEnv, FLAGHOST_ROLE: "web", FLAGHOST_INSTANCE_ID: "bench-web" });
  const worker = await startFlaghost({ ...whaleEnv, FLAGHOST_ROLE: "worker", FLAGHOST_INSTANCE_ID: "bench-worker" });
  try {
    const { adminToken, herd, others, singles, challengeId } = await seed(web.url, db);
    // Warm up the routes once (first requests compile and prepare statements).
    await timed(`${web.url}/api/v1/challenges`, { headers: { authorization: `Token ${others[0]}` } });

    console.log(`${SINGLES} starts one at a time (each stopped at once)…`);
    const single: number[] = [];
    for (const token of singles) {
      const headers = { "content-type": "application/json", authorization: `Token ${token}` };
      const body = JSON.stringify({ challenge_id: challengeId });
      const answer = await timed(`${web.url}/api/v1/containers`, { method: "POST", headers, body });
      if (answer.status !== 202) throw new Error(`single start answered ${answer.status}`);
      single.push(answer.ms);
      await timed(`${web.url}/api/v1/containers`, { method: "DELETE", headers, body });
    }
    await db.query(`DELETE FROM "${schema}".whale_starts`); // the herd's figures start from a clean table

    console.log(`herd: ${HERD} simultaneous POST /api/v1/containers…`);
    let herdDone = false;
    const browsing: number[] = [];
    const browse = async (token: string) => {
      while (!herdDone) browsing.push((await timed(`${web.url}/api/v1/challenges`, { headers: { authorization: `Token ${token}` } })).ms);
    };
    const browsers = others.map(browse);
    const serverBefore = await serverBuckets(web.url, adminToken, "POST", "/api/v1/containers");
    const herdStarted = Date.now();
    const posts = await Promise.all(
      herd.map((token) =>
        timed(`${web.url}/api/v1/containers`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Token ${token}` },
          body: JSON.stringify({ challenge_id: challengeId }),
        }),
      ),
    );
    const accepted = posts.filter((p) => p.status === 202).length;
    const postServerSide = serverPercentiles(serverBefore, await serverBuckets(web.url, adminToken, "POST", "/api/v1/containers"));

    // Until every start is final (ready or failed): none may be lost.
    const deadline = Date.now() + 15 * 60_000;
    let counts: Record<string, number> = {};
    for (;;) {
      const rows = await db.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM "${schema}".whale_starts GROUP BY status`);
      counts = Object.fromEntries(rows.rows.map((r) => [r.status, r.n]));
      if ((counts.ready ?? 0) + (counts.failed ?? 0) >= accepted) break;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    herdDone = true;
    await Promise.all(browsers);
    const herdSeconds = (Date.now() - herdStarted) / 1000;

    const times = await db.query<{ wait_ms: number; total_ms: number; picked: Date; ready: Date | null }>(
      `SELECT extract(epoch FROM picked_at - created_at) * 1000 AS wait_ms, extract(epoch FROM ready_at - created_at) * 1000 AS total_ms,
              picked_at AS picked, ready_at AS ready FROM "${schema}".whale_starts`,
    );
    const readyAt = times.rows.filter((r) => r.ready).map((r) => new Date(r.ready!).getTime());
    const firstPicked = Math.min(...times.rows.filter((r) => r.picked).map((r) => new Date(r.picked).getTime()));
    const workerSeconds = readyAt.length > 0 ? (Math.max(...readyAt) - firstPicked) / 1000 : null;
    const postStatuses: Record<string, number> = {};
    for (const p of posts) postStatuses[p.status] = (postStatuses[p.status] ?? 0) + 1;

    const result = {
      date: new Date().toISOString(),
      herd: HERD,
      processes: "one web, one worker (consumers = 4), host network",
      post_containers_ms: distribution(posts.map((p) => p.ms)),
      post_containers_server_side_ms: postServerSide,
      post_containers_one_at_a_time_ms: distribution(single),
      post_statuses: postStatuses,
      get_challenges_during_herd_ms: distribution(browsing),
      outcome: { ready: counts.ready ?? 0, failed: counts.failed ?? 0, lost: accepted - (counts.ready ?? 0) - (counts.failed ?? 0) },
      starts_per_second: workerSeconds ? +(readyAt.length / workerSeconds).toFixed(2) : null,
      queue_wait_ms: distribution(times.rows.filter((r) => r.wait_ms !== null).map((r) => Number(r.wait_ms))),
      request_to_ready_ms: distribution(times.rows.filter((r) => r.total_ms !== null).map((r) => Number(r.total_ms))),
      engine_create_start_ms: floor,
      herd_wall_seconds: round(herdSeconds),
      targets: { post_p99_ms: 25, get_challenges_p99_ms: 50 },
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(
      `POST p99 ${result.post_containers_ms.p99} ms (target < 25; server side ≤ ${postServerSide.p99_at_most} ms) · GET /challenges p99 ${result.get_challenges_during_herd_ms.p99} ms (target < 50) · ` +
        `${result.outcome.ready} ready, ${result.outcome.failed} failed, ${result.outcome.lost} lost · ${result.starts_per_second} starts/s · engine create+start p50 ${floor.p50} ms`,
    );
    mkdirSync(resolve(root, "bench/results"), { recursive: true });
    writeFileSync(resolve(root, "bench/results/whale.json"), JSON.stringify(result, null, 2) + "\n");
  } finally {
    web.child.kill("SIGTERM");
    worker.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 1000));
    await removeBenchContainers();
    await db.end();
    await dropSchema(schema);
  }
}

await main();
process.exit(0);
