import { expect } from "chai";
import type { Client, TestCtf } from "../../helpers/ctf.js";
import { StreamClient, streamToken } from "../scoreboard/helpers.js";
import { attempt, bloodsOf, runJob, settle, solve, startPhase2 } from "./helpers.js";

/** The challenge's solvers in core/ctf's order, as CTFd's API lists them (oldest first). */
async function solvers(t: TestCtf, challengeId: number): Promise<number[]> {
  const res = await t.admin.get(`/api/v1/challenges/${challengeId}/solves`);
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return (res.body.data as Array<{ account_id: number; date: string }>).sort((a, b) => Date.parse(a.date) - Date.parse(b.date)).map((s) => s.account_id);
}

async function expectBloodsFollowSolves(t: TestCtf, challengeId: number, value: number): Promise<void> {
  const entry = await bloodsOf(t, challengeId);
  expect(entry, "the challenge is on the board").to.not.equal(undefined);
  const positions = entry!.bloods.map((b) => b.position);
  expect(positions, "exactly one of each position").to.deep.equal([1, 2, 3]);
  const accounts = entry!.bloods.map((b) => b.account_id);
  expect(new Set(accounts).size, "three distinct accounts").to.equal(3);
  expect(accounts, "bloods follow the solve order").to.deep.equal((await solvers(t, challengeId)).slice(0, 3));
  expect(entry!.bloods[0]!.prestige).to.equal(1.5 * value);
  expect(entry!.bloods[1]!.prestige).to.be.closeTo(1.25 * value, 0.01);
  expect(entry!.bloods[2]!.prestige).to.be.closeTo(1.1 * value, 0.01);
}

