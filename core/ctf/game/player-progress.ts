import type { Database } from "../../kernel/db/data-source.js";
import type { AccountType, AccountUpdated, AttemptCounted, AwardCreated, AwardDeleted } from "../events.js";
import type { Player } from "../service.js";
import { preciseMs } from "../sql.js";

/** What a challenge's detail view shows of one account: its attempts per challenge and the hints it unlocked. */
export interface Progress {
  /** Submissions of type correct or incorrect, per challenge id (absent: none). */
  readonly attempts: ReadonlyMap<number, number>;
  readonly unlocked: ReadonlySet<number>;
}

interface Entry {
  attempts: Map<number, number>;
  unlocked: Set<number>;
  /** The database's clock while the load ran (precise ms): writes begun after it were not in the load. */
  loadedAt: number;
  /** This process's clock when it was kept (for the maximum age). */
  keptAt: number;
}

/** Anonymous readers and players without an account (team mode, no team yet) have nothing to show. */
const NOTHING: Progress = { attempts: new Map(), unlocked: new Set() };

/** Past this many accounts the oldest loaded is forgotten: it loads again on its next read. */
const MAX_ACCOUNTS = 20_000;
/**
 * An account loaded longer ago than this loads again: bounds the damage of an event lost on the way without a sign
 * (missed broadcasts otherwise clear everything). At 10,000 active players, about 17 loads a second.
 */
const MAX_AGE_MS = 600_000;

/** Rows of one account, the user (with no team row) in user mode or the team in team mode, on alias `x`. */
const ofAccount = { user: `x.user_id = $1 AND x.team_id IS NULL`, team: `x.team_id = $1` };

/**
 * One indexed statement per account (ctf_submissions_user_challenge / _team_challenge, ctf_unlocks_by_user / _by_team):
 * its attempts grouped per challenge, its unlocked hints, and the database's clock. At most one row per challenge
 * and per hint, whatever the account did.
 */
const loadStatement = (type: AccountType) => `
  SELECT 'attempts' AS kind, x.challenge_id AS id, count(*)::float8 AS n
    FROM ctf_submissions x WHERE ${ofAccount[type]} AND x.type IN ('correct', 'incorrect') GROUP BY x.challenge_id
  UNION ALL
  SELECT 'unlock', x.hint_id, 0 FROM ctf_unlocks x WHERE ${ofAccount[type]}
  UNION ALL
  SELECT 'clock', 0, (${preciseMs("clock_timestamp()")})::float8`;
const LOAD = { user: loadStatement("user"), team: loadStatement("team") };

const keyOf = (type: AccountType, id: number) => `${type}:${id}`;

/**
 * The per-account read model behind `GET /api/v1/challenges/:id`: loaded lazily the first time an account is read,
 * kept current by events (attempt.counted, award.created of a hint), forgotten when something else changed it (an
 * award deleted, an account changed, an import, broadcasts missed) or after a maximum age, so its next read loads it
 * again. Bounded: past MAX_ACCOUNTS the oldest loaded account goes.
 *
 * An event must be neither lost nor counted twice against a load: a load that ran after the write committed already
 * counts it. So an event meeting a load in flight cancels that load's keeping (the next read loads again), and an
 * event for a loaded account is applied only if its write began after the load's clock (then it committed after the
 * load's snapshot); an older one drops the account instead. Rare: events mostly come long after the load.
 */
export class PlayerProgress {
  private readonly loaded = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Progress>>();

  constructor(
    private readonly db: Database,
    private readonly limits = { accounts: MAX_ACCOUNTS, ageMs: MAX_AGE_MS },
  ) {}

  /** The player's progress if loaded, without waiting (the prepared fast path); undefined when it must be loaded. */
  peek(player: Player | null): Progress | undefined {
    if (!player || player.accountId === null) return NOTHING;
    return this.fresh(keyOf(player.accountType, player.accountId));
  }

