import { notFound } from "../../../core/kernel/errors.js";
import { ok, parseInput } from "../../../core/kernel/http/envelope.js";
import type { PluginRoutes } from "../../../core/kernel/http/route-table.js";
import type { PluginAuth } from "../../../core/kernel/plugin-host/api.js";
import { healthView, type Health } from "../health.js";
import { idParams } from "./review.js";

/** Snapshots of one challenge shown at most. */
const SERIES = 200;

/** `GET /api/v1/phase2/challenge_health` and `/challenge_health/:id` (admin). */
export function healthRoutes(routes: PluginRoutes, auth: PluginAuth, health: Health): void {
  const admin = auth.requireAdmin();
  routes.get("/api/v1/phase2/challenge_health", { summary: "The latest health of every challenge (admin)" }, admin, async function allHealth(ctx) {
    ok(ctx, (await health.latest()).map(healthView));
  });
  routes.get("/api/v1/phase2/challenge_health/:id", { summary: "A challenge's health and its snapshots, newest first (admin)", params: idParams }, admin, async function oneHealth(ctx) {
    const series = await health.series(parseInput(idParams, ctx.params).id, SERIES);
    if (series.length === 0) throw notFound("No health snapshot of this challenge yet");
    ok(ctx, { ...healthView(series[0]!), series: series.map(healthView) });
  });
}
