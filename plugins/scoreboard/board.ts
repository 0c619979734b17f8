import type { AccountUpdated, AwardCreated, AwardDeleted, ChallengeUpdated, CtfReadService, EventSettingsUpdated, ScoringAward, ScoringFacts, ScoringSettings, ScoringSolve, SolveCreated } from "../../core/ctf/service.js";
import { FINGERPRINT_CHECK, fingerprintsAgree } from "../../core/ctf/service.js";
import { strongEtag, type PreparedResponse } from "../../core/kernel/http/prepared.js";
import { ITEMS_PER_TURN, runInTurns } from "../../core/kernel/turns.js";
import type { Logger } from "../../core/kernel/log.js";
import { boardBody, zulu } from "./engine/rows.js";
import { StandingsState, VIEWS, type Standing, type View, type ViewChanges } from "./engine/state.js";

/** Why the standings changed: the stream names solve and award deltas, everything else is a rank change. */
export type Cause = { event: "solve"; solve: ScoringSolve } | { event: "award"; award: ScoringAward } | { event: "rank" } | { event: "rebuilt" };

export interface BoardChange {
  cause: Cause;
  views: ViewChanges;
}

/** A response serialized once per change: its bytes, ETag and headers (served as is by the prepared route). */
export type CachedBody = PreparedResponse;

/**
 * Always revalidate (the board changes with every solve); the admin view must not sit in a shared cache, and
 * the answer depends on who asks.
 */
const HEADERS: Record<View, Readonly<Record<string, string>>> = {
  public: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-cache", Vary: "Cookie, Authorization" },
  live: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "private, no-cache", Vary: "Cookie, Authorization" },
};

export interface CheckResult {
  drift: boolean;
  /** Accounts whose row, score or place differed (first few), per view. */
  differences: Array<{ view: View; accountId: number; engine: string | null; database: string | null }>;
  /** "fingerprints" when core/ctf's fingerprints matched the engine's facts (nothing loaded), else "full load". */
  compared: "fingerprints" | "full load";
}

/** Settings changes that move no score: no rebuild needed. */
const HARMLESS_SETTINGS = new Set(["name", "startsAt", "endsAt", "paused", "registrationOpen", "challengeVisibility", "incorrectSubmissionsPerMinute", "teamSize", "scoreVisibility", "accountVisibility"]);

/**
 * The scoreboard of this instance: the engine's state, fed by core/ctf's events, and the response bytes cached
 * once per change.
 *
 * Design for several instances: every instance keeps its own engine. core/ctf emits every domain event with
 * `broadcast`, so each instance receives every event (locally or through Redis pub/sub) after its transaction
 * committed, and applies it; anything not carried whole by the event (an account's visibility, a challenge's
 * value, team membership) is re-read from the database, the source of truth. Applies are idempotent (solves
 * and awards are keyed by id) or reloads, so duplicates and cross-instance reordering converge on the database's
 * state. A shared copy in Redis would add a network hop to every read and a second source of truth; the
 * per-instance engine keeps reads in memory and the database the only truth. The consistency job catches what
 * a lost pub/sub message could leave behind.
 *
 * All changes run one at a time through a queue (I/O first, then a synchronous apply and flush), so readers
 * (HTTP, stream) only ever see a state between two whole changes.
 */
export class Scoreboard {
  private current: StandingsState;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly cache = new Map<string, CachedBody>();
  private readonly listeners = new Set<(change: BoardChange) => void>();
  private readonly settingsListeners = new Set<(settings: ScoringSettings) => void>();
  private rebuildQueued = false;
  /** Counts applied changes, so a comparison can tell whether the engine moved while it loaded. */
  private applied = 0;
  /** When the engine was last built from, or compared whole with, a full load (performance.now()). */
  private lastFullLoad = -Infinity;

  constructor(
    private readonly ctf: CtfReadService,
    private readonly log: Logger,
  ) {
    this.current = StandingsState.empty({ mode: "users", freezeAt: null, scoreVisibility: "public", accountVisibility: "public" }, ctf.challengeValue);
  }

  get state(): StandingsState {
    return this.current;
  }

