import type { TableDigest } from "./table-digest.js";
import type { Context } from "koa";
import type { z } from "zod";
import { serviceRef } from "../kernel/plugin-host/service-ref.js";
import type { DecaySettings } from "./game/dynamic-value.js";
import type { EventSettings } from "./settings.js";

/**
 * core/ctf's service type module: the one file of core/ctf another plugin may import. It declares what core/ctf
 * offers other plugins as typed service references (declare `ctf` in your dependsOn and list them in your deps):
 *
 *  - gameService: GameService    (settings, who is calling, challenge types, flag verifiers)
 *  - pageShellService: PageShell (render a page inside the shared layout and navigation)
 *  - readService: CtfReadService (scoring facts, challenge values, accounts, bounded submission and solve reads)
 */

/** The caller as core/ctf sees it. `accountId` is the user in user mode and the team in team mode. */
export interface Player {
  userId: number;
  name: string;
  admin: boolean;
  teamId: number | null;
  /** null in team mode for a user without a team. */
  accountId: number | null;
  accountType: "user" | "team";
}

/** A challenge type: its settings schema and, optionally, how it answers attempts. */
export interface ChallengeType<S extends z.ZodType = z.ZodType> {
  id: string;
  name: string;
  /** Validates `type_settings` on create and update (anything else a type needs, e.g. an image name). */
  settings: S;
  /**
   * Extra fields for `GET /api/v1/challenges/:id` (e.g. connection details of the player's instance; the type's
   * settings for admins). `viewer.admin` is true for admins, including the bootstrap token, which has no player.
   */
  view?(challenge: { id: number; typeSettings: z.infer<S> }, player: Player | null, viewer: { admin: boolean }): Promise<Record<string, unknown>> | Record<string, unknown>;
  /**
   * Flags the type brings itself, judged beside the challenge's stored flags by the verifier of their `type`
   * (e.g. whale's per-account flags, which no admin writes down). Evaluated on every attempt: keep it pure.
   */
  implicitFlags?(typeSettings: z.infer<S>): Array<{ type: string; content: string; data: string | null }>;
  /**
   * A same-origin ES module (served from the plugin's assets) the challenge dialog loads for this type. It exports
   * `mount(element, challenge, { api, el, say })` and may return a function the dialog calls when it closes.
   * Published as CTFd's `type_data.scripts.view`.
   */
  viewScript?: string;
}

export interface FlagCheck {
  challengeId: number;
  flag: { id: number; type: string; content: string; data: string | null };
  provided: string;
  player: Player;
}

/** A flag verifier: decides whether `provided` matches a flag of its type. */
export interface FlagVerifier {
  type: string;
  /** Validates a flag's content and data when an admin creates or edits it; throw to refuse with a message. */
  validate?(content: string, data: string | null): string | null;
  verify(check: FlagCheck): boolean | Promise<boolean>;
}

/**
 * Score and place kept in memory by a plugin (the scoreboard registers its standings engine). While one is registered
 * and in the event's mode, core/ctf answers the score and place of `/users/me`, `/users/:id`, `/teams/me` and
 * `/teams/:id` from it, so those and the scoreboard come from one source and never disagree; without one, core/ctf
 * computes them in SQL. Synchronous: a read must not wait.
 */
export interface StandingsSource {
  /** The mode the source's standings are in (it follows the event's mode after a rebuild). */
  readonly mode: "users" | "teams";
  /**
   * An account's score and 1-based place (null when not ranked: hidden, banned, no points). `public` counts up to the
   * freeze (dynamic values as they were then); `live` counts everything.
   */
  scoreAndPlace(accountId: number, view: "public" | "live"): { score: number; place: number | null };
}

export interface GameService {
  settings(): Promise<EventSettings>;
  /** The calling player, or null (anonymous, or the bootstrap admin token, which has no account). */
  player(ctx: Context): Promise<Player | null>;
  /**
   * The rule a player opening a challenge meets (`GET /api/v1/challenges/:id`, its hints), for a plugin acting on a
   * challenge for a player (e.g. starting its container): throws 404 when it is unknown or not visible to a
   * non-admin, 403 "You have not solved the prerequisites of this challenge" while its prerequisites are unmet.
   * Admins pass. Answered from memory (the challenge cache and the solve index), so it costs no query.
   */
  assertChallengeOpen(player: Player, challengeId: number): Promise<void>;
  addChallengeType(type: ChallengeType): void;
  addFlagVerifier(verifier: FlagVerifier): void;
  /** Registers the standings core/ctf answers score and place from (one at a time); returns the unregister function. */
  useStandings(source: StandingsSource): () => void;
  /**
   * Posts a notification to everyone (as an admin's `POST /api/v1/notifications` would, with the same
   * `notification.created` event), e.g. a plugin announcing a first blood. Returns its id.
   */
  notify(notice: { title: string; content: string; type?: "toast" | "alert" | "background"; sound?: boolean }): Promise<{ id: number }>;
}

