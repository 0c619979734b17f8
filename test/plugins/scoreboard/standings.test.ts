import { expect } from "chai";
import { rowObject } from "../../../plugins/scoreboard/engine/rows.js";
import { dynamicValue } from "../../../core/ctf/game/dynamic-value.js";
import type { ScoringFacts, ScoringSettings } from "../../../core/ctf/service.js";
import { StandingsState, VIEWS, type View } from "../../../plugins/scoreboard/engine/state.js";

/** The engine alone (no database): rules, ties, freeze, team members and incremental changes. */

const T = Date.UTC(2030, 0, 1, 12);
const min = (n: number) => T + n * 60_000;

function data(overrides: Partial<ScoringFacts> = {}): ScoringFacts {
  return {
    settings: { mode: "users", freezeAt: null, scoreVisibility: "public", accountVisibility: "public" },
    brackets: [],
    users: [],
    teams: [],
    challenges: [],
    solves: [],
    awards: [],
    ...overrides,
  };
}

const user = (id: number, extra: Partial<{ hidden: boolean; banned: boolean; teamId: number | null; bracketId: number | null; name: string }> = {}) => ({
  id,
  name: extra.name ?? `u${id}`,
  hidden: false,
  banned: false,
  teamId: null,
  bracketId: null,
  ...extra,
});
const team = (id: number, extra: Partial<{ hidden: boolean; banned: boolean; bracketId: number | null }> = {}) => ({ id, name: `t${id}`, hidden: false, banned: false, bracketId: null, ...extra });
const challenge = (id: number, value: number) => ({ id, value, decay: null });
let nextId = 1;
const solve = (challengeId: number, userId: number, at: number, teamId: number | null = null) => ({ id: nextId++, challengeId, userId, teamId, at });
const award = (userId: number | null, value: number, at: number, teamId: number | null = null) => ({ id: nextId++, userId, teamId, value, at });

/** The engine valuing dynamic challenges with core/ctf's decay formula, as the plugin wires it. */
const build = (facts: ScoringFacts) => StandingsState.build(facts, dynamicValue);
const empty = (settings: ScoringSettings) => StandingsState.empty(settings, dynamicValue);

/** [name, score] in board order. */
const board = (state: StandingsState, view: View = "live") => state.standings(view).map((s, i) => rowObject(i + 1, s.tail)).map((r) => [r.name, r.score]);

