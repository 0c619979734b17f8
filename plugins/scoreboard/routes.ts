import type { Context } from "koa";
import { z } from "zod";
import { HttpError, notFound } from "../../core/kernel/errors.js";
import { ok, parseInput } from "../../core/kernel/http/envelope.js";
import type { PluginContext } from "../../core/kernel/plugin-host/api.js";
import { ANONYMOUS, hasCredentials, refusal, viewerOf, type Viewer } from "./access.js";
import type { CachedBody, Scoreboard } from "./board.js";
import type { View } from "./engine/state.js";
import { STREAM_PATH } from "./stream.js";

const bracketQuery = z.object({ bracket_id: z.coerce.number().int().min(1).max(2_147_483_647).optional() });

/** CTFd clamps `/top/:count` to 1..50. */
const MAX_TOP = 50;

/**
 * The HTTP side: CTFd's `GET /api/v1/scoreboard` and `GET /api/v1/scoreboard/top/:count` served from the
 * engine's cached bytes, the stream token, and an admin rebuild. An anonymous read (no cookie, no
 * Authorization header) touches no database, Redis or session: visibility settings live in the engine.
 */
export function scoreboardRoutes(plugin: PluginContext<unknown>, board: Scoreboard, onRebuild: () => void): void {
  const { routes } = plugin;

  /** The caller's view; resolving credentials only when some were sent. Throws the visibility refusal. */
  const viewFor = async (ctx: Context): Promise<{ view: View; viewer: Viewer; actorId: string | null }> => {
    const actor = hasCredentials(ctx) ? await plugin.auth.actor(ctx) : null;
    return gate(actor ? viewerOf(actor) : ANONYMOUS, actor ? String(actor.id) : null);
  };

  const gate = (viewer: Viewer, actorId: string | null) => {
    const refused = refusal(board.settings, viewer);
    if (refused) throw new HttpError(refused.status, refused.message);
    return { view: (viewer.admin ? "live" : "public") as View, viewer, actorId };
  };

  /** The read path's view: an anonymous request is answered without awaiting anything. */
  const readView = async (ctx: Context): Promise<View> => (await viewFor(ctx)).view;
  const anonymousView = () => gate(ANONYMOUS, null).view;

  const bracketOf = (ctx: Context): number | null => (ctx.querystring === "" ? null : (parseInput(bracketQuery, ctx.query).bracket_id ?? null));

  const send = (ctx: Context, view: View, cached: CachedBody) => {
    ctx.set("ETag", cached.etag);
    // Always revalidate (the board changes with every solve); the admin view must not sit in a shared cache.
    ctx.set("Cache-Control", view === "live" ? "private, no-cache" : "no-cache");
    ctx.set("Vary", "Cookie, Authorization");
    if (matches(ctx.headers["if-none-match"], cached.etag)) {
      ctx.status = 304;
      return;
    }
    ctx.set("Content-Type", "application/json; charset=utf-8");
    ctx.body = cached.body;
  };

  routes.get("/api/v1/scoreboard", async (ctx) => {
    const bracketId = bracketOf(ctx);
    const view = hasCredentials(ctx) ? await readView(ctx) : anonymousView();
    send(ctx, view, board.board(view, bracketId));
  });

  routes.get("/api/v1/scoreboard/top/:count", async (ctx) => {
    // CTFd's route takes an unsigned integer; anything else is not a route (404).
    if (!/^\d{1,9}$/.test(ctx.params.count ?? "")) throw notFound();
    const count = Math.min(MAX_TOP, Math.max(1, Number(ctx.params.count)));
    const bracketId = bracketOf(ctx);
    const view = hasCredentials(ctx) ? await readView(ctx) : anonymousView();
    send(ctx, view, board.top(view, count, bracketId));
  });

  /** A short-lived token for the stream; anonymous callers get one when the board is public. */
  routes.post("/api/v1/scoreboard/stream-token", async (ctx) => {
    const { viewer, actorId } = await viewFor(ctx);
    const signed = plugin.tokens.sign({ aud: STREAM_PATH, ...(actorId !== null ? { sub: actorId } : {}), admin: viewer.admin }, plugin.host.websocketTokenTtlMs);
    ctx.set("Cache-Control", "no-store");
    ok(ctx, signed);
  });

  /** Reloads the standings from the database, here and (through a broadcast event) on every other instance. */
  routes.post("/api/v1/scoreboard/rebuild", plugin.auth.requireAdmin(), async (ctx) => {
    const result = await board.rebuild();
    onRebuild();
    ok(ctx, result);
  });
}

/** If-None-Match may list several tags, possibly weak (`W/"..."`), or `*`. */
function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t === etag || t === `W/${etag}`;
  });
}
