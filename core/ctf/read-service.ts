import { createHash } from "node:crypto";
import { z } from "zod";
import type { Database } from "../kernel/db/data-source.js";
import { parseInput } from "../kernel/http/envelope.js";
import { dynamicValue } from "./game/dynamic-value.js";
import { preciseMs } from "./sql.js";
import { digestInDatabase, digestOf } from "./table-digest.js";
import type {
  AccountFacts,
  CallerFacts,
  ChallengeDefinition,
  CtfReadService,
  FactsQuery,
  ScoringAward,
  ScoringBracket,
  ScoringChallenge,
  ScoringFacts,
  ScoringFingerprints,
  ScoringItems,
  ScoringSettings,
  ScoringSolve,
  ScoringTeam,
  ScoringUser,
  SubmissionFact,
} from "./service.js";

/** The most rows one bounded read answers. */
export const MAX_READ_LIMIT = 1000;

const factsQuery = z
  .object({
    since: z.date().optional(),
    challengeId: z.number().int().min(1).max(2 ** 31 - 1).optional(),
    limit: z.number().int().min(1).max(MAX_READ_LIMIT),
  })
  .strict();

const USER_COLUMNS = `id, name, hidden, banned, team_id, bracket_id`;
const TEAM_COLUMNS = `id, name, hidden, banned, bracket_id`;
const CHALLENGE_COLUMNS = `id, value, type, initial, minimum, decay, decay_function`;
const SOLVE_COLUMNS = `id, challenge_id, user_id, team_id, created_at, ${preciseMs("created_at")} AS at_ms`;
const AWARD_COLUMNS = `id, user_id, team_id, value, created_at, ${preciseMs("created_at")} AS at_ms`;
/** The fields of a solve's and an award's fingerprint (table-digest.ts): as SQL, and from a row in memory, in one order. */
export const SOLVE_FINGERPRINT = {
  sql: ["id", "challenge_id", "user_id", "coalesce(team_id, 0)"],
  of: (s: { id: number; challengeId: number; userId: number; teamId: number | null }) => [s.id, s.challengeId, s.userId, s.teamId ?? 0],
};
const AWARD_FINGERPRINT = {
  sql: ["id", "coalesce(user_id, 0)", "coalesce(team_id, 0)", "value"],
  of: (a: ScoringAward) => [a.id, a.userId ?? 0, a.teamId ?? 0, a.value],
};

/**
 * core/ctf's read model, straight from its tables (the source of truth): plain SQL on the schema in
 * migrations.ts, ids as numbers whatever the driver does with bigint, times as ms since the epoch.
 */
