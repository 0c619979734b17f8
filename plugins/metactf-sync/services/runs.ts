import type { GamePlatformClient } from "../client/client.js";
import type { RunStore, SyncJob, SyncRun } from "../store/runs.js";
import { describe, type PlatformAccess } from "./platform.js";

/** What one sync job's work reports; the recorder adds timing, API calls and the outcome. */
export interface RunReport {
  batch: number[];
  processed: number;
  withNewData: number;
  errors: Array<{ id: number | null; message: string }>;
}

export type SyncWork = (client: GamePlatformClient, signal: AbortSignal) => Promise<RunReport>;

/**
 * Runs one sync job's work with a metered client and records it in metactf_runs: batch, processed, with new data,
 * API calls, duration, errors. Without a platform the run is recorded as failed with the reason.
 */
export function createRunRecorder(runs: RunStore, platform: PlatformAccess) {
  /**
   * `quietWhenIdle` (the every-minute roster job): a run that found nothing to do, or could not run for want of a
   * platform, is answered but not stored, so the log keeps the runs that did something.
   */
  return async function recordRun(job: SyncJob, trigger: string, signal: AbortSignal, work: SyncWork, options: { quietWhenIdle?: boolean } = {}): Promise<SyncRun> {
    const startedAt = new Date();
    const started = performance.now();
    const meter = { calls: 0 };
    let report: RunReport;
    if (!platform.client) report = { batch: [], processed: 0, withNewData: 0, errors: [{ id: null, message: platform.reason! }] };
    else {
      try {
        report = await work(platform.client.metered(meter), signal);
      } catch (error) {
        report = { batch: [], processed: 0, withNewData: 0, errors: [{ id: null, message: describe(error) }] };
      }
    }
    const outcome = report.errors.length === 0 ? "succeeded" : report.processed > report.errors.length ? "partial" : "failed";
    const idle = (report.batch.length === 0 && report.errors.length === 0) || !platform.client;
    const run = {
      job,
      trigger,
      dryRun: false,
      startedAt: startedAt.toISOString(),
      durationMs: Math.round(performance.now() - started),
      apiCalls: meter.calls,
      outcome,
      ...report,
    } satisfies Omit<SyncRun, "id">;
    if (options.quietWhenIdle && idle && trigger !== "manual") return { id: 0, ...run };
    return runs.record(run);
  };
}

export type RecordRun = ReturnType<typeof createRunRecorder>;
