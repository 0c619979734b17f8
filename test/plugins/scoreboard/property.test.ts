import { expect } from "chai";
import fc from "fast-check";
import type { EntityManager } from "typeorm";
import { dynamicChallengesSolvedBy, dynamicValue, recomputeDynamicValues } from "../../../core/ctf/game/dynamic-value.js";
import { txQuery } from "../../../core/ctf/sql.js";
import type { Database } from "../../../core/kernel/db/data-source.js";
import type { TestCtf } from "../../helpers/ctf.js";
import { settle, startScoreboard } from "./helpers.js";

/**
 * The property: after every step of a random sequence (solves, awards and their removal, hide, ban and back,
 * team moves, value changes, dynamic decay, purged solves, deleted users, renames, freeze moves), the
 * incremental engine's boards (live for admins, public for everyone else, and the top/N graph) equal a full
 * recomputation from the database by the oracle below, which shares no code with the engine.
 *
 * Steps write with SQL and emit the same events core/ctf emits, through the kernel's event bus (going through
 * HTTP for thousands of steps would take minutes); core/ctf's own dynamic-value recomputation keeps values right.
 */
const STEPS = Number(process.env.SCOREBOARD_PROPERTY_STEPS ?? 1500);
const USERS = 9;
const TEAMS = 4;
const T0 = Date.UTC(2030, 0, 1);
const at = (seconds: number) => new Date(T0 + seconds * 1000);
/** A time `micros` µs after T0, as the database's text (Date would round it to the millisecond). */
const stamp = (micros: number) => {
  const iso = new Date(T0 + Math.floor(micros / 1000)).toISOString();
  return iso.replace(/Z$/, `${String(micros % 1000).padStart(3, "0")}Z`);
};
/** The database's precise ms of a created_at (what core/ctf reads and emits). */
const PRECISE = `extract(epoch FROM created_at) * 1000`;

type Step =
  | { kind: "solve"; user: number; challenge: number; time: number }
  | { kind: "award"; user: number; value: number; time: number; teamOnly: boolean }
  | { kind: "deleteAward"; pick: number }
  | { kind: "flag"; user: number; column: "hidden" | "banned"; value: boolean }
  | { kind: "teamFlag"; team: number; column: "hidden" | "banned"; value: boolean }
  | { kind: "move"; user: number; team: number | null }
  | { kind: "value"; challenge: number; value: number }
  | { kind: "purge"; user: number }
  | { kind: "deleteUser"; user: number }
  | { kind: "rename"; user: number; suffix: number }
  | { kind: "freeze"; time: number | null };

const user = fc.integer({ min: 1, max: USERS });
// µs after T0: whole seconds 0..40, so equal instants (ties broken by row id) are common, plus 0..2 µs, so some
// times differ only below the millisecond (where microseconds decide).
const time = fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 2 })).map(([s, us]) => s * 1_000_000 + us);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant("solve" as const), user, challenge: fc.integer({ min: 1, max: 6 }), time }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("award" as const), user, value: fc.integer({ min: -150, max: 300 }), time, teamOnly: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("deleteAward" as const), pick: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("flag" as const), user, column: fc.constantFrom("hidden" as const, "banned" as const), value: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("teamFlag" as const), team: fc.integer({ min: 1, max: TEAMS }), column: fc.constantFrom("hidden" as const, "banned" as const), value: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("move" as const), user, team: fc.option(fc.integer({ min: 1, max: TEAMS }), { nil: null }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("value" as const), challenge: fc.integer({ min: 1, max: 4 }), value: fc.integer({ min: 0, max: 500 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("purge" as const), user }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("deleteUser" as const), user }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("rename" as const), user, suffix: fc.nat({ max: 1000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("freeze" as const), time: fc.option(fc.integer({ min: 5, max: 35 }), { nil: null }) }) },
);

