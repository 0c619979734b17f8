import type { Actor } from "../auth.js";
import type { Coordination } from "../coordination/types.js";
import type { Database } from "../db/data-source.js";
import type { ConnectionLimits } from "../http/connection-limits.js";
import type { PluginRoutes } from "../http/route-table.js";
import type { Logger } from "../log.js";
import type { PluginMetrics } from "../metrics/plugin-metrics.js";
import type { PluginQueues } from "../queues/types.js";
import type { HostView, PluginAuth, PluginEvents, PluginJobs, PluginWebSocket, TokenService } from "./api.js";
import { serviceRef } from "./service-ref.js";

/**
 * The kernel's own services, as typed references a plugin lists in its `deps`:
 *
 * ```ts
 * deps: { db: coreServices.database, routes: coreServices.routes, log: coreServices.logger }
 * ```
 *
 * Kernel-wide ones live in the root container; plugin-bound ones (tagged with the plugin id, limited to its
 * manifest) in the plugin's scope; request-bound ones in each request's scope.
 */
export const coreServices = {
  /** The database; opened after the register phase, so using it inside `create` throws (no I/O there). */
  database: serviceRef<Database>("core.database"),
  /** Locks, streams, pub/sub, cache and rate limits: Redis, or in-process when embedded. */
  coordination: serviceRef<Coordination>("core.coordination"),
  /** Signs and verifies short-lived tokens (WebSocket channels). */
  tokens: serviceRef<TokenService>("core.tokens"),
  /** Plugin states, pages and jobs, for admin pages and navigation. */
  host: serviceRef<HostView>("core.host"),
  /** Bounds on open streams (per token, per address, in total); channel sockets are counted already, count your own streams (SSE). */
  connections: serviceRef<ConnectionLimits>("core.connections"),

  /** A pino logger tagged with the plugin id (tokens, passwords and cookies redacted). */
  logger: serviceRef<Logger>("core.logger", { lifetime: "plugin" }),
  /** Routes under the http prefixes of the manifest. Open until the plugin starts. */
  routes: serviceRef<PluginRoutes>("core.routes", { lifetime: "plugin" }),
  /** Jobs on the cluster's one scheduler, ids declared in the manifest. */
  jobs: serviceRef<PluginJobs>("core.jobs", { lifetime: "plugin" }),
  /** Queues on the coordination streams: define consumers (run only where the role says), add messages from any role. */
  queues: serviceRef<PluginQueues>("core.queues", { lifetime: "plugin" }),
  /** Domain events: handlers (owned by the plugin) and emit. */
  events: serviceRef<PluginEvents>("core.events", { lifetime: "plugin" }),
  /** WebSocket channels declared in the manifest, and broadcast to your own connections. */
  websocket: serviceRef<PluginWebSocket>("core.websocket", { lifetime: "plugin" }),
  /** Who is calling, the admin guard, and new kinds of credentials. */
  auth: serviceRef<PluginAuth>("core.auth", { lifetime: "plugin" }),
  /** Your own Prometheus metrics, named `flaghost_<id>_<name>` and removed when the plugin is withdrawn. */
  metrics: serviceRef<PluginMetrics>("core.metrics", { lifetime: "plugin" }),

  /** The caller of the current request (memoized per request): resolve with `fromRequest(ctx, coreServices.caller)`. */
  caller: serviceRef<Promise<Actor | null>>("core.caller", { lifetime: "request" }),
} as const;
