import { expect } from "chai";
import { startCtf, type Client, type TestCtf } from "../helpers/ctf.js";

/**
 * Issue 11, hole 11: a hint belongs to its challenge, so reading and unlocking it follow the challenge's rules:
 * its visibility, its prerequisites and the event window.
 */
describe("core/ctf: hints follow their challenge's visibility, prerequisites and event window", function () {
  this.timeout(120_000);
  let t: TestCtf;
  before(async () => {
    t = await startCtf();
  });
  after(() => t.stop());

  const hint = async (challenge_id: number, cost = 0) => {
    const res = await t.admin.post("/api/v1/hints", { challenge_id, title: "a hint", content: "the secret", cost });
    expect(res.status).to.equal(200);
    return res.body.data.id as number;
  };
  const unlock = (player: Client, target: number) => player.post("/api/v1/unlocks", { target, type: "hints" });
  const score = async (player: Client) => (await player.get("/api/v1/users/me")).body.data.score;

  it("unmet prerequisites: the hint is 403 to read and to unlock, and no points are spent; solving them opens it", async () => {
    const first = await t.challenge({}, "flag{first}");
    const gated = await t.challenge({ requirements: { prerequisites: [first] } }, "flag{gated}");
    const free = await hint(gated);
    const paid = await hint(gated, 10);
    const player = await t.register();
    expect((await t.admin.post("/api/v1/awards", { user_id: player.user!.id, name: "seed", value: 50 })).status).to.equal(200);

    for (const id of [free, paid]) {
      const read = await player.get(`/api/v1/hints/${id}`);
      expect(read.status).to.equal(403);
      expect(read.body.data).to.equal(undefined);
      expect(JSON.stringify(read.body)).to.not.include("a hint");
      expect((await unlock(player, id)).status).to.equal(403);
    }
    expect(await score(player)).to.equal(50);
    expect((await player.get("/api/v1/unlocks")).body.data).to.deep.equal([]);

    expect((await player.post("/api/v1/challenges/attempt", { challenge_id: first, submission: "flag{first}" })).body.data.status).to.equal("correct");
    expect((await player.get(`/api/v1/hints/${paid}`)).body.data).to.include({ id: paid, title: "a hint", cost: 10 });
    expect((await unlock(player, paid)).status).to.equal(200);
    expect((await player.get(`/api/v1/hints/${paid}`)).body.data.content).to.equal("the secret");
    expect(await score(player)).to.equal(140);
  });

  it("an anonymized challenge's hints are refused like the challenge until its prerequisites are met", async () => {
    const first = await t.challenge({}, "flag{first2}");
    const anon = await t.challenge({ requirements: { prerequisites: [first], anonymize: true } });
    const id = await hint(anon);
    const player = await t.register();
    expect((await player.get(`/api/v1/hints/${id}`)).status).to.equal(403);
    expect((await unlock(player, id)).status).to.equal(403);
  });

  it("hidden and locked challenges: their hints are 404 to players", async () => {
    const hidden = await t.challenge({ state: "hidden" });
    const locked = await t.challenge({ state: "locked" });
    const player = await t.register();
    for (const c of [hidden, locked]) {
      const id = await hint(c);
      expect((await player.get(`/api/v1/hints/${id}`)).status).to.equal(404);
      expect((await unlock(player, id)).status).to.equal(404);
    }
  });

  it("before the event starts, reading a hint is 403 like every other player endpoint; admins still read it", async () => {
    const c = await t.challenge();
    const id = await hint(c);
    const player = await t.register();
    expect((await player.get(`/api/v1/hints/${id}`)).status).to.equal(200);
    expect((await t.admin.patch("/api/v1/configs", { start: Math.floor(Date.now() / 1000) + 3600 })).status).to.equal(200);
    try {
      expect((await player.get(`/api/v1/challenges/${c}`)).status).to.equal(403);
      const read = await player.get(`/api/v1/hints/${id}`);
      expect(read.status).to.equal(403);
      expect(read.body.data).to.equal(undefined);
      expect((await unlock(player, id)).status).to.equal(403);
      expect((await t.admin.get(`/api/v1/hints/${id}`)).status).to.equal(200);
    } finally {
      expect((await t.admin.patch("/api/v1/configs", { start: null })).status).to.equal(200);
    }
  });
});
