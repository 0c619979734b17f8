import type { CtfReadService, SubmissionFact } from "../../core/ctf/service.js";
import type { Database } from "../../core/kernel/db/data-source.js";
import type { Logger } from "../../core/kernel/log.js";
import { accountOf } from "./accounts.js";
import { yieldToRequests } from "../../core/kernel/turns.js";
import type { Phase2Config } from "./config.js";
import { readWindow } from "./window.js";

export type HealthStatus = "HEALTHY" | "UNDERPERFORMING" | "BROKEN";

/** What a challenge's health is computed from. */
export interface HealthInputs {
  solves: number;
  attempts: number;
  /** Distinct accounts that submitted anything. */
  accounts: number;
  /** Distinct accounts that solved. */
  solvers: number;
  medianSolveSeconds: number | null;
  containerStarts: number;
  containerFailures: number;
}

export interface HealthSnapshot extends HealthInputs {
  challengeId: number;
  takenAt: Date;
  solveRate: number;
  score: number;
  status: HealthStatus;
}

/** Below this many container starts, failures are not judged (one bad start is not a broken challenge). */
export const MIN_CONTAINER_STARTS = 3;

/**
 * The score, 0..100: 100 × solve factor × container factor.
 *  - solve factor: 1 until `minAccounts` accounts tried; then 0.3 + 0.7 × min(1, solve rate / target), so a
 *    challenge nobody solves after many tried scores 30 (BROKEN) and one at a third of the target rate about 53;
 *  - container factor: 1 − the share of container starts that failed (from `MIN_CONTAINER_STARTS` starts on),
 *    so containers that keep failing bring any challenge to BROKEN.
 * HEALTHY ≥ 70, UNDERPERFORMING 40–69, BROKEN < 40.
 */
export function healthScore(inputs: HealthInputs, config: Pick<Phase2Config, "healthMinAccounts" | "healthTargetSolveRate">): { solveRate: number; score: number; status: HealthStatus } {
  const solveRate = inputs.accounts === 0 ? 0 : inputs.solvers / inputs.accounts;
  const solveFactor = inputs.accounts < config.healthMinAccounts ? 1 : 0.3 + 0.7 * Math.min(1, solveRate / config.healthTargetSolveRate);
  const containerFactor = inputs.containerStarts < MIN_CONTAINER_STARTS ? 1 : 1 - inputs.containerFailures / inputs.containerStarts;
  const score = Math.max(0, Math.min(100, Math.round(100 * solveFactor * containerFactor)));
  const status: HealthStatus = score >= 70 ? "HEALTHY" : score >= 40 ? "UNDERPERFORMING" : "BROKEN";
  return { solveRate: Math.round(solveRate * 1000) / 1000, score, status };
}

/** Solves, attempts, accounts and median time to solve (an account's first submission to its solve). */
export function attemptStats(mode: "users" | "teams", submissions: SubmissionFact[]): Omit<HealthInputs, "containerStarts" | "containerFailures"> {
  const firstTry = new Map<number, number>();
  const solvedAt = new Map<number, number>();
  let attempts = 0;
  for (const s of submissions) {
    const account = accountOf(mode, s);
    if (account === null || s.type === "discard") continue;
    attempts += 1;
    if (!firstTry.has(account)) firstTry.set(account, s.at);
    if (s.type === "correct" && !solvedAt.has(account)) solvedAt.set(account, s.at);
  }
  const durations = [...solvedAt].map(([account, at]) => (at - firstTry.get(account)!) / 1000).sort((a, b) => a - b);
  const mid = durations.length >> 1;
  const median = durations.length === 0 ? null : durations.length % 2 ? durations[mid]! : (durations[mid - 1]! + durations[mid]!) / 2;
  return { solves: solvedAt.size, attempts, accounts: firstTry.size, solvers: solvedAt.size, medianSolveSeconds: median };
}

type Row = Record<string, unknown>;

/** Challenge health snapshots (a time series in phase2_health) and the container outcomes they count. */
export class Health {
  constructor(
    private readonly db: Database,
    private readonly read: CtfReadService,
    private readonly config: Phase2Config,
  ) {}