export interface PageOptions {
  title: string;
  /** Body HTML. Build it with `html` so everything interpolated is escaped. */
  body: SafeHtml;
  /** Same-origin script URLs (the CSP allows no inline script). */
  scripts?: string[];
  styles?: string[];
  status?: number;
}

export interface SafeHtml {
  readonly __html: string;
}

export interface PageShell {
  render(ctx: Context, page: PageOptions): Promise<void>;
  /** Tagged template: interpolated values are HTML-escaped unless they are SafeHtml (or arrays of it). */
  html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml;
}

// ---- "read": CtfReadService, core/ctf's data for other plugins (no plugin reads a ctf_* table itself) ----

export type { DecaySettings };
// Re-exported so a plugin needs only this module; it also brings events.ts's EventMap augmentation along.
export type {
  AccountType,
  AccountUpdated,
  AttemptCounted,
  AwardCreated,
  AwardDeleted,
  ChallengeUpdated,
  EventSettingsUpdated,
  HintUpdated,
  NotificationCreated,
  SolveCreated,
  SubmissionCreated,
} from "./events.js";

/** The event settings that decide scores and who may see them. */
export interface ScoringSettings {
  mode: "users" | "teams";
  /** ms since the epoch, or null. */
  freezeAt: number | null;
  scoreVisibility: "public" | "private" | "hidden" | "admins";
  accountVisibility: "public" | "private" | "admins";
}

export interface ScoringBracket {
  id: number;
  name: string;
}

export interface ScoringUser {
  id: number;
  name: string;
  hidden: boolean;
  banned: boolean;
  teamId: number | null;
  bracketId: number | null;
}

export interface ScoringTeam {
  id: number;
  name: string;
  hidden: boolean;
  banned: boolean;
  bracketId: number | null;
}

export interface ScoringChallenge {
  id: number;
  /** The current value (core/ctf keeps dynamic challenges' value up to date). */
  value: number;
  /** Decay settings of a dynamic challenge; null for every other type. */
  decay: DecaySettings | null;
}

export interface ScoringSolve {
  id: number;
  challengeId: number;
  userId: number;
  /** Set in team mode: the team is the account that solved. */
  teamId: number | null;
  /** ms since the epoch, with the database's microseconds as the fraction (they decide ties). */
  at: number;
}

export interface ScoringAward {
  id: number;
  userId: number | null;
  teamId: number | null;
  /** Negative for hint costs. */
  value: number;
  /** ms since the epoch, with the database's microseconds as the fraction (they decide ties). */
  at: number;
}

/** Everything scores are computed from. */
export interface ScoringFacts {
  settings: ScoringSettings;
  brackets: ScoringBracket[];
  users: ScoringUser[];
  teams: ScoringTeam[];
  challenges: ScoringChallenge[];
  solves: ScoringSolve[];
  awards: ScoringAward[];
}

/**
 * ScoringFacts with the solves and awards as fingerprints (core/ctf/table-digest.ts): equal fingerprints mean the same
 * rows but for a vanishing chance, which the periodic full comparison covers. Times are not in them (a row's time
 * never changes; an import that rewrites them announces itself with event.updated).
 */
export interface ScoringFingerprints extends Omit<ScoringFacts, "solves" | "awards"> {
  solves: TableDigest;
  awards: TableDigest;
}

/** The solves and awards carrying one user_id or one team_id. */
export interface ScoringItems {
  solves: ScoringSolve[];
  awards: ScoringAward[];
}

/** A dynamic challenge's value after `solveCount` counted solves (CTFd's formulas). */
export type ChallengeValue = (decay: DecaySettings, solveCount: number) => number;

