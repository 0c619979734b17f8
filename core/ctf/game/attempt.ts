import type { Context } from "koa";
import { HttpError, notFound } from "../../kernel/errors.js";
import type { Ctf } from "../runtime.js";
import type { Player } from "../service.js";
import { eventPhase } from "../settings.js";
import { txQuery } from "../sql.js";
import type { CachedChallenge } from "./challenge-cache.js";
import { recomputeDynamicValues } from "./dynamic-value.js";

export type AttemptStatus = "correct" | "incorrect" | "already_solved" | "ratelimited" | "paused" | "authentication_required";

export interface AttemptAnswer {
  httpStatus: number;
  status: AttemptStatus;
  message: string;
}

const answer = (httpStatus: number, status: AttemptStatus, message: string): AttemptAnswer => ({ httpStatus, status, message });

/** SQL condition selecting the account's rows: the team in team mode, the user (with no team row) in user mode. */
export function accountCondition(player: Player, param: number, alias = ""): string {
  const p = alias ? `${alias}.` : "";
  return player.accountType === "team" ? `${p}team_id = $${param}` : `${p}user_id = $${param} AND ${p}team_id IS NULL`;
}

/** What the pipeline knows about the account before it evaluates: one query, every field only when needed. */
interface AccountState {
  solved: boolean;
  fails: number | null;
  solvedPrerequisites: number[] | null;
}

/**
 * POST /api/v1/challenges/attempt, in CTFd's order of checks: event window and pause, team, challenge state,
 * prerequisites, rate limit, max attempts, already solved, then the flag. A submission is written durably before
 * the answer; for a correct one the solve is inserted in the same statement and the unique index decides races
 * (a losing duplicate is answered `already_solved` and its submission kept as `discard`).
 */
export class AttemptPipeline {
  constructor(private readonly ctf: Ctf) {}

  async attempt(ctx: Context, challengeId: number, provided: string, options: { preview: boolean }): Promise<AttemptAnswer> {
    const { ctf } = this;
    const player = await ctf.player(ctx);
    if (!player) {
      if (await ctf.isAdmin(ctx)) throw new HttpError(403, "The bootstrap admin token has no player account: log in as a player to submit flags");
      return answer(403, "authentication_required", "You must be logged in to submit flags");
    }
    const settings = await ctf.settings.get();
    const phase = eventPhase(settings);
    // Admins may always try a flag; outside the event window (or with ?preview) nothing is recorded.
    const evaluateOnly = player.admin && (options.preview || phase !== "running");
    if (!player.admin) {
      if (phase === "not-started") throw new HttpError(403, `${settings.name} has not started yet`);
      if (phase === "ended") throw new HttpError(403, `${settings.name} has ended`);
      if (settings.paused) return answer(403, "paused", `${settings.name} is paused`);
    }
    if (player.accountId === null) throw new HttpError(403, "You must join or create a team before submitting flags");

    const challenge = await ctf.challenges.get(challengeId);
    if (!challenge || (challenge.state === "hidden" && !player.admin)) throw notFound("No such challenge");
    if (challenge.state === "locked" && !player.admin) throw new HttpError(403, "This challenge is locked");

    const [state, limited] = await Promise.all([
      this.accountState(player, challenge),
      evaluateOnly ? Promise.resolve(false) : this.rateLimited(player, settings.incorrectSubmissionsPerMinute),
    ]);
    if (state.solvedPrerequisites && !player.admin) {
      const missing = challenge.prerequisites.filter((id) => !state.solvedPrerequisites!.includes(id));
      if (missing.length > 0) throw new HttpError(403, "You have not solved the prerequisites of this challenge");
    }

    const correct = await this.evaluate(challenge, provided, player);
    if (evaluateOnly) return correct ? answer(200, "correct", "Correct") : answer(200, "incorrect", "Incorrect");

    if (limited) {
      await this.record(ctx, player, challenge, provided, "ratelimited");
      return answer(429, "ratelimited", `You're submitting flags too fast. Try again in ${this.ctf.config.wrongAnswerWindowSeconds} seconds.`);
    }
    if (state.fails !== null && state.fails >= challenge.maxAttempts && !state.solved) {
      return answer(403, "ratelimited", "Not accepted. You have 0 tries remaining");
    }
    if (state.solved) {
      return answer(200, "already_solved", correct ? "Correct but you already solved this" : "Incorrect but you already solved this");
    }
    if (!correct) {
      await Promise.all([this.record(ctx, player, challenge, provided, "incorrect"), this.takeWrongAnswerToken(player, settings.incorrectSubmissionsPerMinute)]);
      if (challenge.maxAttempts > 0) {
        const left = Math.max(0, challenge.maxAttempts - (state.fails ?? 0) - 1);
        return answer(200, "incorrect", `Incorrect. You have ${left} ${left === 1 ? "try" : "tries"} remaining.`);
      }
      return answer(200, "incorrect", "Incorrect");
    }
    const solved = await this.recordSolve(ctx, player, challenge, provided);
    return solved ? answer(200, "correct", "Correct") : answer(200, "already_solved", "Correct but you already solved this");
  }