  async containerOutcome(challengeId: number, outcome: "ready" | "failed", at: Date): Promise<void> {
    await this.db.query(`INSERT INTO phase2_containers (challenge_id, outcome, at) VALUES ($1, $2, $3)`, [challengeId, outcome, at]);
  }

  /** `phase2.health`: a snapshot of every challenge. */
  async run(log: Logger, signal?: AbortSignal): Promise<{ challenges: number; statuses: Record<HealthStatus, number> }> {
    const facts = await this.read.scoringFacts();
    const statuses: Record<HealthStatus, number> = { HEALTHY: 0, UNDERPERFORMING: 0, BROKEN: 0 };
    const takenAt = new Date();
    for (const challenge of facts.challenges) {
      signal?.throwIfAborted();
      await yieldToRequests();
      const { submissions, capped } = await readWindow(this.read, new Date(0), this.config.maxSubmissionsPerRun, signal, challenge.id);
      if (capped) log.warn({ challengeId: challenge.id, cap: this.config.maxSubmissionsPerRun }, "phase2.health counted only the newest submissions of a challenge");
      const containers = await this.containers(challenge.id);
      const inputs = { ...attemptStats(facts.settings.mode, submissions), ...containers };
      const snapshot: HealthSnapshot = { challengeId: challenge.id, takenAt, ...inputs, ...healthScore(inputs, this.config) };
      await this.save(snapshot);
      statuses[snapshot.status] += 1;
    }
    return { challenges: facts.challenges.length, statuses };
  }

  /** The latest snapshot of each challenge. */
  async latest(): Promise<HealthSnapshot[]> {
    return (await this.db.query<Row>(`SELECT DISTINCT ON (challenge_id) * FROM phase2_health ORDER BY challenge_id, taken_at DESC, id DESC`)).map(toSnapshot);
  }

  /** One challenge's snapshots, newest first. */
  async series(challengeId: number, limit: number): Promise<HealthSnapshot[]> {
    return (await this.db.query<Row>(`SELECT * FROM phase2_health WHERE challenge_id = $1 ORDER BY taken_at DESC, id DESC LIMIT $2`, [challengeId, limit])).map(toSnapshot);
  }

  private async containers(challengeId: number): Promise<Pick<HealthInputs, "containerStarts" | "containerFailures">> {
    const since = new Date(Date.now() - this.config.healthContainerHours * 3600_000);
    const [row] = await this.db.query<Row>(
      `SELECT count(*) AS starts, count(*) FILTER (WHERE outcome = 'failed') AS failures FROM phase2_containers WHERE challenge_id = $1 AND at >= $2`,
      [challengeId, since],
    );
    return { containerStarts: Number(row?.starts ?? 0), containerFailures: Number(row?.failures ?? 0) };
  }

  private async save(s: HealthSnapshot): Promise<void> {
    await this.db.query(
      `INSERT INTO phase2_health (challenge_id, taken_at, solves, attempts, accounts, solve_rate, median_solve_seconds, container_failures, container_starts, score, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [s.challengeId, s.takenAt, s.solves, s.attempts, s.accounts, s.solveRate, s.medianSolveSeconds, s.containerFailures, s.containerStarts, s.score, s.status],
    );
  }
}

function toSnapshot(r: Row): HealthSnapshot {
  const solves = Number(r.solves);
  return {
    challengeId: Number(r.challenge_id),
    takenAt: new Date(r.taken_at as string),
    solves,
    attempts: Number(r.attempts),
    accounts: Number(r.accounts),
    solvers: solves,
    medianSolveSeconds: r.median_solve_seconds === null ? null : Number(r.median_solve_seconds),
    containerStarts: Number(r.container_starts),
    containerFailures: Number(r.container_failures),
    solveRate: Number(r.solve_rate),
    score: Number(r.score),
    status: r.status as HealthStatus,
  };
}

/** The API's shape of a snapshot. */
export function healthView(s: HealthSnapshot) {
  return {
    challenge_id: s.challengeId,
    date: s.takenAt.toISOString(),
    solves: s.solves,
    attempts: s.attempts,
    accounts: s.accounts,
    solve_rate: s.solveRate,
    median_solve_seconds: s.medianSolveSeconds,
    container_starts: s.containerStarts,
    container_failures: s.containerFailures,
    score: s.score,
    status: s.status,
  };
}
