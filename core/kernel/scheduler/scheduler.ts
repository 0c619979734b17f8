import { randomUUID } from "node:crypto";
import { createTask, validate as isValidCron, type RunCoordinator, type ScheduledTask } from "node-cron";
import { messageOf } from "../errors.js";
import type { Logger } from "../log.js";
import type { JobRunObserver } from "../metrics/observers.js";
import type { JobRun, RunStore, RunTrigger } from "./run-store.js";

/** What a plugin hands to `jobs.add`. */
export interface JobDefinition {
  /** Id within the plugin; the scheduler prefixes it: `<plugin>.<id>`. */
  id: string;
  /** Cron expression (5 fields, or 6 with seconds first), evaluated in the configured timezone (UTC by default). */
  cron: string;
  run(context: JobRunContext): unknown;
  /** A run still going after this long is recorded as `timeout` and its signal aborted. Default 5 minutes. */
  timeoutMs?: number;
  /** Allow a slot to start while the previous run still holds the job. Default false: the slot is skipped. */
  overlap?: boolean;
  /** `cluster` (default): one instance runs each slot. `instance`: every instance runs its own. */
  scope?: "cluster" | "instance";
  /** Run the most recent missed slot (within the last day) when the scheduler starts or falls behind. */
  catchUp?: boolean;
}

export interface JobRunContext {
  job: string;
  slot: Date;
  trigger: RunTrigger;
  runId: string;
  /** Aborted on timeout, on shutdown, or when the lease was lost: long jobs should check it. */
  signal: AbortSignal;
  log: Logger;
}

export interface JobSummary {
  id: string;
  plugin: string;
  cron: string;
  scope: "cluster" | "instance";
  nextRunAt: string | null;
  last: JobRun | null;
}

interface ScheduledJob {
  id: string;
  owner: string;
  definition: Required<Omit<JobDefinition, "run">> & Pick<JobDefinition, "run">;
  task: ScheduledTask;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;

/**
 * The one scheduler of a process. node-cron decides when a slot is due; the run coordinator it calls for every
 * slot claims `(job, slot)` in kernel_job_runs, so across the whole cluster exactly one instance runs it. Jobs
 * are described by plugins and start only when the kernel starts the scheduler; `start()` again is a no-op.
 */
export class Scheduler {
  private readonly jobs = new Map<string, ScheduledJob>();
  private readonly running = new Map<string, { controller: AbortController; done: Promise<unknown> }>();
  private started = false;
  private stopping = false;

  constructor(
    private readonly deps: {
      store: RunStore;
      log: Logger;
      instanceId: string;
      leaseMs: number;
      timezone: string;
      /** Whether this process claims cluster-scoped slots (role `all` or `scheduler`). */
      runsClusterJobs: boolean;
      /** Told of every recorded run's outcome (metrics). */
      observer?: JobRunObserver;
    },
  ) {}

  /** Adds (or replaces) a job owned by `owner`; its id becomes `<owner>.<definition.id>`. */
  add(owner: string, definition: JobDefinition): string {
    if (!/^[a-z][a-z0-9-]{0,39}$/.test(definition.id)) {
      throw new Error(`job id "${definition.id}" must be lowercase letters, digits and dashes`);
    }
    if (!isValidCron(definition.cron)) throw new Error(`job "${definition.id}": invalid cron expression "${definition.cron}"`);
    if (typeof definition.run !== "function") throw new Error(`job "${definition.id}": run must be a function`);
    const id = `${owner}.${definition.id}`;
    this.remove(id);
    const normalized: ScheduledJob["definition"] = {
      id: definition.id,
      cron: definition.cron,
      run: definition.run,
      timeoutMs: definition.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      overlap: definition.overlap ?? false,
      scope: definition.scope ?? "cluster",
      catchUp: definition.catchUp ?? false,
    };
    const job: ScheduledJob = { id, owner, definition: normalized, task: this.createCronTask(id, normalized) };
    this.jobs.set(id, job);
    if (this.started && this.shouldSchedule(job)) void this.startJob(job);
    return id;
  }

