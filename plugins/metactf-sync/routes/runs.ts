import type { Context } from "koa";
import { z } from "zod";
import { badRequest } from "../../../core/kernel/errors.js";
import { ok, parseInput } from "../../../core/kernel/http/envelope.js";
import type { PluginRoutes } from "../../../core/kernel/http/route-table.js";
import type { HostView, PluginAuth } from "../../../core/kernel/plugin-host/api.js";
import type { Access } from "../access.js";
import type { ScoreSync } from "../services/scores.js";
import type { TeamSync } from "../services/teams.js";
import type { RunStore } from "../store/runs.js";

export const JOBS = ["odl", "totals", "flash", "roster"] as const;

const runsQuery = z.object({
  job: z.enum(JOBS).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const syncBody = z.strictObject({
  /** true: answer what a run would call, without calling. */
  dryRun: z.boolean(),
  /** One job; a dry run without it plans all four. */
  job: z.enum(JOBS).optional(),
});

/**
 * `GET /api/v1/metactf/runs`: the sync-run log, newest first (admins and coaches). `POST /api/v1/metactf/sync`
 * (admins): `{dryRun: true}` reports what each job would call now; `{dryRun: false, job}` runs that job now through
 * the scheduler's claim (the same as `POST /api/v1/admin/jobs/metactf-sync.<job>/run`).
 */
export function runRoutes(routes: PluginRoutes, deps: { access: Access; auth: PluginAuth; host: HostView; runs: RunStore; scoreSync: ScoreSync; teamSync: TeamSync }): void {
  async function listRuns(ctx: Context) {
    await deps.access.adminOrCoach(ctx);
    const query = parseInput(runsQuery, ctx.query);
    ok(ctx, await deps.runs.list(query));
  }
  async function sync(ctx: Context) {
    const body = parseInput(syncBody, ctx.request.body);
    if (!body.dryRun) {
      if (!body.job) throw badRequest({ job: ["required unless dryRun is true"] });
      const result = await deps.host.jobs.trigger(`metactf-sync.${body.job}`);
      ok(ctx, result.kind === "queued" ? { queued: true, runId: result.runId } : { queued: false, run: result.run }, result.kind === "queued" ? 202 : 200);
      return;
    }
    const plans = { ...(await deps.scoreSync.plans()), roster: await deps.teamSync.rosterPlan() };
    ok(ctx, { dryRun: true, plans: body.job ? { [body.job]: plans[body.job] } : plans });
  }

  routes.get("/api/v1/metactf/runs", { summary: "Recorded sync runs, newest first", query: runsQuery }, listRuns);
  routes.post("/api/v1/metactf/sync", { summary: "What a sync run would call (dryRun), or run one job now", body: syncBody }, deps.auth.requireAdmin(), sync);
}