  /** The player's progress, loading the account with one query the first time it is read. */
  of(player: Player | null): Promise<Progress> {
    if (!player || player.accountId === null) return Promise.resolve(NOTHING);
    const key = keyOf(player.accountType, player.accountId);
    const hit = this.fresh(key);
    if (hit) return Promise.resolve(hit);
    return this.loading.get(key) ?? this.load(key, player.accountType, player.accountId);
  }

  attemptCounted(p: AttemptCounted): void {
    this.apply(keyOf(p.accountType, p.accountId), p.at, (entry) => entry.attempts.set(p.challengeId, (entry.attempts.get(p.challengeId) ?? 0) + 1));
  }

  /** A hint unlock pays with an award naming the hint: the team's in team mode, else the user's. */
  awardCreated(p: AwardCreated): void {
    if (p.hintId === null) return;
    const key = p.teamId !== null ? keyOf("team", p.teamId) : p.userId !== null ? keyOf("user", p.userId) : null;
    if (key) this.apply(key, p.at, (entry) => entry.unlocked.add(p.hintId!));
  }

  /** Deleting an award never deletes its unlock, but reload rather than reason about it (rare, admin only). */
  awardDeleted(p: AwardDeleted): void {
    if (p.userId !== null) this.forget(keyOf("user", p.userId));
    if (p.teamId !== null) this.forget(keyOf("team", p.teamId));
  }

  /** A deletion, a purge of a member's submissions, a move between teams: the account and its teams reload. */
  accountUpdated(p: AccountUpdated): void {
    this.forget(keyOf(p.accountType, p.id));
    for (const teamId of p.affectedTeamIds) this.forget(keyOf("team", teamId));
  }

  /** Everything reloads on its next read (an import, a deleted challenge, broadcasts missed). */
  clear(): void {
    this.loaded.clear();
    this.loading.clear();
  }

  /** Accounts loaded and a rough size in bytes (Map and Set entries, the entry itself), for /metrics. */
  size(): { accounts: number; bytes: number } {
    let bytes = 0;
    for (const entry of this.loaded.values()) bytes += 200 + entry.attempts.size * 40 + entry.unlocked.size * 24;
    return { accounts: this.loaded.size, bytes };
  }

  /** The account's entry unless past its maximum age (then it is dropped, to load again). */
  private fresh(key: string): Entry | undefined {
    const entry = this.loaded.get(key);
    if (entry && Date.now() - entry.keptAt > this.limits.ageMs) {
      this.loaded.delete(key);
      return undefined;
    }
    return entry;
  }

  private forget(key: string): void {
    this.loaded.delete(key);
    this.loading.delete(key);
  }

  private apply(key: string, at: number, change: (entry: Entry) => void): void {
    // A load in flight may or may not see this write: don't keep it; the next read loads again.
    if (this.loading.delete(key)) return;
    const entry = this.loaded.get(key);
    if (!entry) return; // not loaded: its first read loads it with this write
    if (at > entry.loadedAt) change(entry);
    else this.loaded.delete(key); // the write began before the load ran: it may already be counted
  }

  private load(key: string, type: AccountType, id: number): Promise<Progress> {
    const promise: Promise<Progress> = this.db.query<{ kind: string; id: number; n: number }>(LOAD[type], [id], { name: `ctf-player-progress-${type}` }).then(
      (rows) => {
        const entry: Entry = { attempts: new Map(), unlocked: new Set(), loadedAt: 0, keptAt: Date.now() };
        for (const row of rows) {
          if (row.kind === "attempts") entry.attempts.set(row.id, Number(row.n));
          else if (row.kind === "unlock") entry.unlocked.add(row.id);
          else entry.loadedAt = Number(row.n);
        }
        if (this.loading.get(key) === promise) {
          this.loading.delete(key);
          if (this.loaded.size >= this.limits.accounts) this.loaded.delete(this.loaded.keys().next().value!);
          this.loaded.set(key, entry);
        }
        return entry;
      },
      (error: unknown) => {
        if (this.loading.get(key) === promise) this.loading.delete(key);
        throw error;
      },
    );
    this.loading.set(key, promise);
    return promise;
  }
}
