/**
 * Postgres goes away mid-event and comes back (issue 16, the Postgres fault): two kernel processes (core/ctf and
 * the ticker fixture's per-second job) on a private Postgres (test/helpers/private-services.ts; the machine's
 * shared one is never stopped) and the shared Redis. While Postgres is down every request answers promptly, 503
 * with Retry-After where it needs the database (never a 500, never a hang) and /readyz says 503; once it is back
 * the same processes serve again by themselves, and every attempt answered `correct` is a solve.
 */
import { expect } from "chai";
import pg from "pg";
import { uniqueName } from "../helpers/backends.js";
import { Client, CTF_PLUGIN, sessionAt } from "../helpers/ctf.js";
import { spawnInstance, whenListening, type Instance } from "../helpers/instances.js";
import { eventually, fixturePlugin, responseBody, TEST_ADMIN_TOKEN } from "../helpers/kernel.js";
import { startPrivatePostgres, type PrivatePostgres } from "../helpers/private-services.js";

/** The connect timeout the processes get: with Postgres unreachable, no request may wait longer than this (plus work). */
const CONNECT_TIMEOUT_MS = 2_000;
/** What "promptly" means for an answer during the outage, on a loaded two-core machine. */
const ANSWER_BOUND_MS = 5_000;
const PLAYERS = 8;

