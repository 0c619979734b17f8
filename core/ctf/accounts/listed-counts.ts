import type { Database } from "../../kernel/db/data-source.js";
import type { AccountUpdated } from "../events.js";

type ListedTable = "ctf_users" | "ctf_teams";

/** Where a page of the public list starts: the id of its first account, or `past-end` for a page after the last. */
export type PageStart = { firstId: number } | "past-end";

/**
 * The ids the public lists show (users and teams neither hidden nor banned), in order, kept in memory so a page of
 * `GET /users` and `GET /teams` needs neither a count(*) per request (the total is their number) nor an OFFSET that
 * reads every earlier row: page N starts at the N-th id, so it is one range scan of the primary key. They are read
 * again when an account is created, deleted, hidden or banned (once per change, not per read). Filtered lists still
 * count their matches and use OFFSET.
 */
export class ListedAccountCounts {
  private ids: Record<ListedTable, Int32Array> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private refreshes = 0;

  constructor(private readonly db: Database) {}

  /** Moves after every re-count that changed something (or failed): answers that include a total key on it. */
  get version(): number {
    return this.refreshes;
  }

  /** The listed total of a table, or null before the first count (the caller counts itself). */
  total(table: ListedTable): number | null {
    return this.ids?.[table].length ?? null;
  }

  /** Where page `page` (from 1) of `perPage` rows starts, or null before the first read (the caller uses OFFSET). */
  pageStart(table: ListedTable, page: number, perPage: number): PageStart | null {
    const ids = this.ids?.[table];
    if (!ids) return null;
    const index = (page - 1) * perPage;
    return index < ids.length ? { firstId: ids[index]! } : "past-end";
  }

  /** Re-counts after the changes that move a total; a failure forgets the totals so readers count themselves. */
  accountUpdated(p: AccountUpdated): Promise<void> {
    if (!p.changes.some((c) => c === "created" || c === "deleted" || c === "hidden" || c === "banned")) return Promise.resolve();
    return this.refresh();
  }

  refresh(): Promise<void> {
    const run = this.queue.then(async () => {
      try {
        const listed = (table: ListedTable) => this.db.query<{ id: number }>(`SELECT id FROM ${table} WHERE NOT hidden AND NOT banned ORDER BY id`);
        const [users, teams] = await Promise.all([listed("ctf_users"), listed("ctf_teams")]);
        const ids = { ctf_users: Int32Array.from(users, (r) => r.id), ctf_teams: Int32Array.from(teams, (r) => r.id) };
        // A re-count that finds what was there (the 5-minute check, as a rule) keeps every cached page good: dropping
        // them sent every reader of a page to the database at once.
        if (this.ids && sameIds(this.ids.ctf_users, ids.ctf_users) && sameIds(this.ids.ctf_teams, ids.ctf_teams)) return;
        this.ids = ids;
        this.refreshes++;
      } catch (error) {
        this.ids = null;
        this.refreshes++;
        throw error;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}

const sameIds = (a: Int32Array, b: Int32Array) => a.length === b.length && a.every((id, i) => id === b[i]);
