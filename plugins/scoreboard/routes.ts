import type { Context } from "koa";
import { z } from "zod";
import { HttpError, notFound } from "../../core/kernel/errors.js";
import { ok, parseInput } from "../../core/kernel/http/envelope.js";
import { etagMatches, type PreparedRequest } from "../../core/kernel/http/prepared.js";
import type { HostView, PluginAuth, TokenService } from "../../core/kernel/plugin-host/api.js";
import type { PluginRoutes } from "../../core/kernel/http/route-table.js";
import { ANONYMOUS, hasCredentials, refusal, viewerOf, type Viewer } from "./access.js";
import type { CachedBody, Scoreboard } from "./board.js";
import type { View } from "./engine/state.js";
import { STREAM_PATH } from "./stream.js";

const bracketQuery = z.object({ bracket_id: z.coerce.number().int().min(1).max(2_147_483_647).optional() });

const bracketOf = (ctx: Context): number | null => (ctx.querystring === "" ? null : (parseInput(bracketQuery, ctx.query).bracket_id ?? null));

/** CTFd's route takes an unsigned integer (anything else is not a route: null, for a 404) and clamps it to 1..50. */
function topCount(param: string | undefined): number | null {
  if (!/^\d{1,9}$/.test(param ?? "")) return null;
  return Math.min(50, Math.max(1, Number(param)));
}

/** The kernel services the scoreboard's routes use. */
export interface ScoreboardRouteDeps {
  routes: PluginRoutes;
  auth: PluginAuth;
  tokens: TokenService;
  host: HostView;
}

/**
 * The HTTP side: CTFd's `GET /api/v1/scoreboard` and `GET /api/v1/scoreboard/top/:count` served from the
 * engine's cached bytes, the stream token, and an admin rebuild. An anonymous read (no cookie, no
 * Authorization header) touches no database, Redis or session: visibility settings live in the engine.
 */
export function scoreboardRoutes(plugin: ScoreboardRouteDeps, board: Scoreboard, onRebuild: () => void): void {
  const { routes } = plugin;

  /** The caller's view; resolving credentials only when some were sent. Throws the visibility refusal. */
  const viewFor = async (ctx: Context): Promise<{ view: View; viewer: Viewer; actorId: string | null }> => {
    const actor = hasCredentials(ctx.headers) ? await plugin.auth.actor(ctx) : null;
    const viewer = actor ? viewerOf(actor) : ANONYMOUS;
    const refused = refusal(board.settings, viewer);
    if (refused) throw new HttpError(refused.status, refused.message);
    return { view: viewer.admin ? "live" : "public", viewer, actorId: actor ? String(actor.id) : null };
  };

  const send = (ctx: Context, cached: CachedBody) => {
    ctx.set("ETag", cached.etag);
    for (const [name, value] of Object.entries(cached.headers)) ctx.set(name, value);
    if (etagMatches(ctx.headers["if-none-match"], cached.etag)) {
      ctx.status = 304;
      return;
    }
    ctx.body = cached.body;
  };

  // The Koa routes answer every read: with credentials, a query to validate, or a refusal to render.
  routes.get("/api/v1/scoreboard", { summary: "Standings (CTFd shape)", query: bracketQuery }, async (ctx) => {
    const bracketId = bracketOf(ctx);
    send(ctx, board.board((await viewFor(ctx)).view, bracketId));
  });

  routes.get("/api/v1/scoreboard/top/:count", { summary: "The top teams or users with their solves over time", query: bracketQuery }, async (ctx) => {
    const count = topCount(ctx.params.count);
    if (count === null) throw notFound();
    const bracketId = bracketOf(ctx);
    send(ctx, board.top((await viewFor(ctx)).view, count, bracketId));
  });

  // The common read, anonymous and allowed (a public board, no query or a plain bracket), is answered from the
  // cached bytes ahead of Koa; whatever this declines goes to the routes above.
  const anonymousBracket = (request: PreparedRequest): number | null | undefined => {
    if (hasCredentials(request.headers) || refusal(board.settings, ANONYMOUS)) return undefined;
    if (request.querystring === "") return null;
    const plain = /^bracket_id=([1-9]\d{0,8})$/.exec(request.querystring);
    return plain ? Number(plain[1]) : undefined;
  };
  routes.prepared("/api/v1/scoreboard", (request) => {
    const bracketId = anonymousBracket(request);
    return bracketId === undefined ? null : board.board("public", bracketId);
  });
  routes.prepared("/api/v1/scoreboard/top/:count", (request) => {
    const count = topCount(request.params.count);
    const bracketId = anonymousBracket(request);
    return count === null || bracketId === undefined ? null : board.top("public", count, bracketId);
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

