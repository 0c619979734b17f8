import { expect } from "chai";
import { startCtf, type Client, type TestCtf } from "../helpers/ctf.js";

const scoreOf = async (t: TestCtf, userId: number) => (await t.admin.get(`/api/v1/users/${userId}`)).body.data.score as number;

describe("core/ctf awards", () => {
  let t: TestCtf;
  before(async () => {
    t = await startCtf();
  });
  after(() => t.stop());

  it("POST /awards gives points (negative ones too) that count toward score and place", async () => {
    const player = await t.register("awarded");
    const res = await t.admin.post("/api/v1/awards", { user_id: player.user!.id, name: "bonus", value: 25, description: "good job", category: "bonus", icon: "trophy" });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.data).to.include({ user_id: player.user!.id, team_id: null, name: "bonus", value: 25, description: "good job", category: "bonus", icon: "trophy", type: "standard", user: player.user!.id, team: null });
    expect(res.body.data.date).to.match(/\+00:00$/);
    expect(await scoreOf(t, player.user!.id)).to.equal(25);
    expect((await player.get("/api/v1/users/me")).body.data).to.include({ score: 25, place: "1st" });

    const penalty = await t.admin.post("/api/v1/awards", { user_id: player.user!.id, name: "penalty", value: -40 });
    expect(penalty.status).to.equal(200);
    expect(await scoreOf(t, player.user!.id)).to.equal(-15);
    const own = await player.get("/api/v1/users/me/awards");
    expect(own.body.meta.count).to.equal(2);
    expect(own.body.data.map((a: { name: string }) => a.name)).to.deep.equal(["penalty", "bonus"]);

    // An account whose only award is negative is still ranked.
    const other = await t.register();
    await t.admin.post("/api/v1/awards", { user_id: other.user!.id, name: "oops", value: -5 });
    expect((await t.anonymous().get(`/api/v1/users/${other.user!.id}`)).body.data.place).to.equal("1st");
  });

  it("validates awards: integer value, a name, an existing user or team; bad bodies are 400 with field lists", async () => {
    const player = await t.register();
    const cases: Array<[unknown, string]> = [
      [{ user_id: player.user!.id, name: "x", value: "ten" }, "value"],
      [{ user_id: player.user!.id, name: "x", value: 1.5 }, "value"],
      [{ user_id: player.user!.id, name: "x" }, "value"],
      [{ name: "nobody", value: 10 }, "user_id"],
      [{ user_id: 999999, name: "x", value: 10 }, "user_id"],
      [{ team_id: 999999, name: "x", value: 10 }, "team_id"],
      [{ user_id: player.user!.id, name: "n".repeat(1000), value: 10 }, "name"],
      [{ user_id: player.user!.id, name: "x", value: 10, description: "d".repeat(100_000) }, "description"],
      [{ user_id: "me", name: "x", value: 10 }, "user_id"],
    ];
    for (const [body, field] of cases) {
      const res = await t.admin.post("/api/v1/awards", body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).to.equal(400);
      expect(res.body.errors[field], JSON.stringify(res.body.errors)).to.be.an("array");
    }
    expect((await t.admin.post("/api/v1/awards", "[1]")).status).to.equal(400);
    expect(await scoreOf(t, player.user!.id)).to.equal(0);
  });

  it("GET /awards filters by user; GET and DELETE /awards/:id; deleting takes the points back", async () => {
    const a = await t.register();
    const b = await t.register();
    const award = (await t.admin.post("/api/v1/awards", { user_id: a.user!.id, name: "first blood", value: 50 })).body.data;
    await t.admin.post("/api/v1/awards", { user_id: b.user!.id, name: "other", value: 10 });
    const filtered = await t.admin.get(`/api/v1/awards?user_id=${a.user!.id}`);
    expect(filtered.body.data.map((x: { id: number }) => x.id)).to.deep.equal([award.id]);
    expect((await t.admin.get("/api/v1/awards?user_id=abc")).status).to.equal(400);
    expect((await t.admin.get(`/api/v1/awards/${award.id}`)).body.data).to.deep.equal(award);
    expect(await scoreOf(t, a.user!.id)).to.equal(50);
    expect((await t.admin.delete(`/api/v1/awards/${award.id}`)).body).to.deep.equal({ success: true });
    expect(await scoreOf(t, a.user!.id)).to.equal(0);
    expect((await t.admin.get(`/api/v1/awards/${award.id}`)).status).to.equal(404);
    expect((await t.admin.delete(`/api/v1/awards/${award.id}`)).status).to.equal(404);
  });

  it("awards are admin-only: players get 403, anonymous callers 401", async () => {
    const player = await t.register();
    for (const [method, path, body] of [
      ["POST", "/api/v1/awards", { user_id: player.user!.id, name: "self", value: 1000 }],
      ["GET", "/api/v1/awards"],
      ["GET", "/api/v1/awards/1"],
      ["DELETE", "/api/v1/awards/1"],
    ] as Array<[string, string, unknown?]>) {
      expect((await player.request(method, path, body)).status, `${method} ${path}`).to.equal(403);
      expect((await t.anonymous().request(method, path, body)).status, `${method} ${path}`).to.equal(401);
    }
    expect(await scoreOf(t, player.user!.id)).to.equal(0);
  });
});

