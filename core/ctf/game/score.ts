import type { EntityManager } from "typeorm";
import type { Player } from "../service.js";
import { txQuery } from "../sql.js";
import { accountCondition } from "./attempt.js";

/**
 * The account's whole score, post-freeze points included (what a player may spend on hints): the current value
 * of every challenge it solved plus its awards (hint costs are negative awards).
 */
export async function accountScore(tx: EntityManager, player: Player): Promise<number> {
  const [row] = await txQuery<{ score: number }>(
    tx,
    `SELECT (SELECT coalesce(sum(c.value), 0) FROM ctf_solves s JOIN ctf_challenges c ON c.id = s.challenge_id WHERE ${accountCondition(player, 1, "s")})
          + (SELECT coalesce(sum(value), 0) FROM ctf_awards WHERE ${accountCondition(player, 1)}) AS score`,
    [player.accountId],
  );
  return Number(row!.score);
}

/**
 * Serializes, until the transaction ends, every change of one account's points that depends on its current total
 * (hint unlocks spend it, awards are bounded by it), on every instance: the attempt pipeline's advisory-lock pattern.
 * `account` is the scoring account: the team in team mode, else the user.
 */
export async function lockAccountPoints(tx: EntityManager, account: { type: "user" | "team"; id: number }): Promise<void> {
  await txQuery(tx, `SELECT pg_advisory_xact_lock(hashtext('ctf-points'), hashtext($1))`, [`${account.type}:${account.id}`]);
}