describe("faults: Postgres stops and restarts mid-event", function () {
  this.timeout(400_000);
  const schema = uniqueName("pgfault");
  let postgres: PrivatePostgres;
  /** The test's own view of the database (a pool: its connections die with each outage). */
  let db: pg.Pool;
  const instances: Instance[] = [];
  const players: Client[] = [];
  const challenges: number[] = [];
  /** Every (user, challenge) an instance answered `correct` for. */
  const acknowledged: Array<{ userId: number; challengeId: number }> = [];
  const pids = () => instances.map((i) => i.child.pid);
  let pidsAtStart: Array<number | undefined> = [];

  /** The player's session, sent to another instance (sessions are signed with the cluster's shared secret). */
  const on = (instance: Instance, player: Client) => sessionAt(instance.url, player);
  const timed = async <T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> => {
    const startedAt = performance.now();
    const value = await work();
    return { value, ms: performance.now() - startedAt };
  };
  const readyz = async (instance: Instance) => {
    const res = await fetch(`${instance.url}/readyz`, { signal: AbortSignal.timeout(30_000) });
    return { status: res.status, body: await responseBody(res) };
  };
  const flagOf = (challengeId: number) => `flag{pg-fault-${challengeId}}`;

  /** Each player submits the right flag of `challengeId` on one of the instances (alternating); answers the statuses. */
  async function solveRound(challengeId: number): Promise<number[]> {
    return Promise.all(
      players.map(async (player, i) => {
        const res = await on(instances[i % instances.length]!, player).post("/api/v1/challenges/attempt", { challenge_id: challengeId, submission: flagOf(challengeId) });
        if (res.status === 200 && res.body.data?.status === "correct") acknowledged.push({ userId: player.user!.id, challengeId });
        return res.status;
      }),
    );
  }

  before(async () => {
    postgres = await startPrivatePostgres();
    db = new pg.Pool({ connectionString: postgres.url, max: 2 });
    db.on("error", () => undefined);
    for (const name of ["pg-a", "pg-b"]) {
      instances.push(
        spawnInstance({
          name,
          schema,
          env: {
            DATABASE_URL: postgres.url,
            FLAGHOST_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
            FLAGHOST_PLUGIN_PATHS: `${CTF_PLUGIN},${fixturePlugin("ticker")}`,
            FLAGHOST__database__connectTimeoutMs: String(CONNECT_TIMEOUT_MS),
            FLAGHOST__database__poolSize: "4",
          },
        }),
      );
    }
    await whenListening(instances);
    pidsAtStart = pids();

    const admin = new Client(instances[0]!.url);
    const setupBody = { ctf_name: "Outage", user_mode: "users", name: "admin", email: "admin@example.test", password: "admin-password-123" };
    expect(admin.adopt(await admin.request("POST", "/api/v1/setup", setupBody, { authorization: `Token ${TEST_ADMIN_TOKEN}` })).status).to.equal(200);
    for (let i = 0; i < 4; i++) {
      const made = await admin.post("/api/v1/challenges", { name: `c${i}`, category: "misc", description: "d", value: 100, state: "visible" });
      expect(made.status).to.equal(200);
      const id = made.body.data.id as number;
      expect((await admin.post("/api/v1/flags", { challenge_id: id, type: "static", content: flagOf(id) })).status).to.equal(200);
      challenges.push(id);
    }
    for (let i = 0; i < PLAYERS; i++) {
      const player = new Client(instances[i % 2]!.url);
      const name = `p${i}_${Math.random().toString(36).slice(2, 6)}`;
      expect(player.adopt(await player.post("/api/v1/auth/register", { name, email: `${name}@example.test`, password: "player-password-1" })).status).to.equal(200);
      players.push(player);
    }
  });

  after(async () => {
    for (const instance of instances) instance.child.kill("SIGKILL");
    await db?.end().catch(() => undefined);
    await postgres?.stop();
  });

  /**
   * The outage, whichever way Postgres went: every request of a mix of reads and attempts on both instances
   * answers within the bound with 200 (served from memory) or 503 (needs the database), attempts and /readyz 503.
   */
  async function duringOutage(challengeId: number): Promise<{ slowestMs: number; statuses: Record<string, number> }> {
    const statuses: Record<string, number> = {};
    let slowestMs = 0;
    // A few rounds, so that pools whose connections died and those still trying to connect are both exercised.
    for (let round = 0; round < 3; round++) {
      const requests = instances.flatMap((instance) =>
        players.slice(0, 4).flatMap((player) => [
          () => on(instance, player).post("/api/v1/challenges/attempt", { challenge_id: challengeId, submission: flagOf(challengeId) }),
          () => on(instance, player).get("/api/v1/users/me"),
          () => on(instance, player).get("/api/v1/challenges"),
        ]),
      );
      const answers = await Promise.all(requests.map((request) => timed(request)));
      for (const [i, { value, ms }] of answers.entries()) {
        slowestMs = Math.max(slowestMs, ms);
        const kind = ["attempt", "me", "challenges"][i % 3]!;
        statuses[`${kind} ${value.status}`] = (statuses[`${kind} ${value.status}`] ?? 0) + 1;
        expect([200, 503], `${kind}: ${value.status} ${JSON.stringify(value.body)}`).to.include(value.status);
        if (value.status === 503) {
          expect(value.headers.get("retry-after")).to.match(/^\d+$/);
          expect(value.body.errors?.database?.[0], JSON.stringify(value.body)).to.match(/database is unavailable/);
        }
        if (kind === "attempt") {
          expect(value.status, "an attempt needs the database").to.equal(503);
          expect(value.body.data?.status).not.to.equal("correct");
        }
      }
      for (const instance of instances) {
        const { value: ready, ms } = await timed(() => readyz(instance));
        slowestMs = Math.max(slowestMs, ms);
        expect(ready.status).to.equal(503);
        expect(ready.body.data.database).to.equal("down");
      }
    }
    expect(slowestMs, "slowest answer during the outage").to.be.below(ANSWER_BOUND_MS);
    return { slowestMs, statuses };
  }

  /** After Postgres is back: both instances ready again without a restart, and serving attempts. */
  async function recovered(challengeId: number): Promise<number> {
    const startedAt = performance.now();
    await eventually(async () => (await Promise.all(instances.map(readyz))).every((r) => r.status === 200), 60_000, 200);
    const recoveryMs = performance.now() - startedAt;
    expect(pids()).to.deep.equal(pidsAtStart);
    expect(instances.every((i) => i.child.exitCode === null && i.child.signalCode === null)).to.equal(true);
    expect(await solveRound(challengeId)).to.deep.equal(players.map(() => 200));
    return recoveryMs;
  }

  it("answers 503 promptly while Postgres is stopped (fast shutdown) and serves again by itself once it is back", async () => {
    expect(await solveRound(challenges[0]!)).to.deep.equal(players.map(() => 200));

    const downAt = performance.now();
    await postgres.down();
    const outage = await duringOutage(challenges[1]!);
    // Long enough for the per-second job to miss a few slots.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await postgres.up();
    const recoveryMs = await recovered(challenges[1]!);
    console.log(`      Postgres stopped ${Math.round(performance.now() - downAt)} ms; slowest answer meanwhile ${Math.round(outage.slowestMs)} ms; ready again ${Math.round(recoveryMs)} ms after it was back; ${JSON.stringify(outage.statuses)}`);
  });

  it("does the same when Postgres crashes (SIGKILL to the postmaster) and recovers", async () => {
    const downAt = performance.now();
    await postgres.kill();
    const outage = await duringOutage(challenges[2]!);
    await postgres.up();
    const recoveryMs = await recovered(challenges[2]!);
    console.log(`      Postgres killed ${Math.round(performance.now() - downAt)} ms; slowest answer meanwhile ${Math.round(outage.slowestMs)} ms; ready again ${Math.round(recoveryMs)} ms after it was back; ${JSON.stringify(outage.statuses)}`);
  });

  it("lost no acknowledged solve, and the per-second job runs again on both sides of the outages", async () => {
    expect(await solveRound(challenges[3]!)).to.deep.equal(players.map(() => 200));
    expect(acknowledged).to.have.length(PLAYERS * 4); // four rounds: before, after each outage, and now
    const solves = (await db.query(`SELECT user_id, challenge_id FROM "${schema}".ctf_solves`)).rows as Array<{ user_id: number; challenge_id: number }>;
    const recorded = new Set(solves.map((s) => `${s.user_id}/${s.challenge_id}`));
    expect(acknowledged.filter((a) => !recorded.has(`${a.userId}/${a.challengeId}`))).to.deep.equal([]);
    // Every solve was acknowledged too: nothing answered 503 was recorded behind the player's back.
    expect(solves).to.have.length(acknowledged.length);

    const lastRun = async () => (await db.query(`SELECT max(slot) AS slot FROM "${schema}".kernel_job_runs WHERE job = 'ticker.every-second' AND outcome = 'succeeded'`)).rows[0].slot as Date;
    const before = (await lastRun()).getTime();
    await eventually(async () => (await lastRun()).getTime() >= before + 2_000, 20_000, 250);
    // Each slot ran at most once, outages or not.
    const twice = (await db.query(`SELECT slot FROM "${schema}".kernel_job_runs WHERE job = 'ticker.every-second' GROUP BY slot HAVING count(*) > 1`)).rows;
    expect(twice).to.deep.equal([]);
    expect(instances.every((i) => i.child.exitCode === null)).to.equal(true);
  });
});
