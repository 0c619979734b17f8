import { expect } from "chai";
import pg from "pg";
import { seedEvent, type SeededEvent } from "../../bench/support/event-seed.js";
import { migrateFlaghost } from "../../bench/support/processes.js";
import { CTF_PLUGIN } from "../helpers/ctf.js";
import { backends, uniqueName } from "../helpers/backends.js";
import { eventually, projectRoot, startTestKernel, type TestKernel } from "../helpers/kernel.js";
import { resolve } from "node:path";

/**
 * Issue 12's rule "no aggregate on a hot path; paged lists use indexes": proven on real Postgres by its own
 * statistics. An event big enough that the planner prefers an index whenever one serves (5,000 players, 50,000
 * solves) is seeded and ANALYZEd; a `web` process (it claims no jobs, so nothing else reads meanwhile) serves the
 * player reads; then pg_stat_user_tables must show no sequential scan of the event's large tables, and index scans
 * where the database was asked at all. A read that scans a table, or one whose query lost its index, fails here.
 */
describe("player reads on a large event: no sequential scan of a large table (Postgres statistics)", function () {
  this.timeout(240_000);
  const schema = uniqueName("plans");
  const LARGE_TABLES = ["ctf_users", "ctf_solves", "ctf_submissions", "ctf_awards", "ctf_unlocks", "ctf_tokens", "ctf_sessions"];
  let db: pg.Client;
  let t: TestKernel;
  let event: SeededEvent;

  type Counters = Record<string, { seq: number; idx: number }>;
  const counters = async (): Promise<Counters> => {
    const { rows } = await db.query(`SELECT relname, seq_scan::int AS seq, coalesce(idx_scan, 0)::int AS idx FROM pg_stat_user_tables WHERE schemaname = $1`, [schema]);
    return Object.fromEntries(rows.map((r) => [r.relname, { seq: r.seq, idx: r.idx }]));
  };
  /**
   * Other sessions report their counters when they go idle, at most once a second and otherwise within ten seconds
   * (Postgres 15), so the figures are read once they have stopped moving for longer than that.
   */
  const settledCounters = async (): Promise<Counters> => {
    let last = JSON.stringify(await counters());
    let stableSince = Date.now();
    for (;;) {
      await new Promise((r) => setTimeout(r, 1_000));
      const now = JSON.stringify(await counters());
      if (now !== last) [last, stableSince] = [now, Date.now()];
      else if (Date.now() - stableSince >= 11_500) return JSON.parse(now);
    }
  };

  before(async function () {
    const env = { FLAGHOST_DB_SCHEMA: schema, FLAGHOST_REDIS_PREFIX: `${schema}:`, FLAGHOST_PLUGIN_PATHS: "core/ctf,plugins/scoreboard" };
    await migrateFlaghost(env);
    db = new pg.Client({ connectionString: backends.databaseUrl, options: `-c search_path=${schema}` });
    await db.connect();
    event = await seedEvent(db, { mode: "users", players: 5_000, solves: 50_000, challenges: 40, teamSize: 1 });
    await db.query("ANALYZE");
    t = await startTestKernel({ plugins: [CTF_PLUGIN, resolve(projectRoot, "plugins/scoreboard")], schema, config: { role: "web" } });
  });

  after(async () => {
    await t?.stop(); // drops the schema
    await db?.end();
  });

  it("answers profiles, activity lists, list pages and a challenge by index only", async () => {
    const player = event.players[1234]!;
    const other = event.players[4321]!;
    const asPlayer = (path: string) => t.request("GET", path, { token: player.token });
    // A challenge's solver list joins most of the accounts (1,250 solvers here): it is read once per change, not
    // per request (game/solver-lists.ts), so it is read once before the figures are taken and must not read again.
    const solvers = `/api/v1/challenges/${event.challengeIds[3]}/solves`;
    const first = await asPlayer(solvers);
    expect(first.body.data).to.have.length.greaterThan(1_000);
    const before = await settledCounters();

    const reads = [
      "/api/v1/users/me",
      `/api/v1/users/${other.userId}`,
      "/api/v1/users/me/solves",
      "/api/v1/users/me/fails",
      "/api/v1/users/me/awards",
      `/api/v1/users/${other.userId}/solves`,
      `/api/v1/users/${other.userId}/fails`,
      `/api/v1/users/${other.userId}/awards`,
      "/api/v1/users?page=1",
      "/api/v1/users?page=37",
      "/api/v1/users?page=100",
      `/api/v1/challenges/${event.challengeIds[3]}`,
      solvers,
      "/api/v1/challenges",
      "/api/v1/scoreboard",
      "/api/v1/scoreboard/top/10",
    ];
    for (const path of reads) {
      const response = await asPlayer(path);
      expect(response.status, `${path}: ${JSON.stringify(response.body).slice(0, 200)}`).to.equal(200);
    }
    // The activity lists asked the database (nothing caches them), so their index scans must show up.
    const after = (await eventually(async () => {
      const now = await settledCounters();
      return now.ctf_solves!.idx > before.ctf_solves!.idx && now.ctf_submissions!.idx > before.ctf_submissions!.idx ? now : null;
    }, 60_000, 0))!;

    const scanned = LARGE_TABLES.filter((table) => after[table] && after[table].seq !== before[table]!.seq).map((table) => `${table}: ${after[table]!.seq - before[table]!.seq} sequential scans`);
    expect(scanned, "a player read scanned a large table").to.deep.equal([]);
    expect(after.ctf_users!.idx, "the list pages and profiles read users by index").to.be.greaterThan(before.ctf_users!.idx);
  });
});
