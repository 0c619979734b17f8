import type { Database } from "../../../core/kernel/db/data-source.js";
import type { Division } from "../client/schemas.js";
import { isoOrNull, num, numOrNull, strOrNull, type Row } from "./rows.js";

/** What a roster check found: members missing on the platform (repaired), extra there, or not onboarded yet. */
export interface Drift {
  missing: number[];
  extra: string[];
  notOnboarded: number[];
}

export interface LinkedTeam {
  teamId: number;
  coachUserId: number;
  division: Division;
  affiliation: string;
  metactfTeamId: number | null;
  remoteExists: boolean;
  drift: Drift | null;
  lastSyncedAt: string | null;
  lastError: string | null;
}

/** Flaghost teams linked to the platform (metactf_teams). */
export function createTeamStore(db: Database) {
  return {
    async get(teamId: number): Promise<LinkedTeam | null> {
      const [row] = await db.query(`SELECT * FROM metactf_teams WHERE team_id = $1`, [teamId]);
      return row ? toTeam(row) : null;
    },
    /** Every linked team, or a coach's own. */
    async list(coachUserId: number | null): Promise<LinkedTeam[]> {
      const rows = coachUserId === null
        ? await db.query(`SELECT * FROM metactf_teams ORDER BY team_id`)
        : await db.query(`SELECT * FROM metactf_teams WHERE coach_user_id = $1 ORDER BY team_id`, [coachUserId]);
      return rows.map(toTeam);
    },
    /** The next `limit` teams on the platform after `afterTeamId`, wrapping around (the roster job's rotation). */
    async batchAfter(afterTeamId: number, limit: number): Promise<LinkedTeam[]> {
      const rows = await db.query(
        `SELECT * FROM metactf_teams WHERE remote_exists ORDER BY (team_id <= $1), team_id LIMIT $2`,
        [afterTeamId, limit],
      );
      return rows.map(toTeam);
    },
    async link(team: { teamId: number; coachUserId: number; division: Division; affiliation: string }): Promise<LinkedTeam> {
      const [row] = await db.query(
        `INSERT INTO metactf_teams (team_id, coach_user_id, division, affiliation) VALUES ($1, $2, $3, $4)
         ON CONFLICT (team_id) DO UPDATE SET coach_user_id = excluded.coach_user_id, division = excluded.division, affiliation = excluded.affiliation
         RETURNING *`,
        [team.teamId, team.coachUserId, team.division, team.affiliation],
      );
      return toTeam(row!);
    },
    async markRemote(teamId: number, metactfTeamId: number | null): Promise<void> {
      await db.query(`UPDATE metactf_teams SET remote_exists = true, metactf_team_id = coalesce($2, metactf_team_id) WHERE team_id = $1`, [teamId, metactfTeamId]);
    },
    async recordSync(teamId: number, drift: Drift | null, error: string | null): Promise<void> {
      await db.query(
        `UPDATE metactf_teams SET drift = coalesce($2::jsonb, drift), last_error = $3, last_synced_at = CASE WHEN $3::text IS NULL THEN now() ELSE last_synced_at END WHERE team_id = $1`,
        [teamId, drift === null ? null : JSON.stringify(drift), error],
      );
    },
    async unlink(teamId: number): Promise<void> {
      await db.query(`DELETE FROM metactf_teams WHERE team_id = $1`, [teamId]);
    },
  };
}

export type TeamStore = ReturnType<typeof createTeamStore>;

function toTeam(r: Row): LinkedTeam {
  return {
    teamId: num(r.team_id),
    coachUserId: num(r.coach_user_id),
    division: r.division as Division,
    affiliation: String(r.affiliation),
    metactfTeamId: numOrNull(r.metactf_team_id),
    remoteExists: Boolean(r.remote_exists),
    drift: (typeof r.drift === "string" ? JSON.parse(r.drift) : r.drift ?? null) as Drift | null,
    lastSyncedAt: isoOrNull(r.last_synced_at),
    lastError: strOrNull(r.last_error),
  };
}
