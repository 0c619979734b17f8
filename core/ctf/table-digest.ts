import type { Database } from "../kernel/db/data-source.js";

/**
 * A cheap fingerprint of a table's rows that SQL and memory compute alike. The read models' consistency checks compare
 * fingerprints first and load a table whole only when they differ: a full load of 200,000 solves costs an instance a
 * few hundred ms of its event loop and a major garbage collection, a fingerprint costs the database one scan and the
 * instance one loop over its maps.
 *
 * Each row's whole-number fields are mixed, in order, into one number below a prime (so two rows trading values
 * change it), and the mixes are summed (so the order of a map does not matter). Text is not in it: a model that shows
 * text compares that separately. The sum stays below 2^53 up to four million rows, exact in both places.
 */
export interface TableDigest {
  rows: number;
  sum: number;
}

const PRIME = 2_147_483_647;
const FACTOR = 7919;

/** One row's mix. Both % here truncate toward zero, as Postgres's does, so negative values (awards) agree too. */
export function rowMix(fields: readonly number[]): number {
  let mix = 0;
  for (const field of fields) mix = (mix * FACTOR + (field % PRIME)) % PRIME;
  return mix;
}

/** The fingerprint of rows in memory; `fields` gives a row's whole numbers in the order the SQL side lists them. */
export function digestOf<T>(rows: Iterable<T>, fields: (row: T) => readonly number[]): TableDigest {
  let count = 0;
  let sum = 0;
  for (const row of rows) {
    count++;
    sum += rowMix(fields(row));
  }
  return { rows: count, sum };
}

/**
 * The same fingerprint computed by the database. `fields` are SQL expressions of whole numbers (`coalesce(team_id, 0)`
 * for a nullable id, `hidden::int` for a flag), in the order the memory side lists them; `table` and `where` are
 * fixed text of the caller's, never input.
 */
export async function digestInDatabase(db: Database, table: string, fields: readonly string[], where = "true"): Promise<TableDigest> {
  const mix = fields.reduce((acc, field) => `((${acc}) * ${FACTOR} + ((${field})::bigint % ${PRIME})) % ${PRIME}`, "0::bigint");
  const [row] = await db.query<{ rows: number; sum: string }>(`SELECT count(*)::int AS rows, coalesce(sum(${mix}), 0)::text AS sum FROM ${table} WHERE ${where}`);
  return { rows: row!.rows, sum: Number(row!.sum) };
}

export const sameDigest = (a: TableDigest, b: TableDigest): boolean => a.rows === b.rows && a.sum === b.sum;

/**
 * How a read model's consistency check uses fingerprints (core/ctf's solve index, the scoreboard): a full load only
 * when they differ or when the last whole comparison is `fullLoadEveryMs` old (a fingerprint sees a lost event, a
 * whole comparison also sees a fault in the model's own bookkeeping); fingerprints taken while a change is on its
 * way (committed, its event not applied yet) differ, so a comparison is tried `tries` times, `retryMs` apart.
 */
export const FINGERPRINT_CHECK = { fullLoadEveryMs: 60 * 60 * 1000, tries: 3, retryMs: 250 } as const;

/**
 * Whether one try of `compare` answers true within FINGERPRINT_CHECK.tries. A try reads the database's fingerprints
 * and compares them with the model between two of its whole changes, answering false if a change was applied
 * while it read.
 */
export async function fingerprintsAgree(compare: () => Promise<boolean>): Promise<boolean> {
  for (let attempt = 0; attempt < FINGERPRINT_CHECK.tries; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, FINGERPRINT_CHECK.retryMs));
    if (await compare()) return true;
  }
  return false;
}
