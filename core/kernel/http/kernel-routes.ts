import Router from "@koa/router";
import { z } from "zod";
import type { AuthService } from "../auth.js";
import { notFound } from "../errors.js";
import type { InstanceRegistry } from "../instances.js";
import type { Scheduler } from "../scheduler/scheduler.js";
import type { JobTriggers } from "../scheduler/trigger-handoff.js";
import type { PluginState } from "../plugin-host/api.js";
import { ok, parseInput } from "./envelope.js";

export interface Readiness {
  ready: boolean;
  database: "ok" | "down" | "not open";
  redis: "ok" | "down" | "in-process";
  plugins: Record<string, PluginState["status"]>;
}

/**
 * The kernel's own endpoints: liveness, readiness, metrics, and the admin views of plugins, jobs and instances.
 */
export function kernelRoutes(deps: {
  auth: AuthService;
  scheduler: Scheduler;
  triggers: JobTriggers;
  instances: InstanceRegistry;
  plugins: () => PluginState[];
  readiness: () => Promise<Readiness>;
  /** The Prometheus exposition (core/kernel/metrics). */
  metrics: { render(): Promise<string>; readonly contentType: string };
}): Router {
  const router = new Router();

  router.get("/healthz", (ctx) => ok(ctx, { status: "alive" }));

  router.get("/readyz", async (ctx) => {
    const { ready, ...data } = await deps.readiness();
    ctx.status = ready ? 200 : 503;
    ctx.body = { success: ready, data };
  });

  const admin = deps.auth.requireAdmin();

  router.get("/api/v1/admin/plugins", admin, (ctx) => ok(ctx, deps.plugins()));

  // Admins only on the main port; `metrics.port` serves it without a token on a separate one (metrics/server.ts).
  router.get("/metrics", admin, async (ctx) => {
    ctx.type = deps.metrics.contentType;
    ctx.body = await deps.metrics.render();
  });

  router.get("/api/v1/admin/instances", admin, async (ctx) => ok(ctx, await deps.instances.list()));

  router.get("/api/v1/admin/jobs", admin, async (ctx) => ok(ctx, await deps.scheduler.list()));

  const jobParams = z.object({ id: z.string().min(1).max(100) });
  const runsQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(20) });

  router.get("/api/v1/admin/jobs/:id/runs", admin, async (ctx) => {
    const { id } = parseInput(jobParams, ctx.params);
    const { limit } = parseInput(runsQuery, ctx.query);
    if (!deps.scheduler.has(id)) throw notFound(`No job "${id}"`);
    ok(ctx, await deps.scheduler.runs(id, limit));
  });

  router.post("/api/v1/admin/jobs/:id/run", admin, async (ctx) => {
    const { id } = parseInput(jobParams, ctx.params);
    if (!deps.scheduler.has(id)) throw notFound(`No job "${id}"`);
    const result = await deps.triggers.trigger(id);
    // Queued for a process that runs cluster jobs: 202 with the run's id, to look up under /runs.
    if (result.kind === "queued") ok(ctx, { runId: result.runId, job: result.job, status: result.status }, 202);
    else ok(ctx, result.run);
  });

  return router;
}
