import type { EntityManager } from "typeorm";
import type { AccountUpdated } from "../events.js";
import { recomputeDynamicValues, type ValueChange } from "../game/dynamic-value.js";
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
  emitValueChanges(ctf, await recomputeDynamicValues(tx, challengeIds));
}

/** `challenge.updated` for each dynamic value that moved while nothing else about the challenge changed. */
export function emitValueChanges(ctf: Ctf, changes: ValueChange[]): void {
  for (const change of changes) {
    ctf.emit("challenge.updated", {
      id: change.id,
      value: change.value,
      previousValue: change.previousValue,
      valueChanged: true,
      state: change.state,
      deleted: false,
      created: false,
      valueOnly: true,
    });
  }
}

/** Columns whose change account.updated names on its own; any other column that changed is a `profile` change. */
const NAMED_COLUMNS: Record<string, AccountUpdated["changes"][number]> = { name: "name", hidden: "hidden", banned: "banned", bracket_id: "bracket", role: "role" };
/** Columns that no profile shows (a change there is not a `profile` change). */
const UNSHOWN_COLUMNS = new Set(["password_hash", "invite_secret", "updated_at"]);

/** What changed between two versions of an account row, as account.updated names it. */
export function rowChanges<Row extends object>(before: Row, after: Row): AccountUpdated["changes"] {
  const changes = new Set<AccountUpdated["changes"][number]>();
  for (const [column, value] of Object.entries(after)) {
    if (sameValue((before as Record<string, unknown>)[column], value) || UNSHOWN_COLUMNS.has(column)) continue;
    changes.add(NAMED_COLUMNS[column] ?? "profile");
  }
  return [...changes];
}

const sameValue = (a: unknown, b: unknown) => (a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b);

/** Emits `account.updated` (inside the transaction) when something changed. */
export function emitAccountUpdated(ctf: Ctf, event: AccountUpdated): void {
  if (event.changes.length === 0) return;
  ctf.emit("account.updated", { ...event, affectedTeamIds: [...new Set(event.affectedTeamIds)] });
}
