import { expect } from "chai";
import pg from "pg";
import { backends } from "../helpers/backends.js";
import { startCtf, type TestCtf } from "../helpers/ctf.js";
import { eventually } from "../helpers/kernel.js";

/**
 * Issue 11, hole 3: the score check and the unlock's negative award must not interleave with another unlock of the
 * same account, or parallel unlocks of different hints spend points the account does not have.
 *
 * On Postgres the test makes the unlocks overlap for certain: it holds `ctf_unlocks` (SHARE mode blocks inserts)
 * until every unlock transaction the pool can open is waiting, on that lock or on the account's lock, and only then
 * lets them go. On the embedded database transactions are serialized, so the same requests run without the lock.
 */
describe("core/ctf: parallel hint unlocks of one account", function () {
  this.timeout(120_000);
  let t: TestCtf;
  let holder: pg.Client | null = null;
  before(async () => {
    t = await startCtf();
    if (backends.databaseUrl) {
      holder = new pg.Client({ connectionString: backends.databaseUrl });
      await holder.connect();
    }
  });
  after(async () => {
    await holder?.end();
    await t.stop();
  });

  /** Sessions waiting on the holder's lock, plus those waiting on one of them (the account's advisory lock). */
  const waitingBehindHolder = async () => {
    await holder!.query(`SELECT pg_stat_clear_snapshot()`); // inside a transaction, pg_stat_activity is read once
    return Number(
      (
        await holder!.query(`
          WITH direct AS (SELECT pid FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid)))
          SELECT (SELECT count(*) FROM direct)
               + (SELECT count(*) FROM pg_stat_activity a WHERE EXISTS (SELECT 1 FROM direct d WHERE d.pid = ANY(pg_blocking_pids(a.pid)))) AS n`)
      ).rows[0].n,
    );
  };

  it("20 parallel unlocks against a score that pays for 2: exactly 2 succeed and the score ends at 0", async () => {
    const challenge = await t.challenge();
    const hints: number[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await t.admin.post("/api/v1/hints", { challenge_id: challenge, content: `hint ${i}`, cost: 50 });
      expect(res.status).to.equal(200);
      hints.push(res.body.data.id);
    }
    const player = await t.register();
    expect((await t.admin.post("/api/v1/awards", { user_id: player.user!.id, name: "seed", value: 100 })).status).to.equal(200);

    if (holder) {
      await holder.query("BEGIN");
      await holder.query(`LOCK TABLE "${t.schema}".ctf_unlocks IN SHARE MODE`);
    }
    const sent = Promise.all(hints.map((target) => player.post("/api/v1/unlocks", { target, type: "hints" })));
    if (holder) {
      // As many unlock transactions as the pool holds are open and stuck before they commit.
      const open = Math.min(hints.length, t.kernel.config.database.poolSize);
      await eventually(async () => (await waitingBehindHolder()) >= open);
      await holder.query("COMMIT");
    }
    const answers = await sent;
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 200), JSON.stringify(statuses)).to.have.length(2);
    for (const refused of answers.filter((a) => a.status !== 200)) {
      expect(refused.status).to.equal(400);
      expect(refused.body.errors).to.have.property("score");
    }
    expect((await player.get("/api/v1/users/me")).body.data.score).to.equal(0);
    expect((await player.get("/api/v1/unlocks")).body.data).to.have.length(2);
  });
});
