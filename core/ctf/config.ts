import { z } from "zod";

/** core/ctf's slice `plugins.ctf` of the configuration. Event settings (mode, times, visibility) live in the database. */
export const ctfConfig = z
  .object({
    /** Wrong answers are limited per account to `incorrect_submissions_per_minute` per this window (CTFd: 60 s). */
    wrongAnswerWindowSeconds: z.number().int().min(1).max(3600).default(60),
    /** The daily ctf.retention job deletes sessions that expired longer ago than this. */
    retentionDays: z.number().int().min(1).default(30),
  })
  .strict();

export type CtfConfig = z.infer<typeof ctfConfig>;
