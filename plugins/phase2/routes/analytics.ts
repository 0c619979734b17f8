import { ok } from "../../../core/kernel/http/envelope.js";
import type { PluginRoutes } from "../../../core/kernel/http/route-table.js";
import type { PluginAuth } from "../../../core/kernel/plugin-host/api.js";
import type { AnalyticsStore } from "../analytics.js";

/** How far back the totals' time series goes, and how many snapshots it shows at most. */
const SERIES_HOURS = 24;
const SERIES_POINTS = 2880;

/** `GET /api/v1/phase2/analytics` (admin): the latest snapshot and the totals of the last day's runs. */
export function analyticsRoutes(routes: PluginRoutes, auth: PluginAuth, store: AnalyticsStore): void {
  routes.get("/api/v1/phase2/analytics", { summary: "Live analytics (admin)" }, auth.requireAdmin(), async function showAnalytics(ctx) {
    const since = new Date(Date.now() - SERIES_HOURS * 3600_000);
    ok(ctx, { latest: await store.latest(), series: await store.series(since, SERIES_POINTS) });
  });
}
