import type { Database } from "../../../core/kernel/db/data-source.js";
import { num, type Row } from "./rows.js";

export type SyncJob = "odl" | "totals" | "flash" | "roster";

/** One recorded sync run: which competitors (or teams) it took, what it found and what it cost. */
export interface SyncRun {
  id: number;
  job: SyncJob;
  trigger: string;
  dryRun: boolean;
  startedAt: string;
  durationMs: number;
  /** User ids (teams for the roster job) the run covered. */
  batch: number[];
  processed: number;
  withNewData: number;
  apiCalls: number;
  errors: Array<{ id: number | null; message: string }>;
  outcome: "succeeded" | "partial" | "failed";
}

/** metactf_runs, and the rotation cursors (metactf_cursors). */
export function createRunStore(db: Database) {
  return {
    async record(run: Omit<SyncRun, "id">): Promise<SyncRun> {
      const [row] = await db.query(
        `INSERT INTO metactf_runs (job, trigger, dry_run, started_at, duration_ms, batch, processed, with_new_data, api_calls, errors, outcome)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10::jsonb, $11) RETURNING *`,
        [run.job, run.trigger, run.dryRun, run.startedAt, run.durationMs, JSON.stringify(run.batch), run.processed, run.withNewData, run.apiCalls, JSON.stringify(run.errors), run.outcome],
      );
      return toRun(row!);
    },
    async list(options: { job?: SyncJob; limit: number }): Promise<SyncRun[]> {
      const rows = await db.query(
        `SELECT * FROM metactf_runs WHERE ($1::text IS NULL OR job = $1) ORDER BY started_at DESC, id DESC LIMIT $2`,
        [options.job ?? null, options.limit],
      );
      return rows.map(toRun);
    },
    async cursor(name: string): Promise<number> {
      const [row] = await db.query(`SELECT position FROM metactf_cursors WHERE name = $1`, [name]);
      return row ? num(row.position) : 0;
    },
    async moveCursor(name: string, position: number): Promise<void> {
      await db.query(`INSERT INTO metactf_cursors (name, position) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET position = excluded.position`, [name, position]);
    },
  };
}

export type RunStore = ReturnType<typeof createRunStore>;

const json = <T>(value: unknown): T => (typeof value === "string" ? JSON.parse(value) : value) as T;

function toRun(r: Row): SyncRun {
  return {
    id: num(r.id),
    job: r.job as SyncJob,
    trigger: String(r.trigger),
    dryRun: Boolean(r.dry_run),
    startedAt: new Date(r.started_at as string).toISOString(),
    durationMs: num(r.duration_ms),
    batch: json<number[]>(r.batch),
    processed: num(r.processed),
    withNewData: num(r.with_new_data),
    apiCalls: num(r.api_calls),
    errors: json<SyncRun["errors"]>(r.errors),
    outcome: r.outcome as SyncRun["outcome"],
  };
}
