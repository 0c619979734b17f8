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
  /** The local roster (members and their status) as last reconciled: a change makes the team due. */
  rosterFingerprint: string | null;
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
    async recordSync(teamId: number, result: { drift: Drift; fingerprint: string } | { error: string }): Promise<void> {
      if ("error" in result) await db.query(`UPDATE metactf_teams SET last_error = $2 WHERE team_id = $1`, [teamId, result.error]);
      else {
        await db.query(`UPDATE metactf_teams SET drift = $2::jsonb, roster_fingerprint = $3, last_error = NULL, last_synced_at = now() WHERE team_id = $1`, [
          teamId,
          JSON.stringify(result.drift),
          result.fingerprint,
        ]);
      }
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
    rosterFingerprint: strOrNull(r.roster_fingerprint),
    lastSyncedAt: isoOrNull(r.last_synced_at),
    lastError: strOrNull(r.last_error),
  };
}