for (const mode of ["users", "teams"] as const) {
  describe(`scoreboard property (${mode} mode): incremental standings equal a recomputation after every step`, function () {
    this.timeout(900_000);
    let t: TestCtf;

    before(async () => {
      t = await startScoreboard({ mode });
      await seed(t.kernel.db, mode);
      const rebuilt = await t.bootstrap.post("/api/v1/scoreboard/rebuild");
      expect(rebuilt.status).to.equal(200);
    });
    after(async () => t?.stop());

    it(`${STEPS} random steps`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(stepArb, { minLength: STEPS, maxLength: STEPS }), async (steps) => {
          for (let i = 0; i < steps.length; i++) {
            await apply(t, mode, steps[i]!);
            await settle(t);
            await compare(t, `after step ${i + 1} ${JSON.stringify(steps[i])}`, i % 25 === 0);
          }
        }),
        { numRuns: 1, endOnFailure: true },
      );
    });
  });
}

async function seed(db: Database, mode: "users" | "teams"): Promise<void> {
  for (let team = 1; team <= TEAMS; team++) await db.query(`INSERT INTO ctf_teams (id, name, invite_secret) VALUES ($1, $2, 'x')`, [1000 + team, `team${team}`]);
  for (let u = 1; u <= USERS; u++) {
    const teamId = mode === "teams" ? homeTeam(u) : null;
    await db.query(`INSERT INTO ctf_users (id, name, team_id) VALUES ($1, $2, $3)`, [1000 + u, `user${u}`, teamId]);
  }
  for (let c = 1; c <= 4; c++) await db.query(`INSERT INTO ctf_challenges (id, name, value) VALUES ($1, $2, $3)`, [1000 + c, `static${c}`, c * 100]);
  await db.query(`INSERT INTO ctf_challenges (id, name, type, value, initial, minimum, decay, decay_function) VALUES (1005, 'linear', 'dynamic', 500, 500, 100, 60, 'linear')`);
  await db.query(`INSERT INTO ctf_challenges (id, name, type, value, initial, minimum, decay, decay_function) VALUES (1006, 'log', 'dynamic', 400, 400, 50, 4, 'logarithmic')`);
}

/** The team a user starts in (team mode); the last user starts without one. */
const homeTeam = (u: number) => (u < USERS ? 1000 + ((u - 1) % TEAMS) + 1 : null);

