import { ITEMS_PER_TURN, runNow } from "../../../core/kernel/turns.js";
import type { ChallengeValue, CtfReadService, ScoringAward, ScoringBracket, ScoringChallenge, ScoringFacts, ScoringFingerprints, ScoringSettings, ScoringSolve, ScoringTeam, ScoringUser } from "../../../core/ctf/service.js";
import { teamTail, userTail, type MemberFields } from "./rows.js";

export type Mode = ScoringSettings["mode"];

/**
 * `live`: every solve and award (what admins see). `public`: only those dated before the freeze, with dynamic
 * challenges worth what they were worth at the freeze (what everyone else sees). Without a freeze they agree.
 */
export type View = "live" | "public";
export const VIEWS: readonly View[] = ["live", "public"];

type Solve = ScoringSolve & { kind: "solve" };
type Award = ScoringAward & { kind: "award" };
export type Item = Solve | Award;

interface Challenge extends ScoringChallenge {
  /** Its value in the public view (see frozenValueOf). */
  frozenValue: number;
}

/** One listed account in one view. */
export interface Standing {
  readonly id: number;
  score: number;
  /** When the account reached its score: its latest counted solve or award (ms, with microseconds). */
  at: number;
  /** The highest id among its counted solves and awards (CTFd's max(id): breaks ties at the same instant). */
  lastId: number;
  /** Its API row without `pos` (rows.ts). */
  tail: string;
}

/**
 * CTFd's order: score descending, then who reached it first, then (at the same instant) the lower latest row id,
 * then account id. Negative when a ranks above b.
 */
export const rankOrder = (a: Standing, b: Standing) => b.score - a.score || a.at - b.at || a.lastId - b.lastId || a.id - b.id;

/** Above this many changed accounts, one sort is cheaper than moving each account. */
const BULK_THRESHOLD = 64;

/** The listed accounts of one view, kept sorted. */
class Ranking {
  order: Standing[] = [];
  readonly byId = new Map<number, Standing>();

