import type { Context } from "koa";
import { z } from "zod";
import { notFound } from "../../kernel/errors.js";
import { ok, parseInput } from "../../kernel/http/envelope.js";
import type { PluginRoutes } from "../../kernel/http/route-table.js";
import { playerOf, readerOf } from "../accounts/access.js";
import { newSecret, sha256 } from "../accounts/auth.js";
import { pathId } from "../accounts/rows.js";
import type { Ctf } from "../runtime.js";
import { isoDate } from "../sql.js";

interface TokenRow {
  id: number;
  user_id: number;
  description: string | null;
  expires_at: Date;
  created_at: Date;
}

const DEFAULT_TTL_MS = 30 * 24 * 3600_000;

/** `YYYY-MM-DD` (midnight UTC), a real calendar day in the future. CTFd answers any other format with a 500. */
const expiration = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date as YYYY-MM-DD")
  .transform((value, issues) => {
    const date = new Date(`${value}T00:00:00Z`);
    if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value) {
      issues.addIssue({ code: "custom", message: "is not a valid date" });
      return z.NEVER;
    }
    if (date.getTime() <= Date.now()) {
      issues.addIssue({ code: "custom", message: "must be in the future" });
      return z.NEVER;
    }
    return date;
  });

const tokenBody = z
  .object({
    expiration: expiration.nullable().optional(),
    description: z.string().trim().max(256).nullable().optional(),
  })
  .strict();

function tokenView(t: TokenRow): Record<string, unknown> {
  return { id: t.id, type: "user", user_id: t.user_id, created: isoDate(t.created_at), expiration: isoDate(t.expires_at), description: t.description };
}

/**
 * /api/v1/tokens: a player's API tokens (`Authorization: Token ctfd_...`). The value is shown once, at creation;
 * only its sha256 is stored. Players see and delete their own tokens; admins any.
 */
export function tokensRoutes(routes: PluginRoutes, ctf: Ctf): void {
  const query = ctf.db.query.bind(ctf.db);

  /** A token the caller may see: their own, or any for admins; 404 otherwise. */
  const tokenFor = async (ctx: Context): Promise<TokenRow> => {
    const reader = await readerOf(ctx, ctf);
    const [row] = await query<TokenRow>(
      `SELECT id, user_id, description, expires_at, created_at FROM ctf_tokens WHERE id = $1 AND ($2 OR user_id = $3)`,
      [pathId(ctx.params.id), reader.admin, playerOf(reader).userId],
    );
    if (!row) throw notFound();
    return row;
  };

  routes.get("/api/v1/tokens", ctf.requirePlayer, async (ctx) => {
    const player = playerOf(await readerOf(ctx, ctf));
    const rows = await query<TokenRow>(`SELECT id, user_id, description, expires_at, created_at FROM ctf_tokens WHERE user_id = $1 ORDER BY id`, [player.userId]);
    ok(ctx, rows.map(tokenView));
  });

  routes.post("/api/v1/tokens", { body: tokenBody }, ctf.requirePlayer, async (ctx) => {
    const body = parseInput(tokenBody, ctx.request.body ?? {});
    const player = playerOf(await readerOf(ctx, ctf));
    const value = `ctfd_${newSecret(32)}`;
    const expiresAt = body.expiration ?? new Date(Date.now() + DEFAULT_TTL_MS);
    const [row] = await query<TokenRow>(
      `INSERT INTO ctf_tokens (user_id, token_hash, description, expires_at) VALUES ($1, $2, $3, $4) RETURNING id, user_id, description, expires_at, created_at`,
      [player.userId, sha256(value), body.description ?? null, expiresAt],
    );
    ok(ctx, { ...tokenView(row!), value });
  });

  routes.get("/api/v1/tokens/:id", ctf.requirePlayer, async (ctx) => ok(ctx, tokenView(await tokenFor(ctx))));

  routes.delete("/api/v1/tokens/:id", ctf.requirePlayer, async (ctx) => {
    const token = await tokenFor(ctx);
    await query(`DELETE FROM ctf_tokens WHERE id = $1`, [token.id]);
    // Resolved callers are cached: forget them here at once, and on every other instance through the event.
    ctf.auth.invalidate();
    ctf.emit("account.updated", { accountType: "user", id: token.user_id, changes: ["credentials"], affectedTeamIds: [] });
    ctx.body = { success: true };
  });
}
