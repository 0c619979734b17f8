import { LoadedCache } from "./loaded-cache.js";
import { z } from "zod";
import type { Database } from "../kernel/db/data-source.js";

export interface EventSettings {
  name: string;
  mode: "users" | "teams";
  startsAt: Date | null;
  endsAt: Date | null;
  freezeAt: Date | null;
  paused: boolean;
  registrationOpen: boolean;
  challengeVisibility: "public" | "private";
  accountVisibility: "public" | "private" | "admins";
  scoreVisibility: "public" | "private" | "hidden" | "admins";
  incorrectSubmissionsPerMinute: number;
  teamSize: number | null;
  setupDone: boolean;
}

const COLUMNS: Record<keyof EventSettings, string> = {
  name: "name",
  mode: "mode",
  startsAt: "starts_at",
  endsAt: "ends_at",
  freezeAt: "freeze_at",
  paused: "paused",
  registrationOpen: "registration_open",
  challengeVisibility: "challenge_visibility",
  accountVisibility: "account_visibility",
  scoreVisibility: "score_visibility",
  incorrectSubmissionsPerMinute: "incorrect_submissions_per_minute",
  teamSize: "team_size",
  setupDone: "setup_done",
};

/** Epoch seconds (CTFd's config format), an ISO date, or null to clear. */
const moment = z
  .union([z.number().int().nonnegative(), z.iso.datetime({ offset: true }), z.null()])
  .transform((v) => (v === null ? null : typeof v === "number" ? new Date(v * 1000) : new Date(v)));

/** What an admin may change (PATCH /api/v1/configs and the admin page); every key optional. */
export const eventSettingsPatch = z
  .object({
    name: z.string().trim().min(1).max(128),
    mode: z.enum(["users", "teams"]),
    start: moment,
    end: moment,
    freeze: moment,
    paused: z.boolean(),
    registration_open: z.boolean(),
    challenge_visibility: z.enum(["public", "private"]),
    account_visibility: z.enum(["public", "private", "admins"]),
    score_visibility: z.enum(["public", "private", "hidden", "admins"]),
    incorrect_submissions_per_minute: z.number().int().min(1).max(10_000),
    team_size: z.number().int().min(1).max(1000).nullable(),
  })
  .partial()
  .strict();

export type EventSettingsPatch = z.infer<typeof eventSettingsPatch>;

const PATCH_KEYS: Record<keyof EventSettingsPatch, keyof EventSettings> = {
  name: "name",
  mode: "mode",
  start: "startsAt",
  end: "endsAt",
  freeze: "freezeAt",
  paused: "paused",
  registration_open: "registrationOpen",
  challenge_visibility: "challengeVisibility",
  account_visibility: "accountVisibility",
  score_visibility: "scoreVisibility",
  incorrect_submissions_per_minute: "incorrectSubmissionsPerMinute",
  team_size: "teamSize",
};

/**
 * The event's settings (one row). Read on every attempt, so kept in memory: invalidated by `event.updated`
 * (broadcast to every instance) and, as a safety net, re-read every few seconds. That re-read happens in the
 * background while the cached value keeps serving: when every reader waited for it, each instance stalled its
 * requests every few seconds (the slowest hundredth of every read, under load).
 */
export class SettingsStore {
  private readonly cache: LoadedCache<EventSettings>;
  private static readonly MAX_AGE_MS = 5_000;

  constructor(private readonly db: Database) {
    this.cache = new LoadedCache(() => this.read(), SettingsStore.MAX_AGE_MS);
  }

  get(): Promise<EventSettings> {
    return this.cache.get();
  }

  /** The settings if they are cached, without waiting; null after an invalidation. */
  peek(): EventSettings | null {
    return this.cache.peek();
  }

  invalidate(): void {
    this.cache.invalidate();
  }

  private async read(): Promise<EventSettings> {
    const [row] = await this.db.query<Record<string, unknown>>(`SELECT * FROM ctf_event WHERE id = 1`);
    return Object.fromEntries(Object.entries(COLUMNS).map(([key, column]) => [key, row![column]])) as unknown as EventSettings;
  }

  /** Applies a validated patch inside the caller's transaction; returns the names of the settings that changed. */
  static columnsFor(patch: EventSettingsPatch): Array<[column: string, value: unknown, key: keyof EventSettings]> {
    return Object.entries(patch).map(([k, v]) => {
      const key = PATCH_KEYS[k as keyof EventSettingsPatch];
      return [COLUMNS[key], v, key];
    });
  }
}

export type EventPhase = "not-started" | "running" | "ended";

export function eventPhase(settings: EventSettings, now = new Date()): EventPhase {
  if (settings.startsAt && now < settings.startsAt) return "not-started";
  if (settings.endsAt && now >= settings.endsAt) return "ended";
  return "running";
}

/** Serialized for the API: CTFd uses epoch seconds for start, end and freeze. */
export function settingsView(s: EventSettings) {
  const epoch = (d: Date | null) => (d ? Math.floor(d.getTime() / 1000) : null);
  return {
    name: s.name,
    mode: s.mode,
    user_mode: s.mode,
    start: epoch(s.startsAt),
    end: epoch(s.endsAt),
    freeze: epoch(s.freezeAt),
    paused: s.paused,
    registration_open: s.registrationOpen,
    challenge_visibility: s.challengeVisibility,
    account_visibility: s.accountVisibility,
    score_visibility: s.scoreVisibility,
    incorrect_submissions_per_minute: s.incorrectSubmissionsPerMinute,
    team_size: s.teamSize,
    setup_done: s.setupDone,
  };
}
