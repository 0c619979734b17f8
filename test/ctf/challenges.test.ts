import { expect } from "chai";
import { startCtf, type TestCtf } from "../helpers/ctf.js";

describe("core/ctf: challenges, flags, hints and attempts", () => {
  let t: TestCtf;
  before(async () => {
    t = await startCtf();
  });
  after(() => t.stop());

  const attempt = (client: { post: (p: string, b: unknown) => Promise<any> }, challenge_id: number, submission: string) =>
    client.post("/api/v1/challenges/attempt", { challenge_id, submission });

  it("a player sees visible challenges, solves one, and the board marks it solved", async () => {
    const visible = await t.challenge({ name: "warmup", value: 100 }, "flag{warm}");
    const hidden = await t.challenge({ name: "secret", state: "hidden" });
    const player = await t.register();
    const board = await player.get("/api/v1/challenges");
    expect(board.status).to.equal(200);
    const ids = board.body.data.map((c: any) => c.id);
    expect(ids).to.include(visible).and.not.include(hidden);
    const wrong = await attempt(player, visible, "flag{nope}");
    expect(wrong.status).to.equal(200);
    expect(wrong.body).to.deep.equal({ success: true, data: { status: "incorrect", message: "Incorrect" } });
    const right = await attempt(player, visible, "flag{warm}");
    expect(right.body.data).to.deep.equal({ status: "correct", message: "Correct" });
    const again = await attempt(player, visible, "flag{warm}");
    expect(again.body.data.status).to.equal("already_solved");
    const after = (await player.get("/api/v1/challenges")).body.data.find((c: any) => c.id === visible);
    expect(after).to.include({ solved_by_me: true, solves: 1, value: 100, category: "misc", name: "warmup", type: "standard" });
    const detail = await player.get(`/api/v1/challenges/${visible}`);
    expect(detail.body.data).to.include({ id: visible, solved_by_me: true, attempts: 2, function: "static" });
    expect((await player.get(`/api/v1/challenges/${hidden}`)).status).to.equal(404);
    expect((await attempt(player, hidden, "x")).status).to.equal(404);
    const solvers = await t.anonymous().get(`/api/v1/challenges/${visible}/solves`);
    expect(solvers.status).to.equal(401); // challenge visibility is private by default
    const solversAsPlayer = await player.get(`/api/v1/challenges/${visible}/solves`);
    expect(solversAsPlayer.body.data).to.have.length(1);
    expect(solversAsPlayer.body.data[0].date).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it("static flags can be case-insensitive; regex flags must match the whole submission", async () => {
    const ci = await t.challenge({}, { content: "Flag{MiXeD}", data: "case_insensitive" });
    const re = await t.challenge({}, { content: "flag\\{[0-9]{3}\\}", type: "regex" });
    const player = await t.register();
    expect((await attempt(player, ci, "flag{mixed}")).body.data.status).to.equal("correct");
    expect((await attempt(player, re, "xflag{123}")).body.data.status).to.equal("incorrect");
    expect((await attempt(player, re, "flag{123}")).body.data.status).to.equal("correct");
  });

  it("refuses flags of unknown type, bad regexes and flags for missing challenges", async () => {
    const c = await t.challenge();
    expect((await t.admin.post("/api/v1/flags", { challenge_id: c, type: "bogus", content: "x" })).body.errors.type).to.be.an("array");
    expect((await t.admin.post("/api/v1/flags", { challenge_id: c, type: "regex", content: "(" })).body.errors.content).to.be.an("array");
    expect((await t.admin.post("/api/v1/flags", { challenge_id: 99999, type: "static", content: "x" })).status).to.equal(400);
  });

  it("max attempts lock out after the allowed wrong answers, even for the right flag", async () => {
    const c = await t.challenge({ max_attempts: 2 }, "flag{max}");
    const player = await t.register();
    expect((await attempt(player, c, "a")).body.data.message).to.equal("Incorrect. You have 1 try remaining.");
    expect((await attempt(player, c, "b")).body.data.message).to.equal("Incorrect. You have 0 tries remaining.");
    const locked = await attempt(player, c, "flag{max}");
    expect(locked.status).to.equal(403);
    expect(locked.body.data).to.deep.equal({ status: "ratelimited", message: "Not accepted. You have 0 tries remaining" });
  });

  it("prerequisites hide a challenge until solved, or show an anonymized stub", async () => {
    const first = await t.challenge({}, "flag{first}");
    const gated = await t.challenge({ requirements: { prerequisites: [first] } }, "flag{gated}");
    const anon = await t.challenge({ requirements: { prerequisites: [first], anonymize: true } }, "flag{anon}");
    const player = await t.register();
    const board = (await player.get("/api/v1/challenges")).body.data;
    expect(board.map((c: any) => c.id)).to.not.include(gated);
    expect(board.find((c: any) => c.id === anon)).to.include({ type: "hidden", name: "???" });
    expect((await player.get(`/api/v1/challenges/${gated}`)).status).to.equal(403);
    expect((await attempt(player, gated, "flag{gated}")).status).to.equal(403);
    await attempt(player, first, "flag{first}");
    expect((await attempt(player, gated, "flag{gated}")).body.data.status).to.equal("correct");
  });

  it("dynamic challenges decay with each solve and every solver's value follows", async () => {
    const c = await t.challenge({ type: "dynamic", initial: 500, minimum: 100, decay: 3, function: "linear" }, "flag{dyn}");
    const created = await t.admin.get(`/api/v1/challenges/${c}`);
    expect(created.body.data).to.include({ value: 500, initial: 500, minimum: 100, decay: 3, function: "linear", type: "dynamic" });
    const values = [];
    for (let i = 0; i < 4; i++) {
      const player = await t.register();
      expect((await attempt(player, c, "flag{dyn}")).body.data.status).to.equal("correct");
      values.push((await t.admin.get(`/api/v1/challenges/${c}`)).body.data.value);
    }
    // linear: initial - decay * (solves - 1), never below minimum
    expect(values).to.deep.equal([500, 497, 494, 491]);
    const patched = await t.admin.patch(`/api/v1/challenges/${c}`, { value: 5 });
    expect(patched.body.data.value).to.equal(491);
  });

  it("hints: locked until unlocked; unlocking costs points as a negative award, needs enough score, once", async () => {
    const c = await t.challenge({ value: 100 }, "flag{h}");
    const hint = await t.admin.post("/api/v1/hints", { challenge_id: c, title: "nudge", content: "look closer", cost: 50 });
    expect(hint.status).to.equal(200);
    const hintId = hint.body.data.id;
    const player = await t.register();
    expect((await t.anonymous().get(`/api/v1/hints/${hintId}`)).status).to.equal(403);
    const locked = await player.get(`/api/v1/hints/${hintId}`);
    expect(locked.body.data).to.not.have.property("content");
    const poor = await player.post("/api/v1/unlocks", { target: hintId, type: "hints" });
    expect(poor.status).to.equal(400);
    expect(poor.body.errors.score).to.be.an("array");
    await attempt(player, c, "flag{h}");
    const unlocked = await player.post("/api/v1/unlocks", { target: hintId, type: "hints" });
    expect(unlocked.status).to.equal(200);
    expect(unlocked.body.data).to.include({ type: "hints", target: hintId });
    expect((await player.get(`/api/v1/hints/${hintId}`)).body.data.content).to.equal("look closer");
    expect((await player.post("/api/v1/unlocks", { target: hintId, type: "hints" })).status).to.equal(400);
    const detail = await player.get(`/api/v1/challenges/${c}`);
    expect(detail.body.data.hints).to.deep.equal([{ id: hintId, cost: 50, title: "nudge", content: "look closer" }]);
  });

  it("admins may try flags with ?preview without recording anything", async () => {
    const c = await t.challenge({}, "flag{p}");
    const res = await t.admin.post(`/api/v1/challenges/attempt?preview=1`, { challenge_id: c, submission: "flag{p}" });
    expect(res.body.data.status).to.equal("correct");
    const solves = await t.admin.get(`/api/v1/challenges/${c}/solves`);
    expect(solves.body.data).to.deep.equal([]);
  });

  it("rejects bad bodies on every write endpoint with 400 and field errors", async () => {
    const c = await t.challenge();
    const player = await t.register();
    const cases: Array<[string, string, unknown, string[]]> = [
      ["POST", "/api/v1/challenges/attempt", { challenge_id: "abc", submission: 5 }, ["challenge_id", "submission"]],
      ["POST", "/api/v1/challenges/attempt", { challenge_id: c, submission: "x".repeat(5000) }, ["submission"]],
      ["POST", "/api/v1/challenges/attempt", {}, ["challenge_id", "submission"]],
      ["POST", "/api/v1/challenges", { name: "x".repeat(500), value: "ten" }, ["name", "value"]],
      ["POST", "/api/v1/challenges", {}, ["name"]],
      ["POST", "/api/v1/challenges", { name: "d", type: "dynamic" }, ["initial", "minimum", "decay"]],
      ["POST", "/api/v1/challenges", { name: "t", type: "nope", value: 1 }, ["type"]],
      ["PATCH", `/api/v1/challenges/${c}`, { state: "open", max_attempts: -1 }, ["state", "max_attempts"]],
      ["POST", "/api/v1/flags", { challenge_id: c, content: 7 }, ["type", "content"]],
      ["POST", "/api/v1/hints", { challenge_id: c, cost: -5 }, ["content", "cost"]],
      ["POST", "/api/v1/unlocks", { target: "x", type: "solutions" }, ["target", "type"]],
    ];
    for (const [method, path, body, fields] of cases) {
      const client = path.includes("attempt") || path.includes("unlocks") ? player : t.admin;
      const res = await client.request(method, path, body);
      expect(res.status, `${method} ${path} ${JSON.stringify(res.body)}`).to.equal(400);
      expect(res.body.success).to.equal(false);
      for (const field of fields) expect(res.body.errors[field], `${method} ${path} field ${field}`).to.be.an("array").that.is.not.empty;
    }
    const notJson = await player.request("POST", "/api/v1/challenges/attempt", "{oops", { "content-type": "application/json" });
    expect(notJson.status).to.equal(400);
  });

  it("players cannot use the admin challenge API; anonymous callers get 401", async () => {
    const player = await t.register();
    expect((await player.post("/api/v1/challenges", { name: "x", value: 1 })).status).to.equal(403);
    expect((await t.anonymous().post("/api/v1/challenges", { name: "x", value: 1 })).status).to.equal(401);
    const anonAttempt = await t.anonymous().post("/api/v1/challenges/attempt", { challenge_id: 1, submission: "x" });
    expect(anonAttempt.status).to.equal(403);
    expect(anonAttempt.body.data.status).to.equal("authentication_required");
  });

  it("deleting a challenge removes it and its flags", async () => {
    const c = await t.challenge();
    expect((await t.admin.delete(`/api/v1/challenges/${c}`)).body).to.deep.equal({ success: true });
    expect((await t.admin.get(`/api/v1/challenges/${c}`)).status).to.equal(404);
    expect((await t.admin.get(`/api/v1/flags?challenge_id=${c}`)).body.data).to.deep.equal([]);
    expect((await t.admin.delete(`/api/v1/challenges/${c}`)).status).to.equal(404);
  });
});
