import { expect } from "chai";
import fc from "fast-check";
import type { Client, TestCtf } from "../helpers/ctf.js";
import { startScoreboard } from "../plugins/scoreboard/helpers.js";

/**
 * The property (issue 12): after every step of a random sequence of solves, wrong answers, awards and their removal,
 * hint unlocks, hides, bans, unhides, unbans and account deletions, all made through the HTTP API, every account's
 * score and place (on `/users/:id` or `/teams/:id` for admins, and `/users/me` / `/teams/me` for the account itself)
 * every challenge's solve count and `solved_by_me` (on `/api/v1/challenges`) and the public account list's total
 * equal a recomputation from the database by the oracle below; and the scoreboard's rows agree with the account pages.
 */
const STEPS = Number(process.env.READ_MODEL_PROPERTY_STEPS ?? 150);
const PLAYERS = 6;
const CHALLENGES = 4;
const FLAG = "flag{read-models}";

type Step =
  | { kind: "solve"; player: number; challenge: number }
  | { kind: "wrong"; player: number; challenge: number }
  | { kind: "award"; player: number; value: number }
  | { kind: "deleteAward"; pick: number }
  | { kind: "unlock"; player: number; hint: number }
  | { kind: "flag"; player: number; column: "hidden" | "banned"; value: boolean }
  | { kind: "teamFlag"; player: number; column: "hidden" | "banned"; value: boolean }
  | { kind: "deleteUser"; player: number };

const player = fc.integer({ min: 0, max: PLAYERS - 1 });
const challenge = fc.integer({ min: 0, max: CHALLENGES - 1 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant("solve" as const), player, challenge }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("wrong" as const), player, challenge }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("award" as const), player, value: fc.integer({ min: -50, max: 200 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("deleteAward" as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("unlock" as const), player, hint: challenge }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("flag" as const), player, column: fc.constantFrom("hidden" as const, "banned" as const), value: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("teamFlag" as const), player, column: fc.constantFrom("hidden" as const, "banned" as const), value: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("deleteUser" as const), player }) },
);

interface Seat {
  client: Client;
  userId: number;
  teamId: number | null;
}

