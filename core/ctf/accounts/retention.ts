import { setImmediate as nextTurn } from "node:timers/promises";
import type { Database } from "../../kernel/db/data-source.js";
import type { JobDefinition } from "../../kernel/scheduler/scheduler.js";

/** Rows per DELETE: each batch is its own short statement, so no lock on ctf_sessions is held for long. */
const BATCH = 1_000;

/**
 * `ctf.retention`, daily on the cluster's scheduler: deletes sessions that expired more than `keepDays` ago.
 * Its run record (GET /api/v1/admin/jobs/ctf.retention/runs) shows how many went. Invite codes are signed,
 * expiring tokens here, not rows: there is nothing of theirs to delete.
 */
export function ctfRetentionJob(db: Database, keepDays: number): JobDefinition {
  return {
    id: "retention",
    cron: "20 3 * * *",
    run: async ({ signal }) => {
      let expiredSessions = 0;
      for (;;) {
        signal.throwIfAborted();
        const rows: unknown[] = await db.query(
          `DELETE FROM ctf_sessions WHERE id_hash IN (
             SELECT id_hash FROM ctf_sessions WHERE expires_at < now() - $1 * interval '1 day' LIMIT $2)
           RETURNING 1`,
          [keepDays, BATCH],
        );
        expiredSessions += rows.length;
        if (rows.length < BATCH) break;
        await nextTurn();
      }
      return { olderThanDays: keepDays, expiredSessions };
    },
  };
}