  get settings(): ScoringSettings {
    return this.current.settings;
  }

  /** True when the public view no longer takes new solves and awards. */
  frozen(now = Date.now()): boolean {
    const freezeAt = this.current.settings.freezeAt;
    return freezeAt !== null && now >= freezeAt;
  }

  onChange(listener: (change: BoardChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onSettings(listener: (settings: ScoringSettings) => void): () => void {
    this.settingsListeners.add(listener);
    return () => this.settingsListeners.delete(listener);
  }

  // ---- full loads ----

  /** Reloads everything from the database and swaps it in. */
  rebuild(): Promise<{ accounts: number; solves: number; awards: number; durationMs: number }> {
    return this.enqueue("rebuild", async () => {
      const started = performance.now();
      const fresh = await this.build(await this.ctf.scoringFacts());
      this.swap(fresh);
      const counts = fresh.counts;
      return { accounts: fresh.mode === "teams" ? counts.teams : counts.users, solves: counts.solves, awards: counts.awards, durationMs: Math.round(performance.now() - started) };
    });
  }

  /**
   * Compares the engine with a fresh load from the database. The load runs beside the queue (a rebuild-sized read
   * must not hold up live changes); the comparison counts only if no change was applied meanwhile. A difference
   * may still be an event on its way (committed during the load, not delivered yet), so it is looked at again a
   * moment later; only a difference that persists is drift: logged, then repaired by swapping in that load (in
   * the same queued step as the comparison, so nothing applied in between is lost). On a board too busy for a
   * quiet comparison, the last look loads inside the queue.
   */
  async check(): Promise<CheckResult> {
    if (performance.now() - this.lastFullLoad < FINGERPRINT_CHECK.fullLoadEveryMs && (await this.fingerprintsMatch())) {
      return { drift: false, differences: [], compared: "fingerprints" };
    }
    const clean: CheckResult = { drift: false, differences: [], compared: "full load" };
    for (const repair of [false, true]) {
      if (repair) await new Promise((resolve) => setTimeout(resolve, 250));
      const result = await this.look(repair);
      if (result.differences.length === 0) return clean;
      if (repair) {
        this.log.warn({ differences: result.differences }, "scoreboard drift: the engine differed from the database; repaired from a fresh load");
        return result;
      }
    }
    return clean;
  }

  /** One comparison with a fresh load (see check); repairs when asked and the difference is there. */
  private async look(repair: boolean): Promise<CheckResult> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const mark = this.applied;
      const fresh = await this.build(await this.ctf.scoringFacts());
      const result = await this.enqueue("check", async () => (this.applied === mark ? this.settle(fresh, repair) : null));
      if (result) return result;
    }
    return this.enqueue("check", async () => this.settle(await this.build(await this.ctf.scoringFacts()), repair));
  }

  /**
   * A state built from core/ctf's facts, valuing dynamic challenges with core/ctf's decay formula; in turns of the
   * event loop, so a rebuild or a consistency check does not stall the instance's requests.
   */
  private build(facts: ScoringFacts): Promise<StandingsState> {
    return runInTurns(StandingsState.building(facts, this.ctf.challengeValue));
  }

  private async settle(fresh: StandingsState, repair: boolean): Promise<CheckResult> {
    const result = await runInTurns(this.comparing(fresh));
    if (repair && result.drift) this.swap(fresh);
    if (!result.drift) this.lastFullLoad = performance.now();
    return result;
  }

  /** Whether core/ctf's fingerprints describe the engine's facts, as of one moment between two whole changes. */
  private fingerprintsMatch(): Promise<boolean> {
    return fingerprintsAgree(async () => {
      const mark = this.applied;
      const fingerprints = await this.ctf.scoringFingerprints();
      return this.enqueue("check", async () => this.applied === mark && this.current.matches(fingerprints, this.ctf.fingerprintsOf));
    });
  }

  // ---- events (each handler returns when its change is applied) ----

