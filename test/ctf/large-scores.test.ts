import { expect } from "chai";
import { startCtf, type TestCtf } from "../helpers/ctf.js";

/**
 * Issue 11, hole 13: scores are summed in 64 bits, and award and challenge values are bounded so that no total
 * leaves the range the API promises (an integer JSON number within ±2^53). Challenge values are never negative.
 */
describe("core/ctf: large scores and value bounds", function () {
  this.timeout(120_000);
  let t: TestCtf;
  before(async () => {
    t = await startCtf({ settings: { challenge_visibility: "public" } });
  });
  after(() => t.stop());

  const award = (user_id: number, value: number) => t.admin.post("/api/v1/awards", { user_id, name: "big", value });

  it("three awards of 1,000,000,000: every profile and the scoreboard still answer, with the 64-bit total", async () => {
    const rich = await t.register();
    const other = await t.register();
    const c = await t.challenge({ value: 500 }, "flag{other}");
    expect((await other.post("/api/v1/challenges/attempt", { challenge_id: c, submission: "flag{other}" })).body.data.status).to.equal("correct");
    for (let i = 0; i < 3; i++) expect((await award(rich.user!.id, 1_000_000_000)).status).to.equal(200);

    const me = await rich.get("/api/v1/users/me");
    expect(me.status, JSON.stringify(me.body)).to.equal(200);
    expect(me.body.data).to.include({ score: 3_000_000_000, place: "1st" });
    const otherMe = await other.get("/api/v1/users/me");
    expect(otherMe.status, JSON.stringify(otherMe.body)).to.equal(200);
    expect(otherMe.body.data).to.include({ score: 500, place: "2nd" });
    expect((await other.get(`/api/v1/users/${rich.user!.id}`)).body.data).to.include({ score: 3_000_000_000, place: "1st" });
  });

  it("an award is at most ±1,000,000,000, and an account's awards at most ±10,000,000,000 in total", async () => {
    const player = await t.register();
    const tooBig = await award(player.user!.id, 1_000_000_001);
    expect(tooBig.status).to.equal(400);
    expect(tooBig.body.errors.value).to.be.an("array");
    for (let i = 0; i < 10; i++) expect((await award(player.user!.id, 1_000_000_000)).status).to.equal(200);
    const past = await award(player.user!.id, 1);
    expect(past.status).to.equal(400);
    expect(past.body.errors.value).to.be.an("array");
    expect((await player.get("/api/v1/users/me")).body.data.score).to.equal(10_000_000_000);
    expect((await award(player.user!.id, -5)).status).to.equal(200);
  });

  it("a negative challenge value is refused on create and update, naming the field", async () => {
    const created = await t.admin.post("/api/v1/challenges", { name: "negative", value: -1 });
    expect(created.status).to.equal(400);
    expect(created.body.errors.value).to.be.an("array");
    const c = await t.challenge({ value: 10 });
    const updated = await t.admin.patch(`/api/v1/challenges/${c}`, { value: -100 });
    expect(updated.status).to.equal(400);
    expect(updated.body.errors.value).to.be.an("array");
    expect((await t.admin.post("/api/v1/challenges", { name: "too valuable", value: 1_000_001 })).body.errors.value).to.be.an("array");
  });
});
