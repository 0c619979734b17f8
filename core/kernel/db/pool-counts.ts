import pg from "pg";
import { PostgresDriver } from "typeorm/driver/postgres/PostgresDriver.js";
import type { Database } from "./data-source.js";

export interface PoolCounts {
  inUse: number;
  idle: number;
  /** Queries waiting for a free connection. */
  waiting: number;
}

/**
 * The database connections in use, idle and waited for. On Postgres these are pg.Pool's public counters,
 * reached through TypeORM's public `PostgresDriver.master` (the pool of the primary). The embedded database is
 * one PGlite session that is always open, so it reports one connection in use.
 */
export function poolCounts(database: Database): PoolCounts {
  const driver = database.dataSource.driver;
  if (!database.embedded && driver instanceof PostgresDriver && driver.master instanceof pg.Pool) {
    const pool = driver.master;
    return { inUse: pool.totalCount - pool.idleCount, idle: pool.idleCount, waiting: pool.waitingCount };
  }
  return { inUse: 1, idle: 0, waiting: 0 };
}
