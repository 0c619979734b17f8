import { AsyncLocalStorage } from "node:async_hooks";
import { createRequire } from "node:module";
import { PGliteDriver } from "typeorm-pglite";

/**
 * PGlite serves every TypeORM query runner through ONE session. Two transactions that interleave would share
 * that session and corrupt each other, and a plain query issued while a transaction is open would join it.
 * So, when embedded, a process-wide mutex serializes transactions: a transaction holds it from BEGIN to
 * COMMIT/ROLLBACK, and any query from outside that transaction waits for it. Code inside the transaction
 * (tracked with AsyncLocalStorage) passes straight through.
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

export const embeddedSession = new SessionMutex();

type PoolQuery = (sql: string, params?: unknown, callback?: unknown) => Promise<unknown>;

const require = createRequire(import.meta.url);
// typeorm-pglite does not export its pool class from the package root; its CJS file is stable in 0.3.x.
const { PGlitePool } = require("typeorm-pglite/dist/pglite-pool.js") as { PGlitePool: { prototype: { query: PoolQuery } } };

let patched = false;
/** Routes every embedded query through the session mutex (idempotent). */
function serializeEmbeddedQueries(): void {
  if (patched) return;
  patched = true;
  const original = PGlitePool.prototype.query;
  PGlitePool.prototype.query = function (this: unknown, sql: string, params?: unknown, callback?: unknown) {
    return embeddedSession.run(() => original.call(this, sql, params, callback));
  };
}

/**
 * The TypeORM driver for an embedded database. typeorm-pglite keeps one PGlite instance per process,
 * so only one embedded DataSource can be open at a time in a process.
 */
export function embeddedDriver(dataDir: string | undefined): unknown {
  serializeEmbeddedQueries();
  return new PGliteDriver(dataDir ? { dataDir } : {}).driver;
}
