import { ITEMS_PER_TURN, runInTurns } from "../../kernel/turns.js";
import type { Database } from "../../kernel/db/data-source.js";
import type { AccountUpdated, EventSettingsUpdated } from "../events.js";
import type { Player } from "../service.js";
import { SOLVE_FINGERPRINT } from "../read-service.js";
import { digestInDatabase, digestOf, FINGERPRINT_CHECK, fingerprintsAgree, sameDigest, type TableDigest } from "../table-digest.js";

/**
 * The board's read model: every solve in memory, so the challenge list and a challenge's view answer solve counts
 * and "solved by me" without a query. Kept current by core/ctf's events, rebuilt at start, and compared with the
 * database by the `read-models` job (index.ts). Counts follow CTFd: only solves by accounts that are neither hidden
 * nor banned (the user, and in team mode their team) count; the public view counts only solves before the freeze.
 */

/** One solve as the index keeps it. */
interface IndexedSolve {
  id: number;
  challengeId: number;
  userId: number;
  teamId: number | null;
  /** ms since the epoch, with the database's microseconds as the fraction. */
  at: number;
}

/** What a full load reads. */
interface Snapshot {
  mode: "users" | "teams";
  freezeAt: number | null;
  solves: IndexedSolve[];
  unlistedUsers: number[];
  unlistedTeams: number[];
}

export type CountView = "public" | "admin";

/** Settings changes that change no count: no reload needed. */
const HARMLESS_SETTINGS = new Set(["name", "startsAt", "endsAt", "paused", "registrationOpen", "challengeVisibility", "incorrectSubmissionsPerMinute", "teamSize", "scoreVisibility", "accountVisibility"]);

const SOLVE_COLUMNS = `s.id, s.challenge_id AS "challengeId", s.user_id AS "userId", s.team_id AS "teamId", extract(epoch FROM s.created_at)::float8 * 1000 AS at`;

/** The pure state: maps and counters, changed only by SolveIndex's queued steps. */
class SolveState {
  readonly solves = new Map<number, IndexedSolve>();
  readonly byUser = new Map<number, Set<IndexedSolve>>();
  readonly byTeam = new Map<number, Set<IndexedSolve>>();
  readonly counts: Record<CountView, Map<number, number>> = { public: new Map(), admin: new Map() };
  /** Challenge ids each scoring account solved (users in user mode, teams in team mode). */
  readonly solvedBy = new Map<number, Set<number>>();
  readonly unlistedUsers: Set<number>;
  readonly unlistedTeams: Set<number>;

  constructor(
    readonly mode: "users" | "teams",
    readonly freezeAt: number | null,
    unlistedUsers: number[],
    unlistedTeams: number[],
  ) {
    this.unlistedUsers = new Set(unlistedUsers);
    this.unlistedTeams = new Set(unlistedTeams);
  }

  /** The fingerprints of what this state was built from (table-digest.ts), as the database's are taken. */
  fingerprints(): SolveFingerprints {
    return {
      mode: this.mode,
      freezeAt: this.freezeAt,
      solves: digestOf(this.solves.values(), SOLVE_FINGERPRINT.of),
      unlistedUsers: digestOf(this.unlistedUsers, (id) => [id]),
      unlistedTeams: digestOf(this.unlistedTeams, (id) => [id]),
    };
  }

  /** The steps of building a state from a snapshot, pausing every ITEMS_PER_TURN solves (run with runInTurns). */
  static *building(snapshot: Snapshot): Generator<void, SolveState> {
    const state = new SolveState(snapshot.mode, snapshot.freezeAt, snapshot.unlistedUsers, snapshot.unlistedTeams);
    let solves = 0;
    for (const solve of snapshot.solves) {
      state.add(solve);
      if (++solves % ITEMS_PER_TURN === 0) yield;
    }
    return state;
  }

  /** The account a solve scores for: its team in team mode; in user mode its user (solves made in a team don't). */
  private accountOf(solve: IndexedSolve): number | null {
    return this.mode === "teams" ? solve.teamId : solve.teamId === null ? solve.userId : null;
  }

  private counted(solve: IndexedSolve): boolean {
    return !this.unlistedUsers.has(solve.userId) && (solve.teamId === null || !this.unlistedTeams.has(solve.teamId));
  }

