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