  remove(id: string): void {
    const job = this.jobs.get(id);
    if (!job) return;
    this.jobs.delete(id);
    void job.task.destroy();
  }

  /** Withdraws every job of an owner (a plugin that failed or stopped). */
  removeOwner(owner: string): void {
    for (const job of [...this.jobs.values()]) if (job.owner === owner) this.remove(job.id);
  }

  ids(owner?: string): string[] {
    return [...this.jobs.values()].filter((j) => !owner || j.owner === owner).map((j) => j.id);
  }

  has(id: string): boolean {
    return this.jobs.has(id);
  }

  get isStarted(): boolean {
    return this.started;
  }

  /** Starts every job's timer. Idempotent: the second call does nothing. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopping = false;
    await Promise.all([...this.jobs.values()].filter((job) => this.shouldSchedule(job)).map((job) => this.startJob(job)));
  }

  /** Stops the timers, aborts running jobs and waits (bounded) for them to settle. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const job of this.jobs.values()) await job.task.stop();
    for (const { controller } of this.running.values()) controller.abort(new Error("the scheduler is stopping"));
    const settle = Promise.allSettled([...this.running.values()].map((r) => r.done));
    await Promise.race([settle, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    this.started = false;
  }

  async list(): Promise<JobSummary[]> {
    const jobs = [...this.jobs.values()].sort((a, b) => a.id.localeCompare(b.id));
    const latest = await this.deps.store.latestByJob(jobs.map((j) => j.id));
    return jobs.map((job) => ({
      id: job.id,
      plugin: job.owner,
      cron: job.definition.cron,
      scope: job.definition.scope,
      nextRunAt: job.task.getNextRuns(1)[0]?.toISOString() ?? null,
      last: latest.get(job.id) ?? null,
    }));
  }

  runs(id: string, limit: number): Promise<JobRun[]> {
    return this.deps.store.recent(id, limit);
  }

  /**
   * Runs a job once now, through the same claim as scheduled slots (so it never overlaps a running one), and
   * waits for it. Returns the recorded run (outcome `skipped` when the job was busy).
   */
  async trigger(id: string): Promise<JobRun> {
    const job = this.jobs.get(id);
    if (!job) throw new Error(`unknown job "${id}"`);
    // A process that runs no cluster jobs (role web or worker) must never run one, not even on request.
    if (!this.shouldSchedule(job)) throw new Error(`job "${id}" runs only on instances with role all or scheduler (queue it through JobTriggers)`);
    const slot = new Date();
    return this.claimAndRun(job, slot, "manual", `${id}@manual@${slot.toISOString()}@${randomUUID()}`);
  }

  /** Whether this process runs the job's slots (false for a cluster job where the role claims no cluster jobs). */
  runsHere(id: string): boolean {
    const job = this.jobs.get(id);
    return job !== undefined && this.shouldSchedule(job);
  }

  /** A run id for a manual run that a process running cluster jobs will claim (see startQueuedRun). */
  reserveRunId(): Promise<string> {
    return this.deps.store.reserveRunId();
  }

  /**
   * Claims a manual run queued by another instance, under the id it reserved, and starts it without waiting.
   * Returns the claimed run (`running` or `skipped`), or null when that run id was claimed already (the request
   * was delivered twice). The run id is in the claim key, so a second delivery can never run it again.
   */
  async startQueuedRun(id: string, runId: string): Promise<JobRun | null> {
    const job = this.jobs.get(id);
    if (!job) throw new Error(`unknown job "${id}"`);
    const result = await this.deps.store.claim({ ...this.claimRequest(job, new Date(), "manual", `${id}@manual#${runId}`), runId });
    if (result?.outcome === "running") {
      void this.execute(job, result.run).catch((error) => this.deps.log.error({ err: error, job: id, runId }, "queued run failed to finish"));
    }
    return result?.run ?? null;
  }

  private shouldSchedule(job: ScheduledJob): boolean {
    return job.definition.scope === "instance" || this.deps.runsClusterJobs;
  }

