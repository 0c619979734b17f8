import type { Database } from "../../kernel/db/data-source.js";

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
 * (broadcast by every change, flags included) drops it; a reload is one query, shared by concurrent callers.
 * The cache is generation-stamped: `invalidate()` starts a new generation, and a load that began in an older one
 * is neither kept nor shared with callers that came after the invalidation (it may predate the write that
 * invalidated, so a writer reading its own write would not find it). A maximum age bounds staleness should an
 * event ever be missed.
 */
export class ChallengeCache {
  private loaded: { at: number; byId: Map<number, CachedChallenge> } | null = null;
  private loading: { generation: number; promise: Promise<Map<number, CachedChallenge>> } | null = null;
  private generation = 0;
  /** Moves with every value patched in: a background refresh that began before one must not overwrite it. */
  private patches = 0;
  private refreshTimer: NodeJS.Timeout | null = null;
  private static readonly MAX_AGE_MS = 30_000;
  /** How soon after a patched value the whole map is read again (see valueChanged). */
  private static readonly REFRESH_AFTER_MS = 1_000;

  constructor(private readonly db: Database) {}

  invalidate(): void {
    this.generation++;
    this.loaded = null;
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
    const current = this.loaded?.byId.get(id);
    // A load in flight may have read the row before this change.
    if (!this.loaded || !current || this.loading) return false;
    const byId = new Map(this.loaded.byId);
    byId.set(id, { ...current, value });
    this.loaded = { at: this.loaded.at, byId };
    this.patches++;
    this.refreshSoon();
    return true;
  }

  private refreshSoon(): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      // Errors are left to the next request's load (the patched map stays meanwhile).
      this.load(this.generation).catch(() => undefined);
    }, ChallengeCache.REFRESH_AFTER_MS);
    this.refreshTimer.unref();
  }

  /** Stops the background refresh (the plugin is stopping). */
  close(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
  }

  /**
   * Every challenge if loaded, without waiting (the prepared fast paths); null after an invalidation. A map older
   * than MAX_AGE_MS keeps serving while it is read again in the background: the age only bounds what a lost
   * broadcast could leave stale, and waiting for the re-read stalled every request of the instance each time.
   */
  peek(): Map<number, CachedChallenge> | null {
    if (!this.loaded) return null;
    if (Date.now() - this.loaded.at >= ChallengeCache.MAX_AGE_MS) this.all().catch(() => undefined); // errors reach the next caller that waits
    return this.loaded.byId;
  }

  async get(id: number): Promise<CachedChallenge | undefined> {
    return (await this.all()).get(id);
  }

  all(): Promise<Map<number, CachedChallenge>> {
    const stale = this.loaded;
    if (stale && Date.now() - stale.at < ChallengeCache.MAX_AGE_MS) return Promise.resolve(stale.byId);
    if (this.loading?.generation !== this.generation) {
      const loading = { generation: this.generation, promise: this.load(this.generation) };
      this.loading = loading;
      const done = () => {
        if (this.loading === loading) this.loading = null;
      };
      loading.promise.then(done, done);
    }
    // Old but not invalidated: serve it while the re-read runs.
    return stale ? Promise.resolve(stale.byId) : this.loading!.promise;
  }

  private async load(generation: number): Promise<Map<number, CachedChallenge>> {
    const patches = this.patches;
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
    // Only keep it if nothing changed while loading; otherwise the next caller loads again.
    if (generation === this.generation && patches === this.patches) this.loaded = { at: Date.now(), byId };
    else if (generation === this.generation && this.loaded) this.refreshSoon(); // a value was patched meanwhile: read again later
    return byId;
  }
}