export interface SubmissionFact {
  id: number;
  challengeId: number;
  userId: number;
  teamId: number | null;
  type: "correct" | "incorrect" | "ratelimited" | "discard";
  /** ms since the epoch. */
  at: number;
  /**
   * For a wrong answer: the SHA-256 of its trimmed text (equal answers have equal digests) and the trimmed length;
   * null for every other type. The text itself is never handed out (a correct one is the flag).
   */
  wrongAnswer: { digest: string; length: number } | null;
  /** The client's address as core/ctf recorded it (raw: hash it before keeping it anywhere), or null. */
  ip: string | null;
  /** The client's User-Agent header as recorded, or null. */
  userAgent: string | null;
}

/**
 * A bounded read, oldest first (by time, then id). `since` is inclusive; `limit` is 1..1000. To page on, ask
 * again with `since` = the last row's time and skip the ids already seen (several rows can share a time).
 */
export interface FactsQuery {
  since?: Date;
  challengeId?: number;
  limit: number;
}

/** The account that scores: the user in user mode, the team in team mode. */
export interface AccountFacts {
  accountType: "user" | "team";
  id: number;
  name: string;
  hidden: boolean;
  banned: boolean;
  /** Neither hidden nor banned: listed on boards, its solves count toward decay. */
  visible: boolean;
}

/** Who a user is now, for a plugin that re-checks a token it issued earlier (a stream's holder). */
export interface CallerFacts {
  userId: number;
  admin: boolean;
  /** The user, or the team they are in, is banned. */
  banned: boolean;
  teamId: number | null;
}

/** What a challenge is, for plugins that serve a challenge type (e.g. per-player containers). */
export interface ChallengeDefinition {
  id: number;
  name: string;
  category: string;
  type: string;
  state: "visible" | "hidden" | "locked";
  value: number;
  /** The settings of its type, as validated by the type's schema when an admin saved them. */
  typeSettings: Record<string, unknown>;
}

/**
 * core/ctf's read model for other plugins ("read" service). Reads are not one snapshot: a consumer that keeps
 * derived state applies the domain events emitted after each commit on top of what it read.
 * Bad queries (limit out of range, ...) throw a 400 naming the field.
 */
export interface CtfReadService {
  // scoring facts (the scoreboard's rebuild and targeted reloads)
  /** Everything, in dependency order (records before the solves and awards that point at them). */
  scoringFacts(): Promise<ScoringFacts>;
  /**
   * What a consistency check compares before it loads everything: the small facts whole, and fingerprints of the
   * solves and awards (200,000 rows of them cost a full load seconds of CPU and a major garbage collection).
   */
  scoringFingerprints(): Promise<ScoringFingerprints>;
  /** Pure: the fingerprints of the solves and awards a consumer holds, computed as scoringFingerprints computes the database's. */
  fingerprintsOf(items: { solves: Iterable<ScoringSolve>; awards: Iterable<ScoringAward> }): Pick<ScoringFingerprints, "solves" | "awards">;
  scoringSettings(): Promise<ScoringSettings>;
  brackets(): Promise<ScoringBracket[]>;
  challenge(id: number): Promise<ScoringChallenge | null>;
  user(id: number): Promise<ScoringUser | null>;
  team(id: number): Promise<ScoringTeam | null>;
  membersOf(teamId: number): Promise<ScoringUser[]>;
  itemsOfUser(userId: number): Promise<ScoringItems>;
  itemsOfTeam(teamId: number): Promise<ScoringItems>;
  /** Pure: what a dynamic challenge is worth after `solveCount` counted solves (no database read). */
  challengeValue: ChallengeValue;

  // bounded activity reads
  submissions(query: FactsQuery): Promise<SubmissionFact[]>;
  solves(query: FactsQuery): Promise<ScoringSolve[]>;

  // accounts and challenges
  /** The account by id in the event's current mode (a user in user mode, a team in team mode), or null. */
  account(id: number): Promise<AccountFacts | null>;
  /** The user's role, ban (or their team's) and team as the database says now; null when the user is gone. */
  caller(userId: number): Promise<CallerFacts | null>;
  challengeDefinition(id: number): Promise<ChallengeDefinition | null>;
}

export const gameService = serviceRef<GameService>("ctf.game");
export const pageShellService = serviceRef<PageShell>("ctf.pages");
export const readService = serviceRef<CtfReadService>("ctf.read");
/** How a consumer's consistency check compares scoringFingerprints before loading everything (core/ctf's own do the same). */
export { FINGERPRINT_CHECK, fingerprintsAgree } from "./table-digest.js";
