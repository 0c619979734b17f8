import type { Database } from "../../kernel/db/data-source.js";
import { LoadedCache } from "../loaded-cache.js";

export interface CachedFlag {
  id: number;
  type: string;
  content: string;
  data: string | null;
}

/** A challenge as the attempt pipeline and the board need it. */
export interface CachedChallenge {
  id: number;
  name: string;
  category: string;
  description: string;
  connectionInfo: string | null;
  attribution: string | null;
  nextId: number | null;
  state: "visible" | "hidden" | "locked";
  maxAttempts: number;
  position: number;
  type: string;
  value: number;
  initial: number | null;
  minimum: number | null;
  decay: number | null;
  decayFunction: "linear" | "logarithmic" | null;
  prerequisites: number[];
  anonymize: boolean;
  typeSettings: Record<string, unknown>;
  flags: CachedFlag[];
}

/**
 * Every challenge with its flags, in memory: the attempt pipeline reads it on every request. `challenge.updated`
 * (broadcast by every change, flags included) drops it, or patches a value (see changed); a reload is one query,
 * shared by concurrent callers. Loading, invalidation and the maximum age are LoadedCache's.
 */
export class ChallengeCache {
  private readonly cache: LoadedCache<Map<number, CachedChallenge>>;
  private refreshTimer: NodeJS.Timeout | null = null;
  private static readonly MAX_AGE_MS = 30_000;
  /** How soon after a patched value the whole map is read again (see changed). */
  private static readonly REFRESH_AFTER_MS = 1_000;

  constructor(private readonly db: Database) {
    this.cache = new LoadedCache(() => this.read(), ChallengeCache.MAX_AGE_MS);
  }

  invalidate(): void {
    this.cache.invalidate();
  }

  /**
   * A challenge changed (the `challenge.updated` event). A dynamic challenge's value moves with every solve of it:
   * dropping the whole cache each time made every attempt and every board read of a busy event wait for a reload.
   * A value-only change is patched into the loaded map instead, and the map is read again in the background a
   * second later: value changes broadcast by two instances may arrive out of order. Anything else drops the cache.
   */
  changed(update: { id: number; value: number; valueOnly?: boolean }): void {
    if (update.valueOnly && this.patchValue(update.id, update.value)) return;
    this.invalidate();
  }

  private patchValue(id: number, value: number): boolean {
    const byId = this.cache.peek();
    const current = byId?.get(id);
    // A read in flight may have seen the row before this change.
    if (!byId || !current || this.cache.readInFlight) return false;
    this.cache.replace(new Map(byId).set(id, { ...current, value }));
    this.refreshSoon();
    return true;
  }

  private refreshSoon(): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      // A value patched while it read: read again later. Errors are left to the next reader (the patched map stays).
      this.cache.refresh().then((kept) => kept || this.refreshSoon(), () => undefined);
    }, ChallengeCache.REFRESH_AFTER_MS);
    this.refreshTimer.unref();
  }

  /** Stops the background refresh (the plugin is stopping). */
  close(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
  }

  /** Every challenge if loaded, without waiting (the prepared fast paths); null after an invalidation. */
  peek(): Map<number, CachedChallenge> | null {
    return this.cache.peek();
  }

  async get(id: number): Promise<CachedChallenge | undefined> {
    return (await this.all()).get(id);
  }

  all(): Promise<Map<number, CachedChallenge>> {
    return this.cache.get();
  }

  private async read(): Promise<Map<number, CachedChallenge>> {
    const rows = await this.db.query<Record<string, any>>(
      `SELECT c.*, coalesce(json_agg(json_build_object('id', f.id, 'type', f.type, 'content', f.content, 'data', f.data) ORDER BY f.id)
                FILTER (WHERE f.id IS NOT NULL), '[]') AS flags
         FROM ctf_challenges c LEFT JOIN ctf_flags f ON f.challenge_id = c.id GROUP BY c.id`,
    );
    const byId = new Map<number, CachedChallenge>();
    for (const r of rows) {
      byId.set(r.id, {
        id: r.id,
        name: r.name,
        category: r.category,
        description: r.description,
        connectionInfo: r.connection_info,
        attribution: r.attribution,
        nextId: r.next_id,
        state: r.state,
        maxAttempts: r.max_attempts,
        position: r.position,
        type: r.type,
        value: r.value,
        initial: r.initial,
        minimum: r.minimum,
        decay: r.decay,
        decayFunction: r.decay_function,
        prerequisites: r.requirements?.prerequisites ?? [],
        anonymize: r.requirements?.anonymize === true,
        typeSettings: r.type_settings ?? {},
        flags: typeof r.flags === "string" ? JSON.parse(r.flags) : r.flags,
      });
    }
    return byId;
  }
}
