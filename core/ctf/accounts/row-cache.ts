import type { Database } from "../../kernel/db/data-source.js";
import type { AccountUpdated } from "../events.js";
import { memberIds } from "./teams.js";
import { teamById, userById } from "./rows.js";
import type { TeamRow, UserRow } from "./views.js";

/** Entries are re-read after this long even without an event (bounds the damage of a lost pub/sub message). */
const MAX_AGE_MS = 60_000;
/** Above this many entries the cache starts over (bounded memory at any number of players). */
const MAX_ENTRIES = 50_000;

interface Entry<T> {
  value: T;
  at: number;
}

/**
 * Account rows for the profile reads (`/users/me`, `/users/:id`, `/teams/me`, `/teams/:id`), so a profile a player
 * polls costs no query. **For views only**: writes, password checks and invite codes read the database. Every change
 * of an account emits account.updated, which drops what it touched on every instance (and a write's answer waits for
 * that here: the handler serves reads). Generation-stamped like the challenge cache: a load that began before an
 * invalidation is not kept.
 */
export class AccountRowCache {
  private readonly users = new Map<number, Entry<UserRow | null>>();
  private readonly teams = new Map<number, Entry<TeamRow | null>>();
  private readonly members = new Map<string, Entry<number[]>>();
  private generation = 0;

  constructor(private readonly db: Database) {}

  /** Moves with every account change: answers built from account rows (the public list pages) key on it. */
  get version(): number {
    return this.generation;
  }

  user(id: number): Promise<UserRow | null> {
    return this.cached(this.users, id, () => userById(this.db.query.bind(this.db), id));
  }

  /** The user's row if cached and fresh, without waiting (the prepared fast paths); undefined otherwise. */
  peekUser(id: number): UserRow | null | undefined {
    const hit = this.users.get(id);
    if (hit && Date.now() - hit.at >= MAX_AGE_MS) void this.user(id).catch(() => undefined); // re-read in the background
    return hit?.value;
  }

  team(id: number): Promise<TeamRow | null> {
    return this.cached(this.teams, id, () => teamById(this.db.query.bind(this.db), id));
  }

  /** Member ids of a team (only visible ones when asked). */
  memberIds(teamId: number, visibleOnly: boolean): Promise<number[]> {
    return this.cached(this.members, `${teamId}:${visibleOnly}`, () => memberIds(this.db.query.bind(this.db), teamId, visibleOnly));
  }

  /**
   * Drops what the change touched. A team change, a move between teams or a deletion can change the rows of members
   * the event does not name (their team_id): then every user row and member list goes.
   */
  accountUpdated(p: AccountUpdated): void {
    this.generation++;
    if (p.accountType === "team" || p.changes.includes("team") || p.changes.includes("deleted")) {
      this.users.clear();
      this.members.clear();
    } else {
      this.users.delete(p.id);
    }
    for (const teamId of [...(p.accountType === "team" ? [p.id] : []), ...p.affectedTeamIds]) {
      this.teams.delete(teamId);
      this.members.delete(`${teamId}:true`);
      this.members.delete(`${teamId}:false`);
    }
  }

  clear(): void {
    this.generation++;
    this.users.clear();
    this.teams.clear();
    this.members.clear();
  }

  /**
   * An entry older than MAX_AGE_MS keeps serving while one re-read of it runs in the background (the age only bounds
   * what a lost broadcast could leave stale; waiting for it stalled the requests that found it old).
   */
  private async cached<K, T>(map: Map<K, Entry<T>>, key: K, load: () => Promise<T>): Promise<T> {
    const hit = map.get(key);
    if (hit && Date.now() - hit.at < MAX_AGE_MS) return hit.value;
    const generation = this.generation;
    const reading = (async () => {
      const value = await load();
      if (generation === this.generation) {
        if (map.size >= MAX_ENTRIES) map.clear();
        map.set(key, { value, at: Date.now() });
      }
      return value;
    })();
    if (!hit) return reading;
    hit.at = Date.now(); // one background re-read per entry, not one per request until it lands
    reading.catch(() => map.delete(key)); // a failed re-read: the next caller waits for its own
    return hit.value;
  }
}