  private async accountState(player: Player, challenge: CachedChallenge): Promise<AccountState> {
    const account = accountCondition(player, 2);
    const [row] = await this.ctf.db.query<AccountState>(
      `SELECT EXISTS (SELECT 1 FROM ctf_solves WHERE challenge_id = $1 AND ${account}) AS solved,
              CASE WHEN $3 > 0 THEN (SELECT count(*)::int FROM ctf_submissions WHERE challenge_id = $1 AND ${account} AND type = 'incorrect') END AS fails,
              CASE WHEN cardinality($4::int[]) > 0
                   THEN (SELECT coalesce(array_agg(challenge_id), '{}') FROM ctf_solves WHERE ${account} AND challenge_id = ANY($4::int[])) END AS "solvedPrerequisites"`,
      [challenge.id, player.accountId, challenge.maxAttempts, challenge.prerequisites],
    );
    return row!;
  }

  private async evaluate(challenge: CachedChallenge, provided: string, player: Player): Promise<boolean> {
    for (const flag of challenge.flags) {
      const verifier = this.ctf.flagVerifiers.get(flag.type);
      if (!verifier) {
        // Refused at creation; can only happen if the plugin that provides the type was turned off.
        this.ctf.log.warn({ challenge: challenge.id, flag: flag.id, type: flag.type }, "flag of a type no plugin provides; ignored");
        continue;
      }
      if (await verifier.verify({ challengeId: challenge.id, flag, provided, player })) return true;
    }
    return false;
  }

  private rateKey(player: Player): string {
    return `ctf:wrong-answers:${player.accountType}:${player.accountId}`;
  }

  private rateRule(perWindow: number) {
    return { capacity: perWindow, refillPerSecond: perWindow / this.ctf.config.wrongAnswerWindowSeconds };
  }

  /** Peeks at the account's wrong-answer bucket (taking nothing): limited when not one whole token is left. */
  private async rateLimited(player: Player, perWindow: number): Promise<boolean> {
    const peek = await this.ctf.coordination.rateLimit(this.rateKey(player), this.rateRule(perWindow), 0);
    return peek.remaining < 1;
  }

  private async takeWrongAnswerToken(player: Player, perWindow: number): Promise<void> {
    await this.ctf.coordination.rateLimit(this.rateKey(player), this.rateRule(perWindow), 1);
  }

  private async record(ctx: Context, player: Player, challenge: CachedChallenge, provided: string, type: "incorrect" | "ratelimited"): Promise<void> {
    const [row] = await this.ctf.db.query<{ id: string; created_at: Date }>(
      `INSERT INTO ctf_submissions (challenge_id, user_id, team_id, provided, type, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, created_at`,
      [challenge.id, player.userId, player.accountType === "team" ? player.teamId : null, provided, type, ctx.ip, ctx.get("user-agent").slice(0, 512)],
    );
    const payload = { submissionId: Number(row!.id), challengeId: challenge.id, userId: player.userId, teamId: player.teamId, type, date: row!.created_at.toISOString() };
    this.ctf.emit("submission.created", payload);
    if (type === "incorrect") this.ctf.emit("submission.failed", payload);
  }

  /** Writes the submission and the solve; false when another request won the race for this account. */
  private async recordSolve(ctx: Context, player: Player, challenge: CachedChallenge, provided: string): Promise<boolean> {
    const teamId = player.accountType === "team" ? player.teamId : null;
    const params = [challenge.id, player.userId, teamId, provided, ctx.ip, ctx.get("user-agent").slice(0, 512)];
    const insert = `
      WITH submission AS (
        INSERT INTO ctf_submissions (challenge_id, user_id, team_id, provided, type, ip, user_agent)
        VALUES ($1, $2, $3, $4, 'correct', $5, $6) RETURNING id, created_at),
      solve AS (
        INSERT INTO ctf_solves (submission_id, challenge_id, user_id, team_id, created_at)
        SELECT id, $1, $2, $3, created_at FROM submission ON CONFLICT DO NOTHING RETURNING id)
      SELECT submission.id AS submission_id, submission.created_at, (SELECT id FROM solve) AS solve_id FROM submission`;

    return this.ctf.db.transaction(async (tx) => {
      const [row] = await txQuery<{ submission_id: string; created_at: Date; solve_id: string | null }>(tx, insert, params);
      const submissionId = Number(row!.submission_id);
      const date = row!.created_at.toISOString();
      if (row!.solve_id === null) {
        await txQuery(tx, `UPDATE ctf_submissions SET type = 'discard' WHERE id = $1`, [submissionId]);
        return false;
      }
      let value = challenge.value;
      if (challenge.type === "dynamic") {
        for (const change of await recomputeDynamicValues(tx, [challenge.id])) {
          value = change.value;
          this.ctf.emit("challenge.updated", { ...change, valueChanged: true, deleted: false, created: false });
        }
      }
      this.ctf.emit("submission.created", { submissionId, challengeId: challenge.id, userId: player.userId, teamId: player.teamId, type: "correct", date });
      this.ctf.emit("solve.created", {
        solveId: Number(row!.solve_id),
        submissionId,
        challengeId: challenge.id,
        userId: player.userId,
        teamId,
        accountType: player.accountType,
        accountId: player.accountId!,
        value,
        date,
      });
      return true;
    });
  }
}
