import { expect } from "chai";
import pg from "pg";
import { backends } from "../helpers/backends.js";
import { eventually } from "../helpers/kernel.js";
import { startCtf, type ApiResponse, type TestCtf } from "../helpers/ctf.js";

/**
 * Issue 11, hole 4: a challenge written while the challenge cache is loading must be in the write's answer and in
 * later reads. The cache load is made slow (150 challenges of 60 KB descriptions), so a load that a board read
 * starts just before a write's commit is still running when the write reads the cache. An update is held on its
 * row (Postgres: the test's own session locks it) after its first cache read, until that load has started.
 * On the embedded database statements are serialized, so no load can straddle a commit there: the same requests
 * run, without the row lock, and must answer the same.
 */
describe("core/ctf: challenge writes while the challenge cache is loading", function () {
  this.timeout(120_000);
  let t: TestCtf;
  let holder: pg.Client | null = null;

  before(async () => {
    t = await startCtf();
    const description = "x".repeat(60_000);
    for (let batch = 0; batch < 15; batch++) {
      await Promise.all(Array.from({ length: 10 }, (_, i) => t.bootstrap.post("/api/v1/challenges", { name: `bulk ${batch}-${i}`, description, value: 1 })));
    }
    if (backends.databaseUrl) {
      holder = new pg.Client({ connectionString: backends.databaseUrl });
      await holder.connect();
    }
  });
  after(async () => {
    await holder?.end();
    await t.stop();
  });

  /** Empties the cache without reloading it: a delete invalidates, and nothing reads until the next request. */
  const emptyCache = async () => {
    const scratch = await t.challenge();
    expect((await t.admin.delete(`/api/v1/challenges/${scratch}`)).status).to.equal(200);
  };
  const board = () => t.bootstrap.get("/api/v1/challenges");

  it("create while loading: the answer and later reads show the new challenge", async () => {
    for (let round = 0; round < 5; round++) {
      await emptyCache();
      const name = `created-${round}-${Date.now()}`;
      const [read, res] = await Promise.all([board(), t.bootstrap.post("/api/v1/challenges", { name, category: "c", description: "d", value: 100 })]);
      expect(read.status).to.equal(200);
      expect(res.status, `round ${round}: ${JSON.stringify(res.body)}`).to.equal(200);
      expect(res.body.data.name).to.equal(name);
      expect((await t.admin.get(`/api/v1/challenges/${res.body.data.id}`)).body.data.name).to.equal(name);
    }
  });

  it("update while loading: the answer and later reads show the change", async () => {
    const id = await t.challenge({ name: `before-${Date.now()}` });
    for (let round = 0; round < 5; round++) {
      const scratch = await t.challenge();
      expect((await board()).status).to.equal(200); // warm: the update's first read is answered from the cache
      const name = `after-${round}-${Date.now()}`;
      let written: Promise<ApiResponse>;
      let read: Promise<ApiResponse>;
      if (holder) {
        await holder.query("BEGIN");
        await holder.query(`SELECT 1 FROM "${t.schema}".ctf_challenges WHERE id = $1 FOR UPDATE`, [id]);
        written = t.bootstrap.patch(`/api/v1/challenges/${id}`, { name });
        await eventually(async () => {
          await holder!.query(`SELECT pg_stat_clear_snapshot()`); // inside a transaction, pg_stat_activity is read once
          return (await holder!.query(`SELECT 1 FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))`)).rowCount! > 0;
        });
        expect((await t.admin.delete(`/api/v1/challenges/${scratch}`)).status).to.equal(200);
        read = board();
        await holder.query("COMMIT");
      } else {
        expect((await t.admin.delete(`/api/v1/challenges/${scratch}`)).status).to.equal(200);
        [read, written] = [board(), t.bootstrap.patch(`/api/v1/challenges/${id}`, { name })];
      }
      const res = await written;
      expect((await read).status).to.equal(200);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.data.name, `round ${round}`).to.equal(name);
      expect((await t.admin.get(`/api/v1/challenges/${id}`)).body.data.name).to.equal(name);
    }
  });
});
