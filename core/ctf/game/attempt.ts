import type { Context } from "koa";
import { HttpError, notFound } from "../../kernel/errors.js";
import type { Ctf } from "../runtime.js";
import type { Player } from "../service.js";
import { eventPhase } from "../settings.js";
import { txQuery } from "../sql.js";
import type { CachedChallenge } from "./challenge-cache.js";
import { AttemptWriter, type AttemptInput, type AttemptRow } from "./attempt-writer.js";
import { emitValueChanges } from "../accounts/changes.js";
import { settleDynamicValue, valueMoved } from "./dynamic-value.js";

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

/**
 * POST /api/v1/challenges/attempt, in CTFd's order of checks: event window and pause, team, challenge state,
 * prerequisites, max attempts, the wrong-answer rate limit (a sliding window over the account's recent wrong
 * answers, counted in the same statement that writes, so every instance agrees), already solved, then the flag.
 * The flag is evaluated first, in memory, but its verdict is only revealed when every check passes.
 * Every answer that records a submission is given after the submission is committed.
 */
export class AttemptPipeline {
  private readonly writer: AttemptWriter;

  constructor(private readonly ctf: Ctf) {
    this.writer = new AttemptWriter(ctf.db, ctf.log);
  }

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

    const correct = await this.evaluate(challenge, provided, player);
    if (evaluateOnly) return correct ? answer(200, "correct", "Correct") : answer(200, "incorrect", "Incorrect");

    const teamId = player.accountType === "team" ? player.teamId : null;
    const input: AttemptInput = {
      challengeId: challenge.id,
      userId: player.userId,
      teamId,
      provided,
      ip: ctx.ip,
      userAgent: ctx.get("user-agent").slice(0, 512),
      verdict: correct ? "correct" : "incorrect",
      maxAttempts: challenge.maxAttempts,
      prerequisites: player.admin ? [] : challenge.prerequisites,
      wrongAnswersPerWindow: settings.incorrectSubmissionsPerMinute,
      windowSeconds: ctf.config.wrongAnswerWindowSeconds,
    };
    const row = await this.write(input, player, challenge, teamId);

    switch (row.outcome) {
      case "prerequisites":
        throw new HttpError(403, "You have not solved the prerequisites of this challenge");
      case "locked":
        return answer(403, "ratelimited", "Not accepted. You have 0 tries remaining");
      case "ratelimited":
        return answer(429, "ratelimited", `You're submitting flags too fast. Try again in ${ctf.config.wrongAnswerWindowSeconds} seconds.`);
      case "already_solved":
        return answer(200, "already_solved", correct ? "Correct but you already solved this" : "Incorrect but you already solved this");
      case "incorrect": {
        if (challenge.maxAttempts === 0) return answer(200, "incorrect", "Incorrect");
        const left = Math.max(0, challenge.maxAttempts - row.fails - 1);
        return answer(200, "incorrect", `Incorrect. You have ${left} ${left === 1 ? "try" : "tries"} remaining.`);
      }
      case "correct":
        // A concurrent request of the same account won the race for the solve.
        return row.solve_id === null ? answer(200, "already_solved", "Correct but you already solved this") : answer(200, "correct", "Correct");
    }
  }

  /**
   * Most attempts are written in shared batches, correct answers to dynamic challenges included (their value is
   * settled after the solve commits, see afterWrite). Attempts on a challenge with a maximum number of attempts run
   * alone in a transaction: an advisory lock per account and challenge makes that maximum exact under concurrent
   * requests, where CTFd answers "Another submission is already being processed".
   */
  private async write(input: AttemptInput, player: Player, challenge: CachedChallenge, teamId: number | null): Promise<AttemptRow> {
    const mode = player.accountType;
    if (challenge.maxAttempts === 0) return this.afterWrite(await this.writer.write(mode, input), player, challenge, teamId, null);
    return this.ctf.db.transaction(async (tx) => {
      await txQuery(tx, `SELECT pg_advisory_xact_lock(hashtext('ctf-attempt'), hashtext($1))`, [`${challenge.id}:${mode}:${player.accountId}`]);
      const { sql, params } = AttemptWriter.single(mode, input);
      return this.afterWrite((await txQuery<AttemptRow>(tx, sql, params))[0]!, player, challenge, teamId, tx);
    });
  }

  /**
   * Follows up a written attempt: a correct submission that lost the race is kept as `discard`; a solve of a dynamic
   * challenge settles its value (inside the transaction when there is one, else in a statement of its own after the
   * solve committed); events are emitted.
   */
  private async afterWrite(row: AttemptRow, player: Player, challenge: CachedChallenge, teamId: number | null, tx: Parameters<typeof txQuery>[0] | null): Promise<AttemptRow> {
    if (row.submission_id === null) return row;
    const submissionId = Number(row.submission_id);
    const date = row.created_at!.toISOString();
    const query = (sql: string, params: unknown[]) => (tx ? txQuery(tx, sql, params) : this.ctf.db.query(sql, params));
    if (row.outcome === "correct" && row.solve_id === null) {
      await query(`UPDATE ctf_submissions SET type = 'discard' WHERE id = $1`, [submissionId]);
      return row;
    }
    const type = row.outcome as "correct" | "incorrect" | "ratelimited";
    const submission = { submissionId, challengeId: challenge.id, userId: player.userId, teamId: player.teamId, type, date };
    this.ctf.emit("submission.created", submission);
    if (type === "incorrect") this.ctf.emit("submission.failed", submission);
    // Attempts shown on the challenge's detail view (player-progress.ts), on every instance.
    if (type !== "ratelimited") {
      this.ctf.emit("attempt.counted", { accountType: player.accountType, accountId: player.accountId!, challengeId: challenge.id, at: Number(row.at_ms) });
    }
    if (row.solve_id !== null) {
      let value = challenge.value;
      if (challenge.type === "dynamic") {
        const settled = await settleDynamicValue(query, challenge.id);
        if (settled) {
          value = settled.value;
          emitValueChanges(this.ctf, [settled].filter(valueMoved));
        }
      }
      this.ctf.emit("solve.created", {
        solveId: Number(row.solve_id),
        submissionId,
        challengeId: challenge.id,
        userId: player.userId,
        teamId,
        accountType: player.accountType,
        accountId: player.accountId!,
        value,
        date,
        at: Number(row.at_ms),
      });
    }
    return row;
  }

  private async evaluate(challenge: CachedChallenge, provided: string, player: Player): Promise<boolean> {
    // A type's own flags (never stored) carry id 0.
    const implicit = this.ctf.challengeTypes.get(challenge.type)?.implicitFlags?.(challenge.typeSettings) ?? [];
    for (const flag of [...challenge.flags, ...implicit.map((f) => ({ ...f, id: 0 }))]) {
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
}
