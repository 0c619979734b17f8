import "reflect-metadata";
import { AsyncLocalStorage } from "node:async_hooks";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { DataSource, type DataSourceOptions, type EntityManager, type EntitySchema, type MixedList } from "typeorm";
import { embeddedDriver, runOnSession, SessionMutex } from "./embedded-pool.js";

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type EntityList = MixedList<Function | string | EntitySchema>;

export interface DatabaseOptions {
  databaseUrl?: string;
  databaseSchema: string;
  dataDir: string;
  /** Connections per Postgres pool; a process opens up to two pools (TypeORM's and the raw one). */
  poolSize: number;
  /** How long a query waits for a connection before failing (Postgres only); see `database.connectTimeoutMs`. */
  connectTimeoutMs?: number;
  entities: EntityList;
}

export interface Database {
  /** TypeORM, for repositories and the query builder. A reload replaces it: read it when needed, do not keep it. */
  readonly dataSource: DataSource;
  readonly embedded: boolean;
  /** Runs fn in one transaction; on the embedded database, serialized process-wide (see SessionMutex). */
  transaction<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T>;
  /**
   * Runs fn in a microtask once the current transaction commits (never, if it rolls back), or in the next microtask
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

/** The kernel's handle: a Database that can take a new entity list when plugins reload. */
export interface KernelDatabase extends Database {
  /**
   * Connections of the raw pool behind `query` (the hot paths), in use, idle and waited for (for /metrics).
   * TypeORM's own pool is not counted: its driver does not expose it in its public API.
   */
  connections(): PoolCounts;
  /** Swaps in a DataSource with these entities over the same connections; an in-memory database keeps its data. */
  useEntities(entities: EntityList): Promise<void>;
}

/** Where raw queries go: one statement, its rows. */
type RawQuery = (sql: string, params: unknown[] | undefined, name: string | undefined) => Promise<unknown[]>;

/**
 * Opens the database. TypeORM's DataSource serves repositories, the query builder, transactions and migrations;
 * `query` (the hot paths: attempts, scheduler claims, reads) skips it for a pool of our own (Postgres) or the
 * session itself (embedded), so it costs no query runner and named statements stay prepared per connection.
 */
export async function openDatabase(options: DatabaseOptions): Promise<KernelDatabase> {
  const backend = options.databaseUrl ? await openPostgres(options.databaseUrl, options) : await openEmbedded(options.dataDir);
  const dataSourceFor = async (entities: EntityList) => {
    const dataSource = new DataSource({ ...backend.dataSourceOptions, entities, synchronize: false });
    return dataSource.initialize();
  };
  let dataSource = await dataSourceFor(options.entities);
  const embedded = backend.session !== undefined;
  const serialized = <T>(fn: () => Promise<T>): Promise<T> => (backend.session ? backend.session.run(fn) : fn());

  const pendingAfterCommit = new AsyncLocalStorage<Array<() => void>>();
  const runInTransaction = <T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> => {
    if (pendingAfterCommit.getStore()) return dataSource.transaction(fn); // nested: the outer one commits
    const callbacks: Array<() => void> = [];
    return pendingAfterCommit.run(callbacks, async () => {
      const result = await serialized(() => dataSource.transaction(fn));
      // Leave the transaction's async context so callbacks that open new transactions start fresh ones. A microtask,
      // not setImmediate: under load the rest of a turn is many milliseconds of other requests, and a request that
      // waits for its events (answerAfterLocalReads) would wait that long for nothing.
      pendingAfterCommit.exit(() => queueMicrotask(() => callbacks.forEach((cb) => cb())));
      return result;
    });
  };

  return {
    get dataSource() {
      return dataSource;
    },
    embedded,
    transaction: runInTransaction,
    afterCommit(fn) {
      const callbacks = pendingAfterCommit.getStore();
      if (callbacks) callbacks.push(fn);
      else pendingAfterCommit.exit(() => queueMicrotask(fn));
    },
    query: <T>(sql: string, params?: unknown[], queryOptions?: { name?: string }) => backend.query(sql, params, queryOptions?.name) as Promise<T[]>,
    async ping() {
      try {
        await backend.query("SELECT 1", undefined, undefined);
        return true;
      } catch {
        return false;
      }
    },
    async useEntities(entities) {
      const previous = dataSource;
      dataSource = await dataSourceFor(entities);
      await previous.destroy();
    },
    connections: () => backend.connections(),
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await backend.close();
    },
  };
}