describe("core/ctf awards in team mode", () => {
  it("an award given to a user also belongs to their team, which is the account that scores", async () => {
    const t = await startCtf({ mode: "teams" });
    try {
      const captain = await t.register();
      const team = (await captain.post("/api/v1/teams/new", { name: "Awarded Team", password: "awarded-pw" })).body.data;
      const res = await t.admin.post("/api/v1/awards", { user_id: captain.user!.id, name: "writeup", value: 120 });
      expect(res.status).to.equal(200);
      expect(res.body.data).to.include({ user_id: captain.user!.id, team_id: team.id, team: team.id });
      expect((await t.anonymous().get(`/api/v1/teams/${team.id}`)).body.data).to.include({ score: 120, place: "1st" });
      expect((await t.anonymous().get(`/api/v1/teams/${team.id}/awards`)).body.meta.count).to.equal(1);
      const loner = await t.register();
      const noTeam = await t.admin.post("/api/v1/awards", { user_id: loner.user!.id, name: "x", value: 1 });
      expect(noTeam.status).to.equal(400);
      expect(noTeam.body.errors.user_id).to.be.an("array");
      const mismatch = await t.admin.post("/api/v1/awards", { user_id: captain.user!.id, team_id: 999999, name: "x", value: 1 });
      expect(mismatch.status).to.equal(400);
    } finally {
      await t.stop();
    }
  });
});

describe("core/ctf notifications", () => {
  let t: TestCtf;
  before(async () => {
    t = await startCtf();
  });
  after(() => t.stop());

  it("admins post notifications; anyone lists them, with since_id and HEAD's Result-Count", async () => {
    expect((await t.anonymous().get("/api/v1/notifications")).body).to.deep.equal({ success: true, data: [] });
    const first = await t.admin.post("/api/v1/notifications", { title: "Heads up", content: "Hint **released** for <web-1>", type: "toast", sound: true });
    expect(first.status, JSON.stringify(first.body)).to.equal(200);
    expect(first.body.data).to.include({ title: "Heads up", content: "Hint **released** for <web-1>", type: "toast", sound: true, user_id: null, team_id: null });
    expect(first.body.data.html).to.equal("<p>Hint <strong>released</strong> for &lt;web-1&gt;</p>\n");
    const second = await t.admin.post("/api/v1/notifications", { title: "Alert", content: "Second", type: "alert" });
    expect(second.body.data.sound).to.equal(true);

    const list = await t.anonymous().get("/api/v1/notifications");
    expect(list.body.data.map((n: { id: number }) => n.id)).to.deep.equal([first.body.data.id, second.body.data.id]);
    const since = await t.anonymous().get(`/api/v1/notifications?since_id=${first.body.data.id}`);
    expect(since.body.data.map((n: { id: number }) => n.id)).to.deep.equal([second.body.data.id]);
    const head = await t.anonymous().request("HEAD", `/api/v1/notifications?since_id=${first.body.data.id}`);
    expect(head.status).to.equal(200);
    expect(head.headers.get("result-count")).to.equal("1");
    expect((await t.anonymous().request("HEAD", "/api/v1/notifications")).headers.get("result-count")).to.equal("2");
    expect((await t.anonymous().get("/api/v1/notifications?since_id=x")).status).to.equal(400);

    const one = await t.anonymous().get(`/api/v1/notifications/${second.body.data.id}`);
    expect(one.body.data).to.include({ title: "Alert", type: "alert" });
    expect((await t.admin.delete(`/api/v1/notifications/${second.body.data.id}`)).body).to.deep.equal({ success: true });
    expect((await t.anonymous().get(`/api/v1/notifications/${second.body.data.id}`)).status).to.equal(404);
    expect((await t.admin.delete(`/api/v1/notifications/${second.body.data.id}`)).status).to.equal(404);
  });

  it("a notification addressed to a user is seen only by that user and admins", async () => {
    const target = await t.register();
    const other = await t.register();
    const res = await t.admin.post("/api/v1/notifications", { title: "Just you", content: "psst", user_id: target.user!.id });
    const id = res.body.data.id;
    const seen = (c: Client) => c.get("/api/v1/notifications").then((r) => r.body.data.map((n: { id: number }) => n.id) as number[]);
    expect(await seen(target)).to.include(id);
    expect(await seen(other)).to.not.include(id);
    expect(await seen(t.anonymous())).to.not.include(id);
    expect(await seen(t.admin)).to.include(id);
    expect((await other.get(`/api/v1/notifications/${id}`)).status).to.equal(404);
  });

  it("rejects bad bodies with field errors; players get 403 and anonymous callers 401", async () => {
    const bad = await t.admin.post("/api/v1/notifications", { title: "", content: 5, type: "popup", sound: "loud", user_id: -1 });
    expect(bad.status).to.equal(400);
    expect(bad.body.errors).to.include.keys("title", "content", "type", "sound", "user_id");
    expect((await t.admin.post("/api/v1/notifications", { title: "t".repeat(1000), content: "x" })).status).to.equal(400);
    expect((await t.admin.post("/api/v1/notifications", { content: "no title" })).body.errors.title).to.be.an("array");
    expect((await t.admin.post("/api/v1/notifications", { title: "x", content: "y", user_id: 999999 })).status).to.equal(400);
    const player = await t.register();
    expect((await player.post("/api/v1/notifications", { title: "x", content: "y" })).status).to.equal(403);
    expect((await t.anonymous().post("/api/v1/notifications", { title: "x", content: "y" })).status).to.equal(401);
    expect((await player.delete("/api/v1/notifications/1")).status).to.equal(403);
  });
});

