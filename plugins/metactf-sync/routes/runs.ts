import type { Context } from "koa";
import { z } from "zod";
import { ok, parseInput } from "../../../core/kernel/http/envelope.js";
import type { PluginRoutes } from "../../../core/kernel/http/route-table.js";
import type { Access } from "../access.js";
import type { RunStore } from "../store/runs.js";

export const JOBS = ["odl", "totals", "flash", "roster"] as const;

const runsQuery = z.object({
  job: z.enum(JOBS).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** `GET /api/v1/metactf/runs`: the sync-run log, newest first (admins and coaches). */
export function runRoutes(routes: PluginRoutes, deps: { access: Access; runs: RunStore }): void {
  async function listRuns(ctx: Context) {
    await deps.access.adminOrCoach(ctx);
    const query = parseInput(runsQuery, ctx.query);
    ok(ctx, await deps.runs.list(query));
  }
  routes.get("/api/v1/metactf/runs", { summary: "Recorded sync runs, newest first", query: runsQuery }, listRuns);
}
