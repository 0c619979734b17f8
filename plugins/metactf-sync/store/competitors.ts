import type { Database } from "../../../core/kernel/db/data-source.js";
import { isoOrNull, num, numOrNull, strOrNull, type Row } from "./rows.js";

export const STATUSES = ["pending", "profile", "compliance", "complete"] as const;
export type CompetitorStatus = (typeof STATUSES)[number];

export interface Profile {
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  school: string | null;
  region: string | null;
}

export interface Competitor extends Profile {
  userId: number;
  coachUserId: number | null;
  status: CompetitorStatus;
  metactfUserId: number | null;
  metactfUsername: string | null;
  lastError: string | null;
  syncedAt: string | null;
}

export interface Coach {
  userId: number;
  firstName: string;
  lastName: string;
  email: string;
  school: string | null;
  region: string | null;
  metactfUserId: number | null;
}

const COMPETITOR_COLUMNS = `user_id, coach_user_id, first_name, last_name, email, school, region, status, metactf_user_id, metactf_username, last_error, synced_at`;

/** Competitor profiles and coaches (metactf_competitors, metactf_coaches). */
export function createCompetitorStore(db: Database) {
  return {
    async get(userId: number): Promise<Competitor | null> {
      const [row] = await db.query(`SELECT ${COMPETITOR_COLUMNS} FROM metactf_competitors WHERE user_id = $1`, [userId]);
      return row ? toCompetitor(row) : null;
    },
    /** Every competitor, or a coach's own. */
    async list(coachUserId: number | null): Promise<Competitor[]> {
      const rows = coachUserId === null
        ? await db.query(`SELECT ${COMPETITOR_COLUMNS} FROM metactf_competitors ORDER BY user_id`)
        : await db.query(`SELECT ${COMPETITOR_COLUMNS} FROM metactf_competitors WHERE coach_user_id = $1 ORDER BY user_id`, [coachUserId]);
      return rows.map(toCompetitor);
    },
    /** Creates or updates the profile; undefined fields are left as they are. */
    async save(userId: number, changes: Partial<Profile> & { status?: CompetitorStatus; coachUserId?: number | null }): Promise<Competitor> {
      const [row] = await db.query(
        `INSERT INTO metactf_competitors (user_id, first_name, last_name, email, school, region, status, coach_user_id)
         VALUES ($1, $2, $3, $4, $5, $6, coalesce($7, 'pending'), $8)
         ON CONFLICT (user_id) DO UPDATE SET
           first_name = CASE WHEN $9 THEN excluded.first_name ELSE metactf_competitors.first_name END,
           last_name = CASE WHEN $10 THEN excluded.last_name ELSE metactf_competitors.last_name END,
           email = CASE WHEN $11 THEN excluded.email ELSE metactf_competitors.email END,
           school = CASE WHEN $12 THEN excluded.school ELSE metactf_competitors.school END,
           region = CASE WHEN $13 THEN excluded.region ELSE metactf_competitors.region END,
           status = coalesce($7, metactf_competitors.status),
           coach_user_id = CASE WHEN $14 THEN excluded.coach_user_id ELSE metactf_competitors.coach_user_id END,
           updated_at = now()
         RETURNING ${COMPETITOR_COLUMNS}`,
        [
          userId,
          changes.firstName ?? null,
          changes.lastName ?? null,
          changes.email ?? null,
          changes.school ?? null,
          changes.region ?? null,
          changes.status ?? null,
          changes.coachUserId ?? null,
          changes.firstName !== undefined,
          changes.lastName !== undefined,
          changes.email !== undefined,
          changes.school !== undefined,
          changes.region !== undefined,
          changes.coachUserId !== undefined,
        ],
      );
      return toCompetitor(row!);
    },
    /** Onboarded: the platform's ids stored, status complete, a sync state to start from. */
    async markComplete(userId: number, metactfUserId: number, metactfUsername: string): Promise<Competitor> {
      const [row] = await db.query(
        `UPDATE metactf_competitors SET status = 'complete', metactf_user_id = $2, metactf_username = $3, last_error = NULL, synced_at = now(), updated_at = now()
          WHERE user_id = $1 RETURNING ${COMPETITOR_COLUMNS}`,
        [userId, metactfUserId, metactfUsername],
      );
      await db.query(`INSERT INTO metactf_sync_state (user_id) VALUES ($1) ON CONFLICT DO NOTHING`, [userId]);
      return toCompetitor(row!);
    },
    async recordError(userId: number, message: string | null): Promise<void> {
      await db.query(`UPDATE metactf_competitors SET last_error = $2, updated_at = now() WHERE user_id = $1`, [userId, message]);
    },

    async coach(userId: number): Promise<Coach | null> {
      const [row] = await db.query(`SELECT * FROM metactf_coaches WHERE user_id = $1`, [userId]);
      return row ? toCoach(row) : null;
    },
    async coaches(): Promise<Coach[]> {
      return (await db.query(`SELECT * FROM metactf_coaches ORDER BY user_id`)).map(toCoach);
    },
    async saveCoach(coach: Omit<Coach, "metactfUserId">): Promise<Coach> {
      const [row] = await db.query(
        `INSERT INTO metactf_coaches (user_id, first_name, last_name, email, school, region) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (user_id) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name, email = excluded.email,
           school = excluded.school, region = excluded.region
         RETURNING *`,
        [coach.userId, coach.firstName, coach.lastName, coach.email, coach.school, coach.region],
      );
      return toCoach(row!);
    },
    async setCoachPlatformId(userId: number, metactfUserId: number): Promise<void> {
      await db.query(`UPDATE metactf_coaches SET metactf_user_id = $2 WHERE user_id = $1`, [userId, metactfUserId]);
    },
    /** Refused (false) while the coach still owns teams. */
    async removeCoach(userId: number): Promise<boolean> {
      const [owned] = await db.query(`SELECT count(*) AS n FROM metactf_teams WHERE coach_user_id = $1`, [userId]);
      if (num(owned!.n) > 0) return false;
      await db.query(`DELETE FROM metactf_coaches WHERE user_id = $1`, [userId]);
      return true;
    },
  };
}

export type CompetitorStore = ReturnType<typeof createCompetitorStore>;

function toCompetitor(r: Row): Competitor {
  return {
    userId: num(r.user_id),
    coachUserId: numOrNull(r.coach_user_id),
    firstName: strOrNull(r.first_name),
    lastName: strOrNull(r.last_name),
    email: strOrNull(r.email),
    school: strOrNull(r.school),
    region: strOrNull(r.region),
    status: r.status as CompetitorStatus,
    metactfUserId: numOrNull(r.metactf_user_id),
    metactfUsername: strOrNull(r.metactf_username),
    lastError: strOrNull(r.last_error),
    syncedAt: isoOrNull(r.synced_at),
  };
}

function toCoach(r: Row): Coach {
  return {
    userId: num(r.user_id),
    firstName: String(r.first_name),
    lastName: String(r.last_name),
    email: String(r.email),
    school: strOrNull(r.school),
    region: strOrNull(r.region),
    metactfUserId: numOrNull(r.metactf_user_id),
  };
}
