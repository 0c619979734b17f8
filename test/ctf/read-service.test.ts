import { expect } from "chai";
import { fixturePlugin } from "../helpers/kernel.js";
import { startCtf, type Client, type TestCtf } from "../helpers/ctf.js";

/**
 * core/ctf's "read" service (CtfReadService) as another plugin sees it: the ctf-reader fixture depends on ctf,
 * takes the service from the plugin API and answers its reads over HTTP.
 */

const DYNAMIC = { type: "dynamic", initial: 500, minimum: 100, decay: 100, function: "linear" };

async function attempt(client: Client, challengeId: number, submission: string): Promise<string> {
  const res = await client.post("/api/v1/challenges/attempt", { challenge_id: challengeId, submission });
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body.data.status;
}

const read = async (t: TestCtf, path: string) => {
  const res = await t.anonymous().get(`/test/ctf-read${path}`);
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body.data;
};

const readFacts = async (t: TestCtf, kind: "submissions" | "solves", query: Record<string, unknown>) => t.anonymous().post(`/test/ctf-read/${kind}`, query);

describe("core/ctf read service, user mode", function () {
  this.timeout(120_000);
  let t: TestCtf;
  let dynamic: number;
  let standard: number;
  let players: Client[];

  before(async () => {
    t = await startCtf({ plugins: [fixturePlugin("ctf-reader")] });
    dynamic = await t.challenge(DYNAMIC, "flag{dyn}");
    standard = await t.challenge({ value: 50 }, "flag{std}");
    players = [await t.register("reader_a"), await t.register("reader_b"), await t.register("reader_c")];
    // Submissions in a known order: a wrong, a right (dynamic); b right (dynamic), wrong, right (standard); c right (dynamic).
    expect(await attempt(players[0]!, dynamic, "nope")).to.equal("incorrect");
    expect(await attempt(players[0]!, dynamic, "flag{dyn}")).to.equal("correct");
    expect(await attempt(players[1]!, dynamic, "flag{dyn}")).to.equal("correct");
    expect(await attempt(players[1]!, standard, "nope")).to.equal("incorrect");
    expect(await attempt(players[1]!, standard, "flag{std}")).to.equal("correct");
    expect(await attempt(players[2]!, dynamic, "flag{dyn}")).to.equal("correct");
  });
  after(() => t.stop());

  it("answers a dynamic challenge's value after decay, its decay settings, and the formula that produced it", async () => {
    const { scoring, definition } = await read(t, `/challenges/${dynamic}`);
    expect(scoring).to.deep.equal({ id: dynamic, value: 300, decay: { initial: 500, minimum: 100, decay: 100, function: "linear" } });
    expect((await t.admin.get(`/api/v1/challenges/${dynamic}`)).body.data.value).to.equal(300);
    expect(definition).to.include({ id: dynamic, type: "dynamic", state: "visible", value: 300, category: "misc" });
    expect(definition.typeSettings).to.deep.equal({});

    const value = (solves: number, fn = "linear", decay = 100) => read(t, `/value?initial=500&minimum=100&decay=${decay}&function=${fn}&solves=${solves}`);
    expect(await value(3)).to.equal(300);
    expect(await value(1)).to.equal(500);
    expect(await value(50)).to.equal(100); // never below the minimum
    // Logarithmic: a parabola reaching the minimum after `decay` solves: (100-500)/10² * 5² + 500 = 400.
    expect(await value(6, "logarithmic", 10)).to.equal(400);
    expect(await value(11, "logarithmic", 10)).to.equal(100);
  });

  it("answers a standard challenge without decay, and null for a challenge that does not exist", async () => {
    const { scoring, definition } = await read(t, `/challenges/${standard}`);
    expect(scoring).to.deep.equal({ id: standard, value: 50, decay: null });
    expect(definition).to.include({ type: "standard", value: 50 });
    expect(await read(t, "/challenges/999999")).to.deep.equal({ scoring: null, definition: null });
  });

  it("gives every scoring fact, in the engine's shapes", async () => {
    const facts = await read(t, "/facts");
    expect(facts.settings).to.deep.equal({ mode: "users", freezeAt: null, scoreVisibility: "public", accountVisibility: "public" });
    expect(facts.challenges.map((c: { id: number }) => c.id)).to.have.members([dynamic, standard]);
    expect(facts.solves).to.have.length(4);
    const ids = players.map((p) => p.user!.id);
    expect(facts.solves.map((s: { userId: number; challengeId: number }) => [s.userId, s.challengeId])).to.have.deep.members([
      [ids[0], dynamic],
      [ids[1], dynamic],
      [ids[1], standard],
      [ids[2], dynamic],
    ]);
    for (const solve of facts.solves) expect(solve.at).to.be.a("number").and.be.closeTo(Date.now(), 120_000);
  });

  it("answers bounded submission reads, oldest first, filtered by challenge and time, without the submitted text", async () => {
    const all = (await readFacts(t, "submissions", { limit: 100 })).body.data;
    expect(all.map((s: { type: string }) => s.type)).to.deep.equal(["incorrect", "correct", "correct", "incorrect", "correct", "correct"]);
    for (const row of all) expect(Object.keys(row).sort()).to.deep.equal(["at", "challengeId", "id", "ip", "teamId", "type", "userAgent", "userId", "wrongAnswer"]);
    // A wrong answer only as its digest and length; nothing of a correct one.
    for (const row of all) expect(row.wrongAnswer === null).to.equal(row.type !== "incorrect");
    expect(JSON.stringify(all)).to.not.include("flag{").and.not.include("nope");

    const firstTwo = (await readFacts(t, "submissions", { limit: 2 })).body.data;
    expect(firstTwo).to.deep.equal(all.slice(0, 2));
    const onStandard = (await readFacts(t, "submissions", { limit: 100, challengeId: standard })).body.data;
    expect(onStandard.map((s: { type: string }) => s.type)).to.deep.equal(["incorrect", "correct"]);
    const since = (await readFacts(t, "submissions", { limit: 100, since: new Date(all[4].at).toISOString() })).body.data;
    expect(since.map((s: { id: number }) => s.id)).to.include.members([all[4].id, all[5].id]).and.not.include(all[0].id);
  });

  it("answers bounded solve reads the same way", async () => {
    const all = (await readFacts(t, "solves", { limit: 100 })).body.data;
    expect(all).to.have.length(4);
    expect(all.map((s: { at: number }) => s.at)).to.deep.equal([...all.map((s: { at: number }) => s.at)].sort((a, b) => a - b));
    expect((await readFacts(t, "solves", { limit: 3, challengeId: dynamic })).body.data.map((s: { userId: number }) => s.userId)).to.deep.equal(players.map((p) => p.user!.id));
    expect((await readFacts(t, "solves", { limit: 1, challengeId: dynamic })).body.data).to.have.length(1);
    const later = (await readFacts(t, "solves", { limit: 100, since: new Date(all[3].at).toISOString() })).body.data;
    expect(later.map((s: { id: number }) => s.id)).to.include(all[3].id).and.not.include(all[0].id);
  });

  it("refuses an unbounded or malformed read with a 400 naming the field", async () => {
    for (const [query, field] of [
      [{}, "limit"],
      [{ limit: 0 }, "limit"],
      [{ limit: 1001 }, "limit"],
      [{ limit: 2.5 }, "limit"],
      [{ limit: 10, challengeId: -1 }, "challengeId"],
      [{ limit: 10, since: "not a date" }, "since"],
    ] as const) {
      for (const kind of ["submissions", "solves"] as const) {
        const res = await readFacts(t, kind, query);
        expect(res.status, `${kind} ${JSON.stringify(query)}`).to.equal(400);
        expect(Object.keys(res.body.errors), `${kind} ${JSON.stringify(query)}`).to.deep.equal([field]);
      }
    }
  });

  // Runs last: it hides and bans players.
  it("says which accounts are hidden or banned, and their solves stop counting toward decay", async () => {
    const [a, b, c] = players.map((p) => p.user!.id);
    expect(await read(t, `/accounts/${a}`)).to.deep.equal({ accountType: "user", id: a, name: "reader_a", hidden: false, banned: false, visible: true });
    expect((await t.admin.patch(`/api/v1/users/${a}`, { hidden: true })).status).to.equal(200);
    expect((await t.admin.patch(`/api/v1/users/${b}`, { banned: true })).status).to.equal(200);
    expect(await read(t, `/accounts/${a}`)).to.include({ hidden: true, banned: false, visible: false });
    expect(await read(t, `/accounts/${b}`)).to.include({ hidden: false, banned: true, visible: false });
    expect(await read(t, `/accounts/${c}`)).to.include({ visible: true });
    expect(await read(t, "/accounts/999999")).to.equal(null);

    // One counted solve left: the dynamic challenge is back at its initial value.
    expect((await read(t, `/challenges/${dynamic}`)).scoring.value).to.equal(500);
    const facts = await read(t, "/facts");
    const user = (id: number) => facts.users.find((u: { id: number }) => u.id === id);
    expect(user(a)).to.include({ hidden: true, banned: false });
    expect(user(b)).to.include({ hidden: false, banned: true });
    expect(facts.solves).to.have.length(4); // the facts keep their solves; consumers apply visibility
  });
});

describe("core/ctf read service, team mode", function () {
  this.timeout(120_000);
  let t: TestCtf;

  before(async () => {
    t = await startCtf({ mode: "teams", plugins: [fixturePlugin("ctf-reader")] });
  });
  after(() => t.stop());

  it("an account is the team, with its visibility", async () => {
    const created = await t.admin.post("/api/v1/teams", { name: "Readers", password: "readers-password" });
    expect(created.status, JSON.stringify(created.body)).to.equal(200);
    const id = created.body.data.id as number;
    expect(await read(t, `/accounts/${id}`)).to.deep.equal({ accountType: "team", id, name: "Readers", hidden: false, banned: false, visible: true });
    expect((await t.admin.patch(`/api/v1/teams/${id}`, { hidden: true })).status).to.equal(200);
    expect(await read(t, `/accounts/${id}`)).to.include({ accountType: "team", hidden: true, visible: false });
    expect((await read(t, "/facts")).settings.mode).to.equal("teams");
  });
});
