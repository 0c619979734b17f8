import { z } from "zod";

const weight = z.number().min(0).max(1);

/**
 * How much each piece of evidence adds to a finding's confidence (0..1). With the defaults every risk level is
 * reachable: two accounts sharing a wrong answer far apart is LOW (0.4), close in time MEDIUM (0.6), four or more
 * accounts close in time HIGH (0.8); two accounts solving from one address within 60 s MEDIUM (0.55), within 10 s
 * HIGH (0.8); a reused dynamic flag is certain (1).
 */
export const suspicionWeights = z.strictObject({
  sharedWrongAnswer: weight.default(0.4),
  /** Added when the two accounts sent the answer within `closeSeconds` of each other. */
  sharedWrongAnswerClose: weight.default(0.2),
  /** Added per account beyond the second that sent the same wrong answer. */
  sharedWrongAnswerPerExtraAccount: weight.default(0.1),
  sameAddressSolve: weight.default(0.55),
  /** Added when the two solves from one address were within `quickSeconds`. */
  sameAddressSolveQuick: weight.default(0.25),
  flagReused: weight.default(1),
});

/** `plugins.phase2` in the config. Strict: a misspelt key is refused. */
export const phase2Config = z.strictObject({
  /** Feature switches (GET /api/v1/phase2/status shows them). */
  bloods: z.boolean().default(true),
  suspicion: z.boolean().default(true),
  health: z.boolean().default(true),
  analytics: z.boolean().default(true),

  /** Prestige of a blood = factor × the challenge's value at solve time. */
  prestige: z.strictObject({ first: z.number().min(0).max(100).default(1.5), second: z.number().min(0).max(100).default(1.25), third: z.number().min(0).max(100).default(1.1) }).default({ first: 1.5, second: 1.25, third: 1.1 }),

  /** The sliding window the analytics job reads (and the wrong-answer detector looks across). */
  windowSeconds: z.number().int().min(60).max(7 * 24 * 3600).default(900),
  /** The most submissions one analytics run reads; beyond it the run stops reading and logs a warning. */
  maxSubmissionsPerRun: z.number().int().min(1000).max(1_000_000).default(20_000),
  /** A wrong answer shorter than this (after trimming) is a trivial guess and never evidence. */
  minWrongAnswerLength: z.number().int().min(1).max(100).default(3),
  closeSeconds: z.number().int().min(1).max(3600).default(60),
  /** Two solves from one address count only within this many seconds (the 60 s). */
  sameAddressSeconds: z.number().int().min(1).max(3600).default(60),
  quickSeconds: z.number().int().min(1).max(3600).default(10),
  weights: suspicionWeights.default(suspicionWeights.parse({})),
  /** Salt for hashing client addresses; when unset one is generated once and kept in phase2_secrets. */
  addressSalt: z.string().min(16).max(200).optional(),

  /** Health: below this many attempting accounts the solve rate is not judged. */
  healthMinAccounts: z.number().int().min(1).max(10_000).default(5),
  /** A solve rate at or above this counts fully toward health. */
  healthTargetSolveRate: z.number().min(0.01).max(1).default(0.3),
  /** Container starts (ready + failed) looked at, over this many hours. */
  healthContainerHours: z.number().int().min(1).max(24 * 30).default(24),

  /** Analytics snapshots, health snapshots and container counts older than this are deleted by phase2.cleanup. */
  retentionDays: z.number().int().min(1).max(3650).default(90),
  analyticsCron: z.string().min(9).max(100).default("*/30 * * * * *"),
  healthCron: z.string().min(9).max(100).default("0 * * * *"),
  cleanupCron: z.string().min(9).max(100).default("0 3 * * *"),
  /** Public board requests per client address: bucket size and refill per second. */
  boardRateLimit: z.strictObject({ capacity: z.number().int().min(1).default(60), refillPerSecond: z.number().min(0.01).default(2) }).default({ capacity: 60, refillPerSecond: 2 }),
});

export type Phase2Config = z.infer<typeof phase2Config>;
export type SuspicionWeights = z.infer<typeof suspicionWeights>;
