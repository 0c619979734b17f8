import type { Context, Next } from "koa";
import type { Coordination, RateLimitRule } from "../../../core/kernel/coordination/types.js";
import { HttpError } from "../../../core/kernel/errors.js";
import { ok } from "../../../core/kernel/http/envelope.js";
import type { PluginRoutes } from "../../../core/kernel/http/route-table.js";
import type { Blood, Bloods } from "../bloods.js";

/** One challenge on the first-blood board. */
export interface BoardEntry {
  challenge_id: number;
  challenge_name: string;
  bloods: Array<{ position: number; account_id: number; account_name: string; date: string; prestige: number }>;
}

/** Groups bloods (sorted by challenge, then position) into the board's shape. */
export function boardEntries(bloods: Blood[]): BoardEntry[] {
  const entries = new Map<number, BoardEntry>();
  for (const b of bloods) {
    let entry = entries.get(b.challengeId);
    if (!entry) entries.set(b.challengeId, (entry = { challenge_id: b.challengeId, challenge_name: b.challengeName, bloods: [] }));
    entry.bloods.push({ position: b.position, account_id: b.accountId, account_name: b.accountName, date: b.solvedAt.toISOString(), prestige: b.prestige });
  }
  return [...entries.values()];
}

/** Answers 429 once a client address has used its bucket. */
export function rateLimited(coordination: Coordination, rule: RateLimitRule, name: string) {
  return async function limitPerAddress(ctx: Context, next: Next): Promise<void> {
    const limit = await coordination.rateLimit(`phase2:${name}:${ctx.ip}`, rule);
    if (!limit.allowed) {
      ctx.set("Retry-After", String(Math.ceil(limit.retryAfterMs / 1000)));
      throw new HttpError(429, "Too many requests, slow down");
    }
    await next();
  };
}

/** `GET /api/v1/phase2/first_blood_leaderboard`: public, rate limited per address. */
export function boardRoutes(routes: PluginRoutes, bloods: Bloods, coordination: Coordination, rule: RateLimitRule, enabled: () => boolean): void {
  routes.get("/api/v1/phase2/first_blood_leaderboard", { summary: "First, second and third blood per visible challenge" }, rateLimited(coordination, rule, "board"), async function firstBloodBoard(ctx) {
    ok(ctx, enabled() ? boardEntries(await bloods.board()) : []);
  });
}
