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

/** Solves that count toward decay: those of accounts that are neither hidden nor banned. */
const COUNTED_SOLVES = `
  SELECT count(*)::int AS n FROM ctf_solves s
    JOIN ctf_users u ON u.id = s.user_id
    LEFT JOIN ctf_teams t ON t.id = s.team_id
   WHERE s.challenge_id = $1 AND NOT u.hidden AND NOT u.banned AND NOT coalesce(t.hidden, false) AND NOT coalesce(t.banned, false)`;

export interface ValueChange {
  id: number;
  previousValue: number;
  value: number;
  state: "visible" | "hidden" | "locked";
}

/**
 * Recomputes the value of the given dynamic challenges inside the caller's transaction. Each challenge row is
 * locked first, so concurrent solves recompute one after another and the last one sees every committed solve.
 * The lock is FOR NO KEY UPDATE: the solve the transaction inserted already holds a KEY SHARE lock on the row
 * (its foreign key), and FOR UPDATE would wait for the other solvers' KEY SHARE locks while they wait for ours
 * (a deadlock under concurrent solves of one dynamic challenge).
 * Returns the challenges whose value changed (callers emit `challenge.updated` for them).
 */
export async function recomputeDynamicValues(tx: EntityManager, challengeIds: number[]): Promise<ValueChange[]> {
  const changes: ValueChange[] = [];
  for (const id of [...new Set(challengeIds)].sort((a, b) => a - b)) {
    const [row] = await txQuery<{ value: number; initial: number; minimum: number; decay: number; decay_function: "linear" | "logarithmic"; state: ValueChange["state"] }>(
      tx,
      `SELECT value, initial, minimum, decay, decay_function, state FROM ctf_challenges WHERE id = $1 AND type = 'dynamic' FOR NO KEY UPDATE`,
      [id],
    );
    if (!row) continue;
    const [{ n }] = (await txQuery<{ n: number }>(tx, COUNTED_SOLVES, [id])) as [{ n: number }];
    const value = dynamicValue({ initial: row.initial, minimum: row.minimum, decay: row.decay, function: row.decay_function }, n);
    if (value === row.value) continue;
    await txQuery(tx, `UPDATE ctf_challenges SET value = $2 WHERE id = $1`, [id, value]);
    changes.push({ id, previousValue: row.value, value, state: row.state });
  }
  return changes;
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
