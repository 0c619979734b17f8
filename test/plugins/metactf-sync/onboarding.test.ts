import { expect } from "chai";
import { startMetactf, type MetactfTest } from "./helpers.js";

/** Competitors, coaches and onboarding, through the HTTP API against the mock platform. */
describe("metactf-sync onboarding", function () {
  this.timeout(120_000);
  let m: MetactfTest;

  before(async () => {
    m = await startMetactf();
  });
  after(() => m?.stop());

  it("moves a competitor pending -> profile -> compliance -> complete, onboarding only from compliance", async () => {
    const { id } = await m.player();
    const admin = m.t.admin;
    let res = await admin.request("PUT", `/api/v1/metactf/competitors/${id}`, { first_name: "Ada" });
    expect(res.status).to.equal(200);
    expect(res.body.data).to.include({ status: "pending", first_name: "Ada" });
    expect(res.body.data.onboard).to.deep.equal({ allowed: false, reason: 'the competitor is in "pending"; onboarding needs "compliance"' });

    res = await admin.post(`/api/v1/metactf/competitors/${id}/onboard`);
    expect(res.status).to.equal(409);
    expect(res.body.message ?? JSON.stringify(res.body)).to.contain("pending");

    res = await admin.request("PUT", `/api/v1/metactf/competitors/${id}`, { status: "profile" });
    expect(res.body.data.status).to.equal("profile");
    // Compliance needs the fields the platform requires.
    res = await admin.request("PUT", `/api/v1/metactf/competitors/${id}`, { status: "compliance" });
    expect(res.status).to.equal(409);
    expect(JSON.stringify(res.body)).to.contain("last_name, email");
    res = await admin.request("PUT", `/api/v1/metactf/competitors/${id}`, { last_name: "Lovelace", email: "ada@school.test", status: "compliance" });
    expect(res.status).to.equal(200);
    expect(res.body.data.onboard).to.deep.equal({ allowed: true, reason: null });

    await m.resetCalls();
    res = await admin.post(`/api/v1/metactf/competitors/${id}/onboard`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.data).to.include({ status: "complete", last_error: null });
    expect(res.body.data.metactf_user_id).to.be.a("number");
    const calls = await m.calls();
    expect(calls.counts).to.deep.equal({ "GET /users": 1, "POST /users": 1 });
    const remote = m.mock.platform().users.get(`fh-u${id}`)!;
    expect(remote).to.include({ first_name: "Ada", last_name: "Lovelace", email: "ada@school.test", role: "user" });

    // complete is final for PUT, and onboarding again is refused with the reason.
    res = await admin.request("PUT", `/api/v1/metactf/competitors/${id}`, { status: "profile" });
    expect(res.status).to.equal(409);
    res = await admin.post(`/api/v1/metactf/competitors/${id}/onboard`);
    expect(res.status).to.equal(409);
    expect(JSON.stringify(res.body)).to.contain("already on the game platform");
  });

  it("links a user who already exists on the platform instead of creating them again", async () => {
    const { id } = await m.player();
    const existing = m.mock.platform().createUser({ first_name: "Grace", last_name: "Hopper", email: "grace@school.test", preferred_username: "grace", role: "user", syned_user_id: `fh-u${id}` });
    await m.competitor(id);
    await m.resetCalls();
    const res = await m.t.admin.post(`/api/v1/metactf/competitors/${id}/onboard`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.data).to.include({ status: "complete", metactf_user_id: existing.metactf_user_id });
    expect((await m.calls()).counts).to.deep.equal({ "GET /users": 1 });
  });

  it("records a platform failure on the competitor and answers 502 without the token", async () => {
    const { id } = await m.player();
    await m.competitor(id);
    await m.faults({ failNext: 3, failStatus: 503 });
    const res = await m.t.admin.post(`/api/v1/metactf/competitors/${id}/onboard`);
    expect(res.status).to.equal(502);
    expect(JSON.stringify(res.body)).to.contain("503");
    const list = await m.t.admin.get("/api/v1/metactf/competitors");
    const mine = list.body.data.find((c: any) => c.user_id === id);
    expect(mine).to.include({ status: "compliance" });
    expect(mine.last_error).to.contain("503");
    m.expectNoTokenLeak([res.body, list.body]);
  });

  it("validates input: a bad field is a 400 naming it", async () => {
    const { id } = await m.player();
    let res = await m.t.admin.request("PUT", `/api/v1/metactf/competitors/${id}`, { email: "not-an-email", status: "complete" });
    expect(res.status).to.equal(400);
    expect(res.body.errors).to.have.keys("email", "status");
    res = await m.t.admin.request("PUT", `/api/v1/metactf/competitors/abc`, {});
    expect(res.status).to.equal(400);
    expect(res.body.errors).to.have.key("user_id");
    res = await m.t.admin.request("PUT", `/api/v1/metactf/competitors/999999`, { first_name: "X" });
    expect(res.status).to.equal(404);
  });

  it("lets coaches manage only their own competitors; players not at all", async () => {
    const coach = await m.coach();
    const other = await m.coach();
    const { id: playerId, client: player } = await m.player();
    // Admin assigns the competitor to the first coach.
    let res = await m.t.admin.request("PUT", `/api/v1/metactf/competitors/${playerId}`, { first_name: "Kim", coach_user_id: coach.id });
    expect(res.status).to.equal(200);

    res = await coach.client.request("PUT", `/api/v1/metactf/competitors/${playerId}`, { last_name: "Lee" });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect((await coach.client.get("/api/v1/metactf/competitors")).body.data.map((c: any) => c.user_id)).to.deep.equal([playerId]);

    res = await other.client.request("PUT", `/api/v1/metactf/competitors/${playerId}`, { last_name: "Stolen" });
    expect(res.status).to.equal(403);
    expect((await other.client.post(`/api/v1/metactf/competitors/${playerId}/onboard`)).status).to.equal(403);
    expect((await other.client.get("/api/v1/metactf/competitors")).body.data).to.deep.equal([]);
    // A coach cannot reassign a competitor.
    expect((await coach.client.request("PUT", `/api/v1/metactf/competitors/${playerId}`, { coach_user_id: other.id })).status).to.equal(403);

    expect((await player.get("/api/v1/metactf/competitors")).status).to.equal(403);
    expect((await m.t.anonymous().get("/api/v1/metactf/competitors")).status).to.equal(401);
    expect((await coach.client.get("/api/v1/metactf/coaches")).status).to.equal(403);
  });
});