  private bump(solve: IndexedSolve, by: 1 | -1): void {
    if (!this.counted(solve)) return;
    const views: CountView[] = this.freezeAt === null || solve.at < this.freezeAt ? ["admin", "public"] : ["admin"];
    for (const view of views) {
      const counts = this.counts[view];
      counts.set(solve.challengeId, (counts.get(solve.challengeId) ?? 0) + by);
    }
  }

  has(id: number): boolean {
    return this.solves.has(id);
  }

  add(solve: IndexedSolve): void {
    if (this.solves.has(solve.id)) return;
    this.solves.set(solve.id, solve);
    setOf(this.byUser, solve.userId).add(solve);
    if (solve.teamId !== null) setOf(this.byTeam, solve.teamId).add(solve);
    const account = this.accountOf(solve);
    if (account !== null) setOf(this.solvedBy, account).add(solve.challengeId);
    this.bump(solve, 1);
  }

  remove(solve: IndexedSolve): void {
    if (!this.solves.delete(solve.id)) return;
    this.bump(solve, -1);
    this.byUser.get(solve.userId)?.delete(solve);
    if (solve.teamId !== null) this.byTeam.get(solve.teamId)?.delete(solve);
    const account = this.accountOf(solve);
    // An account solves a challenge at most once (the database's unique keys), so the id can go.
    if (account !== null) this.solvedBy.get(account)?.delete(solve.challengeId);
  }

  /** Replaces everything known about these users and teams: their listing and their solves. */
  replaceAccounts(userIds: number[], teamIds: number[], fresh: { solves: IndexedSolve[]; unlistedUsers: number[]; unlistedTeams: number[] }): void {
    const old = new Set<IndexedSolve>();
    for (const id of userIds) for (const solve of this.byUser.get(id) ?? []) old.add(solve);
    for (const id of teamIds) for (const solve of this.byTeam.get(id) ?? []) old.add(solve);
    for (const solve of old) this.remove(solve);
    for (const id of userIds) this.unlistedUsers.delete(id);
    for (const id of teamIds) this.unlistedTeams.delete(id);
    for (const id of fresh.unlistedUsers) this.unlistedUsers.add(id);
    for (const id of fresh.unlistedTeams) this.unlistedTeams.add(id);
    for (const solve of fresh.solves) this.add(solve);
  }

  /**
   * Whether another state has the same counts per view and the same solved sets (the steps pause every
   * ITEMS_PER_TURN accounts: run with runInTurns).
   */
  *sameAs(other: SolveState): Generator<void, boolean> {
    if (this.mode !== other.mode || this.freezeAt !== other.freezeAt) return false;
    if (!sameCounts(this.counts.public, other.counts.public) || !sameCounts(this.counts.admin, other.counts.admin)) return false;
    let accounts = 0;
    for (const [account, solved] of this.solvedBy) {
      if (solved.size === 0) continue;
      const theirs = other.solvedBy.get(account);
      if (theirs?.size !== solved.size) return false;
      for (const id of solved) if (!theirs.has(id)) return false;
      if (++accounts % ITEMS_PER_TURN === 0) yield;
    }
    let theirAccounts = 0;
    for (const solved of other.solvedBy.values()) if (solved.size > 0) theirAccounts++;
    return theirAccounts === accounts;
  }
}

/** What the check compares before loading everything: the settings that shape counts, and three fingerprints. */
interface SolveFingerprints {
  mode: "users" | "teams";
  freezeAt: number | null;
  solves: TableDigest;
  unlistedUsers: TableDigest;
  unlistedTeams: TableDigest;
}

function sameFingerprints(a: SolveFingerprints, b: SolveFingerprints): boolean {
  return a.mode === b.mode && a.freezeAt === b.freezeAt && sameDigest(a.solves, b.solves) && sameDigest(a.unlistedUsers, b.unlistedUsers) && sameDigest(a.unlistedTeams, b.unlistedTeams);
}

/** Two count maps agree, a missing entry counting as zero. */
function sameCounts(a: Map<number, number>, b: Map<number, number>): boolean {
  for (const [id, n] of a) if ((b.get(id) ?? 0) !== n) return false;
  for (const [id, n] of b) if ((a.get(id) ?? 0) !== n) return false;
  return true;
}

