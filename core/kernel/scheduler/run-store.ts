import type { Database } from "../db/data-source.js";

/** How a run came to be. */
export type RunTrigger = "schedule" | "manual" | "catch-up";
export type RunOutcome = "running" | "succeeded" | "failed" | "timeout" | "skipped" | "abandoned";

/** A row of kernel_job_runs as the admin API shows it. */
export interface JobRun {
  id: string;
  job: string;
  slot: string;
  trigger: RunTrigger;
  instance: string;
  outcome: RunOutcome;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  error: string | null;
  /** What the job's run() returned (JSON), for a run that succeeded; null otherwise. */
  result: unknown;
}

export interface ClaimRequest {
  job: string;
  slot: Date;
  claimKey: string;
  trigger: RunTrigger;
  instance: string;
  leaseMs: number;
  /** When false, the claim is recorded as `skipped` while another run of the job still holds its lease. */
  overlap: boolean;
  /** For instance-scoped jobs the overlap check only looks at this instance's runs. */
  instanceScoped: boolean;
  /** A run id reserved earlier (reserveRunId) by the instance that queued this run; else a new one. */
  runId?: string;
}

/** The claim's result: `running` means this instance owns the run; `skipped` is recorded; null: another instance won. */
export type ClaimResult = { outcome: "running" | "skipped"; run: JobRun } | null;

const RUN_COLUMNS = `id::text AS id, job, slot, trigger, instance, outcome, started_at, finished_at, error, result,
  (EXTRACT(EPOCH FROM (finished_at - started_at)) * 1000)::float8 AS duration_ms`;

/**
 * kernel_job_runs is both the record of every run and the cluster-wide claim: its unique claim_key makes a
 * (job, slot) claimable exactly once, and a running row's lease_expires_at (database clock, so instance clocks
 * may drift) is the lease that keeps a job from overlapping itself.
 */