for (const mode of ["users", "teams"] as const) {
  describe(`read models property (${mode} mode): score, place and solve counts equal a recomputation after every step`, function () {
    this.timeout(600_000);
    let t: TestCtf;
    const seats: Seat[] = [];
    const challengeIds: number[] = [];
    const hintIds: number[] = [];

    /** A new player in the seat (and, in team mode, a team of its own or the seat's neighbour's). */
    async function seat(index: number): Promise<Seat> {
      const client = await t.register(`p${index}-${Math.random().toString(36).slice(2, 8)}`);
      let teamId: number | null = null;
      if (mode === "teams") {
        const res = await client.post("/api/v1/teams/new", { name: `team-${index}-${Math.random().toString(36).slice(2, 8)}`, password: "team-password-1" });
        expect(res.status, JSON.stringify(res.body)).to.equal(200);
        teamId = res.body.data.id;
      }
      const me = await client.get("/api/v1/users/me");
      return { client, userId: me.body.data.id, teamId };
    }

    before(async () => {
      t = await startScoreboard({ mode });
      for (let c = 0; c < CHALLENGES; c++) {
        const fields = c === 0 ? { type: "dynamic", initial: 500, minimum: 100, decay: 3, function: "linear" } : { value: (c + 1) * 100 };
        const id = await t.challenge({ name: `rm-${c}`, ...fields }, FLAG);
        challengeIds.push(id);
        const hint = await t.admin.post("/api/v1/hints", { challenge_id: id, title: `hint ${c}`, content: "look", cost: 25 * c });
        expect(hint.status).to.equal(200);
        hintIds.push(hint.body.data.id);
      }
      for (let i = 0; i < PLAYERS; i++) seats.push(await seat(i));
    });
    after(async () => t?.stop());

    it(`${STEPS} random steps through the API`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(stepArb, { minLength: STEPS, maxLength: STEPS }), async (steps) => {
          for (let i = 0; i < steps.length; i++) {
            await apply(steps[i]!);
            await compare(`after step ${i + 1} ${JSON.stringify(steps[i])}`);
          }
        }),
        { numRuns: 1, endOnFailure: true },
      );
    });

    /** One step through the API. Refusals (already solved, not enough points, banned) are fine; a 5xx never is. */
    async function apply(step: Step): Promise<void> {
      const noServerError = (res: { status: number; body: unknown }) => expect(res.status, `${JSON.stringify(step)}: ${JSON.stringify(res.body)}`).to.be.below(500);
      switch (step.kind) {
        case "solve":
        case "wrong": {
          const submission = step.kind === "solve" ? FLAG : "flag{nope}";
          noServerError(await seats[step.player]!.client.post("/api/v1/challenges/attempt", { challenge_id: challengeIds[step.challenge], submission }));
          return;
        }
        case "award": {
          const s = seats[step.player]!;
          noServerError(await t.admin.post("/api/v1/awards", { user_id: s.userId, name: "bonus", value: step.value }));
          return;
        }
        case "deleteAward": {
          const awards = await t.kernel.db.query<{ id: number }>(`SELECT id FROM ctf_awards ORDER BY id`);
          if (awards.length === 0) return;
          noServerError(await t.admin.delete(`/api/v1/awards/${awards[step.pick % awards.length]!.id}`));
          return;
        }
        case "unlock":
          noServerError(await seats[step.player]!.client.post("/api/v1/unlocks", { target: hintIds[step.hint], type: "hints" }));
          return;
        case "flag":
          noServerError(await t.admin.patch(`/api/v1/users/${seats[step.player]!.userId}`, { [step.column]: step.value }));
          return;
        case "teamFlag": {
          const teamId = seats[step.player]!.teamId;
          if (teamId !== null) noServerError(await t.admin.patch(`/api/v1/teams/${teamId}`, { [step.column]: step.value }));
          return;
        }
        case "deleteUser": {
          const s = seats[step.player]!;
          noServerError(await t.admin.delete(`/api/v1/users/${s.userId}`));
          if (s.teamId !== null) noServerError(await t.admin.delete(`/api/v1/teams/${s.teamId}`));
          seats[step.player] = await seat(step.player);
          return;
        }
      }
    }

    async function compare(where: string): Promise<void> {
      const expected = await recompute(t, mode);
      const kind = mode === "teams" ? "teams" : "users";
      // Account pages, as admins see them (live), and the scoreboard's rows agree with them.
      const board = (await t.admin.get("/api/v1/scoreboard")).body.data as Array<{ account_id: number; pos: number; score: number }>;
      expect(board.map((r) => [r.account_id, r.pos, r.score]), `scoreboard ${where}`).to.deep.equal(expected.ranked.map((a, i) => [a.id, i + 1, a.score]));
      // The public account list's total (kept in memory) counts the listed accounts.
      const listedTotal = (await t.anonymous().get(`/api/v1/${kind}`)).body.meta.pagination.total;
      expect(listedTotal, `/${kind} total ${where}`).to.equal(expected.listedAccounts);
      for (const s of seats) {
        const accountId = mode === "teams" ? s.teamId! : s.userId;
        const want = expected.accounts.get(accountId) ?? { score: 0, place: null };
        const page = await t.admin.get(`/api/v1/${kind}/${accountId}`);
        expect(page.status, where).to.equal(200);
        expect({ score: page.body.data.score, place: page.body.data.place }, `admin /${kind}/${accountId} ${where}`).to.deep.equal(want);
        // The account itself: banned accounts are refused, everyone else sees the same numbers.
        const own = await s.client.get(`/api/v1/${kind}/me`);
        if (own.status === 200) expect({ score: own.body.data.score, place: own.body.data.place }, `/${kind}/me of ${accountId} ${where}`).to.deep.equal(want);
        const list = await s.client.get("/api/v1/challenges");
        if (list.status !== 200) continue;
        const shown = (list.body.data as Array<{ id: number; solves: number; solved_by_me: boolean }>).map((c) => [c.id, c.solves, c.solved_by_me]).sort((a, b) => Number(a[0]) - Number(b[0]));
        const solvedByMe = expected.solvedBy.get(accountId) ?? new Set<number>();
        expect(shown, `/challenges for ${accountId} ${where}`).to.deep.equal(challengeIds.map((id) => [id, expected.solveCounts.get(id) ?? 0, solvedByMe.has(id)]));
      }
    }
  });
}

