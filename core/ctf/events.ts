/**
 * core/ctf's domain events. All are emitted inside the writing transaction and delivered after it commits
 * (never on rollback). All but `submission.*` are broadcast: they also reach every other instance, so in-memory
 * state (standings, caches) stays right everywhere. A handler that WRITES something in response must act only
 * when `meta.local` is true, or every instance would write it once.
 * Dates are ISO strings; ids are numbers. "account" is the user in user mode and the team in team mode.
 */
export type AccountType = "user" | "team";

export interface SubmissionCreated {
  submissionId: number;
  challengeId: number;
  userId: number;
  teamId: number | null;
  /** correct | incorrect | ratelimited */
  type: "correct" | "incorrect" | "ratelimited";
  date: string;
}

export interface SolveCreated {
  solveId: number;
  submissionId: number;
  challengeId: number;
  userId: number;
  teamId: number | null;
  accountType: AccountType;
  accountId: number;
  /** The challenge's value right after this solve (dynamic challenges may have decayed with it). */
  value: number;
  date: string;
  /** The same instant as ms since the epoch with the database's microseconds as the fraction (orders ties). */
  at: number;
}

export interface AwardCreated {
  awardId: number;
  userId: number | null;
  teamId: number | null;
  value: number;
  category: string | null;
  /** Set when the award pays for a hint unlock (negative value). */
  hintId: number | null;
  date: string;
  /** The same instant as ms since the epoch with the database's microseconds as the fraction (orders ties). */
  at: number;
}

export interface AwardDeleted {
  awardId: number;
  userId: number | null;
  teamId: number | null;
}

/**
 * Something about an account changed that can move standings: visibility, ban, name, bracket, team
 * membership, or the account was deleted (its solves and awards went with it). Consumers that keep derived
 * state reload the account (and `affectedTeamIds`) from the database.
 */
export interface AccountUpdated {
  accountType: AccountType;
  id: number;
  /**
   * `credentials`: sessions or API tokens were revoked (caches of callers must forget them). `profile`: another
   * field shown on profiles changed (website, affiliation, country, email...): nothing that moves standings.
   */
  changes: Array<"hidden" | "banned" | "name" | "bracket" | "team" | "deleted" | "created" | "role" | "solves" | "credentials" | "profile">;
  /** Teams whose membership or member-owned rows changed with this update. */
  affectedTeamIds: number[];
}

/**
 * A submission that counts as an attempt (correct or incorrect) was recorded. Broadcast, unlike `submission.created`
 * (which stays local for the attempt path's own consumers), so every instance's count of the account's attempts moves.
 */
export interface AttemptCounted {
  accountType: AccountType;
  accountId: number;
  challengeId: number;
  /** The submission's created_at as precise ms (see preciseMs): orders it against a load of the account's attempts. */
  at: number;
}

/** A challenge's hints were created, edited or deleted (`challengeIds`: before and after a move to another challenge). */
export interface HintUpdated {
  hintId: number;
  challengeIds: number[];
}

/**
 * A challenge changed. `valueChanged` means every solver's score moved (dynamic decay, an admin edit).
 * `deleted` means its solves are gone too.
 */
export interface ChallengeUpdated {
  id: number;
  value: number;
  previousValue: number;
  valueChanged: boolean;
  state: "visible" | "hidden" | "locked";
  deleted: boolean;
  created: boolean;
  /**
   * Only `value` moved (a dynamic challenge re-scored by its solve count): every other field is as it was, so a
   * cache may patch the value instead of loading every challenge again. Absent means anything may have changed.
   */
  valueOnly?: boolean;
}

/** An admin announcement, as `GET /api/v1/notifications` shows it; `user_id`/`team_id` address one account. */
export interface NotificationCreated {
  notification: Record<string, unknown> & { id: number; user_id: number | null; team_id: number | null };
}

/** Event settings changed (mode, start, end, freeze, visibility...). */
export interface EventSettingsUpdated {
  changes: string[];
}

declare module "../kernel/events.js" {
  interface EventMap {
    "submission.created": SubmissionCreated;
    "submission.failed": SubmissionCreated;
    "solve.created": SolveCreated;
    "attempt.counted": AttemptCounted;
    "hint.updated": HintUpdated;
    "award.created": AwardCreated;
    "award.deleted": AwardDeleted;
    "account.updated": AccountUpdated;
    "challenge.updated": ChallengeUpdated;
    "event.updated": EventSettingsUpdated;
    "notification.created": NotificationCreated;
  }
}
