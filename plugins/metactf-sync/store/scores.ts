import type { Database } from "../../../core/kernel/db/data-source.js";
import type { FlashCtf, Solve } from "../client/schemas.js";
import { isoOrNull, num, numOrNull, strOrNull, type Row } from "./rows.js";

/** A competitor on the platform with where their score sync stands. */
export interface SyncSubject {
  userId: number;
  /** Unix seconds of the last successful ODL sync's start: the next one asks for solves after it. */
  odlSyncedUntil: number | null;
  lastAttemptAt: string | null;
  lastResult: string | null;
  lastError: string | null;
  needsTotalsRefresh: boolean;
  /** Unix seconds of their newest synced solve. */
  lastNewSolveUnix: number | null;
}

/** The whole totals an ODL answer carries. */
export interface ReportedTotals {
  totalPoints: number;
  totalSolved: number;
  categoryPoints: Record<string, number>;
  lastAccessedUnix: number | null;
}

/** A competitor's sync state with the totals last fetched. */
export interface SyncState extends SyncSubject {
  totalPoints: number | null;
  totalSolved: number | null;
  totalsAt: string | null;
}

export interface LeaderboardRow {
  userId: number;
  firstName: string | null;
  lastName: string | null;
  school: string | null;
  totalPoints: number | null;
  totalSolved: number | null;
  categoryPoints: Record<string, number>;
  totalsAt: string | null;
}

