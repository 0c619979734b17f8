import { expect } from "chai";
import { fixturePlugin } from "../helpers/kernel.js";
import { startCtf, type Client, type TestCtf } from "../helpers/ctf.js";
import { dynamicValue } from "../../core/ctf/game/dynamic-value.js";

const attempt = (client: Client, challenge_id: number, submission: string) => client.post("/api/v1/challenges/attempt", { challenge_id, submission });

async function events(t: TestCtf, name: string): Promise<any[]> {
  await t.kernel.events.drain();
  return (await t.bootstrap.get("/test/ctf-events")).body.data.filter((e: any) => e.name === name).map((e: any) => e.payload);
}

describe("core/ctf: attempt pipeline under concurrency, rate limits and events", function () {
  this.timeout(120_000);

  describe("user mode", () => {
    let t: TestCtf;
    before(async () => {
      // A short window so the test can wait it out; the production default is 60 s.
      t = await startCtf({ plugins: [fixturePlugin("ctf-recorder")], config: { plugins: { ctf: { wrongAnswerWindowSeconds: 3 } } } });
    });
    after(() => t.stop());

    it("100 concurrent correct submissions by one player create exactly one solve and no 500", async () => {
      const c = await t.challenge({ type: "dynamic", initial: 500, minimum: 100, decay: 10, function: "logarithmic" }, "flag{race}");
      const player = await t.register();
      await t.bootstrap.delete("/test/ctf-events");
      const answers = await Promise.all(Array.from({ length: 100 }, () => attempt(player, c, "flag{race}")));
      const statuses = answers.map((a) => `${a.status} ${a.body.data?.status}`);
      expect(statuses.filter((s) => s === "200 correct")).to.have.length(1);
      expect(statuses.filter((s) => s === "200 already_solved")).to.have.length(99);
      const solves = await t.admin.get(`/api/v1/challenges/${c}/solves`);
      expect(solves.body.data).to.have.length(1);
      const solveEvents = await events(t, "solve.created");
      expect(solveEvents).to.have.length(1);
      expect(solveEvents[0]).to.include({ challengeId: c, userId: player.user!.id, teamId: null, accountType: "user", accountId: player.user!.id, value: 500 });
      // Every attempt was written durably: one correct, the losers kept as discarded submissions.
      const submitted = await events(t, "submission.created");
      expect(submitted.filter((e) => e.challengeId === c)).to.have.length(1);
    });

    it("max attempts hold under concurrency: 20 simultaneous wrong answers with 3 allowed record exactly 3", async () => {
      const c = await t.challenge({ max_attempts: 3 }, "flag{exact}");
      const player = await t.register();
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(player, c, `wrong-${i}`)));
      expect(answers.filter((a) => a.status === 200 && a.body.data.status === "incorrect")).to.have.length(3);
      expect(answers.filter((a) => a.status === 403 && a.body.data.status === "ratelimited")).to.have.length(17);
      const fails = await t.admin.get(`/api/v1/users/${player.user!.id}/fails`);
      expect(fails.body.meta.count).to.equal(3);
    });

    it("many players answering at once each get their own verdict (attempts share batched writes)", async () => {
      const c = await t.challenge({}, "flag{batch}");
      const players = await Promise.all(Array.from({ length: 12 }, () => t.register()));
      const answers = await Promise.all(players.map((p, i) => attempt(p, c, i % 3 === 0 ? "flag{batch}" : `nope-${i}`)));
      answers.forEach((a, i) => expect(a.body.data.status, `player ${i}`).to.equal(i % 3 === 0 ? "correct" : "incorrect"));
      const solvers = (await t.admin.get(`/api/v1/challenges/${c}/solves`)).body.data.map((r: any) => r.account_id).sort();
      expect(solvers).to.deep.equal(players.filter((_, i) => i % 3 === 0).map((p) => p.user!.id).sort());
    });

    it("24 players solving one dynamic challenge at once leave it at the value for 24 solves; every solve reports a value on the way down", async () => {
      const settings = { initial: 500, minimum: 100, decay: 20, function: "logarithmic" as const };
      const c = await t.challenge({ type: "dynamic", ...settings }, "flag{herd}");
      const players = await Promise.all(Array.from({ length: 24 }, () => t.register()));
      await t.bootstrap.delete("/test/ctf-events");
      const answers = await Promise.all(players.map((p) => attempt(p, c, "flag{herd}")));
      expect(answers.map((a) => `${a.status} ${a.body.data?.status}`)).to.deep.equal(players.map(() => "200 correct"));
      const final = dynamicValue(settings, 24);
      expect((await t.admin.get(`/api/v1/challenges/${c}`)).body.data.value).to.equal(final);
      const solved = (await events(t, "solve.created")).filter((e) => e.challengeId === c);
      expect(solved).to.have.length(24);
      // Each solver is told the value its own settling saw: between the value after its solve alone and the final one.
      for (const e of solved) expect(e.value).to.be.within(final, dynamicValue(settings, 1));
      expect(Math.min(...solved.map((e) => e.value))).to.equal(final);
      // The value only moved down, and the last change announced is the final value.
      const changes = (await events(t, "challenge.updated")).filter((e) => e.id === c && e.valueChanged);
      for (const e of changes) expect(e.value).to.be.below(e.previousValue);
      expect(changes.at(-1)!.value).to.equal(final);
    });

    it("the decay formula in SQL (ctf_dynamic_value) gives dynamicValue's answer for every setting and count", async () => {
      const cases: { initial: number; minimum: number; decay: number; function: "linear" | "logarithmic"; solves: number }[] = [];
      for (const fn of ["linear", "logarithmic"] as const)
        for (const [initial, minimum] of [[500, 100], [1000, 50], [100, 100], [333, 7], [50, 0]] as const)
          for (const decay of [0, 1, 3, 7, 15, 40, 1000])
            for (const solves of [0, 1, 2, 3, 5, 8, 13, 21, 39, 40, 41, 100, 999, 5000]) cases.push({ initial, minimum, decay, function: fn, solves });
      const rows = await t.kernel.db.query<{ v: number }>(
        `SELECT ctf_dynamic_value(i, m, d, f, s) AS v FROM unnest($1::int[], $2::int[], $3::int[], $4::text[], $5::int[]) WITH ORDINALITY AS x(i, m, d, f, s, n) ORDER BY n`,
        [cases.map((c) => c.initial), cases.map((c) => c.minimum), cases.map((c) => c.decay), cases.map((c) => c.function), cases.map((c) => c.solves)],
      );
      const differing = cases.filter((c, i) => rows[i]!.v !== dynamicValue(c, c.solves)).map((c, i) => ({ ...c, sql: rows[i]!.v, js: dynamicValue(c, c.solves) }));
      expect(rows).to.have.length(cases.length);
      expect(differing).to.deep.equal([]);
    });

    it("a burst of 40 simultaneous wrong answers by one player gets exactly the 10 the window allows checked", async () => {
      const c = await t.challenge({}, "flag{burst}");
      const other = await t.challenge({}, "flag{burst-other}");
      const player = await t.register();
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => attempt(player, i % 2 ? c : other, `guess-${i}`)));
      const statuses = answers.map((a) => `${a.status} ${a.body.data?.status}`);
      expect(statuses.filter((s) => s === "200 incorrect"), statuses.join(", ")).to.have.length(10);
      expect(statuses.filter((s) => s === "429 ratelimited")).to.have.length(30);
      const fails = await t.admin.get(`/api/v1/users/${player.user!.id}/fails`);
      expect(fails.body.meta.count).to.equal(10);
    });

    it("the 11th wrong answer within the window gets 429 ratelimited; a correct answer after the window works", async () => {
      const c = await t.challenge({}, "flag{slow}");
      const other = await t.challenge({}, "flag{other}");
      const player = await t.register();
      for (let i = 0; i < 10; i++) {
        const wrong = await attempt(player, i % 2 ? c : other, `wrong-${i}`);
        expect(wrong.status, `wrong answer ${i + 1}`).to.equal(200);
        expect(wrong.body.data.status).to.equal("incorrect");
      }
      const eleventh = await attempt(player, c, "wrong-11");
      expect(eleventh.status).to.equal(429);
      expect(eleventh.body).to.deep.include({ success: true });
      expect(eleventh.body.data.status).to.equal("ratelimited");
      expect(eleventh.headers.get("retry-after")).to.equal("3");
      // While limited even the right flag is not evaluated: otherwise the limit would be an oracle.
      expect((await attempt(player, c, "flag{slow}")).status).to.equal(429);
      // Another account is not affected.
      const bystander = await t.register();
      expect((await attempt(bystander, c, "flag{slow}")).body.data.status).to.equal("correct");
      await new Promise((resolve) => setTimeout(resolve, 3_200));
      const later = await attempt(player, c, "flag{slow}");
      expect(later.status).to.equal(200);
      expect(later.body.data.status).to.equal("correct");
    });

    it("emits submission.failed for wrong answers and solve.created with the decayed value", async () => {
      const c = await t.challenge({ type: "dynamic", initial: 300, minimum: 100, decay: 2, function: "linear" }, "flag{ev}");
      await t.bootstrap.delete("/test/ctf-events");
      const a = await t.register();
      const b = await t.register();
      await attempt(a, c, "nope");
      await attempt(a, c, "flag{ev}");
      await attempt(b, c, "flag{ev}");
      const failed = await events(t, "submission.failed");
      expect(failed).to.have.length(1);
      expect(failed[0]).to.include({ challengeId: c, userId: a.user!.id, type: "incorrect" });
      const solved = await events(t, "solve.created");
      expect(solved.map((e) => e.value)).to.deep.equal([300, 298]);
      const changed = await events(t, "challenge.updated");
      expect(changed.filter((e) => e.id === c && e.valueChanged).map((e) => [e.previousValue, e.value])).to.deep.equal([[300, 298]]);
    });

    it("the event window: players are refused before the start and after the end; admins may still check flags", async () => {
      const c = await t.challenge({}, "flag{win}");
      const player = await t.register();
      const now = Math.floor(Date.now() / 1000);
      await t.admin.patch("/api/v1/configs", { start: now + 3600 });
      const early = await attempt(player, c, "flag{win}");
      expect(early.status).to.equal(403);
      expect(early.body.errors.message[0]).to.match(/has not started yet/);
      await t.admin.patch("/api/v1/configs", { start: now - 7200, end: now - 3600 });
      const late = await attempt(player, c, "flag{win}");
      expect(late.status).to.equal(403);
      expect(late.body.errors.message[0]).to.match(/has ended/);
      const adminTry = await attempt(t.admin, c, "flag{win}");
      expect(adminTry.body.data.status).to.equal("correct");
      expect((await t.admin.get(`/api/v1/challenges/${c}/solves`)).body.data).to.deep.equal([]);
      await t.admin.patch("/api/v1/configs", { paused: true, end: null, start: null });
      const paused = await attempt(player, c, "flag{win}");
      expect(paused.status).to.equal(403);
      expect(paused.body.data.status).to.equal("paused");
      await t.admin.patch("/api/v1/configs", { paused: false });
    });
  });

  describe("team mode", () => {
    let t: TestCtf;
    before(async () => {
      t = await startCtf({ mode: "teams", plugins: [fixturePlugin("ctf-recorder")] });
    });
    after(() => t.stop());

    async function team(size: number): Promise<{ id: number; members: Client[] }> {
      const members = await Promise.all(Array.from({ length: size }, () => t.register()));
      const name = `team-${Math.random().toString(36).slice(2, 8)}`;
      const created = await members[0]!.post("/api/v1/teams/new", { name, password: "team-passphrase" });
      expect(created.status, JSON.stringify(created.body)).to.equal(200);
      for (const member of members.slice(1)) {
        const joined = await member.post("/api/v1/teams/join", { name, password: "team-passphrase" });
        expect(joined.status, JSON.stringify(joined.body)).to.equal(200);
      }
      const me = await members[0]!.get("/api/v1/teams/me");
      return { id: me.body.data.id, members };
    }

    it("a player without a team cannot submit", async () => {
      const c = await t.challenge({}, "flag{solo}");
      const loner = await t.register();
      expect((await attempt(loner, c, "flag{solo}")).status).to.equal(403);
    });

    it("100 concurrent correct submissions by four members of one team create exactly one solve, for the team", async () => {
      const c = await t.challenge({ type: "dynamic", initial: 400, minimum: 100, decay: 5, function: "logarithmic" }, "flag{team-race}");
      const { id: teamId, members } = await team(4);
      await t.bootstrap.delete("/test/ctf-events");
      const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => attempt(members[i % 4]!, c, "flag{team-race}")));
      const statuses = answers.map((a) => `${a.status} ${a.body.data?.status}`);
      expect(statuses.filter((s) => s === "200 correct")).to.have.length(1);
      expect(statuses.filter((s) => s === "200 already_solved")).to.have.length(99);
      const solvers = await t.admin.get(`/api/v1/challenges/${c}/solves`);
      expect(solvers.body.data.map((r: any) => [r.account_id, r.account_url])).to.deep.equal([[teamId, `/teams/${teamId}`]]);
      const solved = await events(t, "solve.created");
      expect(solved).to.have.length(1);
      expect(solved[0]).to.include({ challengeId: c, teamId, accountType: "team", accountId: teamId, value: 400 });
      // A teammate sees it solved too.
      const board = await members[3]!.get("/api/v1/challenges");
      expect(board.body.data.find((x: any) => x.id === c).solved_by_me).to.equal(true);
    });

    it("a burst of wrong answers by four members at once gets exactly the team's 10 checked", async () => {
      const c = await t.challenge({}, "flag{team-burst}");
      const { id: teamId, members } = await team(4);
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => attempt(members[i % 4]!, c, `guess-${i}`)));
      const statuses = answers.map((a) => `${a.status} ${a.body.data?.status}`);
      expect(statuses.filter((s) => s === "200 incorrect"), statuses.join(", ")).to.have.length(10);
      expect(statuses.filter((s) => s === "429 ratelimited")).to.have.length(30);
      expect((await t.admin.get(`/api/v1/teams/${teamId}/fails`)).body.meta.count).to.equal(10);
    });

    it("wrong answers are limited per team: the 11th of the team within the window is 429", async () => {
      const c = await t.challenge({}, "flag{limit}");
      const { members } = await team(2);
      for (let i = 0; i < 10; i++) expect((await attempt(members[i % 2]!, c, `no-${i}`)).status).to.equal(200);
      const limited = await attempt(members[0]!, c, "no-11");
      expect(limited.status).to.equal(429);
      expect(limited.body.data.status).to.equal("ratelimited");
    });
  });
});