  private claimKey(job: ScheduledJob, slot: Date): string {
    const key = `${job.id}@${slot.toISOString()}`;
    return job.definition.scope === "instance" ? `${key}#${this.deps.instanceId}` : key;
  }

  private createCronTask(id: string, definition: ScheduledJob["definition"]): ScheduledTask {
    const claimed = new Map<string, JobRun>();
    // node-cron asks the coordinator before every slot, with key `<name>:<slot ISO>`.
    const coordinator: RunCoordinator = {
      shouldRun: async (key) => {
        const job = this.jobs.get(id);
        if (!job || this.stopping) return false;
        const slot = new Date(key.slice(id.length + 1));
        const result = await this.deps.store.claim(this.claimRequest(job, slot, "schedule"));
        if (result?.outcome === "skipped") this.deps.observer?.jobRunFinished(id, "skipped", null);
        if (result?.outcome !== "running") return false;
        claimed.set(slot.toISOString(), result.run);
        return true;
      },
      onComplete: (key) => {
        claimed.delete(key.slice(id.length + 1));
      },
    };
    const task = createTask(
      definition.cron,
      async (context) => {
        const job = this.jobs.get(id);
        const run = claimed.get(context.date.toISOString());
        if (job && run) await this.execute(job, run);
      },
      {
        name: id,
        timezone: this.deps.timezone,
        distributed: true,
        runCoordinator: coordinator,
        distributedLease: this.deps.leaseMs,
        logger: cronLogger(this.deps.log.child({ job: id })),
      },
    );
    if (definition.catchUp) {
      task.on("execution:missed", (context) => {
        const job = this.jobs.get(id);
        if (job) void this.claimAndRun(job, context.date, "catch-up", this.claimKey(job, context.date)).catch(() => {});
      });
    }
    return task;
  }

  private async startJob(job: ScheduledJob): Promise<void> {
    await job.task.start();
    if (job.definition.catchUp) await this.catchUp(job);
  }

  /** Runs the most recent due slot if nobody ran it (the cluster was down, or this job is new). */
  private async catchUp(job: ScheduledJob): Promise<void> {
    const slot = previousSlot(job.task, new Date());
    if (!slot || (await this.deps.store.hasSlot(job.id, slot))) return;
    void this.claimAndRun(job, slot, "catch-up", this.claimKey(job, slot)).catch((error) => {
      this.deps.log.error({ err: error, job: job.id }, "catch-up run failed to start");
    });
  }

  private claimRequest(job: ScheduledJob, slot: Date, trigger: RunTrigger, claimKey = this.claimKey(job, slot)) {
    return {
      job: job.id,
      slot,
      claimKey,
      trigger,
      instance: this.deps.instanceId,
      leaseMs: this.deps.leaseMs,
      overlap: job.definition.overlap,
      instanceScoped: job.definition.scope === "instance",
    };
  }

  private async claimAndRun(job: ScheduledJob, slot: Date, trigger: RunTrigger, claimKey: string): Promise<JobRun> {
    const result = await this.deps.store.claim(this.claimRequest(job, slot, trigger, claimKey));
    if (!result) throw new Error(`slot ${slot.toISOString()} of ${job.id} was already claimed`);
    if (result.outcome === "skipped") {
      this.deps.observer?.jobRunFinished(job.id, "skipped", null);
      return result.run;
    }
    return this.execute(job, result.run);
  }

  /** Runs a claimed slot: renews the lease while it runs, enforces the timeout, records the outcome. */
  private async execute(job: ScheduledJob, run: JobRun): Promise<JobRun> {
    const log = this.deps.log.child({ job: job.id, runId: run.id, slot: run.slot });
    const controller = new AbortController();
    const renewEvery = Math.max(100, Math.floor(this.deps.leaseMs / 3));
    const renewal = setInterval(() => {
      this.deps.store.renew(run.id, this.deps.leaseMs).then(
        (held) => {
          if (!held) controller.abort(new Error("the run lost its lease"));
        },
        (error) => log.warn({ err: error }, "could not renew the job lease; will retry"),
      );
    }, renewEvery);

    let timeout: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timeout = setTimeout(() => resolve("timeout"), job.definition.timeoutMs);
    });
    const startedAt = performance.now();
    const context: JobRunContext = { job: job.id, slot: new Date(run.slot), trigger: run.trigger, runId: run.id, signal: controller.signal, log };
    const work = (async () => job.definition.run(context))();
    const done = work.catch(() => {});
    this.running.set(run.id, { controller, done });

