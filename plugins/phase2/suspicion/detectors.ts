import type { SubmissionFact } from "../../../core/ctf/service.js";
import type { Phase2Config } from "../config.js";

export type Pattern = "shared_wrong_answer" | "same_address_solve" | "flag_reused";
export type Risk = "LOW" | "MEDIUM" | "HIGH";

/** A finding before it is stored: one pattern, one challenge, one pair of accounts (low < high). */
export interface FindingDraft {
  pattern: Pattern;
  challengeId: number;
  accounts: [number, number];
  confidence: number;
  evidence: Record<string, unknown>;
}

/** A submission with the account it counts for (the team in team mode). */
export interface AccountSubmission extends SubmissionFact {
  accountId: number;
}

/** What the detectors need besides the submissions: salted hashing, and whose user agent may be kept. */
export interface DetectorContext {
  config: Pick<Phase2Config, "weights" | "minWrongAnswerLength" | "closeSeconds" | "sameAddressSeconds" | "quickSeconds">;
  hashAddress(address: string): string;
  consented(userId: number): boolean;
}

/** HIGH ≥ 0.75, MEDIUM ≥ 0.5, LOW below. */
export function riskOf(confidence: number): Risk {
  if (confidence >= 0.75) return "HIGH";
  if (confidence >= 0.5) return "MEDIUM";
  return "LOW";
}

/** More accounts than this on one wrong answer make it a common guess, not a shared one. */
export const COMMON_GUESS_ACCOUNTS = 10;
/**
 * More accounts than this solving one challenge from one address in the window make it a shared network (a
 * campus NAT, a proxy), not evidence; it also keeps the pairs per group bounded (at most 45).
 */
export const SHARED_NETWORK_ACCOUNTS = 10;

const clamp = (n: number) => Math.round(Math.min(1, Math.max(0, n)) * 1000) / 1000;
const iso = (ms: number) => new Date(ms).toISOString();

/** Each account's earliest submission of a group, by account. */
function firstPerAccount(rows: AccountSubmission[]): Map<number, AccountSubmission> {
  const first = new Map<number, AccountSubmission>();
  for (const row of rows) {
    const seen = first.get(row.accountId);
    if (!seen || row.at < seen.at) first.set(row.accountId, row);
  }
  return first;
}

/** Every pair of a group's accounts, low id first. */
function* pairs(first: Map<number, AccountSubmission>): Generator<[AccountSubmission, AccountSubmission]> {
  const sorted = [...first.values()].sort((a, b) => a.accountId - b.accountId);
  for (let i = 0; i < sorted.length; i++) for (let j = i + 1; j < sorted.length; j++) yield [sorted[i]!, sorted[j]!];
}

function groupBy<T>(rows: T[], key: (row: T) => string | null): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    if (k === null) continue;
    const group = groups.get(k);
    if (group) group.push(row);
    else groups.set(k, [row]);
  }
  return groups;
}

/**
 * The same wrong answer from different accounts on one challenge within the window. A trivial answer (shorter than
 * `minWrongAnswerLength` after trimming) and a common guess (more than COMMON_GUESS_ACCOUNTS accounts) are no evidence.
 */
export function sharedWrongAnswers(submissions: AccountSubmission[], ctx: DetectorContext): FindingDraft[] {
  const { weights, minWrongAnswerLength, closeSeconds } = ctx.config;
  const wrong = submissions.filter((s) => s.type === "incorrect");
  const groups = groupBy(wrong, (s) => (!s.wrongAnswer || s.wrongAnswer.length < minWrongAnswerLength ? null : `${s.challengeId}:${s.wrongAnswer.digest}`));
  const drafts: FindingDraft[] = [];
  for (const group of groups.values()) {
    const first = firstPerAccount(group);
    if (first.size < 2 || first.size > COMMON_GUESS_ACCOUNTS) continue;
    for (const [a, b] of pairs(first)) {
      const gapSeconds = Math.abs(a.at - b.at) / 1000;
      const confidence = weights.sharedWrongAnswer + (gapSeconds <= closeSeconds ? weights.sharedWrongAnswerClose : 0) + weights.sharedWrongAnswerPerExtraAccount * (first.size - 2);
      drafts.push({
        pattern: "shared_wrong_answer",
        challengeId: a.challengeId,
        accounts: [a.accountId, b.accountId],
        confidence: clamp(confidence),
        evidence: {
          // core/ctf hands out no answer text: a digest to compare findings by, and the length.
          answer_digest: a.wrongAnswer!.digest.slice(0, 16),
          answer_length: a.wrongAnswer!.length,
          accounts_sharing: first.size,
          gap_seconds: gapSeconds,
          submissions: [a, b].map((s) => ({ id: s.id, account_id: s.accountId, user_id: s.userId, date: iso(s.at) })),
        },
      });
    }
  }
  return drafts;
}

/**
 * Different accounts solving one challenge from the same client address within `sameAddressSeconds`; an address
 * more than SHARED_NETWORK_ACCOUNTS accounts solved from is a shared network and no evidence.
 */
export function sameAddressSolves(submissions: AccountSubmission[], ctx: DetectorContext): FindingDraft[] {
  const { weights, sameAddressSeconds, quickSeconds } = ctx.config;
  const correct = submissions.filter((s) => s.type === "correct" && s.ip);
  const groups = groupBy(correct, (s) => `${s.challengeId}\u0000${s.ip}`);
  const drafts: FindingDraft[] = [];
  for (const group of groups.values()) {
    const first = firstPerAccount(group);
    if (first.size < 2 || first.size > SHARED_NETWORK_ACCOUNTS) continue;
    for (const [a, b] of pairs(first)) {
      const gapSeconds = Math.abs(a.at - b.at) / 1000;
      if (gapSeconds > sameAddressSeconds) continue;
      const confidence = weights.sameAddressSolve + (gapSeconds <= quickSeconds ? weights.sameAddressSolveQuick : 0);
      drafts.push({
        pattern: "same_address_solve",
        challengeId: a.challengeId,
        accounts: [a.accountId, b.accountId],
        confidence: clamp(confidence),
        evidence: {
          address_hash: ctx.hashAddress(a.ip!),
          gap_seconds: gapSeconds,
          submissions: [a, b].map((s) => ({
            id: s.id,
            account_id: s.accountId,
            user_id: s.userId,
            date: iso(s.at),
            // Only for users who opted in (PUT /api/v1/phase2/consent).
            ...(ctx.consented(s.userId) && s.userAgent ? { user_agent: s.userAgent.slice(0, 300) } : {}),
          })),
        },
      });
    }
  }
  return drafts;
}

/** whale's `flag.reused`: an account submitted another account's dynamic flag. Certain. */
export function flagReused(event: { challengeId: number; submitterAccountId: number; submitterUserId: number; ownerAccountId: number; date: string }, ctx: DetectorContext): FindingDraft | null {
  const { submitterAccountId: submitter, ownerAccountId: owner } = event;
  if (submitter === owner) return null;
  return {
    pattern: "flag_reused",
    challengeId: event.challengeId,
    accounts: submitter < owner ? [submitter, owner] : [owner, submitter],
    confidence: clamp(ctx.config.weights.flagReused),
    evidence: { submitter_account_id: submitter, submitter_user_id: event.submitterUserId, owner_account_id: owner, date: event.date },
  };
}
