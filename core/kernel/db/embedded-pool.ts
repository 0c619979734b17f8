import { AsyncLocalStorage } from "node:async_hooks";
import { EventEmitter } from "node:events";
import type { PGlite } from "@electric-sql/pglite";

/**
 * PGlite is ONE session. Two transactions that interleave would share it and corrupt each other, and a plain
 * query issued while a transaction is open would join it. So each embedded database has a mutex: a transaction
 * holds it from BEGIN to COMMIT/ROLLBACK (Database.transaction), and every query from outside that
 * transaction waits for it. Code inside the transaction (tracked with AsyncLocalStorage) passes straight through.
 */
export class SessionMutex {
  private tail: Promise<void> = Promise.resolve();
  private readonly holder = new AsyncLocalStorage<boolean>();

  /** Runs fn holding the session; re-entrant for code already inside a holder. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.holder.getStore()) return fn();
    let release!: () => void;
    const previous = this.tail;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await this.holder.run(true, fn);
    } finally {
      release();
    }
  }
}

/** What TypeORM's Postgres driver reads from a query result (node-postgres' shape). */
interface PgShapedResult {
  rows: unknown[];
  rowCount: number;
}

/**
 * Runs one statement on the session, waiting for the mutex. Without parameters it goes through `exec`, which
 * accepts several statements (migrations send them) and answers the last one, as node-postgres does.
 */
export async function runOnSession(pglite: PGlite, session: SessionMutex, sql: string, params?: unknown[]): Promise<PgShapedResult> {
  return session.run(async () => {
    const result = params && params.length > 0 ? await pglite.query(sql, params) : ((await pglite.exec(sql)).at(-1) ?? { rows: [], affectedRows: 0 });
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
  });
}

type QueryCallback = (error: unknown, result: PgShapedResult | null) => void;

/**
 * The object TypeORM's public `driver` option takes in place of the `pg` module: its `Pool` is all the Postgres
 * driver uses. Every query goes through the database's mutex, which is why this, rather than typeorm-pglite's
 * pool (one process-wide PGlite, closed by the pool's end), is what the embedded DataSource talks to.
 * `end` leaves the PGlite open: it belongs to the Database, so a reload's new DataSource keeps its data.
 */
export function embeddedDriver(pglite: PGlite, session: SessionMutex): { Pool: new () => EventEmitter } {
  class EmbeddedPool extends EventEmitter {
    connect(callback: (error: unknown, client: EmbeddedPool, release: () => void) => void): void {
      callback(null, this, () => undefined);
    }

    /** Like node-postgres: a promise, or nothing when a callback is given (so a failure is reported once). */
    query(sql: string, params?: unknown[] | QueryCallback, callback?: QueryCallback): Promise<PgShapedResult> | undefined {
      const done = typeof params === "function" ? params : callback;
      const result = runOnSession(pglite, session, sql, Array.isArray(params) ? params : undefined);
      if (!done) return result;
      result.then((r) => done(null, r), (error: unknown) => done(error, null));
      return undefined;
    }

    end(callback?: (error: unknown) => void): void {
      callback?.(null);
    }
  }
  return { Pool: EmbeddedPool };
}
