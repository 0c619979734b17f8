import type { Database } from "../../kernel/db/data-source.js";
import { LoadedCache } from "../loaded-cache.js";

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
 * routes) and imports drop it; a reload is one query, shared by concurrent callers. Loading, invalidation and the
 * maximum age are LoadedCache's.
 */
export class HintCache {
  private readonly cache: LoadedCache<Map<number, readonly CachedHint[]>>;
  private static readonly MAX_AGE_MS = 30_000;

  constructor(private readonly db: Database) {
    this.cache = new LoadedCache(() => this.read(), HintCache.MAX_AGE_MS);
  }

  invalidate(): void {
    this.cache.invalidate();
  }

  /** A challenge's hints if loaded, without waiting (the prepared fast path); null after an invalidation. */
  peek(challengeId: number): readonly CachedHint[] | null {
    const byChallenge = this.cache.peek();
    return byChallenge === null ? null : (byChallenge.get(challengeId) ?? NO_HINTS);
  }

  async of(challengeId: number): Promise<readonly CachedHint[]> {
    return (await this.cache.get()).get(challengeId) ?? NO_HINTS;
  }

  private async read(): Promise<Map<number, readonly CachedHint[]>> {
    const rows = await this.db.query<CachedHint & { challenge_id: number }>(`SELECT id, challenge_id, cost, title, content FROM ctf_hints ORDER BY challenge_id, id`);
    const byChallenge = new Map<number, CachedHint[]>();
    for (const { challenge_id, id, cost, title, content } of rows) {
      let hints = byChallenge.get(challenge_id);
      if (!hints) byChallenge.set(challenge_id, (hints = []));
      hints.push({ id, cost, title, content });
    }
    return byChallenge;
  }
}