  solveCreated(p: SolveCreated): Promise<void> {
    return this.enqueue("solve.created", async () => {
      if (this.current.hasSolve(p.solveId)) return;
      const missing = await this.missingRecords([p.userId], [p.teamId], [p.challengeId]);
      if (!this.applyMissing(missing, [p.userId], [p.teamId], [p.challengeId])) return; // deleted since: nothing to add
      const solve: ScoringSolve = { id: p.solveId, challengeId: p.challengeId, userId: p.userId, teamId: p.teamId, at: p.at };
      this.current.addSolve(solve);
      this.commit({ event: "solve", solve });
    });
  }

  awardCreated(p: AwardCreated): Promise<void> {
    return this.enqueue("award.created", async () => {
      if (this.current.hasAward(p.awardId)) return;
      const missing = await this.missingRecords([p.userId], [p.teamId], []);
      if (!this.applyMissing(missing, [p.userId], [p.teamId], [])) return;
      const award: ScoringAward = { id: p.awardId, userId: p.userId, teamId: p.teamId, value: p.value, at: p.at };
      this.current.addAward(award);
      this.commit({ event: "award", award });
    });
  }

  awardDeleted(p: AwardDeleted): Promise<void> {
    return this.enqueue("award.deleted", async () => {
      this.current.removeAward(p.awardId);
      this.commit({ event: "rank" });
    });
  }

  /** Reloads the account, its solves and awards, and the teams it touched. */
  accountUpdated(p: AccountUpdated): Promise<void> {
    if (p.changes.every((c) => c === "profile")) return Promise.resolve(); // website, affiliation...: not on the board
    return this.enqueue("account.updated", async () => {
      const userIds = new Set<number>(p.accountType === "user" ? [p.id] : []);
      const teamIds = new Set<number>([...(p.accountType === "team" ? [p.id] : []), ...p.affectedTeamIds]);
      const teams = await Promise.all(
        [...teamIds].map(async (teamId) => ({ teamId, record: await this.ctf.team(teamId), members: await this.ctf.membersOf(teamId), items: await this.ctf.itemsOfTeam(teamId) })),
      );
      // Users who left a reloaded team are reloaded too.
      for (const team of teams) for (const userId of this.current.membersOf(team.teamId)) if (!team.members.some((m) => m.id === userId)) userIds.add(userId);
      const users = await Promise.all([...userIds].map(async (userId) => ({ userId, record: await this.ctf.user(userId), items: await this.ctf.itemsOfUser(userId) })));
      const brackets = p.changes.includes("bracket") ? await this.ctf.brackets() : null;
      const challengeIds = new Set<number>();
      for (const { items } of [...teams, ...users]) for (const solve of items.solves) if (!this.current.hasChallenge(solve.challengeId)) challengeIds.add(solve.challengeId);
      const challenges = await Promise.all([...challengeIds].map((id) => this.ctf.challenge(id)));

      const state = this.current;
      if (brackets) state.setBrackets(brackets);
      for (const challenge of challenges) if (challenge) state.putChallenge(challenge);
      for (const team of teams) {
        if (!team.record) {
          state.deleteTeam(team.teamId);
          continue;
        }
        state.putTeam(team.record);
        for (const member of team.members) state.putUser(member);
      }
      for (const user of users) {
        if (user.record) state.putUser(user.record);
        else state.deleteUser(user.userId);
      }
      for (const team of teams) if (team.record) state.replaceTeamItems(team.teamId, team.items.solves, team.items.awards);
      for (const user of users) if (user.record) state.replaceUserItems(user.userId, user.items.solves, user.items.awards);
      this.commit({ event: "rank" });
    });
  }

  challengeUpdated(p: ChallengeUpdated): Promise<void> {
    return this.enqueue("challenge.updated", async () => {
      const record = p.deleted ? null : await this.ctf.challenge(p.id);
      if (record) this.current.putChallenge(record);
      else this.current.deleteChallenge(p.id);
      this.commit({ event: "rank" });
    });
  }

