import Router from "@koa/router";
import { z } from "zod";
import type { AuthService } from "../auth.js";
import { notFound } from "../errors.js";
import type { InstanceRegistry } from "../instances.js";
import type { Scheduler } from "../scheduler/scheduler.js";
import type { JobTriggers } from "../scheduler/trigger-handoff.js";
import type { PluginState } from "../plugin-host/api.js";
import { ok, parseInput } from "./envelope.js";
import { openApiDocument, type OpenApiDocument } from "./openapi.js";
import type { RouteTable } from "./route-table.js";

export interface Readiness {
  ready: boolean;
  database: "ok" | "down" | "not open";
  redis: "ok" | "down" | "in-process";
  plugins: Record<string, PluginState["status"]>;
}

/** The kernel's own paths (and prefixes), so that only their requests go through its router. */
export const KERNEL_PATHS = ["/healthz", "/readyz", "/metrics", "/api/v1/openapi.json", "/api/v1/admin/plugins", "/api/v1/admin/jobs", "/api/v1/admin/instances"];

/**
 * The kernel's own endpoints: liveness, readiness, metrics, the OpenAPI document, and the admin views of plugins,
 * jobs and instances. They are recorded in the route table like a plugin's, so the OpenAPI document lists them too.
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
  routes: RouteTable;
  version: string;
}): Router {
  const router = new Router();
  const routes = deps.routes.kernelRoutes(router);

  routes.get("/healthz", { summary: "Liveness: answers while the process lives" }, (ctx) => ok(ctx, { status: "alive" }));

  routes.get("/readyz", { summary: "Readiness: database, coordination and plugin states; 503 when not ready" }, async (ctx) => {
    const { ready, ...data } = await deps.readiness();
    ctx.status = ready ? 200 : 503;
    ctx.body = { success: ready, data };
  });

  // Built on request and kept until a route is added or withdrawn (a plugin failing or reloading).
  let openApi: { revision: number; document: OpenApiDocument } | null = null;
  routes.get("/api/v1/openapi.json", { summary: "This document: every route of the kernel and the loaded plugins" }, (ctx) => {
    if (openApi?.revision !== deps.routes.revision) openApi = { revision: deps.routes.revision, document: openApiDocument(deps.routes.list(), deps.version) };
    ctx.body = openApi.document;
  });

  const admin = deps.auth.requireAdmin();

  routes.get("/api/v1/admin/plugins", { summary: "Plugin states" }, admin, (ctx) => ok(ctx, deps.plugins()));

  // Admins only on the main port; `metrics.port` serves it without a token on a separate one (metrics/server.ts).
  routes.get("/metrics", { summary: "Prometheus metrics (admins only on the main port)" }, admin, async (ctx) => {
    ctx.type = deps.metrics.contentType;
    ctx.body = await deps.metrics.render();
  });

  routes.get("/api/v1/admin/instances", { summary: "Live instances of the cluster, from their heartbeats" }, admin, async (ctx) => ok(ctx, await deps.instances.list()));

  routes.get("/api/v1/admin/jobs", { summary: "Scheduled jobs and their latest runs" }, admin, async (ctx) => ok(ctx, await deps.scheduler.list()));

  const jobParams = z.object({ id: z.string().min(1).max(100) });
  const runsQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(20) });

  routes.get("/api/v1/admin/jobs/:id/runs", { summary: "Recorded runs of a job, newest first", params: jobParams, query: runsQuery }, admin, async (ctx) => {
    const { id } = parseInput(jobParams, ctx.params);
    const { limit } = parseInput(runsQuery, ctx.query);
    if (!deps.scheduler.has(id)) throw notFound(`No job "${id}"`);
    ok(ctx, await deps.scheduler.runs(id, limit));
  });

  routes.post("/api/v1/admin/jobs/:id/run", { summary: "Run a job once now, through the cluster claim", params: jobParams }, admin, async (ctx) => {
    const { id } = parseInput(jobParams, ctx.params);
    if (!deps.scheduler.has(id)) throw notFound(`No job "${id}"`);
    const result = await deps.triggers.trigger(id);
    // Queued for a process that runs cluster jobs: 202 with the run's id, to look up under /runs.
    if (result.kind === "queued") ok(ctx, { runId: result.runId, job: result.job, status: result.status }, 202);
    else ok(ctx, result.run);
  });

  return router;
}
