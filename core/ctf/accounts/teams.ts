import { createHmac, timingSafeEqual } from "node:crypto";
import type { EntityManager } from "typeorm";
import { badRequest, HttpError, notFound } from "../../kernel/errors.js";
import { dynamicChallengesSolvedBy } from "../game/dynamic-value.js";
import type { Ctf } from "../runtime.js";
import { txQuery } from "../sql.js";
import { newSecret } from "./auth.js";
import { emitAccountUpdated, recomputeChallenges } from "./changes.js";
import { isUniqueViolation } from "./fields.js";
import type { Query } from "./standings.js";
import type { TeamRow, UserRow } from "./views.js";

/** Member ids of a team, oldest member first (by user id). `visibleOnly` leaves out hidden and banned members. */
export async function memberIds(query: Query, teamId: number, visibleOnly = false): Promise<number[]> {
  const rows = await query<{ id: number }>(`SELECT id FROM ctf_users WHERE team_id = $1 ${visibleOnly ? "AND NOT hidden AND NOT banned" : ""} ORDER BY id`, [teamId]);
  return rows.map((r) => r.id);
}

export interface NewTeam {
  name: string;
  passwordHash: string;
  email?: string | null;
  website?: string | null;
  affiliation?: string | null;
  country?: string | null;
  hidden?: boolean;
  banned?: boolean;
  bracketId?: number | null;
}

/** Inserts a team (a taken name is 400 on `name`) and emits `account.updated` with `created`. */
export async function insertTeam(tx: EntityManager, ctf: Ctf, team: NewTeam): Promise<TeamRow> {
  let row: TeamRow;
  try {
    [row] = (await txQuery<TeamRow>(
      tx,
      `INSERT INTO ctf_teams (name, password_hash, invite_secret, email, website, affiliation, country, hidden, banned, bracket_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
      [team.name, team.passwordHash, newSecret(), team.email ?? null, team.website ?? null, team.affiliation ?? null, team.country ?? null, team.hidden ?? false, team.banned ?? false, team.bracketId ?? null],
    )) as [TeamRow];
  } catch (error) {
    if (isUniqueViolation(error, "ctf_teams_name")) throw badRequest({ name: ["Team name has already been taken"] });
    throw error;
  }
  emitAccountUpdated(ctf, { accountType: "team", id: row.id, changes: ["created"], affectedTeamIds: [row.id] });
  return row;
}

/**
 * Puts a user on a team, inside the caller's transaction. The team row is locked first, so concurrent joins
 * cannot overfill it (`teamSize` null means no limit). The first member of a team without a captain becomes captain.
 */
export async function addMember(tx: EntityManager, ctf: Ctf, input: { teamId: number; userId: number; teamSize: number | null }): Promise<TeamRow> {
  const [team] = await txQuery<TeamRow>(tx, `SELECT * FROM ctf_teams WHERE id = $1 FOR UPDATE`, [input.teamId]);
  if (!team) throw notFound();
  const [user] = await txQuery<UserRow>(tx, `SELECT * FROM ctf_users WHERE id = $1 FOR UPDATE`, [input.userId]);
  if (!user) throw badRequest({ user_id: ["User does not exist"] });
  if (user.team_id !== null) throw badRequest({ id: ["User has already joined a team"] });
  if (input.teamSize !== null) {
    const [{ n }] = (await txQuery<{ n: number }>(tx, `SELECT count(*)::int AS n FROM ctf_users WHERE team_id = $1`, [team.id])) as [{ n: number }];
    if (n >= input.teamSize) throw new HttpError(403, "The team is full", { team: [`${team.name} has already reached the team size limit of ${input.teamSize}`] });
  }
  await txQuery(tx, `UPDATE ctf_users SET team_id = $2 WHERE id = $1`, [user.id, team.id]);
  let updated = team;
  if (team.captain_id === null) [updated] = (await txQuery<TeamRow>(tx, `UPDATE ctf_teams SET captain_id = $2 WHERE id = $1 RETURNING *`, [team.id, user.id])) as [TeamRow];
  await recomputeChallenges(tx, ctf, await dynamicChallengesSolvedBy(tx, { userId: user.id }));
  emitAccountUpdated(ctf, { accountType: "user", id: user.id, changes: ["team"], affectedTeamIds: [team.id] });
  return updated;
}

/**
 * Takes a user off a team. With `purge` (an admin removing a member, as in CTFd) the submissions, solves,
 * awards and unlocks the user made for this team are deleted; a member who leaves on their own leaves
 * them with the team. A captain who leaves leaves the team without a captain.
 */
export async function removeMember(tx: EntityManager, ctf: Ctf, input: { teamId: number; userId: number; purge: boolean }): Promise<void> {
  const [team] = await txQuery<TeamRow>(tx, `SELECT * FROM ctf_teams WHERE id = $1 FOR UPDATE`, [input.teamId]);
  if (!team) throw notFound();
  const [user] = await txQuery<UserRow>(tx, `SELECT * FROM ctf_users WHERE id = $1 FOR UPDATE`, [input.userId]);
  if (!user || user.team_id !== team.id) throw badRequest({ user_id: ["User is not a member of this team"] });
  const touched = await dynamicChallengesSolvedBy(tx, { userId: user.id });
  if (input.purge) {
    const params = [user.id, team.id];
    await txQuery(tx, `DELETE FROM ctf_unlocks WHERE user_id = $1 AND team_id = $2`, params);
    await txQuery(tx, `DELETE FROM ctf_awards WHERE user_id = $1 AND team_id = $2`, params);
    // Deleting the submissions deletes their solves too (ON DELETE CASCADE).
    await txQuery(tx, `DELETE FROM ctf_submissions WHERE user_id = $1 AND team_id = $2`, params);
  }
  await txQuery(tx, `UPDATE ctf_users SET team_id = NULL WHERE id = $1`, [user.id]);
  await txQuery(tx, `UPDATE ctf_teams SET captain_id = NULL WHERE id = $1 AND captain_id = $2`, [team.id, user.id]);
  await recomputeChallenges(tx, ctf, touched);
  emitAccountUpdated(ctf, { accountType: "user", id: user.id, changes: input.purge ? ["team", "solves"] : ["team"], affectedTeamIds: [team.id] });
}

/** Invite codes: `<payload>.<signature>`, the payload naming the team and an expiry, signed with the team's invite_secret. */
const INVITE_TTL_MS = 24 * 3600_000;

const sign = (payload: string, secret: string) => createHmac("sha256", secret).update(payload).digest("base64url");

export function inviteCode(team: Pick<TeamRow, "id" | "invite_secret">, now = Date.now()): string {
  const payload = Buffer.from(JSON.stringify({ t: team.id, x: Math.floor((now + INVITE_TTL_MS) / 1000) })).toString("base64url");
  return `${payload}.${sign(payload, team.invite_secret)}`;
}

/** The team an invite code claims to be for (unverified), or null when the code is malformed or expired. */
export function invitedTeamId(code: string, now = Date.now()): number | null {
  const [payload, signature, extra] = code.split(".");
  if (!payload || !signature || extra !== undefined) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { t?: unknown; x?: unknown };
    if (!Number.isSafeInteger(claims.t) || typeof claims.x !== "number" || claims.x * 1000 <= now) return null;
    return claims.t as number;
  } catch {
    return null;
  }
}

/** True when `code` was signed with this team's invite_secret. */
export function inviteSignedBy(code: string, team: Pick<TeamRow, "invite_secret">): boolean {
  const [payload, signature] = code.split(".");
  if (!payload || !signature) return false;
  const expected = Buffer.from(sign(payload, team.invite_secret));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
