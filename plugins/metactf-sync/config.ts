import { z } from "zod";

const cron = z.string().min(9).max(100);

/**
 * `plugins.metactf-sync.*` (environment: `FLAGHOST__plugins__metactf_sync__<key>`). The API token is not here: it
 * comes only from the environment variable METACTF_API_TOKEN, so it never sits in a config file or a config dump.
 */
export const metactfConfig = z.strictObject({
  /** The platform's API, ending in `/integrations/syned/v1`. Without it the plugin runs degraded. */
  baseUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** Prefix of the ids we send: `<idPrefix>u<user id>`, `<idPrefix>t<team id>`. */
  idPrefix: z.string().regex(/^[a-z0-9-]{0,20}$/).default("fh-"),
  /** Competitors per ODL run from the rotation (the daily call budget is about 48 x this). */
  batchSize: z.number().int().min(1).max(1000).default(4),
  /** Extra ODL slots per run for active competitors (new solves within `activeDays`), on top of the rotation. */
  activeSlots: z.number().int().min(0).max(1000).default(3),
  activeDays: z.number().min(0).max(365).default(1),
  /** Competitors per totals run. */
  totalsBatchSize: z.number().int().min(1).max(1000).default(100),
  /** Teams per roster run (only teams whose local roster changed, or not checked for `rosterFullCheckHours`). */
  rosterBatchSize: z.number().int().min(1).max(1000).default(25),
  rosterFullCheckHours: z.number().min(0).max(24 * 30).default(24),
  /** The competitor asked whether a new Flash CTF appeared; default: the first onboarded competitor. */
  sentinelUserId: z.number().int().min(1).optional(),
  /** Per-attempt timeout of a platform call. */
  timeoutMs: z.number().int().min(50).max(120_000).default(10_000),
  /** First retry waits about this long, doubling per attempt (with jitter). */
  retryBaseMs: z.number().int().min(0).max(60_000).default(500),
  /** The most a platform's Retry-After makes a call wait. */
  maxRetryAfterMs: z.number().int().min(0).max(300_000).default(30_000),
  /** ODL solves older than the marker by this much are asked for again (clock skew), then deduplicated. */
  overlapSeconds: z.number().int().min(0).max(86_400).default(300),
  odlCron: cron.default("*/30 * * * *"),
  totalsCron: cron.default("0 * * * *"),
  flashCron: cron.default("15 6 * * *"),
  rosterCron: cron.default("* * * * *"),
});

export type MetactfConfig = z.infer<typeof metactfConfig>;

/** Every call the client makes is tried this many times at most. */
export const ATTEMPTS = 3;
