import type { ChallengeDefinition, CtfReadService } from "../../core/ctf/service.js";

/** How long a read challenge is reused. An admin's change reaches start requests within this time. */
const FRESH_MS = 1_000;

/**
 * The challenges start requests ask about, each read at most once a second: a herd of players pressing Start on one
 * challenge costs one read of it, not one per request. (Workers read afresh: they act on what the challenge is now.)
 */
export class RecentChallenges {
  private readonly reads = new Map<number, { at: number; definition: Promise<ChallengeDefinition | null> }>();

  constructor(private readonly read: CtfReadService) {}

  get(id: number): Promise<ChallengeDefinition | null> {
    const now = Date.now();
    const recent = this.reads.get(id);
    if (recent && now - recent.at < FRESH_MS) return recent.definition;
    const definition = this.read.challengeDefinition(id);
    this.reads.set(id, { at: now, definition });
    definition.catch(() => this.reads.delete(id));
    if (this.reads.size > 10_000) this.reads.clear(); // ids come from requests: keep the map bounded
    return definition;
  }
}