  /** Visibility changes apply in place; a mode or freeze change (or an import) rebuilds from the database. */
  eventUpdated(p: EventSettingsUpdated): Promise<void> {
    return this.enqueue("event.updated", async () => {
      const settings = await this.ctf.scoringSettings();
      const old = this.current.settings;
      const harmless = p.changes.every((c) => HARMLESS_SETTINGS.has(c)) && settings.mode === old.mode && settings.freezeAt === old.freezeAt;
      if (harmless) {
        this.current.setVisibility(settings);
      } else {
        this.swap(await this.build(await this.ctf.scoringFacts()));
      }
      for (const listener of this.settingsListeners) listener(this.current.settings);
    });
  }

  // ---- responses ----

  /** `GET /api/v1/scoreboard` for a view (and bracket), serialized once per change. */
  board(view: View, bracketId: number | null): CachedBody {
    const key = `${view}|board|${this.bracketKey(bracketId)}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const standings = this.filtered(view, bracketId);
    const tails = new Array<string>(standings.length);
    for (let i = 0; i < standings.length; i++) tails[i] = standings[i]!.tail;
    return this.remember(key, view, boardBody(tails));
  }

  /** `GET /api/v1/scoreboard/top/:count`: the top accounts with every solve and award that made their score. */
  top(view: View, count: number, bracketId: number | null): CachedBody {
    const key = `${view}|top${count}|${this.bracketKey(bracketId)}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const state = this.current;
    const teams = state.mode === "teams";
    const data: Record<string, unknown> = {};
    this.filtered(view, bracketId)
      .slice(0, count)
      .forEach((standing, i) => {
        const account = state.account(standing.id)!;
        data[String(i + 1)] = {
          id: standing.id,
          account_url: `/${teams ? "teams" : "users"}/${standing.id}`,
          name: account.name,
          score: standing.score,
          bracket_id: account.bracketId,
          bracket_name: account.bracketId === null ? null : (state.brackets.get(account.bracketId) ?? null),
          solves: state.timeline(view, standing.id).map((item) => ({
            challenge_id: item.kind === "solve" ? item.challengeId : null,
            account_id: standing.id,
            team_id: teams ? item.teamId : null,
            user_id: item.userId,
            value: state.valueOf(item, view),
            date: zulu(item.at),
          })),
        };
      });
    return this.remember(key, view, Buffer.from(JSON.stringify({ success: true, data })));
  }

  // ---- internals ----

  private filtered(view: View, bracketId: number | null): readonly Standing[] {
    const standings = this.current.standings(view);
    if (bracketId === null) return standings;
    const state = this.current;
    if (!state.brackets.has(bracketId)) return [];
    return standings.filter((s) => state.account(s.id)?.bracketId === bracketId);
  }

  private remember(key: string, view: View, body: Buffer): CachedBody {
    const cached = { body, etag: strongEtag(body), headers: HEADERS[view] };
    this.cache.set(key, cached);
    return cached;
  }

  /**
   * The cache key part of a bracket filter. Every id the engine does not know shares one key (its board is
   * empty), so ids from query strings neither grow the cache nor cost a fresh filtering per request.
   */
  private bracketKey(bracketId: number | null): string {
    if (bracketId === null) return "";
    return this.current.brackets.has(bracketId) ? String(bracketId) : "unknown";
  }

