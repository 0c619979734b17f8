import "reflect-metadata";
import { AsyncLocalStorage } from "node:async_hooks";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { DataSource, type EntityManager, type EntitySchema, type MixedList } from "typeorm";
import { embeddedDriver, embeddedSession } from "./embedded-pool.js";

export interface DatabaseOptions {
  databaseUrl?: string;
  databaseSchema: string;
  dataDir: string;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: MixedList<Function | string | EntitySchema>;
}

export interface Database {
  readonly dataSource: DataSource;
  readonly embedded: boolean;
  /** Runs fn in one transaction; on the embedded database, serialized process-wide (see embedded-pool.ts). */
  transaction<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T>;
  /**
   * Runs fn once the current transaction commits (dropped if it rolls back); immediately, on a later tick,
   * when called outside a transaction. Domain events use this so handlers never see uncommitted data.
   */
  afterCommit(fn: () => void): void;
  /**
   * A raw query outside any transaction; always answers the rows (also for UPDATE ... RETURNING).
   * `options.name` marks a statement that runs on hot paths: on Postgres it is prepared once per connection and
   * its plan reused (the name must always go with the same SQL).
   */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], options?: { name?: string }): Promise<T[]>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const embedded = !options.databaseUrl;
  let dataSource: DataSource;
  if (embedded) {
    const inMemory = options.dataDir === "memory:";
    const dir = inMemory ? undefined : resolve(options.dataDir, "pglite");
    if (dir) mkdirSync(dir, { recursive: true });
    dataSource = new DataSource({ type: "postgres", driver: embeddedDriver(dir), entities: options.entities, synchronize: false });
  } else {
    if (options.databaseSchema !== "public") await ensureSchema(options.databaseUrl!, options.databaseSchema);
    dataSource = new DataSource({
      type: "postgres",
      url: options.databaseUrl,
      schema: options.databaseSchema,
      entities: options.entities,
      synchronize: false,
      // Raw SQL (migrations, the scheduler's claims) must land in the same schema as the entities.
      extra: { options: `-c search_path=${options.databaseSchema}`, max: 20 },
    });
  }
  await dataSource.initialize();

  const pendingAfterCommit = new AsyncLocalStorage<Array<() => void>>();
  const runInTransaction = <T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> => {
    if (pendingAfterCommit.getStore()) return dataSource.transaction(fn); // nested: the outer one commits
    const callbacks: Array<() => void> = [];
    return pendingAfterCommit.run(callbacks, async () => {
      const result = await (embedded ? embeddedSession.run(() => dataSource.transaction(fn)) : dataSource.transaction(fn));
      // Leave the transaction's async context so callbacks that open new transactions start fresh ones.
      pendingAfterCommit.exit(() => setImmediate(() => callbacks.forEach((cb) => cb())));
      return result;
    });
  };

  return {
    dataSource,
    embedded,
    transaction: runInTransaction,
    afterCommit(fn) {
      const callbacks = pendingAfterCommit.getStore();
      if (callbacks) callbacks.push(fn);
      else pendingAfterCommit.exit(() => setImmediate(fn));
    },
    async query(sql, params, options) {
      if (!embedded) {
        // Straight to the driver's pool: no query runner per call, and named statements stay prepared.
        const pool = (dataSource.driver as unknown as { master: { query(config: object): Promise<{ rows: never[] }> } }).master;
        return (await pool.query({ text: sql, values: params, name: options?.name })).rows;
      }
      // Structured results: TypeORM otherwise answers UPDATE/DELETE ... RETURNING with [rows, count].
      const runner = dataSource.createQueryRunner();
      try {
        return (await runner.query(sql, params, true)).records;
      } finally {
        await runner.release();
      }
    },
    async ping() {
      try {
        await dataSource.query("SELECT 1");
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
    },
  };
}

async function ensureSchema(url: string, schema: string): Promise<void> {
  const bootstrap = new DataSource({ type: "postgres", url });
  await bootstrap.initialize();
  try {
    await bootstrap.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } finally {
    await bootstrap.destroy();
  }
}
