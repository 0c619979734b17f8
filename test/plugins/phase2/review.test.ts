import { expect } from "chai";
import { Client, type TestCtf } from "../../helpers/ctf.js";
import { findings, settle, startPhase2 } from "./helpers.js";

describe("phase2 review history", function () {
  this.timeout(120_000);
  let t: TestCtf;
  let findingId: number;

  before(async () => {
    t = await startPhase2();
    const [a, b] = [await t.register("rev_a"), await t.register("rev_b")];
    const challenge = await t.challenge();
    const reuse = { challengeId: challenge, submitterAccountId: b.user!.id, submitterUserId: b.user!.id, ownerAccountId: a.user!.id, accountType: "user" };
    expect((await t.admin.post("/phase2-whale/flag-reused", reuse)).status).to.equal(200);
    await settle(t);
    findingId = (await findings(t, `?challenge_id=${challenge}`))[0]!.id;
  });
  after(async () => t?.stop());

  it("10 admins × 5 concurrent verdicts on one suspicion: 50 history rows, none lost, current verdict = the latest", async () => {
    const admins: Client[] = [];
    for (let i = 0; i < 10; i++) {
      const name = `reviewer_${i}`;
      const created = await t.admin.post("/api/v1/users", { name, email: `${name}@example.test`, password: "reviewer-password-1", type: "admin" });
      expect(created.status, JSON.stringify(created.body)).to.equal(200);
      const client = new Client(t.url);
      // One address per admin: the login rate limit counts per address.
      const login = client.adopt(await client.request("POST", "/api/v1/auth/login", { name, password: "reviewer-password-1" }, { "x-forwarded-for": `192.0.2.${i + 1}` }));
      expect(login.status, JSON.stringify(login.body)).to.equal(200);
      admins.push(client);
    }
    const verdicts = ["innocent", "suspicious", "confirmed"] as const;
    const answers = await Promise.all(
      admins.flatMap((admin, i) => Array.from({ length: 5 }, (_, j) => admin.post(`/api/v1/phase2/suspicious_activity/${findingId}/review`, { verdict: verdicts[(i + j) % 3], notes: `admin ${i} verdict ${j}` }))),
    );
    expect(answers.map((a) => a.status).filter((s) => s !== 200), JSON.stringify(answers.find((a) => a.status !== 200)?.body)).to.deep.equal([]);

    const history = (await t.admin.get(`/api/v1/phase2/suspicious_activity/${findingId}/history`)).body.data as Array<Record<string, any>>;
    expect(history).to.have.length(50);
    expect(new Set(history.map((h) => h.notes)).size, "every verdict kept").to.equal(50);
    expect(new Set(history.map((h) => h.reviewer)).size, "ten reviewers").to.equal(10);
    const current = (await t.admin.get(`/api/v1/phase2/suspicious_activity/${findingId}`)).body.data;
    expect(current.verdict).to.equal(history[history.length - 1]!.verdict);
  });

  it("the database refuses UPDATE, DELETE and TRUNCATE on the history", async () => {
    const refused = (sql: string) => t.kernel.db.query(sql).then(() => "accepted", (e: Error) => e.message);
    expect(await refused(`UPDATE phase2_reviews SET verdict = 'innocent'`)).to.match(/insert-only/);
    expect(await refused(`DELETE FROM phase2_reviews`)).to.match(/insert-only/);
    expect(await refused(`TRUNCATE phase2_reviews`)).to.match(/insert-only/);
    const [row] = await t.kernel.db.query<{ n: string }>(`SELECT count(*) AS n FROM phase2_reviews WHERE finding_id = $1`, [findingId]);
    expect(Number(row!.n)).to.equal(50);
  });

  it("the history outlives the suspicion's deletion", async () => {
    expect((await t.admin.delete(`/api/v1/phase2/suspicious_activity/${findingId}`)).status).to.equal(200);
    expect((await t.admin.get(`/api/v1/phase2/suspicious_activity/${findingId}`)).status).to.equal(404);
    const history = await t.admin.get(`/api/v1/phase2/suspicious_activity/${findingId}/history`);
    expect(history.status).to.equal(200);
    expect(history.body.data).to.have.length(50);
  });
});