describe("core/ctf API tokens", () => {
  let t: TestCtf;
  before(async () => {
    t = await startCtf();
  });
  after(() => t.stop());

  it("POST /tokens shows the value once; it authenticates GET /users/me; deleting it revokes it", async () => {
    const player = await t.register("token_owner");
    const created = await player.post("/api/v1/tokens", { expiration: "2099-01-01", description: "cli" });
    expect(created.status, JSON.stringify(created.body)).to.equal(200);
    const token = created.body.data;
    expect(token.value).to.match(/^ctfd_[0-9a-f]{64}$/);
    expect(token).to.include({ type: "user", user_id: player.user!.id, description: "cli", expiration: "2099-01-01T00:00:00+00:00" });

    const list = await player.get("/api/v1/tokens");
    expect(list.body.data).to.have.length(1);
    expect(list.body.data[0]).to.include({ id: token.id, expiration: "2099-01-01T00:00:00+00:00" });
    expect(JSON.stringify(list.body)).to.not.include(token.value);
    const one = await player.get(`/api/v1/tokens/${token.id}`);
    expect(one.body.data).to.not.have.property("value");

    const viaToken = t.anonymous();
    viaToken.apiToken = token.value;
    const me = await viaToken.get("/api/v1/users/me");
    expect(me.status).to.equal(200);
    expect(me.body.data.name).to.equal("token_owner");
    // Token auth needs no CSRF token for writes.
    expect((await viaToken.patch("/api/v1/users/me", { affiliation: "CLI" })).status).to.equal(200);

    expect((await player.delete(`/api/v1/tokens/${token.id}`)).body).to.deep.equal({ success: true });
    expect((await viaToken.get("/api/v1/users/me")).status).to.equal(401);
    expect((await player.get(`/api/v1/tokens/${token.id}`)).status).to.equal(404);
  });

  it("defaults to 30 days; a bad or past expiration is 400, not 500", async () => {
    const player = await t.register();
    const res = await player.post("/api/v1/tokens", {});
    expect(res.status).to.equal(200);
    const days = (Date.parse(res.body.data.expiration) - Date.now()) / 86_400_000;
    expect(days).to.be.within(29.9, 30.1);
    for (const expiration of ["tomorrow", "2030-02-30", "2020-01-01", "2030-1-1", 20300101]) {
      const bad = await player.post("/api/v1/tokens", { expiration });
      expect(bad.status, String(expiration)).to.equal(400);
      expect(bad.body.errors.expiration).to.be.an("array");
    }
    const huge = await player.post("/api/v1/tokens", { description: "d".repeat(10_000), other: 1 });
    expect(huge.status).to.equal(400);
    expect(huge.body.errors.description).to.be.an("array");
  });

  it("players see and delete only their own tokens; anonymous callers get 401", async () => {
    const owner = await t.register();
    const other = await t.register();
    const token = (await owner.post("/api/v1/tokens", {})).body.data;
    expect((await other.get(`/api/v1/tokens/${token.id}`)).status).to.equal(404);
    expect((await other.delete(`/api/v1/tokens/${token.id}`)).status).to.equal(404);
    expect((await other.get("/api/v1/tokens")).body.data).to.deep.equal([]);
    const viaToken = t.anonymous();
    viaToken.apiToken = token.value;
    expect((await viaToken.get("/api/v1/users/me")).status).to.equal(200);
    expect((await t.anonymous().get("/api/v1/tokens")).status).to.equal(401);
    expect((await t.anonymous().post("/api/v1/tokens", {})).status).to.equal(401);
    expect((await owner.get("/api/v1/tokens/abc")).status).to.equal(404);
  });
});
