import { setImmediate as nextTurn } from "node:timers/promises";
import type { EntityManager } from "typeorm";
import { txQuery } from "../sql.js";

/**
 * Rows per statement: a big export is a few thousand statements, and each stays short, which matters on the
 * embedded database: PGlite runs a statement on this thread, so one large insert would stall every request.
 */
const CHUNK = 100;

/**
 * Inserts many rows with one statement per chunk: the rows travel as one JSON parameter and
 * jsonb_to_recordset turns them into typed columns. `columns` maps each column to its SQL type; `select`
 * may replace a column's value with an expression over the record `r` (defaults, conversions).
 */
export async function insertRows(
  tx: EntityManager,
  table: string,
  columns: Record<string, string>,
  rows: Array<Record<string, unknown>>,
  select: Record<string, string> = {},
): Promise<void> {
  const names = Object.keys(columns);
  const record = names.map((name) => `"${name}" ${columns[name]}`).join(", ");
  const values = names.map((name) => select[name] ?? `r."${name}"`).join(", ");
  const sql = `INSERT INTO ${table} (${names.map((n) => `"${n}"`).join(", ")}) SELECT ${values} FROM jsonb_to_recordset($1::jsonb) AS r(${record})`;
  for (let start = 0; start < rows.length; start += CHUNK) {
    await txQuery(tx, sql, [JSON.stringify(rows.slice(start, start + CHUNK))]);
    // A statement answered by PGlite resolves without an I/O turn: give the event loop one between chunks.
    await nextTurn();
  }
}
