import type { Database } from "../../kernel/db/data-source.js";

/** Solves by accounts that are neither hidden nor banned (user and, in team mode, team). */
const VISIBLE_SOLVES = `
  FROM ctf_solves s JOIN ctf_users u ON u.id = s.user_id LEFT JOIN ctf_teams t ON t.id = s.team_id
  WHERE NOT u.hidden AND NOT u.banned AND NOT coalesce(t.hidden, false) AND NOT coalesce(t.banned, false)`;

/** The public list of a challenge's solvers, oldest first (CTFd: /challenges/:id/solves). */
export async function challengeSolvers(db: Database, challengeId: number, mode: "users" | "teams", until: Date | null) {
  const account = mode === "teams" ? "t" : "u";
  return db.query<{ account_id: number; name: string; date: Date }>(
    `SELECT ${account}.id AS account_id, ${account}.name, s.created_at AS date ${VISIBLE_SOLVES}
        AND s.challenge_id = $1 AND ($2::timestamptz IS NULL OR s.created_at < $2) ${mode === "teams" ? "AND s.team_id IS NOT NULL" : ""}
      ORDER BY s.created_at, s.id`,
    [challengeId, until],
  );
}