/** Applies one step the way core/ctf would: the write and its events in one transaction. */
async function apply(t: TestCtf, mode: "users" | "teams", step: Step): Promise<void> {
  const emit = t.kernel.events.emit.bind(t.kernel.events);
  const uid = "user" in step ? 1000 + step.user : 0;
  const recompute = async (tx: EntityManager, ids: number[]) => {
    for (const change of await recomputeDynamicValues(tx, ids)) emit("challenge.updated", { ...change, valueChanged: true, deleted: false, created: false }, { broadcast: true });
  };
  const userRow = async (tx: EntityManager) => (await txQuery<{ team_id: number | null }>(tx, `SELECT team_id FROM ctf_users WHERE id = $1`, [uid]))[0];

  await t.kernel.db.transaction(async (tx) => {
    // A deleted user registers again, so the population stays the same size over thousands of steps.
    if ("user" in step && !(await userRow(tx))) {
      const teamId = mode === "teams" ? homeTeam(step.user) : null;
      await txQuery(tx, `INSERT INTO ctf_users (id, name, team_id) VALUES ($1, $2, $3)`, [uid, `user${step.user}`, teamId]);
      emit("account.updated", { accountType: "user", id: uid, changes: ["created"], affectedTeamIds: teamId ? [teamId] : [] }, { broadcast: true });
      return;
    }
    switch (step.kind) {
      case "solve": {
        const row = await userRow(tx);
        if (!row) return;
        const teamId = mode === "teams" ? row.team_id : null;
        if (mode === "teams" && teamId === null) return;
        const challengeId = 1000 + step.challenge;
        const [sub] = await txQuery<{ id: string }>(tx, `INSERT INTO ctf_submissions (challenge_id, user_id, team_id, provided, type, created_at) VALUES ($1, $2, $3, 'x', 'correct', $4) RETURNING id`, [
          challengeId,
          uid,
          teamId,
          stamp(step.time),
        ]);
        const [solve] = await txQuery<{ id: string; at_ms: string }>(
          tx,
          `INSERT INTO ctf_solves (submission_id, challenge_id, user_id, team_id, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id, ${PRECISE} AS at_ms`,
          [sub!.id, challengeId, uid, teamId, stamp(step.time)],
        );
        if (!solve) return;
        await recompute(tx, [challengeId]);
        const [{ value }] = (await txQuery<{ value: number }>(tx, `SELECT value FROM ctf_challenges WHERE id = $1`, [challengeId])) as [{ value: number }];
        emit(
          "solve.created",
          { solveId: Number(solve.id), submissionId: Number(sub!.id), challengeId, userId: uid, teamId, accountType: mode === "teams" ? "team" : "user", accountId: teamId ?? uid, value, date: new Date(T0 + Math.floor(step.time / 1000)).toISOString(), at: Number(solve.at_ms) },
          { broadcast: true },
        );
        return;
      }
      case "award": {
        const row = await userRow(tx);
        if (!row) return;
        const teamId = mode === "teams" ? row.team_id : null;
        if (mode === "teams" && teamId === null) return;
        const userId = mode === "teams" && step.teamOnly ? null : uid;
        const [award] = await txQuery<{ id: number; at_ms: string }>(tx, `INSERT INTO ctf_awards (user_id, team_id, name, value, created_at) VALUES ($1, $2, 'a', $3, $4) RETURNING id, ${PRECISE} AS at_ms`, [
          userId,
          teamId,
          step.value,
          stamp(step.time),
        ]);
        const date = new Date(T0 + Math.floor(step.time / 1000)).toISOString();
        emit("award.created", { awardId: award!.id, userId, teamId, value: step.value, category: null, hintId: null, date, at: Number(award!.at_ms) }, { broadcast: true });
        return;
      }
      case "deleteAward": {
        const awards = await txQuery<{ id: number; user_id: number | null; team_id: number | null }>(tx, `SELECT id, user_id, team_id FROM ctf_awards ORDER BY id`);
        if (awards.length === 0) return;
        const award = awards[step.pick % awards.length]!;
        await txQuery(tx, `DELETE FROM ctf_awards WHERE id = $1`, [award.id]);
        emit("award.deleted", { awardId: award.id, userId: award.user_id, teamId: award.team_id }, { broadcast: true });
        return;
      }
      case "flag": {
        const row = await userRow(tx);
        if (!row) return;
        await txQuery(tx, `UPDATE ctf_users SET ${step.column} = $2 WHERE id = $1`, [uid, step.value]);
        await recompute(tx, await dynamicChallengesSolvedBy(tx, { userId: uid }));
        emit("account.updated", { accountType: "user", id: uid, changes: [step.column], affectedTeamIds: row.team_id ? [row.team_id] : [] }, { broadcast: true });
        return;
      }
      case "teamFlag": {
        const teamId = 1000 + step.team;
        await txQuery(tx, `UPDATE ctf_teams SET ${step.column} = $2 WHERE id = $1`, [teamId, step.value]);
        await recompute(tx, await dynamicChallengesSolvedBy(tx, { teamId }));
        emit("account.updated", { accountType: "team", id: teamId, changes: [step.column], affectedTeamIds: [teamId] }, { broadcast: true });
        return;
      }
      case "move": {
        const row = await userRow(tx);
        if (!row) return;
        const teamId = step.team === null ? null : 1000 + step.team;
        await txQuery(tx, `UPDATE ctf_users SET team_id = $2 WHERE id = $1`, [uid, teamId]);
        emit("account.updated", { accountType: "user", id: uid, changes: ["team"], affectedTeamIds: [row.team_id, teamId].filter((x): x is number => x !== null) }, { broadcast: true });
        return;
      }
      case "value": {
        const id = 1000 + step.challenge;
        const [before] = await txQuery<{ value: number }>(tx, `SELECT value FROM ctf_challenges WHERE id = $1`, [id]);
        await txQuery(tx, `UPDATE ctf_challenges SET value = $2 WHERE id = $1`, [id, step.value]);
        emit("challenge.updated", { id, value: step.value, previousValue: before!.value, valueChanged: before!.value !== step.value, state: "visible", deleted: false, created: false }, { broadcast: true });
        return;
      }
      case "purge": {
        const row = await userRow(tx);
        if (!row) return;
        const touched = await dynamicChallengesSolvedBy(tx, { userId: uid });
        await txQuery(tx, `DELETE FROM ctf_solves WHERE user_id = $1`, [uid]);
        await recompute(tx, touched);
        emit("account.updated", { accountType: "user", id: uid, changes: ["solves"], affectedTeamIds: row.team_id ? [row.team_id] : [] }, { broadcast: true });
        return;
      }
      case "deleteUser": {
        const row = await userRow(tx);
        if (!row) return;
        const touched = await dynamicChallengesSolvedBy(tx, { userId: uid });
        await txQuery(tx, `DELETE FROM ctf_users WHERE id = $1`, [uid]);
        await recompute(tx, touched);
        emit("account.updated", { accountType: "user", id: uid, changes: ["deleted"], affectedTeamIds: row.team_id ? [row.team_id] : [] }, { broadcast: true });
        return;
      }
      case "rename": {
        const row = await userRow(tx);
        if (!row) return;
        await txQuery(tx, `UPDATE ctf_users SET name = $2 WHERE id = $1`, [uid, `user${step.user}-${step.suffix}`]);
        emit("account.updated", { accountType: "user", id: uid, changes: ["name"], affectedTeamIds: row.team_id ? [row.team_id] : [] }, { broadcast: true });
        return;
      }
      case "freeze": {
        await txQuery(tx, `UPDATE ctf_event SET freeze_at = $1 WHERE id = 1`, [step.time === null ? null : at(step.time)]);
        emit("event.updated", { changes: ["freezeAt"] }, { broadcast: true });
        return;
      }
    }
  });
}

