import type { Database } from "../../kernel/db/data-source.js";

/** A hint as a challenge's detail view shows it. */
export interface CachedHint {
  id: number;
  cost: number;
  title: string;
  content: string;
}

const NO_HINTS: readonly CachedHint[] = [];

/**
 * Every challenge's hints in memory, ordered by id (the detail view lists them). `hint.updated` (broadcast by the admin
 * routes) and imports drop it; a reload is one query, shared by concurrent callers. Generation-stamped like the
 * challenge cache: a load begun before an invalidation is neither kept nor handed to later callers. A maximum age
 * bounds staleness should an event ever be missed (an old copy serves while it is read again).
 */
export class HintCache {
  private loaded: { at: number; byChallenge: Map<number, readonly CachedHint[]> } | null = null;
  private loading: { generation: number; promise: Promise<Map<number, readonly CachedHint[]>> } | null = null;
  private generation = 0;
  private static readonly MAX_AGE_MS = 30_000;

  constructor(private readonly db: Database) {}

  invalidate(): void {
    this.generation++;
    this.loaded = null;
  }

  /**
   * A challenge's hints if loaded, without waiting (the prepared fast path); null after an invalidation. An old copy
   * keeps serving while it is read again in the background, as the challenge cache does.
   */
  peek(challengeId: number): readonly CachedHint[] | null {
    if (!this.loaded) return null;
    if (Date.now() - this.loaded.at >= HintCache.MAX_AGE_MS) this.all().catch(() => undefined); // errors reach the next caller that waits
    return this.loaded.byChallenge.get(challengeId) ?? NO_HINTS;
  }

  async of(challengeId: number): Promise<readonly CachedHint[]> {
    return (await this.all()).get(challengeId) ?? NO_HINTS;
  }

  all(): Promise<Map<number, readonly CachedHint[]>> {
    const stale = this.loaded;
    if (stale && Date.now() - stale.at < HintCache.MAX_AGE_MS) return Promise.resolve(stale.byChallenge);
    if (this.loading?.generation !== this.generation) {
      const loading = { generation: this.generation, promise: this.load(this.generation) };
      this.loading = loading;
      const done = () => {
        if (this.loading === loading) this.loading = null;
      };
      loading.promise.then(done, done);
    }
    // Old but not invalidated: serve it while the re-read runs.
    return stale ? Promise.resolve(stale.byChallenge) : this.loading!.promise;
  }

  private async load(generation: number): Promise<Map<number, readonly CachedHint[]>> {
    const rows = await this.db.query<CachedHint & { challenge_id: number }>(`SELECT id, challenge_id, cost, title, content FROM ctf_hints ORDER BY challenge_id, id`);
    const byChallenge = new Map<number, CachedHint[]>();
    for (const { challenge_id, id, cost, title, content } of rows) {
      let hints = byChallenge.get(challenge_id);
      if (!hints) byChallenge.set(challenge_id, (hints = []));
      hints.push({ id, cost, title, content });
    }
    if (generation === this.generation) this.loaded = { at: Date.now(), byChallenge };
    return byChallenge;
  }
}