describe("scoreboard engine: standings rules", () => {
  it("orders by score, then by who reached it first, then by account id", () => {
    const state = build(
      data({
        users: [user(1), user(2), user(3), user(4)],
        challenges: [challenge(1, 100), challenge(2, 100)],
        solves: [solve(1, 3, min(5)), solve(1, 2, min(1)), solve(1, 4, min(1)), solve(1, 1, min(0)), solve(2, 1, min(9))],
      }),
    );
    // u1 200; u2 and u4 reached 100 at the same minute (id decides); u3 reached it later.
    expect(board(state)).to.deep.equal([
      ["u1", 200],
      ["u2", 100],
      ["u4", 100],
      ["u3", 100],
    ]);
  });

  it("never lists hidden or banned accounts, and lists an account with only a negative award", () => {
    const state = build(
      data({
        users: [user(1, { hidden: true }), user(2, { banned: true }), user(3), user(4), user(5)],
        challenges: [challenge(1, 100)],
        solves: [solve(1, 1, min(0)), solve(1, 2, min(0)), solve(1, 3, min(1))],
        awards: [award(4, -50, min(2))],
      }),
    );
    expect(board(state)).to.deep.equal([
      ["u3", 100],
      ["u4", -50],
    ]);
  });

  it("gives the same standings whatever order records and flags arrive in", () => {
    const built = build(
      data({
        users: [user(1, { hidden: true }), user(2, { banned: true }), user(3)],
        challenges: [challenge(1, 100)],
        solves: [{ id: 901, challengeId: 1, userId: 1, teamId: null, at: min(0) }, { id: 902, challengeId: 1, userId: 2, teamId: null, at: min(0) }, { id: 903, challengeId: 1, userId: 3, teamId: null, at: min(1) }],
      }),
    );
    // Solves first (users unknown), then the users with their flags, then the challenge.
    const incremental = empty(data().settings);
    incremental.addSolve({ id: 902, challengeId: 1, userId: 2, teamId: null, at: min(0) });
    incremental.addSolve({ id: 901, challengeId: 1, userId: 1, teamId: null, at: min(0) });
    incremental.flush();
    incremental.putUser(user(3));
    incremental.addSolve({ id: 903, challengeId: 1, userId: 3, teamId: null, at: min(1) });
    incremental.flush();
    incremental.putUser(user(2));
    incremental.putUser(user(1));
    incremental.flush();
    incremental.putUser(user(1, { hidden: true }));
    incremental.putUser(user(2, { banned: true }));
    incremental.putChallenge(challenge(1, 100));
    incremental.flush();
    expect(board(incremental)).to.deep.equal(board(built));
    expect(board(built)).to.deep.equal([["u3", 100]]);
  });

  it("moves every solver when a challenge's value changes", () => {
    const state = build(
      data({ users: [user(1), user(2)], challenges: [challenge(1, 100), challenge(2, 150)], solves: [solve(1, 1, min(0)), solve(2, 2, min(1))] }),
    );
    expect(board(state)).to.deep.equal([
      ["u2", 150],
      ["u1", 100],
    ]);
    state.putChallenge(challenge(1, 300));
    expect(state.flush()).to.deep.equal({ live: true, public: true });
    expect(board(state)).to.deep.equal([
      ["u1", 300],
      ["u2", 150],
    ]);
  });

  it("a value change that moves more solvers than one sort costs (hundreds of accounts) orders them as a fresh build does", () => {
    // 300 users with spread scores; 150 of them solved challenge 1, whose value then goes up and down past the others.
    const users = Array.from({ length: 300 }, (_, i) => user(i + 1));
    const awards = users.map((u, i) => award(u.id, (i * 37) % 500, min(i % 60)));
    const solves = users.filter((u) => u.id % 2 === 0).map((u, i) => solve(1, u.id, min(i % 45)));
    let value = 250;
    const facts = () => data({ users, challenges: [challenge(1, value)], solves, awards });
    const state = build(facts());
    for (const next of [480, 5, 333, 0, 250]) {
      value = next;
      state.putChallenge(challenge(1, value));
      state.flush();
      for (const view of ["live", "public"] as const) {
        expect(state.standings(view).map((s) => [s.id, s.score]), `value ${value}, ${view}`).to.deep.equal(build(facts()).standings(view).map((s) => [s.id, s.score]));
      }
    }
    // A hide and an unhide among the moved ones, in the same flush as a value change.
    users[1] = user(2, { hidden: true });
    state.putUser(users[1]);
    value = 400;
    state.putChallenge(challenge(1, value));
    state.flush();
    expect(state.standings("live").map((s) => s.id)).to.deep.equal(build(facts()).standings("live").map((s) => s.id));
    expect(state.standings("live").map((s) => s.id)).to.not.include(2);
  });

  it("a dynamic value that moves shifts its solvers' rows as a fresh build makes them: team mode, a freeze, a member who changed teams, few and many solvers", () => {
    const decay = { initial: 500, minimum: 50, decay: 5, function: "linear" as const };
    const settings = { mode: "teams" as const, freezeAt: min(30), scoreVisibility: "public" as const, accountVisibility: "public" as const };
    const rowsOf = (state: StandingsState, view: View) => state.standings(view).map((s, i) => rowObject(i + 1, s.tail));
    for (const teamCount of [3, 120]) {
      const teams = Array.from({ length: teamCount }, (_, i) => team(i + 1));
      const users = teams.flatMap((t) => [user(t.id * 2 - 1, { teamId: t.id }), user(t.id * 2, { teamId: t.id })]);
      // Every other team solved challenge 1, before or after the freeze; every team has an award to spread the scores.
      const solves = teams.filter((t) => t.id % 2 === 1).map((t, i) => solve(1, t.id * 2 - 1, min((i * 37) % 60), t.id));
      const awards = teams.map((t, i) => award(t.id * 2, (i * 53) % 700, min(i % 40), t.id));
      let challenges = [{ id: 1, value: 500, decay }, challenge(2, 100)];
      let members = users;
      const facts = () => data({ settings, users: members, teams, challenges, solves, awards });
      const state = build(facts());
      // The first solver moves to another team: their solve stays with the team that made it, their points show in the new one.
      members = users.map((u) => (u.id === 1 ? user(1, { teamId: 2 }) : u));
      state.putUser(members[0]!);
      for (const value of [420, 131, 50, 500, 260]) {
        challenges = [{ id: 1, value, decay }, challenge(2, 100)];
        state.putChallenge(challenges[0]!);
        const changes = state.flush();
        expect(changes.live, `${teamCount} teams, value ${value}`).to.equal(true);
        const fresh = build(facts());
        for (const view of VIEWS) expect(rowsOf(state, view), `${teamCount} teams, value ${value}, ${view}`).to.deep.equal(rowsOf(fresh, view));
      }
      // Hiding a team that solved before the freeze leaves fewer counted solves before it: the value at the freeze
      // goes up for the solvers before the freeze, and not for those after it (still listed by their awards).
      teams[0] = team(1, { hidden: true });
      state.putTeam(teams[0]);
      state.flush();
      for (const view of VIEWS) expect(rowsOf(state, view), `${teamCount} teams, team 1 hidden, ${view}`).to.deep.equal(rowsOf(build(facts()), view));
    }
  });

  it("the public view stops at the freeze; the live view does not", () => {
    const settings = { mode: "users" as const, freezeAt: min(10), scoreVisibility: "public" as const, accountVisibility: "public" as const };
    const state = build(
      data({
        settings,
        users: [user(1), user(2), user(3)],
        challenges: [challenge(1, 100), challenge(2, 500)],
        solves: [solve(1, 1, min(1)), solve(2, 2, min(11))],
        awards: [award(3, 50, min(10))],
      }),
    );
    expect(board(state, "public")).to.deep.equal([["u1", 100]]);
    expect(board(state, "live")).to.deep.equal([
      ["u2", 500],
      ["u1", 100],
      ["u3", 50],
    ]);
    // A later solve changes only the live view.
    state.addSolve(solve(1, 3, min(12)));
    expect(state.flush()).to.deep.equal({ live: true, public: false });
  });

  it("values a dynamic challenge in the public view as it was at the freeze", () => {
    const decay = { initial: 500, minimum: 100, decay: 100, function: "linear" as const };
    const settings = { mode: "users" as const, freezeAt: min(10), scoreVisibility: "public" as const, accountVisibility: "public" as const };
    // Two solves before the freeze (worth 400 then), two after (worth 200 now).
    const state = build(
      data({
        settings,
        users: [user(1), user(2), user(3), user(4)],
        challenges: [{ id: 1, value: 200, decay }],
        solves: [solve(1, 1, min(1)), solve(1, 2, min(2)), solve(1, 3, min(11)), solve(1, 4, min(12))],
      }),
    );
    expect(board(state, "public")).to.deep.equal([
      ["u1", 400],
      ["u2", 400],
    ]);
    expect(board(state, "live").map(([, score]) => score)).to.deep.equal([200, 200, 200, 200]);
    // Hiding a post-freeze solver means fewer counted solves after the freeze; the frozen value holds.
    state.putUser(user(3, { hidden: true }));
    state.putChallenge({ id: 1, value: 300, decay });
    state.flush();
    expect(board(state, "public")).to.deep.equal([
      ["u1", 400],
      ["u2", 400],
    ]);
  });

  it("team mode: teams score with every member's solves; members listed are visible, non-banned, with their own points", () => {
    const state = build(
      data({
        settings: { mode: "teams", freezeAt: null, scoreVisibility: "public", accountVisibility: "public" },
        users: [user(1, { teamId: 1 }), user(2, { teamId: 1, hidden: true }), user(3, { teamId: 1, banned: true }), user(4, { teamId: 2 }), user(5, { teamId: 3 })],
        teams: [team(1), team(2), team(3, { hidden: true })],
        challenges: [challenge(1, 100), challenge(2, 200)],
        solves: [solve(1, 1, min(0), 1), solve(2, 2, min(1), 1), solve(1, 4, min(2), 2), solve(2, 5, min(0), 3)],
        awards: [award(1, 10, min(3), 1), award(null, 5, min(4), 2)],
      }),
    );
    const rows = state.standings("live").map((s, i) => rowObject(i + 1, s.tail));
    expect(rows.map((r) => [r.account_id, r.score, r.account_url, r.account_type])).to.deep.equal([
      [1, 310, "/teams/1", "team"],
      [2, 105, "/teams/2", "team"],
    ]);
    expect(rows[0]!.members).to.deep.equal([{ id: 1, oauth_id: null, name: "u1", score: 110, bracket_id: null, bracket_name: null }]);
    expect(rows[1]!.members).to.deep.equal([{ id: 4, oauth_id: null, name: "u4", score: 100, bracket_id: null, bracket_name: null }]);

    // A member moves to team 2: the member lists follow; the solves stay with the team that made them.
    state.putUser(user(1, { teamId: 2 }));
    state.flush();
    const moved = state.standings("live").map((s, i) => rowObject(i + 1, s.tail));
    expect(moved.map((r) => [r.account_id, r.score, (r.members as Array<{ id: number }>).map((m) => m.id)])).to.deep.equal([
      [1, 310, []],
      [2, 105, [1, 4]],
    ]);
  });

  it("timeline lists the solves and awards behind a score, oldest first, up to the freeze for the public", () => {
    const state = build(
      data({
        settings: { mode: "users", freezeAt: min(10), scoreVisibility: "public", accountVisibility: "public" },
        users: [user(1)],
        challenges: [challenge(1, 100), challenge(2, 50)],
        solves: [solve(2, 1, min(5)), solve(1, 1, min(1)), solve(1, 1, min(20))],
        awards: [award(1, -20, min(3))],
      }),
    );
    expect(state.timeline("public", 1).map((i) => [i.kind, i.at])).to.deep.equal([
      ["solve", min(1)],
      ["award", min(3)],
      ["solve", min(5)],
    ]);
    expect(state.timeline("live", 1)).to.have.length(4);
  });

  it("brackets name rows, and a bracket rename touches every row", () => {
    const state = build(
      data({ brackets: [{ id: 7, name: "students" }], users: [user(1, { bracketId: 7 })], challenges: [challenge(1, 100)], solves: [solve(1, 1, min(0))] }),
    );
    expect(rowObject(1, state.standings("live")[0]!.tail)).to.include({ bracket_id: 7, bracket_name: "students" });
    state.setBrackets([{ id: 7, name: "juniors" }]);
    expect(state.flush().live).to.equal(true);
    expect(rowObject(1, state.standings("live")[0]!.tail)).to.include({ bracket_name: "juniors" });
  });

  it("keeps odd names valid JSON", () => {
    const name = `"quoted" \\ </script> \u2028 ünïcødé`;
    const state = build(data({ users: [user(1, { name })], challenges: [challenge(1, 1)], solves: [solve(1, 1, min(0))] }));
    expect(rowObject(1, state.standings("live")[0]!.tail).name).to.equal(name);
  });
});
