import type { Logger } from "../log.js";
import type { QueueHost } from "../queues/host.js";
import type { JobRun } from "./run-store.js";
import type { Scheduler } from "./scheduler.js";

/** The kernel's queue of manual runs handed from processes that run no cluster jobs: stream `kernel.job-triggers`. */
const OWNER = "kernel";
const QUEUE = "job-triggers";

/** A manual trigger's answer: the finished run (this process ran it), or the id of a run queued for another process. */
export type TriggerResult = { kind: "ran"; run: JobRun } | { kind: "queued"; runId: string; job: string; status: "queued" };

/**
 * Manual job triggers in every role. A process that runs the job itself (role `all` or `scheduler`, or any role
 * for an instance-scoped job) runs it and answers with the run, as before. A `web` or `worker` process reserves a
 * run id and queues the request on `kernel.job-triggers`; a process that runs cluster jobs claims it under that
 * id through the normal claim path, so the run shows in the job's runs with the instance that ran it.
 */
export class JobTriggers {
  constructor(
    private readonly deps: { scheduler: Scheduler; queues: QueueHost; log: Logger; runsClusterJobs: boolean },
  ) {
    deps.queues.define(
      OWNER,
      {
        name: QUEUE,
        handler: (payload) => this.runQueued(payload),
      },
      { consumeHere: deps.runsClusterJobs },
    );
  }

  async trigger(job: string): Promise<TriggerResult> {
    const { scheduler, queues } = this.deps;
    if (scheduler.runsHere(job)) return { kind: "ran", run: await scheduler.trigger(job) };
    const runId = await scheduler.reserveRunId();
    await queues.add(OWNER, QUEUE, { job, runId });
    this.deps.log.info({ job, runId }, "manual run queued for an instance that runs cluster jobs");
    return { kind: "queued", runId, job, status: "queued" };
  }

  private async runQueued(payload: Record<string, unknown>): Promise<void> {
    const { job, runId } = payload;
    if (typeof job !== "string" || typeof runId !== "string") throw new Error("a job trigger needs a job and a runId");
    // Thrown, so the request is retried and finally kept in kernel.job-triggers.dead rather than silently dropped.
    if (!this.deps.scheduler.has(job)) throw new Error(`job "${job}" is not defined on this instance (its plugin did not start here)`);
    const run = await this.deps.scheduler.startQueuedRun(job, runId);
    if (!run) this.deps.log.info({ job, runId }, "queued manual run was already claimed; ignoring the repeated request");
  }
}
