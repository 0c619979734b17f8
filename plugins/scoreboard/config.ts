import { z } from "zod";

/** `plugins.scoreboard` in the config. Strict: a misspelt key (from a file or FLAGHOST__plugins__scoreboard__*) is refused. */
export const scoreboardConfig = z.strictObject({
  /** How many accounts the live stream's snapshot and deltas carry (the page's live table). */
  streamTop: z.number().int().min(1).max(1000).default(100),
  /** When the consistency check compares the engine with a fresh load from the database (cron, UTC). */
  consistencyCron: z.string().min(9).max(100).default("*/5 * * * *"),
});

export type ScoreboardConfig = z.infer<typeof scoreboardConfig>;
