import type { Context } from "koa";
import { z } from "zod";
import type { GameService, Player } from "../../core/ctf/service.js";
import { HttpError, notFound, unauthorized } from "../../core/kernel/errors.js";
import { ok, parseInput } from "../../core/kernel/http/envelope.js";
import type { PluginRoutes } from "../../core/kernel/http/route-table.js";
import type { PluginAuth } from "../../core/kernel/plugin-host/api.js";
import type { PluginQueues } from "../../core/kernel/queues/types.js";
import { containerSettings } from "./challenge-type.js";
import type { Whale } from "./context.js";
import { RecentChallenges } from "./recent-challenges.js";
import { StartRefused, type StartRecord } from "./starts.js";
import { stopStart } from "./stop.js";

export const START_QUEUE = "start";

const challengeId = z.coerce.number().int().positive().max(2 ** 31 - 1);
const challengeBody = z.strictObject({ challenge_id: challengeId });
const statusQuery = z.strictObject({ id: z.uuid("must be a start id") });
const startIdParams = z.strictObject({ start_id: z.uuid("must be a start id") });

/** How long a player refused for lack of a slot is told to wait (slots free as containers stop or expire). */
const RETRY_AFTER_S = 10;

/** The player API (`/api/v1/containers`) and the admin's view and force-stop. */
export function whaleRoutes(deps: { routes: PluginRoutes; auth: PluginAuth; game: GameService; queues: PluginQueues }, whale: Whale): void {
  const { routes, auth, game, queues } = deps;
  const challenges = new RecentChallenges(whale.read);

  /** The caller's player and account; 401 without one, 403 in team mode without a team. */
  async function playerOf(ctx: Context): Promise<Player & { accountId: number }> {
    const player = await game.player(ctx);
    if (!player) throw unauthorized("Log in as a player to use containers");
    if (player.accountId === null) throw new HttpError(403, "Join or create a team before starting containers");
    return player as Player & { accountId: number };
  }

  async function requestStart(ctx: Context): Promise<void> {
    const body = parseInput(challengeBody, ctx.request.body ?? {});
    const player = await playerOf(ctx);
    if (!player.admin) await assertEventRunning();
    const reason = whale.health.unavailable;
    if (reason) throw new HttpError(503, reason);
    // core/ctf's own rule for opening a challenge: 404 unless visible, 403 while its prerequisites are unmet.
    await game.assertChallengeOpen(player, body.challenge_id);
    const challenge = await challenges.get(body.challenge_id);
    if (!challenge || (challenge.state !== "visible" && !player.admin)) throw notFound("No such challenge");
    if (challenge.type !== "container") throw new HttpError(400, "Bad request", { challenge_id: ["is not a container challenge"] });
    const settings = containerSettings.parse(challenge.typeSettings);
    let start: { id: string };
    try {
      start = await whale.store.claim(
        {
          challengeId: challenge.id,
          accountType: player.accountType,
          accountId: player.accountId,
          userId: player.userId,
          maxAttempts: whale.config.startAttempts,
          engine: whale.engine.kind,
          lifetimeS: settings.lifetime_s,
          maxRenewals: settings.max_renewals,
        },
        whale.config,
      );
    } catch (error) {
      if (!(error instanceof StartRefused)) throw error;
      if (error.status === 429) ctx.set("Retry-After", String(RETRY_AFTER_S));
      throw new HttpError(error.status, error.message);
    }
    try {
      await queues.add(START_QUEUE, { startId: start.id });
    } catch (error) {
      await whale.store.end(start.id, "failed", "The start could not be queued");
      throw error;
    }
    ok(ctx, { start_id: start.id, status: "queued" }, 202);
  }

  /** Players start containers only while the event runs (as they submit flags only then); admins always may. */
  async function assertEventRunning(): Promise<void> {
    const settings = await game.settings();
    const now = Date.now();
    if (settings.startsAt && now < settings.startsAt.getTime()) throw new HttpError(403, `${settings.name} has not started yet`);
    if (settings.endsAt && now >= settings.endsAt.getTime()) throw new HttpError(403, `${settings.name} has ended`);
    if (settings.paused) throw new HttpError(403, `${settings.name} is paused`);
  }

  async function startStatus(ctx: Context): Promise<void> {
    const { id } = parseInput(statusQuery, ctx.query);
    const start = await whale.store.get(id);
    const actor = await auth.actor(ctx);
    const player = await game.player(ctx);
    const owns = start && player && player.accountType === start.accountType && player.accountId === start.accountId;
    if (!start || !(owns || actor?.admin)) throw notFound("No such start");
    ok(ctx, {
      status: start.status,
      attempt: start.attempt,
      max_attempts: start.maxAttempts,
      error: start.error,
      connection: connectionOf(start),
      expires_at: start.expiresAt?.toISOString() ?? null,
    });
  }

  async function listOwn(ctx: Context): Promise<void> {
    const player = await playerOf(ctx);
    const starts = await whale.store.liveOf(player);
    ok(ctx, starts.map(containerView));
  }

  async function renew(ctx: Context): Promise<void> {
    const body = parseInput(challengeBody, ctx.request.body ?? {});
    const player = await playerOf(ctx);
    const start = await whale.store.liveFor(player, body.challenge_id);
    if (!start || start.status !== "ready") throw notFound("You have no running container of this challenge");
    if (start.renewals >= start.maxRenewals) throw new HttpError(409, `No renewals left (${start.maxRenewals} allowed)`);
    const renewed = await whale.store.renew(start.id);
    if (!renewed) throw new HttpError(409, "The container could not be renewed (no renewals left, or it stopped)");
    ok(ctx, containerView(renewed));
  }

  async function stopOwn(ctx: Context): Promise<void> {
    const input = parseInput(challengeBody, { ...ctx.query, ...((ctx.request.body as object | undefined) ?? {}) });
    const player = await playerOf(ctx);
    const start = await whale.store.liveFor(player, input.challenge_id);
    if (!start) throw notFound("You have no container of this challenge");
    const stopped = await stopStart(whale, start, null);
    ok(ctx, stopped ? containerView(stopped) : null);
  }

  async function adminList(ctx: Context): Promise<void> {
    const [starts, counts, times] = await Promise.all([whale.store.allLive(), whale.store.countsByStatus(), whale.store.recentStartTimes(200)]);
    ok(ctx, {
      engine: { driver: whale.engine.kind, unavailable: whale.health.unavailable, install_id: whale.installId() },
      queue_depth: counts.queued ?? 0,
      counts,
      start_times: summary(times),
      containers: starts.map((s) => ({
        ...containerView(s),
        account_type: s.accountType,
        account_id: s.accountId,
        user_id: s.userId,
        engine: s.engine,
        worker: s.worker,
        container_id: s.containerId,
        host_port: s.hostPort,
        created_at: s.createdAt.toISOString(),
        ready_at: s.readyAt?.toISOString() ?? null,
      })),
    });
  }

  async function adminStop(ctx: Context): Promise<void> {
    const { start_id } = parseInput(startIdParams, ctx.params);
    const start = await whale.store.get(start_id);
    if (!start) throw notFound("No such start");
    const stopped = await stopStart(whale, start, "Stopped by an admin");
    if (!stopped) throw new HttpError(409, `The start has ended already (${start.status})`);
    ok(ctx, containerView(stopped));
  }

  function connectionOf(start: StartRecord) {
    return start.status === "ready" && start.hostPort !== null ? { host: whale.config.publicHost, port: start.hostPort } : null;
  }

  function containerView(start: StartRecord) {
    return {
      challenge_id: start.challengeId,
      start_id: start.id,
      status: start.status,
      attempt: start.attempt,
      max_attempts: start.maxAttempts,
      error: start.error,
      connection: connectionOf(start),
      expires_at: start.expiresAt?.toISOString() ?? null,
      renewals_left: Math.max(0, start.maxRenewals - start.renewals),
    };
  }

  routes.post("/api/v1/containers", { summary: "Ask for a container of a challenge (202: queued)", body: challengeBody }, requestStart);
  routes.get("/api/v1/containers", { summary: "The caller's containers" }, listOwn);
  routes.get("/api/v1/containers/status", { summary: "One start's status record", query: statusQuery }, startStatus);
  routes.post("/api/v1/containers/renew", { summary: "Another lifetime for the caller's container", body: challengeBody }, renew);
  routes.delete("/api/v1/containers", { summary: "Stop the caller's container of a challenge", body: challengeBody }, stopOwn);
  routes.get("/api/v1/containers/admin", { summary: "Live containers, queue depth and start times (admin)" }, auth.requireAdmin(), adminList);
  routes.delete("/api/v1/containers/admin/:start_id", { summary: "Force-stop a container (admin)", params: startIdParams }, auth.requireAdmin(), adminStop);
}

/** Percentiles of recent start times, in seconds. */
function summary(times: Array<{ queueWaitS: number; totalS: number }>) {
  const pct = (values: number[], p: number) => {
    if (values.length === 0) return null;
    const sorted = [...values].sort((a, b) => a - b);
    return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 1000) / 1000;
  };
  const waits = times.map((t) => t.queueWaitS);
  const totals = times.map((t) => t.totalS);
  return {
    samples: times.length,
    queue_wait_s: { p50: pct(waits, 50), p95: pct(waits, 95) },
    total_s: { p50: pct(totals, 50), p95: pct(totals, 95) },
  };
}
