/** Runs one query; a migration's transaction (an EntityManager or QueryRunner) fits. */
export interface Queryable {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/**
 * What the current schema holds, per table: a fingerprint of its kind, columns (type, nullability, default),
 * constraints, indexes and triggers. Indexes, constraints and triggers count as part of the table they are on,
 * so `CREATE INDEX ctf_x ON kernel_jobs (...)` is a change to kernel_jobs. Sequences, views, standalone types
 * and functions count under their own names.
 */
export type CatalogSnapshot = Map<string, string>;

// pg_catalog rather than information_schema: it shows indexes and triggers, and reads the same on PGlite.
const CATALOG_SQL = `
  WITH s AS (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
  SELECT c.relname AS owner, 'relation ' || c.relkind::text AS part
    FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM s) AND c.relkind NOT IN ('i', 'I')
  UNION ALL
  SELECT c.relname, 'column ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE c.relnamespace = (SELECT oid FROM s) AND c.relkind NOT IN ('i', 'I') AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT c.relname, 'constraint ' || k.conname || ' ' || pg_get_constraintdef(k.oid)
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid WHERE c.relnamespace = (SELECT oid FROM s)
  UNION ALL
  SELECT c.relname, 'index ' || pg_get_indexdef(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = (SELECT oid FROM s)
  UNION ALL
  SELECT c.relname, 'trigger ' || pg_get_triggerdef(t.oid)
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = (SELECT oid FROM s) AND NOT t.tgisinternal
  UNION ALL
  SELECT t.typname, 'type ' || t.typtype::text
    FROM pg_type t WHERE t.typnamespace = (SELECT oid FROM s) AND t.typtype IN ('e', 'd', 'r')
  UNION ALL
  SELECT p.proname, 'function ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
    FROM pg_proc p WHERE p.pronamespace = (SELECT oid FROM s)`;

export async function catalogSnapshot(db: Queryable): Promise<CatalogSnapshot> {
  const rows = (await db.query(CATALOG_SQL)) as Array<{ owner: string; part: string }>;
  const parts = new Map<string, string[]>();
  for (const { owner, part } of rows) (parts.get(owner) ?? parts.set(owner, []).get(owner)!).push(part);
  return new Map([...parts].map(([owner, list]) => [owner, list.sort().join("\n")]));
}

/** Names whose objects were created, altered or dropped between two snapshots, sorted. */
export function changedNames(before: CatalogSnapshot, after: CatalogSnapshot): string[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names].filter((name) => before.get(name) !== after.get(name)).sort();
}