export function createReadService(db: Database): CtfReadService {
  const rows = (sql: string, params: unknown[] = []) => db.query<Row>(sql, params);

  const scoringSettings = async (): Promise<ScoringSettings> => {
    const [row] = await rows(`SELECT mode, freeze_at, score_visibility, account_visibility FROM ctf_event WHERE id = 1`);
    return {
      mode: row?.mode === "teams" ? "teams" : "users",
      freezeAt: row?.freeze_at ? time(row.freeze_at) : null,
      scoreVisibility: (row?.score_visibility as ScoringSettings["scoreVisibility"]) ?? "public",
      accountVisibility: (row?.account_visibility as ScoringSettings["accountVisibility"]) ?? "public",
    };
  };
  const brackets = async (): Promise<ScoringBracket[]> => (await rows(`SELECT id, name FROM ctf_brackets`)).map((r) => ({ id: id(r.id), name: String(r.name) }));
  const user = async (userId: number) => first(await rows(`SELECT ${USER_COLUMNS} FROM ctf_users WHERE id = $1`, [userId]), toUser);
  const team = async (teamId: number) => first(await rows(`SELECT ${TEAM_COLUMNS} FROM ctf_teams WHERE id = $1`, [teamId]), toTeam);
  const itemsWhere = async (column: "user_id" | "team_id", value: number): Promise<ScoringItems> => ({
    solves: (await rows(`SELECT ${SOLVE_COLUMNS} FROM ctf_solves WHERE ${column} = $1`, [value])).map(toSolve),
    awards: (await rows(`SELECT ${AWARD_COLUMNS} FROM ctf_awards WHERE ${column} = $1`, [value])).map(toAward),
  });

  /** A bounded read of one activity table, oldest first. */
  const activity = async (table: "ctf_submissions" | "ctf_solves", columns: string, query: FactsQuery) => {
    const { since, challengeId, limit } = parseInput(factsQuery, query);
    return rows(
      `SELECT ${columns} FROM ${table}
        WHERE ($1::timestamptz IS NULL OR created_at >= $1) AND ($2::int IS NULL OR challenge_id = $2)
        ORDER BY created_at, id LIMIT $3`,
      [since ?? null, challengeId ?? null, limit],
    );
  };

  return {
    // The reads are not one snapshot: a write landing between two of them emits its event after commit, and a
    // consumer applies that event on top (see CtfReadService).
    async scoringFacts(): Promise<ScoringFacts> {
      const settings = await scoringSettings();
      const bracketList = await brackets();
      const users = (await rows(`SELECT ${USER_COLUMNS} FROM ctf_users`)).map(toUser);
      const teams = (await rows(`SELECT ${TEAM_COLUMNS} FROM ctf_teams`)).map(toTeam);
      const challenges = (await rows(`SELECT ${CHALLENGE_COLUMNS} FROM ctf_challenges`)).map(toChallenge);
      const solves = (await rows(`SELECT ${SOLVE_COLUMNS} FROM ctf_solves`)).map(toSolve);
      const awards = (await rows(`SELECT ${AWARD_COLUMNS} FROM ctf_awards`)).map(toAward);
      return { settings, brackets: bracketList, users, teams, challenges, solves, awards };
    },
    async scoringFingerprints(): Promise<ScoringFingerprints> {
      const [settings, bracketList, users, teams, challenges, solves, awards] = await Promise.all([
        scoringSettings(),
        brackets(),
        rows(`SELECT ${USER_COLUMNS} FROM ctf_users`),
        rows(`SELECT ${TEAM_COLUMNS} FROM ctf_teams`),
        rows(`SELECT ${CHALLENGE_COLUMNS} FROM ctf_challenges`),
        digestInDatabase(db, "ctf_solves", SOLVE_FINGERPRINT.sql),
        digestInDatabase(db, "ctf_awards", AWARD_FINGERPRINT.sql),
      ]);
      return { settings, brackets: bracketList, users: users.map(toUser), teams: teams.map(toTeam), challenges: challenges.map(toChallenge), solves, awards };
    },
    fingerprintsOf: ({ solves, awards }) => ({
      solves: digestOf(solves, SOLVE_FINGERPRINT.of),
      awards: digestOf(awards, AWARD_FINGERPRINT.of),
    }),
    scoringSettings,
    brackets,
    challenge: async (challengeId) => first(await rows(`SELECT ${CHALLENGE_COLUMNS} FROM ctf_challenges WHERE id = $1`, [challengeId]), toChallenge),
    user,
    team,
    membersOf: async (teamId) => (await rows(`SELECT ${USER_COLUMNS} FROM ctf_users WHERE team_id = $1`, [teamId])).map(toUser),
    itemsOfUser: (userId) => itemsWhere("user_id", userId),
    itemsOfTeam: (teamId) => itemsWhere("team_id", teamId),
    challengeValue: dynamicValue,

    submissions: async (query) => (await activity("ctf_submissions", `id, challenge_id, user_id, team_id, type, created_at, provided, ip, user_agent`, query)).map(toSubmission),
    solves: async (query) => (await activity("ctf_solves", SOLVE_COLUMNS, query)).map(toSolve),

    async account(accountId): Promise<AccountFacts | null> {
      const { mode } = await scoringSettings();
      const record = mode === "teams" ? await team(accountId) : await user(accountId);
      if (!record) return null;
      const { hidden, banned } = record;
      return { accountType: mode === "teams" ? "team" : "user", id: record.id, name: record.name, hidden, banned, visible: !hidden && !banned };
    },
    async caller(userId): Promise<CallerFacts | null> {
      const found = await rows(
        `SELECT u.id, u.role, u.banned, u.team_id, coalesce(t.banned, false) AS team_banned FROM ctf_users u LEFT JOIN ctf_teams t ON t.id = u.team_id WHERE u.id = $1`,
        [userId],
      );
      return first(found, (r) => ({ userId: id(r.id), admin: r.role === "admin", banned: r.banned === true || r.team_banned === true, teamId: r.team_id === null ? null : id(r.team_id) }));
    },
    async challengeDefinition(challengeId): Promise<ChallengeDefinition | null> {
      const found = await rows(`SELECT id, name, category, type, state, value, type_settings FROM ctf_challenges WHERE id = $1`, [challengeId]);
      return first(found, (r) => ({
        id: id(r.id),
        name: String(r.name),
        category: String(r.category),
        type: String(r.type),
        state: r.state as ChallengeDefinition["state"],
        value: Number(r.value),
        typeSettings: (r.type_settings ?? {}) as Record<string, unknown>,
      }));
    },
  };
}