/** Synced scores: sync state, ODL solves, totals, Flash CTFs and their results. */
export function createScoreStore(db: Database) {
  return {
    /** Every onboarded competitor with their sync state, by user id. */
    async subjects(): Promise<SyncSubject[]> {
      const rows = await db.query(
        `SELECT c.user_id, s.odl_synced_until, s.last_attempt_at, s.last_result, s.last_error, coalesce(s.needs_totals_refresh, false) AS needs, s.last_new_solve_unix
           FROM metactf_competitors c LEFT JOIN metactf_sync_state s ON s.user_id = c.user_id
          WHERE c.status = 'complete' ORDER BY c.user_id`,
      );
      return rows.map(toSubject);
    },
    /** Stores solves not seen before; answers how many were new and the newest's time. */
    async addSolves(userId: number, solves: Solve[]): Promise<{ added: number; newestUnix: number | null }> {
      let added = 0;
      let newestUnix: number | null = null;
      for (const s of solves) {
        const inserted = await db.query(
          `INSERT INTO metactf_solves (user_id, challenge_solve_id, challenge_id, title, category, points, solved_unix, retired, work_roles)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb) ON CONFLICT DO NOTHING RETURNING challenge_solve_id`,
          [userId, s.challenge_solve_id, s.challenge_id, s.challenge_title, s.challenge_category, s.challenge_points, s.timestamp_unix, s.challenge_retired, JSON.stringify(s.nist_nice_work_roles)],
        );
        if (inserted.length > 0) {
          added++;
          newestUnix = Math.max(newestUnix ?? 0, s.timestamp_unix);
        }
      }
      return { added, newestUnix };
    },
    async solveCount(userId: number): Promise<number> {
      const [row] = await db.query(`SELECT count(*) AS n FROM metactf_solves WHERE user_id = $1`, [userId]);
      return num(row!.n);
    },
    /**
     * A successful ODL sync: the marker advances and the answer's whole totals are kept as `reported`; new solves,
     * or reported totals that differ from the ones shown, flag the competitor for the totals job.
     */
    async odlSucceeded(userId: number, sync: { markerUnix: number; added: number; newestUnix: number | null; reported: ReportedTotals }): Promise<void> {
      const { markerUnix, added, newestUnix, reported } = sync;
      await db.query(
        `INSERT INTO metactf_sync_state (user_id, odl_synced_until, last_attempt_at, last_result, last_error, needs_totals_refresh, last_new_solve_unix, reported)
         VALUES ($1, $2, now(), $3, NULL, true, $4, $5::jsonb)
         ON CONFLICT (user_id) DO UPDATE SET odl_synced_until = excluded.odl_synced_until, last_attempt_at = now(), last_result = excluded.last_result,
           last_error = NULL, reported = excluded.reported,
           needs_totals_refresh = metactf_sync_state.needs_totals_refresh OR $6 OR metactf_sync_state.total_points IS DISTINCT FROM $7::numeric
             OR metactf_sync_state.total_solved IS DISTINCT FROM $8::int,
           last_new_solve_unix = greatest(metactf_sync_state.last_new_solve_unix, excluded.last_new_solve_unix)`,
        [userId, markerUnix, added > 0 ? `${added} new solve(s)` : "no new solves", newestUnix, JSON.stringify(reported), added > 0, reported.totalPoints, reported.totalSolved],
      );
    },
    /** A failed sync: recorded, the marker stays where it was. */
    async failed(userId: number, message: string): Promise<void> {
      await db.query(
        `INSERT INTO metactf_sync_state (user_id, last_attempt_at, last_result, last_error) VALUES ($1, now(), 'failed', $2)
         ON CONFLICT (user_id) DO UPDATE SET last_attempt_at = now(), last_result = 'failed', last_error = excluded.last_error`,
        [userId, message],
      );
    },
    /** Competitors flagged for the totals job, with their reported totals and how many solves we hold. */
    async flagged(limit: number): Promise<Array<{ userId: number; reported: ReportedTotals | null; solvesHeld: number }>> {
      const rows = await db.query(
        `SELECT s.user_id, s.reported, (SELECT count(*) FROM metactf_solves v WHERE v.user_id = s.user_id) AS held
           FROM metactf_sync_state s JOIN metactf_competitors c ON c.user_id = s.user_id
          WHERE s.needs_totals_refresh AND c.status = 'complete' ORDER BY s.user_id LIMIT $1`,
        [limit],
      );
      return rows.map((r) => ({ userId: num(r.user_id), reported: (typeof r.reported === "string" ? JSON.parse(r.reported) : r.reported ?? null) as ReportedTotals | null, solvesHeld: num(r.held) }));
    },
    /** The totals shown (leaderboard, dashboard) become the reported ones; the flag clears. */
    async applyTotals(userId: number, totals: ReportedTotals | null): Promise<void> {
      await db.query(
        `UPDATE metactf_sync_state SET total_points = $2, total_solved = $3, category_points = $4::jsonb, last_accessed_unix = $5,
           totals_at = now(), needs_totals_refresh = false WHERE user_id = $1`,
        [userId, totals?.totalPoints ?? null, totals?.totalSolved ?? null, JSON.stringify(totals?.categoryPoints ?? {}), totals?.lastAccessedUnix ?? null],
      );
    },
    /** The platform reports solves we never received: the next ODL sync asks for the whole history again. */
    async scheduleFullResync(userId: number, reason: string): Promise<void> {
      await db.query(`UPDATE metactf_sync_state SET odl_synced_until = NULL, last_result = $2 WHERE user_id = $1`, [userId, reason]);
    },
    /** Every competitor's sync state with totals, by user id (for the competitor list and the dashboard). */
    async states(): Promise<Map<number, SyncState>> {
      const rows = await db.query(`SELECT *, needs_totals_refresh AS needs FROM metactf_sync_state`);
      return new Map(rows.map((r) => [num(r.user_id), toState(r)]));
    },
    async solves(userId: number, limit: number): Promise<Array<{ challengeSolveId: number; challengeId: number; title: string; category: string; points: number; solvedUnix: number }>> {
      const rows = await db.query(`SELECT * FROM metactf_solves WHERE user_id = $1 ORDER BY solved_unix DESC, challenge_solve_id DESC LIMIT $2`, [userId, limit]);
      return rows.map((r) => ({ challengeSolveId: num(r.challenge_solve_id), challengeId: num(r.challenge_id), title: String(r.title), category: String(r.category), points: num(r.points), solvedUnix: num(r.solved_unix) }));
    },
    async syncState(userId: number): Promise<SyncState | null> {
      const [row] = await db.query(`SELECT *, needs_totals_refresh AS needs FROM metactf_sync_state WHERE user_id = $1`, [userId]);
      return row ? toState(row) : null;
    },

    /** Flash CTFs whose results we hold in full (fetched after they ended). */
    async settledFlashNames(): Promise<Set<string>> {
      return new Set((await db.query(`SELECT name FROM metactf_flash_ctfs WHERE end_unix < extract(epoch FROM discovered_at)`)).map((r) => String(r.name)));
    },
    /** Records that every competitor's results for these Flash CTFs were fetched now. */
    async flashFetched(ctfs: FlashCtf[]): Promise<void> {
      for (const f of ctfs) {
        await db.query(
          `INSERT INTO metactf_flash_ctfs (name, start_unix, end_unix) VALUES ($1, $2, $3)
           ON CONFLICT (name) DO UPDATE SET start_unix = excluded.start_unix, end_unix = excluded.end_unix, discovered_at = now()`,
          [f.flash_ctf_name, f.flash_ctf_time_start_unix, f.flash_ctf_time_end_unix],
        );
      }
    },
    async saveFlashResults(userId: number, ctfs: FlashCtf[]): Promise<number> {
      let played = 0;
      for (const f of ctfs) {
        if (f.challenges_solved > 0) played++;
        await db.query(
          `INSERT INTO metactf_flash_results (user_id, flash_name, start_unix, challenges_solved, points, rank) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (user_id, flash_name) DO UPDATE SET challenges_solved = excluded.challenges_solved, points = excluded.points, rank = excluded.rank`,
          [userId, f.flash_ctf_name, f.flash_ctf_time_start_unix, f.challenges_solved, f.points_earned, f.rank],
        );
      }
      return played;
    },

    /** Competitors by synced total points (a coach's own, or all). */
    async leaderboard(coachUserId: number | null, limit = 100): Promise<LeaderboardRow[]> {
      const rows = await db.query(
        `SELECT c.user_id, c.first_name, c.last_name, c.school, s.total_points, s.total_solved, s.category_points, s.totals_at
           FROM metactf_competitors c JOIN metactf_sync_state s ON s.user_id = c.user_id
          WHERE c.status = 'complete' AND ($1::int IS NULL OR c.coach_user_id = $1)
          ORDER BY s.total_points DESC NULLS LAST, c.user_id LIMIT $2`,
        [coachUserId, limit],
      );
      return rows.map((r) => ({
        userId: num(r.user_id),
        firstName: strOrNull(r.first_name),
        lastName: strOrNull(r.last_name),
        school: strOrNull(r.school),
        totalPoints: numOrNull(r.total_points),
        totalSolved: numOrNull(r.total_solved),
        categoryPoints: (typeof r.category_points === "string" ? JSON.parse(r.category_points) : r.category_points ?? {}) as Record<string, number>,
        totalsAt: isoOrNull(r.totals_at),
      }));
    },
    /** Per month (UTC, of the Flash CTF's start): how many competitors played (solved at least one challenge). */
    async flashParticipation(coachUserId: number | null): Promise<Array<{ month: string; players: number }>> {
      const rows = await db.query(
        `SELECT to_char(to_timestamp(r.start_unix) AT TIME ZONE 'UTC', 'YYYY-MM') AS month, count(*) FILTER (WHERE r.challenges_solved > 0) AS players
           FROM metactf_flash_results r JOIN metactf_competitors c ON c.user_id = r.user_id
          WHERE $1::int IS NULL OR c.coach_user_id = $1
          GROUP BY 1 ORDER BY 1`,
        [coachUserId],
      );
      return rows.map((r) => ({ month: String(r.month), players: num(r.players) }));
    },
  };
}

export type ScoreStore = ReturnType<typeof createScoreStore>;

function toSubject(r: Row): SyncSubject {
  return {
    userId: num(r.user_id),
    odlSyncedUntil: numOrNull(r.odl_synced_until),
    lastAttemptAt: isoOrNull(r.last_attempt_at),
    lastResult: strOrNull(r.last_result),
    lastError: strOrNull(r.last_error),
    needsTotalsRefresh: Boolean(r.needs),
    lastNewSolveUnix: numOrNull(r.last_new_solve_unix),
  };
}

function toState(r: Row): SyncState {
  return { ...toSubject(r), totalPoints: numOrNull(r.total_points), totalSolved: numOrNull(r.total_solved), totalsAt: isoOrNull(r.totals_at) };
}