  /** Index of the first standing that does not rank above `s` (s itself when it is in the order). */
  private lowerBound(s: Standing): number {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (rankOrder(this.order[mid]!, s) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** 1-based place of a listed standing. */
  placeOf(s: Standing): number {
    const index = this.lowerBound(s);
    return (this.order[index] === s ? index : this.order.indexOf(s)) + 1;
  }

  insert(s: Standing): void {
    this.order.splice(this.lowerBound(s), 0, s);
  }

  /** Call before changing the standing's score or time (the search uses them). */
  remove(s: Standing): void {
    let index = this.lowerBound(s);
    if (this.order[index] !== s) index = this.order.indexOf(s);
    if (index >= 0) this.order.splice(index, 1);
  }

  /**
   * Puts the order right after many standings changed in place (`moved`: each one changed, added or dropped from
   * byId). The others kept their keys, so they are still in order: sort only the moved ones and merge the two runs,
   * O(n + k log k) where a full sort costs O(n log n) comparisons. A dynamic challenge's solve moves its every solver
   * (hundreds of accounts on a board of ten thousand) on every instance.
   */
  reorder(moved: ReadonlySet<Standing>): void {
    const listed = (s: Standing) => this.byId.get(s.id) === s;
    const stayed = this.order.filter((s) => !moved.has(s) && listed(s));
    const changed = [...moved].filter(listed).sort(rankOrder);
    const order: Standing[] = new Array(stayed.length + changed.length);
    let [i, j, k] = [0, 0, 0];
    while (i < stayed.length && j < changed.length) order[k++] = rankOrder(stayed[i]!, changed[j]!) <= 0 ? stayed[i++]! : changed[j++]!;
    while (i < stayed.length) order[k++] = stayed[i++]!;
    while (j < changed.length) order[k++] = changed[j++]!;
    this.order = order;
  }
}

/** Which views a flush changed. */
export interface ViewChanges {
  live: boolean;
  public: boolean;
}

/**
 * The standings, in memory. Pure: no I/O. The board (board.ts) feeds it records read from the database and
 * calls `flush()` after each change; flush recomputes only the accounts that change touched (an account's
 * score is a sum over its own solves and awards, a few dozen at most), moves each in the sorted order by binary
 * search, and says which views changed. A dynamic value change touches every solver of that challenge.
 *
 * Rules (CTFd's, docs/ctfd-api-v1.md §2.9): in user mode the account is the user (solves and awards by
 * user_id), in team mode the team (by team_id). Score = the current value of each solved challenge + award
 * values (hint costs are negative awards). Hidden and banned accounts are never listed; an account is listed
 * once it has any solve or award. In team mode members are the team's visible, non-banned users, each with
 * their own points (solves and awards by user_id).
 */
/** Accounts recomputed per turn of the event loop in a flush (each sums its solves and awards in two views). */
const ACCOUNTS_PER_TURN = 500;

export class StandingsState {
  settings: ScoringSettings;
  readonly users = new Map<number, ScoringUser>();
  readonly teams = new Map<number, ScoringTeam>();
  readonly brackets = new Map<number, string>();
  private readonly challenges = new Map<number, Challenge>();
  private readonly solves = new Map<number, Solve>();
  private readonly awards = new Map<number, Award>();
  private readonly solvesByChallenge = new Map<number, Set<Solve>>();
  private readonly itemsByUser = new Map<number, Set<Item>>();
  private readonly itemsByTeam = new Map<number, Set<Item>>();
  private readonly membersByTeam = new Map<number, Set<number>>();
  private readonly rankings: Record<View, Ranking> = { live: new Ranking(), public: new Ranking() };
  private readonly dirtyAccounts = new Set<number>();
  /**
   * Points an account gained or lost in each view since the last flush because a challenge it solved changed value
   * (dynamic decay: one solve moves every solver). Its time and last row stay the same, so its standing shifts by the
   * difference instead of summing its solves again; an account that is also dirty is recomputed whole instead.
   */
  private readonly valueShifts = new Map<number, Record<View, number>>();
  private readonly dirtyChallenges = new Set<number>();
  /**
   * Views whose timelines (the top/N graph) gained or lost an item since the last flush. A zero-value solve or award
   * moves no score, yet it is a row of the graph: the view's bytes must still be made again.
   */
  private readonly timelinesMoved: ViewChanges = { live: false, public: false };

  /** `challengeValue` is core/ctf's decay formula (CtfReadService), for values at the freeze. */
  private constructor(
    settings: ScoringSettings,
    private readonly challengeValue: ChallengeValue,
  ) {
    this.settings = settings;
  }

  /** A state built from the facts in one go (tests and small events; the board builds in turns). */
  static build(data: ScoringFacts, challengeValue: ChallengeValue): StandingsState {
    return runNow(StandingsState.building(data, challengeValue));
  }

  /**
   * The steps of a build, pausing every ITEMS_PER_TURN items: run with runInTurns, a state of 200,000 solves is
   * built without holding the event loop (it took seconds of one turn, every consistency check).
   */
  static *building(data: ScoringFacts, challengeValue: ChallengeValue): Generator<void, StandingsState> {
    const state = new StandingsState(data.settings, challengeValue);
    state.setBrackets(data.brackets);
    let items = 0;
    const pause = () => ++items % ITEMS_PER_TURN === 0;
    for (const user of data.users) if ((state.putUser(user), pause())) yield;
    for (const team of data.teams) if ((state.putTeam(team), pause())) yield;
    for (const challenge of data.challenges) if ((state.putChallenge(challenge), pause())) yield;
    for (const solve of data.solves) if ((state.addSolve(solve), pause())) yield;
    for (const award of data.awards) if ((state.addAward(award), pause())) yield;
    yield* state.flushing();
    return state;
  }

  static empty(settings: ScoringSettings, challengeValue: ChallengeValue): StandingsState {
    return new StandingsState(settings, challengeValue);
  }

  get mode(): Mode {
    return this.settings.mode;
  }

  /** The listed accounts of a view, best first. Do not modify. */
  standings(view: View): readonly Standing[] {
    return this.rankings[view].order;
  }

  standing(view: View, accountId: number): Standing | undefined {
    return this.rankings[view].byId.get(accountId);
  }

  /**
   * An account's score and place in a view: listed accounts from their standing; an unlisted one (hidden, banned,
   * or without points) has the sum of its items and no place.
   */
  scoreAndPlace(view: View, accountId: number): { score: number; place: number | null } {
    const standing = this.standing(view, accountId);
    if (standing) return { score: standing.score, place: this.rankings[view].placeOf(standing) };
    let score = 0;
    for (const item of this.timeline(view, accountId)) score += this.valueOf(item, view);
    return { score, place: null };
  }

  /** The account (user or team, by mode) behind a standing. */
  account(id: number): ScoringUser | ScoringTeam | undefined {
    return this.mode === "teams" ? this.teams.get(id) : this.users.get(id);
  }

  hasUser = (id: number) => this.users.has(id);
  hasTeam = (id: number) => this.teams.has(id);
  hasChallenge = (id: number) => this.challenges.has(id);
  /**
   * Whether this state holds the facts the fingerprints describe: the small facts compared whole, the solves and
   * awards by fingerprint (`fingerprintsOf` is core/ctf's, so both sides mix the same fields).
   */
  matches(database: ScoringFingerprints, fingerprintsOf: CtfReadService["fingerprintsOf"]): boolean {
    const [mine, theirs] = [this.settings, database.settings];
    if (mine.mode !== theirs.mode || mine.freezeAt !== theirs.freezeAt || mine.scoreVisibility !== theirs.scoreVisibility || mine.accountVisibility !== theirs.accountVisibility) return false;
    if (database.brackets.length !== this.brackets.size || database.brackets.some((b) => this.brackets.get(b.id) !== b.name)) return false;
    if (!sameRecords(this.users, database.users, sameFields) || !sameRecords(this.teams, database.teams, sameFields)) return false;
    if (!sameRecords(this.challenges, database.challenges, (held, fresh) => held.value === fresh.value && JSON.stringify(held.decay) === JSON.stringify(fresh.decay))) return false;
    const held = fingerprintsOf({ solves: this.solves.values(), awards: this.awards.values() });
    return held.solves.rows === database.solves.rows && held.solves.sum === database.solves.sum && held.awards.rows === database.awards.rows && held.awards.sum === database.awards.sum;
  }

  /** The fingerprints of the facts this state holds, as scoringFingerprints gives the database's (to compare two states). */
  fingerprints(fingerprintsOf: CtfReadService["fingerprintsOf"]): ScoringFingerprints {
    return {
      settings: this.settings,
      brackets: [...this.brackets].map(([id, name]) => ({ id, name })),
      users: [...this.users.values()],
      teams: [...this.teams.values()],
      challenges: [...this.challenges.values()],
      ...fingerprintsOf({ solves: this.solves.values(), awards: this.awards.values() }),
    };
  }

  hasSolve = (id: number) => this.solves.has(id);
  hasAward = (id: number) => this.awards.has(id);

  get counts() {
    return { users: this.users.size, teams: this.teams.size, challenges: this.challenges.size, solves: this.solves.size, awards: this.awards.size };
  }

  /** The solves and awards that make up an account's score in a view, oldest first (the top/N graph). */
  timeline(view: View, accountId: number): Item[] {
    const cutoff = this.cutoff(view);
    const items = [...(this.itemsOf(accountId) ?? [])].filter((item) => item.at < cutoff);
    return items.sort((a, b) => a.at - b.at || (a.kind === b.kind ? a.id - b.id : a.kind === "solve" ? -1 : 1));
  }

  /** What an item is worth in a view. */
  valueOf(item: Item, view: View): number {
    if (item.kind === "award") return item.value;
    const challenge = this.challenges.get(item.challengeId);
    if (!challenge) return 0;
    return view === "live" ? challenge.value : challenge.frozenValue;
  }

  // ---- changes (each marks what it touches; flush() recomputes) ----

  /** Visibility settings only: a mode or freeze change needs a rebuild (the board does one). */
  setVisibility(settings: ScoringSettings): void {
    this.settings = { ...this.settings, scoreVisibility: settings.scoreVisibility, accountVisibility: settings.accountVisibility };
  }

  setBrackets(brackets: ScoringBracket[]): void {
    const before = JSON.stringify([...this.brackets]);
    this.brackets.clear();
    for (const b of brackets) this.brackets.set(b.id, b.name);
    if (JSON.stringify([...this.brackets]) === before) return;
    // Bracket names are in rows (and member rows): touch everyone.
    for (const id of this.mode === "teams" ? this.teams.keys() : this.users.keys()) this.dirtyAccounts.add(id);
  }

  putUser(user: ScoringUser): void {
    const old = this.users.get(user.id);
    if (old) {
      this.touchUser(old);
      if (old.teamId !== null) this.membersByTeam.get(old.teamId)?.delete(old.id);
    }
    this.users.set(user.id, { ...user });
    if (user.teamId !== null) this.memberSet(user.teamId).add(user.id);
    this.touchUser(user);
    if (!old || old.hidden !== user.hidden || old.banned !== user.banned) this.touchSolvedChallenges(this.itemsByUser.get(user.id));
  }

  /** The user is gone, and (by cascade) their solves and awards. */
  deleteUser(id: number): void {
    const old = this.users.get(id);
    for (const item of [...(this.itemsByUser.get(id) ?? [])]) this.removeItem(item);
    if (!old) return;
    this.touchUser(old);
    if (old.teamId !== null) this.membersByTeam.get(old.teamId)?.delete(id);
    this.users.delete(id);
  }

  putTeam(team: ScoringTeam): void {
    const old = this.teams.get(team.id);
    this.teams.set(team.id, { ...team });
    if (this.mode === "teams") this.dirtyAccounts.add(team.id);
    if (!old || old.hidden !== team.hidden || old.banned !== team.banned) this.touchSolvedChallenges(this.itemsByTeam.get(team.id));
  }

  /** The team is gone with its solves and awards (cascade); its members no longer have a team. */
  deleteTeam(id: number): void {
    for (const item of [...(this.itemsByTeam.get(id) ?? [])]) this.removeItem(item);
    for (const userId of [...(this.membersByTeam.get(id) ?? [])]) {
      const user = this.users.get(userId);
      if (user) this.putUser({ ...user, teamId: null });
    }
    this.membersByTeam.delete(id);
    if (this.teams.delete(id) && this.mode === "teams") this.dirtyAccounts.add(id);
  }

  putChallenge(record: ScoringChallenge): void {
    const challenge = this.challenges.get(record.id);
    if (!challenge) {
      this.challenges.set(record.id, { ...record, frozenValue: record.value });
      this.dirtyChallenges.add(record.id);
      for (const solve of this.solvesByChallenge.get(record.id) ?? []) this.touchItem(solve);
      return;
    }
    const shift = record.value - challenge.value;
    challenge.value = record.value;
    challenge.decay = record.decay;
    this.dirtyChallenges.add(record.id);
    if (shift !== 0) this.shiftSolvers(record.id, "live", shift);
  }

  /** The challenge is gone, and (by cascade) its solves. */
  deleteChallenge(id: number): void {
    for (const solve of [...(this.solvesByChallenge.get(id) ?? [])]) this.removeItem(solve);
    this.solvesByChallenge.delete(id);
    this.challenges.delete(id);
  }

  /** Adds a solve (again is a no-op). Until its challenge is known (putChallenge) it is worth 0. */
  addSolve(record: ScoringSolve): void {
    if (this.solves.has(record.id)) return;
    const solve: Solve = { ...record, kind: "solve" };
    this.solves.set(solve.id, solve);
    let siblings = this.solvesByChallenge.get(solve.challengeId);
    if (!siblings) this.solvesByChallenge.set(solve.challengeId, (siblings = new Set()));
    siblings.add(solve);
    this.dirtyChallenges.add(solve.challengeId);
    this.index(solve);
  }

  removeSolve(id: number): void {
    const solve = this.solves.get(id);
    if (solve) this.removeItem(solve);
  }

  addAward(record: ScoringAward): void {
    if (this.awards.has(record.id)) return;
    const award: Award = { ...record, kind: "award" };
    this.awards.set(award.id, award);
    this.index(award);
  }

  removeAward(id: number): void {
    const award = this.awards.get(id);
    if (award) this.removeItem(award);
  }

  /** Replaces every solve and award of a user with what the database holds now. */
  replaceUserItems(userId: number, solves: ScoringSolve[], awards: ScoringAward[]): void {
    for (const item of [...(this.itemsByUser.get(userId) ?? [])]) this.removeItem(item);
    for (const solve of solves) this.addSolve(solve);
    for (const award of awards) this.addAward(award);
  }

  /** Replaces every solve and award owned by a team (team_id) with what the database holds now. */
  replaceTeamItems(teamId: number, solves: ScoringSolve[], awards: ScoringAward[]): void {
    for (const item of [...(this.itemsByTeam.get(teamId) ?? [])]) this.removeItem(item);
    for (const solve of solves) this.addSolve(solve);
    for (const award of awards) this.addAward(award);
  }

  /** Ids of a team's members as the engine knows them. */
  membersOf(teamId: number): number[] {
    return [...(this.membersByTeam.get(teamId) ?? [])];
  }

  /**
   * Recomputes what changed since the last flush and reports which views moved. Frozen values first (they feed
   * scores), then every touched account.
   */
  flush(): ViewChanges {
    return runNow(this.flushing());
  }

  /** flush's steps, pausing every ACCOUNTS_PER_TURN accounts: a fresh build recomputes every account at once. */
  *flushing(): Generator<void, ViewChanges> {
    for (const id of this.dirtyChallenges) {
      const challenge = this.challenges.get(id);
      if (!challenge) continue;
      const frozen = this.frozenValueOf(challenge);
      if (frozen === challenge.frozenValue) continue;
      const shift = frozen - challenge.frozenValue;
      challenge.frozenValue = frozen;
      this.shiftSolvers(id, "public", shift);
    }
    this.dirtyChallenges.clear();
    const changes: ViewChanges = { ...this.timelinesMoved };
    this.timelinesMoved.live = this.timelinesMoved.public = false;
    // Many accounts: change them in place, then reorder each view once (Ranking.reorder) with what moved.
    const moved: Record<View, Set<Standing>> | null = this.dirtyAccounts.size + this.valueShifts.size > BULK_THRESHOLD ? { live: new Set(), public: new Set() } : null;
    let accounts = 0;
    for (const [id, shifts] of this.valueShifts) {
      if (this.dirtyAccounts.has(id)) continue; // recomputed whole below, at the new values
      for (const view of VIEWS) if (shifts[view] !== 0 && this.shift(id, view, shifts[view], moved?.[view] ?? null)) changes[view] = true;
      if (++accounts % ACCOUNTS_PER_TURN === 0) yield;
    }
    this.valueShifts.clear();
    for (const id of this.dirtyAccounts) {
      for (const view of VIEWS) if (this.recompute(id, view, moved?.[view] ?? null)) changes[view] = true;
      if (++accounts % ACCOUNTS_PER_TURN === 0) yield;
    }
    this.dirtyAccounts.clear();
    if (moved) for (const view of VIEWS) if (moved[view].size > 0) this.rankings[view].reorder(moved[view]);
    return changes;
  }

  // ---- internals ----

  private cutoff(view: View): number {
    return view === "public" && this.settings.freezeAt !== null ? this.settings.freezeAt : Infinity;
  }

  private itemsOf(accountId: number): Set<Item> | undefined {
    return (this.mode === "teams" ? this.itemsByTeam : this.itemsByUser).get(accountId);
  }

  /**
   * Recomputes one account in one view; true when its listing, score, time or row changed. With `moved` (many
   * accounts at once) the standing changes in place and joins `moved` for Ranking.reorder; else it moves itself.
   */
  private recompute(id: number, view: View, moved: Set<Standing> | null): boolean {
    const ranking = this.rankings[view];
    const account = this.account(id);
    const cutoff = this.cutoff(view);
    let score = 0;
    let at = -Infinity;
    let lastId = 0;
    let counted = 0;
    for (const item of this.itemsOf(id) ?? []) {
      if (item.at >= cutoff) continue;
      score += this.valueOf(item, view);
      if (item.at > at) at = item.at;
      if (item.id > lastId) lastId = item.id; // solve and award ids alike, as CTFd's max(id) over both
      counted++;
    }
    const listed = counted > 0 && account !== undefined && !account.hidden && !account.banned;
    let standing = ranking.byId.get(id);
    if (!listed) {
      if (!standing) return false;
      if (!moved) ranking.remove(standing);
      ranking.byId.delete(id); // reorder drops what byId no longer holds
      return true;
    }
    const tail = this.tailOf(account!, score, view);
    if (standing && standing.score === score && standing.at === at && standing.lastId === lastId && standing.tail === tail) return false;
    if (standing) {
      if (!moved) ranking.remove(standing);
    } else {
      standing = { id, score, at, lastId, tail };
      ranking.byId.set(id, standing);
    }
    standing.score = score;
    standing.at = at;
    standing.lastId = lastId;
    standing.tail = tail;
    if (moved) moved.add(standing);
    else ranking.insert(standing);
    return true;
  }

  /**
   * Moves a listed account's standing by `points` in one view: a challenge it solved changed value, which moves
   * neither its time nor its last row. An account not listed has no standing to move (its score is summed when read).
   */
  private shift(id: number, view: View, points: number, moved: Set<Standing> | null): boolean {
    const ranking = this.rankings[view];
    const standing = ranking.byId.get(id);
    const account = this.account(id);
    if (!standing || !account) return false;
    if (!moved) ranking.remove(standing);
    standing.score += points;
    standing.tail = this.tailOf(account, standing.score, view);
    if (moved) moved.add(standing);
    else ranking.insert(standing);
    return true;
  }

  /**
   * A challenge's value in `view` moved by `points`: each of its solves counted in that view shifts its owner's
   * score (valueShifts). In team mode the solver's current team, when another, only shows the solver's points in its
   * member list: that team is recomputed whole.
   */
  private shiftSolvers(challengeId: number, view: View, points: number): void {
    const cutoff = this.cutoff(view);
    for (const solve of this.solvesByChallenge.get(challengeId) ?? []) {
      if (this.mode === "teams") {
        const teamId = this.users.get(solve.userId)?.teamId;
        if (teamId !== null && teamId !== undefined && teamId !== solve.teamId) this.dirtyAccounts.add(teamId);
      }
      if (solve.at >= cutoff) continue;
      const owner = this.mode === "users" ? solve.userId : solve.teamId;
      if (owner === null) continue;
      let shifts = this.valueShifts.get(owner);
      if (!shifts) this.valueShifts.set(owner, (shifts = { live: 0, public: 0 }));
      shifts[view] += points;
    }
  }

  private tailOf(account: ScoringUser | ScoringTeam, score: number, view: View): string {
    const bracketName = account.bracketId === null ? null : (this.brackets.get(account.bracketId) ?? null);
    if (this.mode === "users") return userTail(account, score, bracketName);
    const cutoff = this.cutoff(view);
    const members: Array<MemberFields & { bracketName: string | null }> = [];
    for (const userId of this.membersByTeam.get(account.id) ?? []) {
      const user = this.users.get(userId);
      if (!user || user.hidden || user.banned) continue;
      let points = 0;
      for (const item of this.itemsByUser.get(userId) ?? []) if (item.at < cutoff) points += this.valueOf(item, view);
      members.push({ id: user.id, name: user.name, bracketId: user.bracketId, score: points, bracketName: user.bracketId === null ? null : (this.brackets.get(user.bracketId) ?? null) });
    }
    members.sort((a, b) => a.id - b.id);
    return teamTail(account, score, bracketName, members);
  }

  /**
   * A dynamic challenge's value in the public view: what it was worth at the freeze. When a counted solve (by a
   * visible, non-banned account, as core/ctf counts them for decay) is dated at or after the freeze, the value
   * has decayed since, so recompute it from the counted solves before the freeze; otherwise it is the current
   * value. Without this, post-freeze solves would move frozen scores through decay.
   */
  private frozenValueOf(challenge: Challenge): number {
    const freezeAt = this.settings.freezeAt;
    if (freezeAt === null || challenge.decay === null) return challenge.value;
    let before = 0;
    let after = false;
    for (const solve of this.solvesByChallenge.get(challenge.id) ?? []) {
      if (!this.countsForDecay(solve)) continue;
      if (solve.at < freezeAt) before++;
      else after = true;
    }
    return after ? this.challengeValue(challenge.decay, before) : challenge.value;
  }

  private countsForDecay(solve: Solve): boolean {
    const user = this.users.get(solve.userId);
    if (!user || user.hidden || user.banned) return false;
    if (solve.teamId === null) return true;
    const team = this.teams.get(solve.teamId);
    return !team || (!team.hidden && !team.banned);
  }

  private index(item: Item): void {
    if (item.userId !== null) this.itemSet(this.itemsByUser, item.userId).add(item);
    if (item.teamId !== null) this.itemSet(this.itemsByTeam, item.teamId).add(item);
    this.touchItem(item);
    this.timelineMoved(item);
  }

  private timelineMoved(item: Item): void {
    this.timelinesMoved.live = true;
    if (item.at < this.cutoff("public")) this.timelinesMoved.public = true;
  }

  private removeItem(item: Item): void {
    if (item.userId !== null) this.itemsByUser.get(item.userId)?.delete(item);
    if (item.teamId !== null) this.itemsByTeam.get(item.teamId)?.delete(item);
    if (item.kind === "solve") {
      this.solves.delete(item.id);
      this.solvesByChallenge.get(item.challengeId)?.delete(item);
      this.dirtyChallenges.add(item.challengeId);
    } else {
      this.awards.delete(item.id);
    }
    this.touchItem(item);
    this.timelineMoved(item);
  }

  /** Marks the accounts whose score or row an item feeds: its owner, and in team mode its user's team (member points). */
  private touchItem(item: Item): void {
    if (this.mode === "users") {
      if (item.userId !== null) this.dirtyAccounts.add(item.userId);
      return;
    }
    if (item.teamId !== null) this.dirtyAccounts.add(item.teamId);
    if (item.userId !== null) {
      const teamId = this.users.get(item.userId)?.teamId;
      if (teamId !== null && teamId !== undefined) this.dirtyAccounts.add(teamId);
    }
  }

  private touchUser(user: ScoringUser): void {
    if (this.mode === "users") this.dirtyAccounts.add(user.id);
    else if (user.teamId !== null) this.dirtyAccounts.add(user.teamId);
  }

  private touchSolvedChallenges(items: Set<Item> | undefined): void {
    for (const item of items ?? []) if (item.kind === "solve") this.dirtyChallenges.add(item.challengeId);
  }

  private memberSet(teamId: number): Set<number> {
    let set = this.membersByTeam.get(teamId);
    if (!set) this.membersByTeam.set(teamId, (set = new Set()));
    return set;
  }

  private itemSet(map: Map<number, Set<Item>>, key: number): Set<Item> {
    let set = map.get(key);
    if (!set) map.set(key, (set = new Set()));
    return set;
  }
}

/** The records held are exactly the fresh ones (by id), each the same as its fresh copy. */
function sameRecords<Held, Fresh extends { id: number }>(held: ReadonlyMap<number, Held>, fresh: readonly Fresh[], same: (held: Held, fresh: Fresh) => boolean): boolean {
  if (held.size !== fresh.length) return false;
  for (const record of fresh) {
    const mine = held.get(record.id);
    if (mine === undefined || !same(mine, record)) return false;
  }
  return true;
}

/** Every field of the fresh record has the same value in the held one (which may carry more). */
function sameFields<T extends object>(held: T, fresh: T): boolean {
  return (Object.keys(fresh) as Array<keyof T>).every((key) => held[key] === fresh[key]);
}
