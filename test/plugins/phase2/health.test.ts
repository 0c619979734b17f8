import { expect } from "chai";
import type { Client, TestCtf } from "../../helpers/ctf.js";
import { attempt, runJob, settle, solve, startPhase2 } from "./helpers.js";

describe("phase2 challenge health", function () {
  this.timeout(120_000);
  let t: TestCtf;
  let players: Client[];

  before(async () => {
    t = await startPhase2();
    players = [];
    for (let i = 0; i < 10; i++) players.push(await t.register(`health_${i}`));
  });
  after(async () => t?.stop());

  const healthOf = async (challengeId: number) => {
    const res = await t.admin.get(`/api/v1/phase2/challenge_health/${challengeId}`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return res.body.data;
  };

  it("reaches every status on constructed cases, kept as a time series", async () => {
    const untouched = await t.challenge();
    const popular = await t.challenge(); // 3 of 5 accounts solve: HEALTHY
    const hard = await t.challenge(); // 1 of 10 solves: UNDERPERFORMING
    const unsolved = await t.challenge(); // 6 tried, nobody solved: BROKEN
    const failing = await t.challenge(); // containers keep failing to start: BROKEN

    for (const [i, p] of players.slice(0, 5).entries()) {
      await attempt(p, popular, "flag{guess}");
      if (i < 3) await solve(p, popular);
    }
    for (const [i, p] of players.entries()) {
      await attempt(p, hard, "flag{wrong}");
      if (i === 0) await solve(p, hard);
    }
    for (const p of players.slice(0, 6)) await attempt(p, unsolved, "flag{nope}");
    const accountId = players[0]!.user!.id;
    for (let i = 0; i < 4; i++) {
      const res = await t.admin.post("/phase2-whale/container", { challengeId: failing, accountId, accountType: "user", outcome: "failed" });
      expect(res.status).to.equal(200);
    }
    await t.admin.post("/phase2-whale/container", { challengeId: failing, accountId, accountType: "user", outcome: "ready" });
    await settle(t);

    await runJob(t, "health");
    expect(await healthOf(untouched)).to.include({ status: "HEALTHY", score: 100, attempts: 0 });
    const popularHealth = await healthOf(popular);
    expect(popularHealth).to.include({ status: "HEALTHY", solves: 3, attempts: 8, accounts: 5, solve_rate: 0.6 });
    expect(popularHealth.median_solve_seconds).to.be.a("number").and.to.be.at.least(0);
    const hardHealth = await healthOf(hard);
    expect(hardHealth).to.include({ status: "UNDERPERFORMING", solves: 1, accounts: 10, solve_rate: 0.1 });
    expect(hardHealth.score).to.be.within(40, 69);
    expect(await healthOf(unsolved)).to.include({ status: "BROKEN", solves: 0, accounts: 6 });
    const failingHealth = await healthOf(failing);
    expect(failingHealth).to.include({ status: "BROKEN", container_failures: 4, container_starts: 5 });

    await runJob(t, "health");
    expect((await healthOf(popular)).series, "one snapshot per run").to.have.length(2);
    const all = await t.admin.get("/api/v1/phase2/challenge_health");
    expect(all.status).to.equal(200);
    const statuses = new Map((all.body.data as Array<{ challenge_id: number; status: string }>).map((h) => [h.challenge_id, h.status]));
    expect([untouched, popular, hard, unsolved, failing].map((id) => statuses.get(id))).to.deep.equal(["HEALTHY", "HEALTHY", "UNDERPERFORMING", "BROKEN", "BROKEN"]);
  });

  it("answers 404 for a challenge without snapshots, 400 for a bad id, 403 for players", async () => {
    expect((await t.admin.get("/api/v1/phase2/challenge_health/999999")).status).to.equal(404);
    expect((await t.admin.get("/api/v1/phase2/challenge_health/abc")).status).to.equal(400);
    expect((await players[0]!.get("/api/v1/phase2/challenge_health")).status).to.equal(403);
  });
});
