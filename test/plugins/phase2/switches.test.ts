import { expect } from "chai";
import type { TestCtf } from "../../helpers/ctf.js";
import { attempt, bloodsOf, findings, runJob, settle, solve, startPhase2 } from "./helpers.js";

describe("phase2 status, switches and consent", function () {
  this.timeout(120_000);
  let t: TestCtf;
  before(async () => {
    t = await startPhase2({ phase2: { bloods: false, suspicion: false, boardRateLimit: { capacity: 5, refillPerSecond: 0.01 } } });
  });
  after(async () => t?.stop());

  it("GET /status says which features are on (public)", async () => {
    const res = await t.anonymous().get("/api/v1/phase2/status");
    expect(res.status).to.equal(200);
    expect(res.body.data).to.deep.equal({ bloods: false, suspicion: false, health: true, analytics: true });
  });

  it("a feature switched off does nothing: no bloods, no findings; analytics still run", async () => {
    const challenge = await t.challenge();
    const [a, b] = [await t.register(), await t.register()];
    await attempt(a, challenge, "flag{same-wrong}");
    await attempt(b, challenge, "flag{same-wrong}");
    await solve(a, challenge);
    await settle(t);
    expect(await bloodsOf(t, challenge)).to.equal(undefined);
    await runJob(t, "analytics");
    expect(await findings(t)).to.deep.equal([]);
    expect((await t.admin.get("/api/v1/phase2/analytics")).body.data.latest).to.include({ submissions: 3 });
  });

  it("the public board is rate limited per address: 429 with Retry-After once the bucket is empty", async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 8; i++) {
      const res = await t.anonymous().request("GET", "/api/v1/phase2/first_blood_leaderboard", undefined, { "x-forwarded-for": "198.51.100.200" });
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get("retry-after");
    }
    expect(statuses.slice(0, 5)).to.deep.equal([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).to.deep.equal([429, 429, 429]);
    expect(Number(retryAfter)).to.be.greaterThan(0);
    // Another address has its own bucket.
    expect((await t.anonymous().request("GET", "/api/v1/phase2/first_blood_leaderboard", undefined, { "x-forwarded-for": "198.51.100.201" })).status).to.equal(200);
  });

  it("GET/PUT /consent: the signed-in user's choice, off until given", async () => {
    const player = await t.register();
    expect((await player.get("/api/v1/phase2/consent")).body.data).to.deep.equal({ user_id: player.user!.id, consent: false });
    expect((await player.request("PUT", "/api/v1/phase2/consent", { consent: true })).status).to.equal(200);
    expect((await player.get("/api/v1/phase2/consent")).body.data.consent).to.equal(true);
    expect((await player.request("PUT", "/api/v1/phase2/consent", { consent: false })).status).to.equal(200);
    expect((await player.get("/api/v1/phase2/consent")).body.data.consent).to.equal(false);
    const unknown = await player.request("PUT", "/api/v1/phase2/consent", { consent: true, extra: 1 });
    expect(unknown.status).to.equal(400);
  });
});