async function compare(t: TestCtf, where: string, withTop: boolean): Promise<void> {
  const expected = await recompute(t.kernel.db);
  const live = await t.bootstrap.get("/api/v1/scoreboard");
  const shown = await t.anonymous().get("/api/v1/scoreboard");
  expect(live.status, where).to.equal(200);
  expect(live.body.data, `live board ${where}`).to.deep.equal(expected.live.rows);
  expect(shown.body.data, `public board ${where}`).to.deep.equal(expected.public.rows);
  if (!withTop) return;
  expect((await t.bootstrap.get("/api/v1/scoreboard/top/10")).body.data, `live top ${where}`).to.deep.equal(expected.live.top);
  expect((await t.anonymous().get("/api/v1/scoreboard/top/10")).body.data, `public top ${where}`).to.deep.equal(expected.public.top);
}

// ---- the oracle: a plain recomputation of CTFd's rules from the tables ----

interface Row {
  [key: string]: any;
}

async function recompute(db: Database) {
  const [event] = await db.query<Row>(`SELECT mode, freeze_at FROM ctf_event`);
  const users = await db.query<Row>(`SELECT id, name, hidden, banned, team_id, bracket_id FROM ctf_users ORDER BY id`);
  const teams = await db.query<Row>(`SELECT id, name, hidden, banned, bracket_id FROM ctf_teams ORDER BY id`);
  const challenges = await db.query<Row>(`SELECT id, type, value, initial, minimum, decay, decay_function FROM ctf_challenges`);
  // Times in whole µs since the epoch (exact in a double), the database's precision: Date would drop them.
  const micros = `(extract(epoch FROM created_at) * 1000000)::bigint::text AS us`;
  const solves = (await db.query<Row>(`SELECT id, challenge_id, user_id, team_id, ${micros} FROM ctf_solves`)).map((s): Row => ({ ...s, id: Number(s.id), t: Number(s.us), kind: "solve" }));
  const awards = (await db.query<Row>(`SELECT id, user_id, team_id, value, ${micros} FROM ctf_awards`)).map((a): Row => ({ ...a, id: Number(a.id), t: Number(a.us), kind: "award" }));
  const teamsMode = event!.mode === "teams";
  const freeze = event!.freeze_at ? new Date(event!.freeze_at).getTime() * 1000 : null; // whole seconds here
  const userById = new Map(users.map((u) => [u.id, u]));
  const teamById = new Map(teams.map((tm) => [tm.id, tm]));
  const visible = (a: Row | undefined) => a !== undefined && !a.hidden && !a.banned;

  const view = (cutoff: number | null, frozenValues: boolean) => {
    const before = (t: number) => cutoff === null || t < cutoff;
    const worth = new Map<number, number>();
    for (const c of challenges) {
      let value = c.value as number;
      if (frozenValues && cutoff !== null && c.type === "dynamic") {
        // Counted as core/ctf counts solves for decay: the user and (if any) the solve's team visible.
        const counted = solves.filter((s) => s.challenge_id === c.id && visible(userById.get(s.user_id)) && (s.team_id === null || !teamById.has(s.team_id) || visible(teamById.get(s.team_id))));
        if (counted.some((s) => s.t >= cutoff)) {
          value = dynamicValue({ initial: c.initial, minimum: c.minimum, decay: c.decay, function: c.decay_function }, counted.filter((s) => s.t < cutoff).length);
        }
      }
      worth.set(c.id, value);
    }
    const valueOf = (item: Row) => (item.kind === "solve" ? worth.get(item.challenge_id)! : item.value);
    const items = [...solves, ...awards].filter((i) => before(i.t));
    const owner = teamsMode ? "team_id" : "user_id";
    const accounts = teamsMode ? teams : users;
    const standings = accounts
      .filter(visible)
      .map((a) => {
        const mine = items.filter((i) => i[owner] === a.id);
        // CTFd: the latest time, and the highest id over the account's solves and awards (two sequences, one max).
        return { a, mine, score: mine.reduce((sum, i) => sum + valueOf(i), 0), reached: Math.max(...mine.map((i) => i.t)), lastId: Math.max(...mine.map((i) => i.id)) };
      })
      .filter((s) => s.mine.length > 0)
      .sort((x, y) => y.score - x.score || x.reached - y.reached || x.lastId - y.lastId || x.a.id - y.a.id);
    const rows = standings.map((s, i) => {
      const row: Row = {
        pos: i + 1,
        account_id: s.a.id,
        account_url: `/${teamsMode ? "teams" : "users"}/${s.a.id}`,
        account_type: teamsMode ? "team" : "user",
        oauth_id: null,
        name: s.a.name,
        score: s.score,
        bracket_id: s.a.bracket_id,
        bracket_name: null,
      };
      if (teamsMode) {
        row.members = users
          .filter((u) => u.team_id === s.a.id && visible(u))
          .map((u) => ({ id: u.id, oauth_id: null, name: u.name, score: items.filter((i) => i.user_id === u.id).reduce((sum, i) => sum + valueOf(i), 0), bracket_id: u.bracket_id, bracket_name: null }));
      }
      return row;
    });
    const top: Record<string, Row> = {};
    standings.slice(0, 10).forEach((s, i) => {
      top[String(i + 1)] = {
        id: s.a.id,
        account_url: `/${teamsMode ? "teams" : "users"}/${s.a.id}`,
        name: s.a.name,
        score: s.score,
        bracket_id: s.a.bracket_id,
        bracket_name: null,
        solves: [...s.mine]
          .sort((x, y) => x.t - y.t || (x.kind === y.kind ? x.id - y.id : x.kind === "solve" ? -1 : 1))
          .map((item) => ({
            challenge_id: item.kind === "solve" ? item.challenge_id : null,
            account_id: s.a.id,
            team_id: teamsMode ? item.team_id : null,
            user_id: item.user_id,
            value: valueOf(item),
            date: new Date(Math.floor(item.t / 1000)).toISOString().replace(/\.\d{3}Z$/, "Z"),
          })),
      };
    });
    return { rows, top };
  };
  return { live: view(null, false), public: view(freeze, true) };
}
