import type { EntityManager } from "typeorm";
import type { AccountUpdated } from "../events.js";
import { recomputeDynamicValues } from "../game/dynamic-value.js";
import type { Ctf } from "../runtime.js";
import { txQuery } from "../sql.js";
import type { Query } from "./standings.js";

/** A Query bound to a transaction. */
export const inTx =
  (tx: EntityManager): Query =>
  (sql, params) =>
    txQuery(tx, sql, params);

/**
 * Recomputes the dynamic challenges an account change touches (a solver became hidden, banned, deleted...)
 * and emits `challenge.updated` for every value that moved. Call inside the writing transaction, after the change.
 */
export async function recomputeChallenges(tx: EntityManager, ctf: Ctf, challengeIds: number[]): Promise<void> {
  if (challengeIds.length === 0) return;
  for (const change of await recomputeDynamicValues(tx, challengeIds)) {
    ctf.emit("challenge.updated", {
      id: change.id,
      value: change.value,
      previousValue: change.previousValue,
      valueChanged: true,
      state: change.state,
      deleted: false,
      created: false,
    });
  }
}

/** Emits `account.updated` (inside the transaction) when something changed. */
export function emitAccountUpdated(ctf: Ctf, event: AccountUpdated): void {
  if (event.changes.length === 0) return;
  ctf.emit("account.updated", { ...event, affectedTeamIds: [...new Set(event.affectedTeamIds)] });
}
