import type { EntityManager } from "typeorm";
import { txQuery } from "../sql.js";

export interface DecaySettings {
  initial: number;
  minimum: number;
  decay: number;
  function: "linear" | "logarithmic";
}

/**
 * The value of a dynamic challenge after `solveCount` solves (CTFd's formulas): the first solver gets the
 * initial value, then it falls linearly by `decay` per solve, or along a parabola that reaches `minimum` after
 * `decay` solves; never below `minimum`.
 */
export function dynamicValue(s: DecaySettings, solveCount: number): number {
  const n = Math.max(0, solveCount - 1);
  const raw = s.function === "linear" ? s.initial - s.decay * n : ((s.minimum - s.initial) / Math.max(1, s.decay) ** 2) * n ** 2 + s.initial;
  return Math.max(s.minimum, Math.ceil(raw));
}

export interface ValueChange {
  id: number;
  previousValue: number;
  value: number;
  state: "visible" | "hidden" | "locked";
}

/** Whether a settled value differs from the value before (only then is `challenge.updated` emitted). */
export const valueMoved = (v: ValueChange): boolean => v.value !== v.previousValue;

/** Runs a statement in the caller's transaction, or on its own (autocommit). */
type Query = (sql: string, params: unknown[]) => Promise<Record<string, any>[]>;

/**
 * Each given dynamic challenge's value settled now, changed or not, in id order (so that callers locking several
 * rows take the locks in one order). `ctf_settle_dynamic_value` (migration 0004) locks the challenge's row, counts
 * the solves that count toward decay (not hidden or banned accounts) and writes the value, in one round trip.
 */
async function settle(query: Query, challengeIds: number[]): Promise<ValueChange[]> {
  const values: ValueChange[] = [];
  for (const id of [...new Set(challengeIds)].sort((a, b) => a - b)) {
    const [row] = await query(`SELECT previous_value, new_value, challenge_state FROM ctf_settle_dynamic_value($1)`, [id]);
    if (row) values.push({ id, previousValue: row.previous_value, value: row.new_value, state: row.challenge_state });
  }
  return values;
}

/**
 * Recomputes the value of the given dynamic challenges inside the caller's transaction, which then holds each
 * challenge's row lock until it ends, so concurrent writers recompute one after another and the last one sees every
 * committed solve. The lock is FOR NO KEY UPDATE: a solve inserted in the transaction already holds a KEY SHARE
 * lock on the row (its foreign key), and FOR UPDATE would wait for other solvers' KEY SHARE locks while they wait
 * for ours. Returns the challenges whose value changed (callers emit `challenge.updated` for them).
 */
export async function recomputeDynamicValues(tx: EntityManager, challengeIds: number[]): Promise<ValueChange[]> {
  return (await settle((sql, params) => txQuery(tx, sql, params), challengeIds)).filter(valueMoved);
}

/**
 * A dynamic challenge's value after a solve. Inside a transaction it behaves as recomputeDynamicValues. On its own
 * (after the solve committed) the statement holds the row lock only while it runs; of concurrent solvers the last to
 * get the lock still counts every solve. Another solver's call may already have moved the value, so the answer is
 * the value now, with the value before this call (equal when nothing moved). Null for a challenge that is not
 * dynamic (any more).
 */
export async function settleDynamicValue(query: Query, challengeId: number): Promise<ValueChange | null> {
  const [value] = await settle(query, [challengeId]);
  return value ?? null;
}

/**
 * Every dynamic challenge's value settled; returns those that moved. The read-models job runs it: a process that
 * died between a solve's commit and its settling left that challenge's value behind until its next solve.
 */
export async function settleEveryDynamicValue(query: Query): Promise<ValueChange[]> {
  const ids = (await query(`SELECT id FROM ctf_challenges WHERE type = 'dynamic'`, [])).map((row) => row.id as number);
  return (await settle(query, ids)).filter(valueMoved);
}

/** The dynamic challenges an account's solves touch (to recompute after it is hidden, banned or deleted). */
export async function dynamicChallengesSolvedBy(tx: EntityManager, account: { userId?: number; teamId?: number }): Promise<number[]> {
  const rows = await txQuery<{ id: number }>(
    tx,
    `SELECT DISTINCT s.challenge_id AS id FROM ctf_solves s JOIN ctf_challenges c ON c.id = s.challenge_id
      WHERE c.type = 'dynamic' AND (s.user_id = $1 OR s.team_id = $2)`,
    [account.userId ?? null, account.teamId ?? null],
  );
  return rows.map((r) => r.id);
}