export class RunStore {
  constructor(private readonly db: Database) {}

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    return this.db.transaction(async (tx) => {
      // Serialize claims of one job so the "is a run still holding the lease?" check cannot race.
      const lockName = request.instanceScoped ? `${request.job}#${request.instance}` : request.job;
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`kernel-job:${lockName}`]);
      // A run whose instance stopped renewing (crash, kill -9) releases the job once its lease is past.
      await tx.query(
        `UPDATE kernel_job_runs SET outcome = 'abandoned', finished_at = lease_expires_at,
           error = 'instance ' || instance || ' stopped renewing its lease (crashed or was killed)'
         WHERE job = $1 AND outcome = 'running' AND lease_expires_at < now()`,
        [request.job],
      );
      let busy = false;
      if (!request.overlap) {
        const rows: unknown[] = await tx.query(
          `SELECT 1 FROM kernel_job_runs WHERE job = $1 AND outcome = 'running' ${request.instanceScoped ? "AND instance = $2" : ""} LIMIT 1`,
          request.instanceScoped ? [request.job, request.instance] : [request.job],
        );
        busy = rows.length > 0;
      }
      // A reserved id is given only for a queued manual run; every scheduled claim takes the column default.
      const id = request.runId === undefined ? { column: "", value: "", params: [] } : { column: "id, ", value: "$8::bigint, ", params: [request.runId] };
      const rows: RawRun[] = await tx.query(
        `INSERT INTO kernel_job_runs (${id.column}job, slot, claim_key, trigger, instance, outcome, finished_at, lease_expires_at, error)
         VALUES (${id.value}$1, $2, $3, $4, $5, $6,
                 CASE WHEN $6 = 'skipped' THEN now() END,
                 CASE WHEN $6 = 'running' THEN now() + $7 * interval '1 millisecond' END,
                 CASE WHEN $6 = 'skipped' THEN 'the previous run still holds the lease' END)
         ON CONFLICT (claim_key) DO NOTHING
         RETURNING ${RUN_COLUMNS}`,
        [request.job, request.slot.toISOString(), request.claimKey, request.trigger, request.instance, busy ? "skipped" : "running", request.leaseMs, ...id.params],
      );
      if (rows.length === 0) return null;
      const run = toJobRun(rows[0]!);
      return { outcome: run.outcome as "running" | "skipped", run };
    });
  }

  /** A run id from the table's own sequence, for a run that another instance will claim later (a queued manual run). */
  async reserveRunId(): Promise<string> {
    const rows: Array<{ id: string }> = await this.db.query(`SELECT nextval(pg_get_serial_sequence('kernel_job_runs', 'id'))::text AS id`);
    return rows[0]!.id;
  }

  /** Pushes the lease forward; false when the run no longer holds it (it was declared abandoned). */
  async renew(runId: string, leaseMs: number): Promise<boolean> {
    const rows: unknown[] = await this.db.query(
      `UPDATE kernel_job_runs SET lease_expires_at = now() + $2 * interval '1 millisecond'
       WHERE id = $1 AND outcome = 'running' RETURNING id`,
      [runId, leaseMs],
    );
    return rows.length > 0;
  }

  async finish(runId: string, outcome: "succeeded" | "failed" | "timeout", error: string | null, result: string | null = null): Promise<JobRun | null> {
    const rows: RawRun[] = await this.db.query(
      `UPDATE kernel_job_runs SET outcome = $2, finished_at = now(), lease_expires_at = NULL, error = $3, result = $4::jsonb
       WHERE id = $1 AND outcome = 'running' RETURNING ${RUN_COLUMNS}`,
      [runId, outcome, error, result],
    );
    return rows[0] ? toJobRun(rows[0]) : this.get(runId);
  }

  async get(runId: string): Promise<JobRun | null> {
    const rows: RawRun[] = await this.db.query(`SELECT ${RUN_COLUMNS} FROM kernel_job_runs WHERE id = $1`, [runId]);
    return rows[0] ? toJobRun(rows[0]) : null;
  }

  async recent(job: string, limit: number): Promise<JobRun[]> {
    const rows: RawRun[] = await this.db.query(
      `SELECT ${RUN_COLUMNS} FROM kernel_job_runs WHERE job = $1 ORDER BY started_at DESC, id DESC LIMIT $2`,
      [job, limit],
    );
    return rows.map(toJobRun);
  }

  /** The latest run of each job that actually ran (skips are noise in a summary). */
  async latestByJob(jobs: string[]): Promise<Map<string, JobRun>> {
    if (jobs.length === 0) return new Map();
    const rows: RawRun[] = await this.db.query(
      `SELECT DISTINCT ON (job) ${RUN_COLUMNS} FROM kernel_job_runs
       WHERE job = ANY($1) AND outcome <> 'skipped' ORDER BY job, started_at DESC, id DESC`,
      [jobs],
    );
    return new Map(rows.map((row) => [row.job, toJobRun(row)]));
  }

  /**
   * Deletes finished runs that started more than `olderThanDays` ago, except the latest run of every job, in
   * batches of `batch` rows: each batch is its own short statement, so no lock is held for long. Returns the count.
   */
  async prune(olderThanDays: number, { batch = 1_000, signal }: { batch?: number; signal?: AbortSignal } = {}): Promise<number> {
    let removed = 0;
    for (;;) {
      signal?.throwIfAborted();
      const rows: unknown[] = await this.db.query(
        `DELETE FROM kernel_job_runs WHERE id IN (
           SELECT r.id FROM kernel_job_runs r
            WHERE r.started_at < now() - $1 * interval '1 day' AND r.outcome <> 'running'
              AND EXISTS (SELECT 1 FROM kernel_job_runs n WHERE n.job = r.job AND (n.started_at, n.id) > (r.started_at, r.id))
            LIMIT $2)
         RETURNING id`,
        [olderThanDays, batch],
      );
      removed += rows.length;
      if (rows.length < batch) return removed;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async hasSlot(job: string, slot: Date): Promise<boolean> {
    const rows: unknown[] = await this.db.query(`SELECT 1 FROM kernel_job_runs WHERE job = $1 AND slot = $2 LIMIT 1`, [job, slot.toISOString()]);
    return rows.length > 0;
  }
}

interface RawRun {
  id: string;
  job: string;
  slot: Date | string;
  trigger: RunTrigger;
  instance: string;
  outcome: RunOutcome;
  started_at: Date | string;
  finished_at: Date | string | null;
  error: string | null;
  result: unknown;
  duration_ms: number | null;
}

const iso = (value: Date | string) => new Date(value).toISOString();

function toJobRun(row: RawRun): JobRun {
  return {
    id: row.id,
    job: row.job,
    slot: iso(row.slot),
    trigger: row.trigger,
    instance: row.instance,
    outcome: row.outcome,
    startedAt: iso(row.started_at),
    finishedAt: row.finished_at ? iso(row.finished_at) : null,
    durationMs: row.duration_ms === null ? null : Math.round(Number(row.duration_ms)),
    error: row.error,
    result: row.result ?? null,
  };
}
