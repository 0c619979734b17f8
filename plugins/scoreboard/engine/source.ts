import type { Database } from "../../../core/kernel/db/data-source.js";
import type { AwardRecord, BoardData, BoardSettings, BracketRecord, ChallengeRecord, SolveRecord, TeamRecord, UserRecord } from "./state.js";

/**
 * Reads core/ctf's tables (the source of truth) for the engine: everything at once for a rebuild, or one
 * account or challenge for a targeted reload after an event. Plain SQL on the documented schema
 * (core/ctf/migrations.ts); ids come back as numbers whatever the driver does with bigint.
 */
export class BoardSource {
  constructor(private readonly db: Database) {}

  /**
   * Everything, in dependency order (records before the solves and awards that point at them). The reads are
   * not one snapshot: a write that lands between two of them emits its event after commit, and that event is
   * queued behind the rebuild and applied on top (every apply is idempotent or a reload), so the engine ends
   * up where the database is.
   */
  async load(): Promise<BoardData> {
    const settings = await this.settings();
    const brackets = await this.brackets();
    const users = (await this.db.query(`SELECT id, name, hidden, banned, team_id, bracket_id FROM ctf_users`)).map(toUser);
    const teams = (await this.db.query(`SELECT id, name, hidden, banned, bracket_id FROM ctf_teams`)).map(toTeam);
    const challenges = (await this.db.query(`SELECT id, value, type, initial, minimum, decay, decay_function FROM ctf_challenges`)).map(toChallenge);
    const solves = (await this.db.query(`SELECT id, challenge_id, user_id, team_id, created_at FROM ctf_solves`)).map(toSolve);
    const awards = (await this.db.query(`SELECT id, user_id, team_id, value, created_at FROM ctf_awards`)).map(toAward);
    return { settings, brackets, users, teams, challenges, solves, awards };
  }

  async settings(): Promise<BoardSettings> {
    const [row] = await this.db.query<Record<string, any>>(`SELECT mode, freeze_at, score_visibility, account_visibility FROM ctf_event WHERE id = 1`);
    return {
      mode: row?.mode === "teams" ? "teams" : "users",
      freezeAt: row?.freeze_at ? new Date(row.freeze_at).getTime() : null,
      scoreVisibility: row?.score_visibility ?? "public",
      accountVisibility: row?.account_visibility ?? "public",
    };
  }

  async brackets(): Promise<BracketRecord[]> {
    return (await this.db.query<Record<string, any>>(`SELECT id, name FROM ctf_brackets`)).map((r) => ({ id: Number(r.id), name: String(r.name) }));
  }

  async challenge(id: number): Promise<ChallengeRecord | null> {
    const [row] = await this.db.query(`SELECT id, value, type, initial, minimum, decay, decay_function FROM ctf_challenges WHERE id = $1`, [id]);
    return row ? toChallenge(row) : null;
  }

  async user(id: number): Promise<UserRecord | null> {
    const [row] = await this.db.query(`SELECT id, name, hidden, banned, team_id, bracket_id FROM ctf_users WHERE id = $1`, [id]);
    return row ? toUser(row) : null;
  }

  async team(id: number): Promise<TeamRecord | null> {
    const [row] = await this.db.query(`SELECT id, name, hidden, banned, bracket_id FROM ctf_teams WHERE id = $1`, [id]);
    return row ? toTeam(row) : null;
  }

  async membersOf(teamId: number): Promise<UserRecord[]> {
    return (await this.db.query(`SELECT id, name, hidden, banned, team_id, bracket_id FROM ctf_users WHERE team_id = $1`, [teamId])).map(toUser);
  }

  /** Every solve and award with this user_id. */
  async itemsOfUser(userId: number): Promise<{ solves: SolveRecord[]; awards: AwardRecord[] }> {
    const solves = (await this.db.query(`SELECT id, challenge_id, user_id, team_id, created_at FROM ctf_solves WHERE user_id = $1`, [userId])).map(toSolve);
    const awards = (await this.db.query(`SELECT id, user_id, team_id, value, created_at FROM ctf_awards WHERE user_id = $1`, [userId])).map(toAward);
    return { solves, awards };
  }

  /** Every solve and award with this team_id. */
  async itemsOfTeam(teamId: number): Promise<{ solves: SolveRecord[]; awards: AwardRecord[] }> {
    const solves = (await this.db.query(`SELECT id, challenge_id, user_id, team_id, created_at FROM ctf_solves WHERE team_id = $1`, [teamId])).map(toSolve);
    const awards = (await this.db.query(`SELECT id, user_id, team_id, value, created_at FROM ctf_awards WHERE team_id = $1`, [teamId])).map(toAward);
    return { solves, awards };
  }
}

const id = (value: unknown) => Number(value);
const optionalId = (value: unknown) => (value === null || value === undefined ? null : Number(value));
const time = (value: unknown) => (value instanceof Date ? value.getTime() : new Date(value as string).getTime());

function toUser(r: Record<string, any>): UserRecord {
  return { id: id(r.id), name: String(r.name), hidden: Boolean(r.hidden), banned: Boolean(r.banned), teamId: optionalId(r.team_id), bracketId: optionalId(r.bracket_id) };
}

function toTeam(r: Record<string, any>): TeamRecord {
  return { id: id(r.id), name: String(r.name), hidden: Boolean(r.hidden), banned: Boolean(r.banned), bracketId: optionalId(r.bracket_id) };
}

function toChallenge(r: Record<string, any>): ChallengeRecord {
  const dynamic = r.type === "dynamic" && r.initial !== null && r.minimum !== null && r.decay !== null;
  return {
    id: id(r.id),
    value: Number(r.value),
    decay: dynamic ? { initial: Number(r.initial), minimum: Number(r.minimum), decay: Number(r.decay), function: r.decay_function === "linear" ? "linear" : "logarithmic" } : null,
  };
}

function toSolve(r: Record<string, any>): SolveRecord {
  return { id: id(r.id), challengeId: id(r.challenge_id), userId: id(r.user_id), teamId: optionalId(r.team_id), at: time(r.created_at) };
}

function toAward(r: Record<string, any>): AwardRecord {
  return { id: id(r.id), userId: optionalId(r.user_id), teamId: optionalId(r.team_id), value: Number(r.value), at: time(r.created_at) };
}