type Row = Record<string, unknown>;

const id = (value: unknown) => Number(value);
const optionalId = (value: unknown) => (value === null || value === undefined ? null : Number(value));
/** What a plugin may know of a wrong answer: whether two are equal, and how long it is. */
function answerDigest(provided: string): { digest: string; length: number } {
  const answer = provided.trim();
  return { digest: createHash("sha256").update(answer).digest("hex"), length: answer.length };
}
const optionalText = (value: unknown) => (value === null || value === undefined ? null : String(value));
const time = (value: unknown) => (value instanceof Date ? value.getTime() : new Date(value as string).getTime());
const first = <T>(found: Row[], map: (row: Row) => T): T | null => (found[0] ? map(found[0]) : null);

function toUser(r: Row): ScoringUser {
  return { id: id(r.id), name: String(r.name), hidden: Boolean(r.hidden), banned: Boolean(r.banned), teamId: optionalId(r.team_id), bracketId: optionalId(r.bracket_id) };
}

function toTeam(r: Row): ScoringTeam {
  return { id: id(r.id), name: String(r.name), hidden: Boolean(r.hidden), banned: Boolean(r.banned), bracketId: optionalId(r.bracket_id) };
}

function toChallenge(r: Row): ScoringChallenge {
  const dynamic = r.type === "dynamic" && r.initial !== null && r.minimum !== null && r.decay !== null;
  return {
    id: id(r.id),
    value: Number(r.value),
    decay: dynamic ? { initial: Number(r.initial), minimum: Number(r.minimum), decay: Number(r.decay), function: r.decay_function === "linear" ? "linear" : "logarithmic" } : null,
  };
}

function toSolve(r: Row): ScoringSolve {
  return { id: id(r.id), challengeId: id(r.challenge_id), userId: id(r.user_id), teamId: optionalId(r.team_id), at: Number(r.at_ms) };
}

function toAward(r: Row): ScoringAward {
  return { id: id(r.id), userId: optionalId(r.user_id), teamId: optionalId(r.team_id), value: Number(r.value), at: Number(r.at_ms) };
}

function toSubmission(r: Row): SubmissionFact {
  return {
    id: id(r.id),
    challengeId: id(r.challenge_id),
    userId: id(r.user_id),
    teamId: optionalId(r.team_id),
    type: r.type as SubmissionFact["type"],
    at: time(r.created_at),
    wrongAnswer: r.type === "incorrect" ? answerDigest(String(r.provided)) : null,
    ip: optionalText(r.ip),
    userAgent: optionalText(r.user_agent),
  };
}
