import type { QueryRunner } from "typeorm";
import { catalogSnapshot, changedNames, type CatalogSnapshot } from "./catalog.js";
import type { Database } from "./data-source.js";

/**
 * A migration is plain SQL run through a query runner. Migrations are recorded per owner
 * (`kernel` or a plugin id) and run in the order given; an applied id never runs again.
 */
export interface Migration {
  id: string;
  up(queryRunner: QueryRunner): Promise<void>;
}

export interface MigrationSet {
  owner: string;
  /** The only tables (and their indexes, constraints, sequences...) these migrations may touch; null: none. */
  tablePrefix: string | null;
  migrations: Migration[];
}

/** An arbitrary but fixed key: every instance of a cluster contends for the same advisory lock. */
const MIGRATION_LOCK_KEY = 7_261_001;

/**
 * Applies pending migrations of every set, under a Postgres advisory lock so that several instances starting
 * together migrate once. Each migration runs in its own transaction, which also compares the schema's catalog
 * before and after it: a migration that created, altered or dropped anything outside its set's tablePrefix is
 * rolled back and fails. Returns the failures by owner: a failing plugin must not stop the kernel or the others.
 */
export async function runMigrations(db: Database, sets: MigrationSet[]): Promise<{ applied: string[]; failed: Map<string, Error> }> {
  const runner = db.dataSource.createQueryRunner();
  const applied: string[] = [];
  const failed = new Map<string, Error>();
  await runner.connect();
  try {
    await runner.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    try {
      await runner.query(
        `CREATE TABLE IF NOT EXISTS kernel_migrations (
           owner text NOT NULL, id text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(),
           PRIMARY KEY (owner, id))`,
      );
      // Only migrations change the catalog while the lock is held, so the state after one is the state before the
      // next (a failed one rolls back to the snapshot before it).
      let catalog: CatalogSnapshot | null = null;
      for (const set of sets) {
        const done = new Set<string>(
          (await runner.query("SELECT id FROM kernel_migrations WHERE owner = $1", [set.owner])).map((r: { id: string }) => r.id),
        );
        for (const migration of set.migrations) {
          if (done.has(migration.id)) continue;
          try {
            catalog = await db.transaction(async (manager) => {
              const before = catalog ?? (await catalogSnapshot(manager));
              await migration.up(manager.queryRunner!);
              const after = await catalogSnapshot(manager);
              const foreign = changedNames(before, after).filter((name) => !set.tablePrefix || !name.startsWith(set.tablePrefix));
              if (foreign.length > 0) throw new Error(outsidePrefix(set, foreign));
              await manager.query("INSERT INTO kernel_migrations (owner, id) VALUES ($1, $2)", [set.owner, migration.id]);
              return after;
            });
            applied.push(`${set.owner}/${migration.id}`);
          } catch (error) {
            failed.set(set.owner, new Error(`migration ${migration.id} failed: ${(error as Error).message}`, { cause: error }));
            break;
          }
        }
      }
    } finally {
      await runner.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
  return { applied, failed };
}

function outsidePrefix(set: MigrationSet, names: string[]): string {
  const list = names.map((name) => `"${name}"`).join(", ");
  return set.tablePrefix
    ? `it changed ${list}, outside the table prefix "${set.tablePrefix}" of "${set.owner}" (rolled back)`
    : `it changed ${list}, but "${set.owner}" declares no capabilities.tablePrefix (rolled back)`;
}