// ---- the oracle: CTFd's rules recomputed from the tables, sharing no code with core/ctf or the scoreboard ----

interface Account {
  id: number;
  score: number;
  reached: number;
  lastId: number;
}

async function recompute(t: TestCtf, mode: "users" | "teams") {
  const db = t.kernel.db;
  const owner = mode === "teams" ? "team_id" : "user_id";
  const users = await db.query<{ id: number; hidden: boolean; banned: boolean; team_id: number | null }>(`SELECT id, hidden, banned, team_id FROM ctf_users`);
  const teams = await db.query<{ id: number; hidden: boolean; banned: boolean }>(`SELECT id, hidden, banned FROM ctf_teams`);
  const values = new Map((await db.query<{ id: number; value: number }>(`SELECT id, value FROM ctf_challenges`)).map((c) => [c.id, c.value]));
  const micros = `(extract(epoch FROM created_at) * 1000000)::bigint::text AS us`;
  const solves = await db.query<{ id: string; challenge_id: number; user_id: number; team_id: number | null; us: string }>(`SELECT id, challenge_id, user_id, team_id, ${micros} FROM ctf_solves`);
  const awards = await db.query<{ id: string; user_id: number | null; team_id: number | null; value: number; us: string }>(`SELECT id, user_id, team_id, value, ${micros} FROM ctf_awards`);
  const userById = new Map(users.map((u) => [u.id, u]));
  const teamById = new Map(teams.map((tm) => [tm.id, tm]));
  const listed = (a: { hidden: boolean; banned: boolean } | undefined) => a !== undefined && !a.hidden && !a.banned;

  const items = [
    ...solves.map((s) => ({ account: s[owner], id: Number(s.id), at: Number(s.us), value: values.get(s.challenge_id) ?? 0 })),
    ...awards.map((a) => ({ account: a[owner], id: Number(a.id), at: Number(a.us), value: a.value })),
  ];
  const byAccount = new Map<number, Account>();
  for (const item of items) {
    if (item.account === null) continue;
    const account = byAccount.get(item.account) ?? { id: item.account, score: 0, reached: 0, lastId: 0 };
    account.score += item.value;
    account.reached = Math.max(account.reached, item.at);
    account.lastId = Math.max(account.lastId, item.id);
    byAccount.set(item.account, account);
  }
  const accountRecord = (id: number) => (mode === "teams" ? teamById.get(id) : userById.get(id));
  const ranked = [...byAccount.values()].filter((a) => listed(accountRecord(a.id))).sort((x, y) => y.score - x.score || x.reached - y.reached || x.lastId - y.lastId || x.id - y.id);
  const place = new Map(ranked.map((a, i) => [a.id, i + 1]));
  const ordinal = (n: number) => {
    const tens = n % 100;
    const suffix = tens >= 11 && tens <= 13 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" } as Record<number, string>)[n % 10] ?? "th";
    return `${n}${suffix}`;
  };
  const accounts = new Map<number, { score: number; place: string | null }>();
  for (const a of byAccount.values()) accounts.set(a.id, { score: a.score, place: place.has(a.id) ? ordinal(place.get(a.id)!) : null });

  // CTFd counts a challenge's solves by accounts that are neither hidden nor banned (the user, and the team if any).
  const solveCounts = new Map<number, number>();
  const solvedBy = new Map<number, Set<number>>();
  for (const s of solves) {
    if (listed(userById.get(s.user_id)) && (s.team_id === null || listed(teamById.get(s.team_id)))) solveCounts.set(s.challenge_id, (solveCounts.get(s.challenge_id) ?? 0) + 1);
    const account = s[owner];
    if (account !== null) solvedBy.set(account, (solvedBy.get(account) ?? new Set()).add(s.challenge_id));
  }
  const listedAccounts = (mode === "teams" ? teams : users).filter(listed).length;
  return { ranked, accounts, solveCounts, solvedBy, listedAccounts };
}