  /**
   * Runs a change after every change queued before it. A change that fails (the database did not answer) is
   * logged and followed by a rebuild, so a lost change cannot leave the engine wrong for long.
   */
  private enqueue<T>(what: string, task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (what !== "check") this.applied++;
      return task();
    });
    this.queue = run.catch((error) => {
      if (what === "rebuild" || what === "check") {
        this.log.error({ err: error, change: what }, `scoreboard ${what} failed; the consistency job will retry`);
        return;
      }
      this.log.error({ err: error, change: what }, "scoreboard could not apply a change; rebuilding from the database");
      this.queueRebuild();
    });
    return run;
  }

  private queueRebuild(): void {
    if (this.rebuildQueued) return;
    this.rebuildQueued = true;
    void this.rebuild()
      .catch(() => undefined) // logged by enqueue
      .finally(() => (this.rebuildQueued = false));
  }

  /** Loads the users, teams and challenges an event names that the engine does not know yet. */
  private async missingRecords(userIds: Array<number | null>, teamIds: Array<number | null>, challengeIds: Array<number | null>) {
    const state = this.current;
    const unknown = (ids: Array<number | null>, has: (id: number) => boolean) => ids.filter((id): id is number => id !== null && !has(id));
    const [users, teams, challenges] = await Promise.all([
      Promise.all(unknown(userIds, state.hasUser).map((id) => this.ctf.user(id))),
      Promise.all(unknown(teamIds, state.hasTeam).map((id) => this.ctf.team(id))),
      Promise.all(unknown(challengeIds, state.hasChallenge).map((id) => this.ctf.challenge(id))),
    ]);
    return { users, teams, challenges };
  }

  /**
   * Applies what missingRecords loaded; false when a user, team or challenge the event needs no longer exists
   * (its solves and awards went with it, by cascade).
   */
  private applyMissing(missing: Awaited<ReturnType<Scoreboard["missingRecords"]>>, userIds: Array<number | null>, teamIds: Array<number | null>, challengeIds: Array<number | null>): boolean {
    const state = this.current;
    for (const team of missing.teams) if (team) state.putTeam(team);
    for (const user of missing.users) if (user) state.putUser(user);
    for (const challenge of missing.challenges) if (challenge) state.putChallenge(challenge);
    const exists = (ids: Array<number | null>, has: (id: number) => boolean) => ids.every((id) => id === null || has(id));
    return exists(userIds, state.hasUser) && exists(teamIds, state.hasTeam) && exists(challengeIds, state.hasChallenge);
  }

  private commit(cause: Cause): void {
    const views = this.current.flush();
    if (!views.live && !views.public) return;
    for (const view of VIEWS) if (views[view]) this.forget(view);
    this.notify({ cause, views });
  }

  /** Swaps in a state built from a full load. */
  private swap(fresh: StandingsState): void {
    this.current = fresh;
    this.lastFullLoad = performance.now();
    this.cache.clear();
    this.notify({ cause: { event: "rebuilt" }, views: { live: true, public: true } });
  }

  private forget(view: View): void {
    for (const key of this.cache.keys()) if (key.startsWith(`${view}|`)) this.cache.delete(key);
  }

  private notify(change: BoardChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.log.error({ err: error }, "scoreboard change listener failed");
      }
    }
  }

  /** Differences between the engine's standings and a fresh state's, per view (first 20). */
  /** The differences between this engine and a fresh state (steps pause every ITEMS_PER_TURN rows). */
  private *comparing(fresh: StandingsState): Generator<void, CheckResult> {
    const differences: CheckResult["differences"] = [];
    for (const view of VIEWS) {
      const mine = this.current.standings(view);
      const theirs = fresh.standings(view);
      for (let i = 0; i < Math.max(mine.length, theirs.length) && differences.length < 20; i++) {
        if (i % ITEMS_PER_TURN === ITEMS_PER_TURN - 1) yield;
        const a = mine[i];
        const b = theirs[i];
        const describe = (s: Standing | undefined) => (s ? `${i + 1}:${s.at}:${s.lastId}:${s.tail}` : null);
        if (describe(a) !== describe(b)) differences.push({ view, accountId: (a ?? b)!.id, engine: describe(a), database: describe(b) });
      }
    }
    // All four settings: visibility too, else a lost visibility change would fail every fingerprint check and never be repaired.
    if (JSON.stringify(this.current.settings) !== JSON.stringify(fresh.settings)) {
      differences.push({ view: "live", accountId: 0, engine: JSON.stringify(this.current.settings), database: JSON.stringify(fresh.settings) });
    }
    // Facts that move no standing (a hidden account's lost rename) are drift too: left alone, every later check would
    // find the fingerprints different and load everything again.
    if (differences.length === 0 && !this.current.matches(fresh.fingerprints(this.ctf.fingerprintsOf), this.ctf.fingerprintsOf)) {
      differences.push({ view: "live", accountId: 0, engine: "facts", database: "other facts (accounts, challenges, solves or awards) behind the same standings" });
    }
    return { drift: differences.length > 0, differences, compared: "full load" };
  }
}
