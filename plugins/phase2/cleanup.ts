import type { Database } from "../../core/kernel/db/data-source.js";

/**
 * `phase2.cleanup` (daily, 03:00 UTC): deletes analytics snapshots, health snapshots, container outcomes and
 * findings not updated within the retention. The review history is never touched (and its trigger would refuse).
 */
export async function cleanup(db: Database, retentionDays: number, now = Date.now()): Promise<Record<string, number>> {
  const before = new Date(now - retentionDays * 86_400_000);
  const removed = async (sql: string) => (await db.query(`${sql} RETURNING 1`, [before])).length;
  return {
    analytics: await removed(`DELETE FROM phase2_analytics WHERE taken_at < $1`),
    health: await removed(`DELETE FROM phase2_health WHERE taken_at < $1`),
    containers: await removed(`DELETE FROM phase2_containers WHERE at < $1`),
    findings: await removed(`DELETE FROM phase2_findings WHERE updated_at < $1`),
  };
}
