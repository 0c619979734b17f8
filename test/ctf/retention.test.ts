import { expect } from "chai";
import { startCtf, type TestCtf } from "../helpers/ctf.js";

/**
 * Issue 11, retention: expired sessions (ctf.retention) and old job runs (kernel.job-runs-retention) are deleted
 * by daily cluster jobs, in batches, the age configurable, the latest run of every job kept; the run records
 * show the counts.
 */
describe("retention of sessions and job runs", function () {
  this.timeout(120_000);
  let t: TestCtf;
  // A configured age of 20 days (the default is 30), so a row 25 days old goes and one 15 days old stays.
  before(async () => {
    t = await startCtf({ config: { scheduler: { keepRunsDays: 20 }, plugins: { ctf: { retentionDays: 20 } } } });
  });
  after(() => t.stop());

  const count = async (sql: string, params: unknown[] = []) => Number(((await t.kernel.db.query(sql, params)) as Array<{ n: number | string }>)[0]!.n);
  const addRun = (job: string, daysAgo: number) =>
    t.kernel.db.query(
      `INSERT INTO kernel_job_runs (job, slot, claim_key, trigger, instance, outcome, started_at, finished_at)
       VALUES ($1, now() - $2 * interval '1 day', md5(random()::text), 'schedule', 'gone', 'succeeded', now() - $2 * interval '1 day', now() - $2 * interval '1 day')`,
      [job, daysAgo],
    );

  it("lists both jobs in GET /api/v1/admin/jobs", async () => {
    const jobs = (await t.bootstrap.get("/api/v1/admin/jobs")).body.data as Array<{ id: string; plugin: string; scope: string }>;
    expect(jobs.map((j) => [j.id, j.plugin, j.scope])).to.deep.include.members([
      ["ctf.retention", "ctf", "cluster"],
      ["kernel.job-runs-retention", "kernel", "cluster"],
    ]);
  });

  it("deletes sessions expired longer ago than the age, in batches, and shows the count in the run", async () => {
    const player = await t.register("retention_player");
    const userId = player.user!.id;
    // 2,500 sessions that expired 25 days ago (three batches), and one that expired 15 days ago.
    await t.kernel.db.query(
      `INSERT INTO ctf_sessions (id_hash, user_id, csrf_token, created_at, expires_at)
       SELECT md5('old' || g), $1, 'x', now() - interval '40 days', now() - interval '25 days' FROM generate_series(1, 2500) g`,
      [userId],
    );
    await t.kernel.db.query(`INSERT INTO ctf_sessions (id_hash, user_id, csrf_token, expires_at) VALUES (md5('recent'), $1, 'x', now() - interval '15 days')`, [userId]);

    const run = await t.bootstrap.post("/api/v1/admin/jobs/ctf.retention/run");
    expect(run.status, JSON.stringify(run.body)).to.equal(200);
    expect(run.body.data).to.deep.include({ outcome: "succeeded", result: { olderThanDays: 20, expiredSessions: 2500 } });
    // The player's live session and the recently expired one stay.
    expect(await count(`SELECT count(*)::int AS n FROM ctf_sessions WHERE user_id = $1`, [userId])).to.equal(2);
    expect((await player.get("/api/v1/users/me")).status).to.equal(200);

    const runs = (await t.bootstrap.get("/api/v1/admin/jobs/ctf.retention/runs")).body.data;
    expect(runs[0].result).to.deep.equal({ olderThanDays: 20, expiredSessions: 2500 });
  });

  it("deletes job runs older than the age but keeps the latest run of every job, and shows the count", async () => {
    // gone.job ran last 25 days ago: that run stays, the two before it go. busy.job ran 15 days ago too.
    for (const days of [60, 50, 25]) await addRun("gone.job", days);
    for (const days of [45, 15]) await addRun("busy.job", days);

    const run = await t.bootstrap.post("/api/v1/admin/jobs/kernel.job-runs-retention/run");
    expect(run.status, JSON.stringify(run.body)).to.equal(200);
    expect(run.body.data).to.deep.include({ outcome: "succeeded", result: { olderThanDays: 20, jobRuns: 3 } });
    const left = (await t.kernel.db.query(
      `SELECT job, round(EXTRACT(EPOCH FROM now() - started_at) / 86400)::int AS days FROM kernel_job_runs WHERE job IN ('gone.job', 'busy.job') ORDER BY job, days`,
    )) as Array<{ job: string; days: number }>;
    expect(left.map((r) => [r.job, r.days])).to.deep.equal([
      ["busy.job", 15],
      ["gone.job", 25],
    ]);

    const listed = (await t.bootstrap.get("/api/v1/admin/jobs")).body.data.find((j: { id: string }) => j.id === "kernel.job-runs-retention");
    expect(listed.last).to.deep.include({ outcome: "succeeded", result: { olderThanDays: 20, jobRuns: 3 } });
    // The run records of the retention jobs themselves are recent: a second run deletes nothing.
    const again = await t.bootstrap.post("/api/v1/admin/jobs/kernel.job-runs-retention/run");
    expect(again.body.data.result).to.deep.equal({ olderThanDays: 20, jobRuns: 0 });
  });
});