    let outcome: "succeeded" | "failed" | "timeout" = "succeeded";
    let error: string | null = null;
    let recorded: string | null = null;
    try {
      const result = await Promise.race([work, timedOut]);
      if (result === "timeout") {
        outcome = "timeout";
        error = `did not finish within ${job.definition.timeoutMs} ms`;
        controller.abort(new Error(error));
      } else recorded = recordable(result, log);
    } catch (caught) {
      outcome = "failed";
      error = messageOf(caught).slice(0, 2000);
      log.error({ err: caught }, `job ${job.id} failed`);
    } finally {
      clearInterval(renewal);
      clearTimeout(timeout);
      this.running.delete(run.id);
    }
    if (outcome === "timeout") log.warn(`job ${job.id} timed out`);
    this.deps.observer?.jobRunFinished(job.id, outcome, performance.now() - startedAt);
    return (await this.recordFinish(run, outcome, error, recorded, log)) ?? run;
  }

  /**
   * Records how a run ended, retrying while the database is away (a restart takes seconds): a run left `running`
   * blocks its job's next slots until its lease runs out. Gives up once the lease is over: by then the run counts
   * as abandoned and the next claim records it so.
   */
  private async recordFinish(run: JobRun, outcome: "succeeded" | "failed" | "timeout", error: string | null, result: string | null, log: Logger): Promise<JobRun | null> {
    const giveUpAt = Date.now() + this.deps.leaseMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.deps.store.finish(run.id, outcome, error, result);
      } catch (caught) {
        if (Date.now() + FINISH_RETRY_MS >= giveUpAt || this.stopping) throw caught;
        if (attempt === 1) log.warn({ err: caught }, "could not record the end of the run; retrying until its lease is over");
        await new Promise((resolve) => setTimeout(resolve, FINISH_RETRY_MS));
      }
    }
  }
}

/** Pause between tries to record a run's end while the database is away. */
const FINISH_RETRY_MS = 500;

/** The largest run() result kept with a run: counts and short summaries, not data. */
const MAX_RESULT_CHARS = 16 * 1024;

/** A run() result as JSON to store with the run, or null (nothing returned, not JSON, or too large: logged). */
function recordable(result: unknown, log: Logger): string | null {
  if (result === undefined || result === null) return null;
  let json: string | undefined;
  try {
    json = JSON.stringify(result);
  } catch (error) {
    log.warn({ err: error }, "the job's result is not JSON; not recorded");
    return null;
  }
  if (json === undefined) return null;
  if (json.length > MAX_RESULT_CHARS) {
    log.warn(`the job's result is ${json.length} characters of JSON, above ${MAX_RESULT_CHARS}; not recorded`);
    return null;
  }
  return json;
}

/** The latest slot at or before `now` within the last day (minute steps, or second steps for 6-field crons). */
function previousSlot(task: ScheduledTask, now: Date): Date | null {
  const hasSeconds = task.getPattern().trim().split(/\s+/).length === 6;
  const step = hasSeconds ? 1_000 : 60_000;
  const limit = hasSeconds ? 3_600 : 1_440;
  let t = Math.floor(now.getTime() / step) * step;
  for (let i = 0; i < limit; i++, t -= step) {
    const candidate = new Date(t);
    if (task.match(candidate)) return candidate;
  }
  return null;
}

function cronLogger(log: Logger) {
  return {
    info: (message: string) => log.debug(message),
    warn: (message: string) => log.warn(message),
    error: (message: string | Error, err?: Error) => log.error({ err: err ?? message }, typeof message === "string" ? message : message.message),
    debug: (message: string | Error) => log.debug(typeof message === "string" ? message : message.message),
  };
}
