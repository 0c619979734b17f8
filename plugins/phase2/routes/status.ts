import { ok } from "../../../core/kernel/http/envelope.js";
import type { PluginRoutes } from "../../../core/kernel/http/route-table.js";
import type { Phase2Config } from "../config.js";

/** `GET /api/v1/phase2/status`: public, which features are on. */
export function statusRoutes(routes: PluginRoutes, config: Phase2Config): void {
  routes.get("/api/v1/phase2/status", { summary: "Which phase2 features are on" }, function phase2Status(ctx) {
    ok(ctx, { bloods: config.bloods, suspicion: config.suspicion, health: config.health, analytics: config.analytics });
  });
}