describe("phase2 bloods", function () {
  this.timeout(120_000);
  let t: TestCtf;
  let players: Client[];

  before(async () => {
    t = await startPhase2();
    players = [];
    for (let i = 0; i < 4; i++) players.push(await t.register(`blood_${i}`));
  });
  after(async () => t?.stop());

  it("three accounts submitting the right flag within a few milliseconds: one first, one second, one third blood", async () => {
    const challenge = await t.challenge({ value: 200 });
    const answers = await Promise.all(players.slice(0, 3).map((p) => attempt(p, challenge, "flag{test}")));
    expect(answers.map((a) => a.status)).to.deep.equal([200, 200, 200]);
    await settle(t);
    await expectBloodsFollowSolves(t, challenge, 200);
  });

  it("100 concurrent correct submissions from three accounts: no 5xx, and still exactly one blood of each position", async () => {
    const challenge = await t.challenge({ value: 100 });
    const trio = players.slice(0, 3);
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => attempt(trio[i % 3]!, challenge, "flag{test}")));
    expect(answers.filter((a) => a.status >= 500), "no 5xx").to.deep.equal([]);
    expect(answers.filter((a) => a.body?.data?.status === "correct")).to.have.length(3);
    await settle(t);
    await expectBloodsFollowSolves(t, challenge, 100);
  });

  it("announces a blood to everyone: a notification and an announcement on the score stream", async () => {
    const challenge = await t.challenge({ value: 50, name: "announced one" });
    const stream = await StreamClient.open(t.url, await streamToken(t.anonymous()));
    try {
      await stream.next((m) => m.type === "snapshot");
      await solve(players[3]!, challenge);
      const announcement = await stream.next((m) => m.type === "announcement");
      expect(announcement.kind).to.equal("blood");
      expect(announcement.data).to.include({ challenge_id: challenge, position: 1, account_name: "blood_3", prestige: 75 });
      await settle(t);
      const notes = await t.anonymous().get("/api/v1/notifications");
      const titles = (notes.body.data as Array<{ title: string; content: string }>).filter((n) => n.content.includes("announced one"));
      expect(titles.map((n) => n.title)).to.deep.equal(["First blood"]);
    } finally {
      stream.close();
    }
  });

  it("recomputes when the first blood's account is hidden, banned or unhidden", async () => {
    const challenge = await t.challenge({ value: 100 });
    for (const p of players) await solve(p, challenge);
    await settle(t);
    const first = players[0]!.user!.id;
    expect((await bloodsOf(t, challenge))!.bloods.map((b) => b.account_id)).to.deep.equal(players.slice(0, 3).map((p) => p.user!.id));

    expect((await t.admin.patch(`/api/v1/users/${first}`, { hidden: true })).status).to.equal(200);
    await settle(t);
    expect((await bloodsOf(t, challenge))!.bloods.map((b) => b.account_id), "hidden: the others move up").to.deep.equal(players.slice(1, 4).map((p) => p.user!.id));

    expect((await t.admin.patch(`/api/v1/users/${first}`, { hidden: false })).status).to.equal(200);
    await settle(t);
    expect((await bloodsOf(t, challenge))!.bloods.map((b) => b.account_id), "unhidden: back in first place").to.deep.equal(players.slice(0, 3).map((p) => p.user!.id));

    const second = players[1]!.user!.id;
    expect((await t.admin.patch(`/api/v1/users/${second}`, { banned: true })).status).to.equal(200);
    await settle(t);
    expect((await bloodsOf(t, challenge))!.bloods.map((b) => b.account_id), "banned: out").to.deep.equal([players[0], players[2], players[3]].map((p) => p!.user!.id));
    expect((await t.admin.patch(`/api/v1/users/${second}`, { banned: false })).status).to.equal(200);
    await settle(t);
  });

  it("the analytics job repairs a blood its solve handler missed (a race between instances, a failed handler)", async () => {
    const challenge = await t.challenge({ value: 100 });
    // players[1] was banned above (its session ended): the three others.
    for (const p of [players[0], players[2], players[3]]) await solve(p!, challenge);
    await settle(t);
    const before = (await bloodsOf(t, challenge))!.bloods;
    await t.kernel.db.query(`DELETE FROM phase2_bloods WHERE challenge_id = $1 AND position = 3`, [challenge]);
    const run = await runJob(t, "analytics");
    expect(run.result.bloodsRepaired).to.equal(1);
    expect((await bloodsOf(t, challenge))!.bloods).to.deep.equal(before);
  });

  it("the database itself refuses a second blood of a position, or a second blood of one account", async () => {
    const challenge = await t.challenge({ value: 100 });
    await solve(players[0]!, challenge);
    await settle(t);
    const insert = (position: number, accountId: number) =>
      t.kernel.db.query(
        `INSERT INTO phase2_bloods (challenge_id, position, account_type, account_id, account_name, challenge_name, challenge_visible, solve_id, solved_at, value, prestige)
         VALUES ($1, $2, 'user', $3, 'x', 'x', true, 1, now(), 1, 1)`,
        [challenge, position, accountId],
      );
    const refused = async (work: Promise<unknown>) => work.then(() => "accepted", (e: Error) => e.message);
    expect(await refused(insert(1, players[1]!.user!.id))).to.match(/duplicate key|unique/i);
    expect(await refused(insert(2, players[0]!.user!.id))).to.match(/duplicate key|unique/i);
  });

  it("a renamed challenge's bloods follow; a deleted challenge leaves the board; a hidden one is not shown", async () => {
    const gone = await t.challenge({ value: 10 });
    const hidden = await t.challenge({ value: 10 });
    await solve(players[0]!, gone);
    await solve(players[0]!, hidden);
    await settle(t);
    expect(await bloodsOf(t, gone)).to.not.equal(undefined);
    expect((await t.admin.patch(`/api/v1/challenges/${gone}`, { name: "renamed one" })).status).to.equal(200);
    await settle(t);
    expect((await bloodsOf(t, gone))!.challenge_name, "a rename follows").to.equal("renamed one");
    expect((await t.admin.patch(`/api/v1/challenges/${hidden}`, { state: "hidden" })).status).to.equal(200);
    expect((await t.admin.delete(`/api/v1/challenges/${gone}`)).status).to.equal(200);
    await settle(t);
    expect(await bloodsOf(t, gone)).to.equal(undefined);
    expect(await bloodsOf(t, hidden)).to.equal(undefined);
  });
});

describe("phase2 bloods in team mode", function () {
  this.timeout(120_000);
  let t: TestCtf;
  before(async () => {
    t = await startPhase2({ mode: "teams" });
  });
  after(async () => t?.stop());

  it("bloods go to teams: two members of one team never hold two positions, 60 concurrent attempts from three teams", async () => {
    const members: Array<{ player: Client; teamId: number }> = [];
    for (const name of ["red", "green", "blue"]) {
      const a = await t.register();
      const created = await a.post("/api/v1/teams/new", { name, password: "team-password-1" });
      expect(created.status, JSON.stringify(created.body)).to.equal(200);
      const b = await t.register();
      expect((await b.post("/api/v1/teams/join", { name, password: "team-password-1" })).status).to.equal(200);
      members.push({ player: a, teamId: created.body.data.id }, { player: b, teamId: created.body.data.id });
    }
    const challenge = await t.challenge({ value: 100 });
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => attempt(members[i % members.length]!.player, challenge, "flag{test}")));
    expect(answers.filter((a) => a.status >= 500)).to.deep.equal([]);
    await settle(t);
    await expectBloodsFollowSolves(t, challenge, 100);
    const teams = new Set(members.map((m) => m.teamId));
    for (const b of (await bloodsOf(t, challenge))!.bloods) expect(teams.has(b.account_id)).to.equal(true);
  });
});
