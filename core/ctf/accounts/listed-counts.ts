import type { Database } from "../../kernel/db/data-source.js";
import type { AccountUpdated } from "../events.js";

/**
 * How many users and teams the public lists show (neither hidden nor banned), kept in memory so the first page of
 * `GET /users` and `GET /teams` needs no count(*) over the table per request: the total is re-counted when an account
 * is created, deleted, hidden or banned (once per change, not per read). Filtered lists still count their matches.
 */
export class ListedAccountCounts {
  private counts: { ctf_users: number; ctf_teams: number } | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private refreshes = 0;

  constructor(private readonly db: Database) {}

  /** Moves after every re-count: answers that include a total key on it. */
  get version(): number {
    return this.refreshes;
  }

  /** The listed total of a table, or null before the first count (the caller counts itself). */
  total(table: "ctf_users" | "ctf_teams"): number | null {
    return this.counts?.[table] ?? null;
  }

  /** Re-counts after the changes that move a total; a failure forgets the totals so readers count themselves. */
  accountUpdated(p: AccountUpdated): Promise<void> {
    if (!p.changes.some((c) => c === "created" || c === "deleted" || c === "hidden" || c === "banned")) return Promise.resolve();
    return this.refresh();
  }

  refresh(): Promise<void> {
    const run = this.queue.then(async () => {
      try {
        const [row] = await this.db.query<{ users: number; teams: number }>(
          `SELECT (SELECT count(*)::int FROM ctf_users WHERE NOT hidden AND NOT banned) AS users,
                  (SELECT count(*)::int FROM ctf_teams WHERE NOT hidden AND NOT banned) AS teams`,
        );
        this.counts = { ctf_users: row!.users, ctf_teams: row!.teams };
      } catch (error) {
        this.counts = null;
        throw error;
      } finally {
        this.refreshes++;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
