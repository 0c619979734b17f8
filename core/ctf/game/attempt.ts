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

type Outcome = "prerequisites" | "locked" | "ratelimited" | "already_solved" | "correct" | "incorrect";

/**
 * One statement decides and writes an attempt: it reads the account's state (solved already? wrong answers on this
 * challenge, for max attempts; prerequisites solved? wrong answers in the rate-limit window), picks the outcome in
 * CTFd's order, writes the submission when the outcome records one, and inserts the solve for a correct answer,
 * where the partial unique index decides races. One round trip per attempt, atomic with its own checks.
 *
 * $1 challenge, $2 user, $3 team (team mode) or null, $4 provided, $5 ip, $6 user agent, $7 verdict
 * ('correct'|'incorrect'), $8 max attempts, $9 prerequisite ids, $10 wrong answers allowed per window,
 * $11 window seconds.
 */
function attemptStatement(account: string): string {
  return `
    WITH account_solves AS (
      SELECT challenge_id FROM ctf_solves WHERE ${account} AND (challenge_id = $1 OR challenge_id = ANY($9::int[]))
    ), state AS (
      SELECT EXISTS (SELECT 1 FROM account_solves WHERE challenge_id = $1) AS solved,
             CASE WHEN $8::int > 0 THEN (SELECT count(*)::int FROM ctf_submissions WHERE challenge_id = $1 AND ${account} AND type = 'incorrect') ELSE 0 END AS fails,
             NOT ($9::int[] <@ ARRAY(SELECT challenge_id FROM account_solves)) AS missing_prerequisites,
             (SELECT count(*)::int FROM ctf_submissions
               WHERE ${account} AND type = 'incorrect' AND created_at > now() - make_interval(secs => $11::float8)) AS recent_wrong
    ), decision AS (
      SELECT fails, CASE
               WHEN missing_prerequisites THEN 'prerequisites'
               WHEN $8::int > 0 AND fails >= $8::int AND NOT solved THEN 'locked'
               WHEN recent_wrong >= $10::int THEN 'ratelimited'
               WHEN solved THEN 'already_solved'
               ELSE $7::text END AS outcome
        FROM state
    ), submission AS (
      INSERT INTO ctf_submissions (challenge_id, user_id, team_id, provided, type, ip, user_agent)
      SELECT $1, $2, $3, $4, outcome, $5, $6 FROM decision WHERE outcome IN ('correct', 'incorrect', 'ratelimited')
      RETURNING id, type, created_at
    ), solve AS (
      INSERT INTO ctf_solves (submission_id, challenge_id, user_id, team_id, created_at)
      SELECT id, $1, $2, $3, created_at FROM submission WHERE type = 'correct'
      ON CONFLICT DO NOTHING RETURNING id
    )
    SELECT d.outcome, d.fails, s.id AS submission_id, s.created_at, (SELECT id FROM solve) AS solve_id
      FROM decision d LEFT JOIN submission s ON true`;
}

const USER_MODE_STATEMENT = attemptStatement("user_id = $2 AND team_id IS NULL");
const TEAM_MODE_STATEMENT = attemptStatement("team_id = $3");

interface AttemptRow {
  outcome: Outcome;
  fails: number;
  submission_id: string | null;
  created_at: Date | null;
  solve_id: string | null;
}

/**
 * POST /api/v1/challenges/attempt, in CTFd's order of checks: event window and pause, team, challenge state,
 * prerequisites, max attempts, the wrong-answer rate limit (a sliding window over the account's recent wrong
 * answers, counted in the same statement that writes, so every instance agrees), already solved, then the flag.
 * The flag is evaluated first, in memory, but its verdict is only revealed when every check passes.
 * Every answer that records a submission is given after the submission is committed.
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

    const correct = await this.evaluate(challenge, provided, player);
    if (evaluateOnly) return correct ? answer(200, "correct", "Correct") : answer(200, "incorrect", "Incorrect");

    const teamId = player.accountType === "team" ? player.teamId : null;
    const params = [
      challenge.id,
      player.userId,
      teamId,
      provided,
      ctx.ip,
      ctx.get("user-agent").slice(0, 512),
      correct ? "correct" : "incorrect",
      challenge.maxAttempts,
      player.admin ? [] : challenge.prerequisites,
      settings.incorrectSubmissionsPerMinute,
      ctf.config.wrongAnswerWindowSeconds,
    ];
    const statement = player.accountType === "team" ? TEAM_MODE_STATEMENT : USER_MODE_STATEMENT;
    const needsTransaction = correct && challenge.type === "dynamic";
    const row = needsTransaction
      ? await ctf.db.transaction(async (tx) => this.afterWrite((await txQuery<AttemptRow>(tx, statement, params))[0]!, player, challenge, teamId, tx))
      : await this.afterWrite((await ctf.db.query<AttemptRow>(statement, params, { name: `ctf-attempt-${player.accountType}` }))[0]!, player, challenge, teamId, null);

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
   * Follows up a written attempt: a correct submission that lost the race is kept as `discard`; a solve of a dynamic
   * challenge recomputes its value (inside the transaction, under the challenge's row lock); events are emitted.
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
    if (row.solve_id !== null) {
      let value = challenge.value;
      if (tx && challenge.type === "dynamic") {
        for (const change of await recomputeDynamicValues(tx, [challenge.id])) {
          value = change.value;
          this.ctf.emit("challenge.updated", { ...change, valueChanged: true, deleted: false, created: false });
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
      });
    }
    return row;
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
}