function setOf<K, V>(map: Map<K, Set<V>>, key: K): Set<V> {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  return set;
}

export interface SolveIndexCheck {
  drift: boolean;
  solves: number;
  /** "fingerprints" when the database's fingerprints matched the index (nothing loaded), else "full load". */
  compared: "fingerprints" | "full load";
}

/**
 * The index of this instance. Like the scoreboard, every instance keeps its own, fed by the broadcast events after
 * commit; anything an event does not carry whole is re-read from the database. Changes run one at a time (I/O first,
 * then a synchronous apply), so a reader sees the state between two whole changes; `version` moves with each change
 * that can alter an answer (cached answers key on it).
 */
export class SolveIndex {
  private state = new SolveState("users", null, [], []);
  private queue: Promise<unknown> = Promise.resolve();
  private applied = 0;
  private changes = 0;
  /** When the state was last built from, or compared whole with, a full load (performance.now()). */
  private lastFullLoad = -Infinity;

  constructor(
    private readonly db: Database,
    private readonly settings: () => Promise<{ mode: "users" | "teams"; freezeAt: Date | null }>,
    private readonly log: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void },
  ) {}

  /** Moves with every change that can alter a count or a solved set. */
  get version(): number {
    return this.changes;
  }

  /** Public counts exclude solves after the freeze; admins see all. */
  solveCount(challengeId: number, view: CountView): number {
    return this.state.counts[view].get(challengeId) ?? 0;
  }

  /** The challenge ids the player's account solved (empty without an account). */
  solvedBy(player: Player | null): ReadonlySet<number> {
    if (!player || player.accountId === null) return EMPTY;
    return this.state.solvedBy.get(player.accountId) ?? EMPTY;
  }

  get size(): number {
    return this.state.solves.size;
  }

  rebuild(): Promise<{ solves: number; durationMs: number }> {
    return this.enqueue("rebuild", async () => {
      const started = performance.now();
      await this.reload();
      return { solves: this.state.solves.size, durationMs: Math.round(performance.now() - started) };
    });
  }

  /**
   * Compares with a fresh load and repairs a difference. The load runs beside the queue; it counts only when no
   * change was applied meanwhile (else it is done again inside the queue).
   */
  async check(): Promise<SolveIndexCheck> {
    if (performance.now() - this.lastFullLoad < FINGERPRINT_CHECK.fullLoadEveryMs && (await this.fingerprintsMatch())) {
      return { drift: false, solves: this.state.solves.size, compared: "fingerprints" };
    }
    const mark = this.applied;
    const fresh = await runInTurns(SolveState.building(await this.load()));
    return this.enqueue("check", async () => {
      const reference = this.applied === mark ? fresh : await runInTurns(SolveState.building(await this.load()));
      // Facts that move no count (an unlisted account with no solves) are drift too: left alone, every later check
      // would find the fingerprints different and load everything again.
      const drift = !(await runInTurns(reference.sameAs(this.state))) || !sameFingerprints(reference.fingerprints(), this.state.fingerprints());
      if (drift) {
        this.log.warn({ solves: reference.solves.size }, "solve index drift: it differed from the database; repaired from a fresh load");
        this.swap(reference);
      }
      this.lastFullLoad = performance.now();
      return { drift, solves: reference.solves.size, compared: "full load" };
    });
  }

  /** Whether the database's solves and unlisted accounts have the fingerprints of the index's, as of one moment. */
  private fingerprintsMatch(): Promise<boolean> {
    return fingerprintsAgree(async () => {
      const mark = this.applied;
      const [settings, solves, unlistedUsers, unlistedTeams] = await Promise.all([
        this.settings(),
        digestInDatabase(this.db, "ctf_solves", SOLVE_FINGERPRINT.sql),
        digestInDatabase(this.db, "ctf_users", ["id"], "hidden OR banned"),
        digestInDatabase(this.db, "ctf_teams", ["id"], "hidden OR banned"),
      ]);
      const database: SolveFingerprints = { mode: settings.mode, freezeAt: settings.freezeAt?.getTime() ?? null, solves, unlistedUsers, unlistedTeams };
      // Compared between two whole changes, and only if none was applied while the database was read.
      return this.enqueue("check", async () => this.applied === mark && sameFingerprints(this.state.fingerprints(), database));
    });
  }

  // ---- events ----

  solveCreated(p: { solveId: number; challengeId: number; userId: number; teamId: number | null; at: number }): Promise<void> {
    return this.enqueue("solve.created", async () => {
      if (this.state.has(p.solveId)) return;
      this.state.add({ id: p.solveId, challengeId: p.challengeId, userId: p.userId, teamId: p.teamId, at: p.at });
      this.changes++;
    });
  }

  /** Reloads the listing and the solves of the users and teams the change names. */
  accountUpdated(p: AccountUpdated): Promise<void> {
    if (p.changes.every((c) => c === "name" || c === "role" || c === "credentials" || c === "bracket" || c === "profile")) return Promise.resolve();
    return this.enqueue("account.updated", async () => {
      const userIds = p.accountType === "user" ? [p.id] : [];
      const teamIds = [...new Set([...(p.accountType === "team" ? [p.id] : []), ...p.affectedTeamIds])];
      const [solves, unlistedUsers, unlistedTeams] = await Promise.all([
        this.db.query<IndexedSolve>(`SELECT ${SOLVE_COLUMNS} FROM ctf_solves s WHERE s.user_id = ANY($1::int[]) OR s.team_id = ANY($2::int[])`, [userIds, teamIds]),
        this.db.query<{ id: number }>(`SELECT id FROM ctf_users WHERE id = ANY($1::int[]) AND (hidden OR banned)`, [userIds]),
        this.db.query<{ id: number }>(`SELECT id FROM ctf_teams WHERE id = ANY($1::int[]) AND (hidden OR banned)`, [teamIds]),
      ]);
      this.state.replaceAccounts(userIds, teamIds, { solves, unlistedUsers: unlistedUsers.map((r) => r.id), unlistedTeams: unlistedTeams.map((r) => r.id) });
      this.changes++;
    });
  }

  /** A deleted challenge took its solves with it; anything else about a challenge changes no count. */
  challengeUpdated(p: { id: number; deleted: boolean }): Promise<void> {
    if (!p.deleted) return Promise.resolve();
    return this.enqueue("challenge.updated", async () => {
      for (const solve of [...this.state.solves.values()]) if (solve.challengeId === p.id) this.state.remove(solve);
      this.changes++;
    });
  }

  /** A mode or freeze change (or an import) reloads everything. */
  eventUpdated(p: EventSettingsUpdated): Promise<void> {
    if (p.changes.every((c) => HARMLESS_SETTINGS.has(c))) return Promise.resolve();
    return this.enqueue("event.updated", () => this.reload());
  }

  // ---- internals ----

  private async load(): Promise<Snapshot> {
    const settings = await this.settings();
    const [solves, unlistedUsers, unlistedTeams] = await Promise.all([
      this.db.query<IndexedSolve>(`SELECT ${SOLVE_COLUMNS} FROM ctf_solves s`),
      this.db.query<{ id: number }>(`SELECT id FROM ctf_users WHERE hidden OR banned`),
      this.db.query<{ id: number }>(`SELECT id FROM ctf_teams WHERE hidden OR banned`),
    ]);
    return { mode: settings.mode, freezeAt: settings.freezeAt?.getTime() ?? null, solves, unlistedUsers: unlistedUsers.map((r) => r.id), unlistedTeams: unlistedTeams.map((r) => r.id) };
  }

  /** Builds the state from a full load (inside a queued change). */
  private async reload(): Promise<void> {
    this.swap(await runInTurns(SolveState.building(await this.load())));
    this.lastFullLoad = performance.now();
  }

  private swap(fresh: SolveState): void {
    this.state = fresh;
    this.changes++;
  }

  /** Runs a change after every change before it; a change that fails is logged and followed by a rebuild. */
  private enqueue<T>(what: string, task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (what !== "check") this.applied++;
      return task();
    });
    this.queue = run.catch((error) => {
      this.log.error({ err: error, change: what }, `solve index: ${what} failed; rebuilding from the database`);
      if (what !== "rebuild" && what !== "check") void this.rebuild().catch(() => undefined);
    });
    return run;
  }
}

const EMPTY: ReadonlySet<number> = new Set();
