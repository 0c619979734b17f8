import type { RunStore } from "./run-store.js";
import type { JobDefinition } from "./scheduler.js";

/**
 * The scheduler's own retention, registered by the kernel as `kernel.job-runs-retention`: once a day, runs older
 * than `scheduler.keepRunsDays` are deleted in short batches, the latest run of every job always kept. The run
 * record shows how many went.
 */
export function jobRunRetention(store: RunStore, keepDays: number): JobDefinition {
  return {
    id: "job-runs-retention",
    cron: "40 3 * * *",
    run: async ({ signal }) => ({ olderThanDays: keepDays, jobRuns: await store.prune(keepDays, { signal }) }),
  };
}