export interface PoolCounts {
  inUse: number;
  idle: number;
  /** Queries waiting for a free connection. */
  waiting: number;
}

/** pg.Pool's public counters. */
function countsOf(pool: pg.Pool): PoolCounts {
  return { inUse: pool.totalCount - pool.idleCount, idle: pool.idleCount, waiting: pool.waitingCount };
}

interface Backend {
  /** Everything of the DataSource's options but its entities. */
  dataSourceOptions: Omit<Extract<DataSourceOptions, { type: "postgres" }>, "entities">;
  query: RawQuery;
  /** The raw pool's public counters (TypeORM's pool is added by the caller); the embedded session is one connection. */
  connections(): PoolCounts;
  /** The embedded session's mutex; undefined on Postgres, whose connections are separate sessions. */
  session?: SessionMutex;
  close(): Promise<void>;
}

/**
 * Postgres: TypeORM's pool and a raw pool, each up to `poolSize` connections (10 + 10 by default), both with the
 * schema on the search_path so raw SQL (migrations, the scheduler's claims) lands where the entities live.
 */
async function openPostgres(url: string, options: DatabaseOptions): Promise<Backend> {
  // The connect timeout bounds opening a connection, so with Postgres gone a query fails within it (a 503,
  // errors-middleware.ts) instead of hanging, and the pools reconnect on the next query. It is set on the client,
  // not the pool: pg-pool would also apply it to a query waiting for a busy pool, turning a burst of load into 503s.
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  class BoundedConnectClient extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super({ ...(typeof config === "string" ? { connectionString: config } : config), connectionTimeoutMillis: connectTimeoutMs });
    }
  }
  const connection = { options: `-c search_path=${options.databaseSchema}`, Client: BoundedConnectClient };
  const raw = new pg.Pool({ connectionString: url, max: options.poolSize, ...connection });
  // An idle connection that drops (a Postgres restart) must not crash the process; the next query reconnects.
  raw.on("error", () => undefined);
  try {
    if (options.databaseSchema !== "public") await raw.query(`CREATE SCHEMA IF NOT EXISTS "${options.databaseSchema}"`);
  } catch (error) {
    await raw.end();
    throw error;
  }
  return {
    dataSourceOptions: { type: "postgres", url, schema: options.databaseSchema, poolSize: options.poolSize, extra: connection },
    query: async (sql, params, name) => (await raw.query({ text: sql, values: params, name })).rows,
    connections: () => countsOf(raw),
    close: () => raw.end(),
  };
}

/**
 * Embedded: one PGlite (a folder, or memory) owned here, so it outlives a reload's DataSource and each database
 * is its own (typeorm-pglite keeps one per process). Statement names are a Postgres connection's cache; PGlite
 * has no pool to keep them on, so they are ignored.
 */
async function openEmbedded(dataDir: string): Promise<Backend> {
  const folder = dataDir === "memory:" ? undefined : resolve(dataDir, "pglite");
  if (folder) mkdirSync(folder, { recursive: true });
  const pglite = await PGlite.create(folder);
  const session = new SessionMutex();
  return {
    dataSourceOptions: { type: "postgres", driver: embeddedDriver(pglite, session) },
    query: async (sql, params) => (await runOnSession(pglite, session, sql, params)).rows,
    connections: () => ({ inUse: 1, idle: 0, waiting: 0 }),
    session,
    close: () => pglite.close(),
  };
}
