import { expect } from "chai";
import type { Client, TestCtf } from "../../helpers/ctf.js";
import { attempt, runJob, settle, solve, startPhase2 } from "./helpers.js";

describe("phase2 analytics", function () {
  this.timeout(120_000);
  let t: TestCtf;
  let players: Client[];

  before(async () => {
    t = await startPhase2({ phase2: { maxSubmissionsPerRun: 5000 } });
    players = [];
    for (let i = 0; i < 3; i++) players.push(await t.register(`stats_${i}`));
  });
  after(async () => t?.stop());

  it("a run stores submissions per minute, active accounts, solves per category and wrong-answer hot spots", async () => {
    const web = await t.challenge({ category: "web" });
    const crypto = await t.challenge({ category: "crypto" });
    for (const p of players) await attempt(p, crypto, "flag{wrong-one}");
    await attempt(players[0]!, web, "flag{wrong-two}");
    await solve(players[0]!, web);
    await solve(players[1]!, web);
    await solve(players[2]!, crypto);
    await runJob(t, "analytics");

    const res = await t.admin.get("/api/v1/phase2/analytics");
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const { latest, series } = res.body.data;
    expect(latest).to.include({ submissions: 7, active_accounts: 3, capped: false });
    const perMinute = latest.per_minute as Array<{ submissions: number; correct: number; incorrect: number }>;
    expect(perMinute.reduce((n, m) => n + m.submissions, 0)).to.equal(7);
    expect(perMinute.reduce((n, m) => n + m.correct, 0)).to.equal(3);
    expect(latest.solves_per_category).to.deep.equal([
      { category: "web", solves: 2 },
      { category: "crypto", solves: 1 },
    ]);
    expect(latest.hot_spots[0]).to.include({ challenge_id: crypto, wrong_answers: 3, accounts: 3 });
    expect(series).to.have.length(1);
    expect((await players[0]!.get("/api/v1/phase2/analytics")).status, "admins only").to.equal(403);
  });

  it("10,000 submissions in the window: the run keeps the newest up to its cap with a warning, and the API keeps answering meanwhile", async () => {
    const challenge = await t.challenge({ category: "load" });
    const ids = players.map((p) => p.user!.id);
    // core/ctf's table written directly: this builds the load in a second (the benchmark drives the attempt pipeline).
    await t.kernel.db.query(
      `INSERT INTO ctf_submissions (challenge_id, user_id, provided, type, ip, created_at)
       SELECT $1, ($2::int[])[1 + g % 3], 'flag{load-' || (g % 50) || '}', 'incorrect', '203.0.113.' || (g % 200), now() - (g % 600) * interval '1 second'
         FROM generate_series(1, 10000) g`,
      [challenge, ids],
    );
    const before = t.logs.length;
    let runFinished = false;
    const run = t.request("POST", "/api/v1/admin/jobs/phase2.analytics/run").then((res) => ((runFinished = true), res));
    // While the run reads and computes, the API answers.
    const during: Array<{ status: number; whileRunning: boolean }> = [];
    for (let i = 0; i < 5; i++) {
      for (const path of ["/api/v1/phase2/status", "/api/v1/phase2/first_blood_leaderboard"]) {
        const { status } = await t.anonymous().get(path);
        during.push({ status, whileRunning: !runFinished });
      }
    }
    const done = await run;
    expect(done.body.data.outcome, JSON.stringify(done.body.data)).to.equal("succeeded");
    expect(during.every((d) => d.status === 200), JSON.stringify(during)).to.equal(true);
    expect(during.some((d) => d.whileRunning), "answers came while the run was going").to.equal(true);
    await settle(t);
    const warnings = t.logs.slice(before).filter((l) => l.level === 40 && /maxSubmissionsPerRun/.test(l.msg));
    expect(warnings, "one warning for the capped run").to.have.length(1);
    const latest = (await t.admin.get("/api/v1/phase2/analytics")).body.data.latest;
    expect(latest).to.include({ submissions: 5000, capped: true });
    // The newest half was kept: the load spans the last 600 s, so nothing older than about 5 minutes was counted.
    const old = (latest.per_minute as Array<{ minute: string; submissions: number }>).filter((m) => Date.parse(m.minute) < Date.now() - 7 * 60_000);
    expect(old.reduce((n, m) => n + m.submissions, 0), "the oldest submissions are the ones left out").to.equal(0);
  });

  it("the cleanup job removes analytics older than the retention and keeps every review history row", async () => {
    const old = "now() - interval '91 days'";
    await t.kernel.db.query(`INSERT INTO phase2_analytics (taken_at, window_seconds, submissions, active_accounts, capped, per_minute, solves_per_category, hot_spots) VALUES (${old}, 900, 1, 1, false, '[]', '[]', '[]')`);
    await t.kernel.db.query(`INSERT INTO phase2_health (challenge_id, taken_at, solves, attempts, accounts, solve_rate, container_failures, container_starts, score, status) VALUES (1, ${old}, 0, 0, 0, 0, 0, 0, 100, 'HEALTHY')`);
    // An old finding with reviews: the finding goes, its history stays.
    const [a, b] = players.map((p) => p.user!.id);
    const [finding] = await t.kernel.db.query<{ id: number }>(
      `INSERT INTO phase2_findings (pattern, challenge_id, account_type, account_low, account_high, confidence, risk, evidence, created_at, updated_at)
       VALUES ('flag_reused', 1, 'user', $1, $2, 1, 'HIGH', '{}', ${old}, ${old}) RETURNING id`,
      [a, b],
    );
    for (const verdict of ["suspicious", "confirmed"]) {
      expect((await t.admin.post(`/api/v1/phase2/suspicious_activity/${finding!.id}/review`, { verdict, notes: "old" })).status).to.equal(200);
    }
    await t.kernel.db.query(`UPDATE phase2_findings SET updated_at = ${old} WHERE id = $1`, [finding!.id]);
    const count = async (table: string) => Number((await t.kernel.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n);
    const reviewsBefore = await count("phase2_reviews");
    const recentAnalytics = Number((await t.kernel.db.query<{ n: string }>(`SELECT count(*) AS n FROM phase2_analytics WHERE taken_at > now() - interval '1 day'`))[0]!.n);

    await runJob(t, "cleanup");
    expect(Number((await t.kernel.db.query<{ n: string }>(`SELECT count(*) AS n FROM phase2_analytics WHERE taken_at < now() - interval '90 days'`))[0]!.n)).to.equal(0);
    expect(Number((await t.kernel.db.query<{ n: string }>(`SELECT count(*) AS n FROM phase2_health WHERE taken_at < now() - interval '90 days'`))[0]!.n)).to.equal(0);
    expect(await count("phase2_analytics"), "recent snapshots stay").to.equal(recentAnalytics);
    expect((await t.admin.get(`/api/v1/phase2/suspicious_activity/${finding!.id}`)).status).to.equal(404);
    expect(await count("phase2_reviews"), "every history row kept").to.equal(reviewsBefore);
    expect((await t.admin.get(`/api/v1/phase2/suspicious_activity/${finding!.id}/history`)).body.data).to.have.length(2);
  });
});
