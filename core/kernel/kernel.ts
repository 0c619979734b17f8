import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { asFunction, asValue, createContainer, InjectionMode, type AwilixContainer } from "awilix";
import Koa, { type Context } from "koa";
import compose from "koa-compose";
import websockify from "koa-websocket";
import { kernelMigrations } from "../../migrations/index.js";
import { AuthService } from "./auth.js";
import { loadConfig, type KernelConfig } from "./config.js";
import { openCoordination } from "./coordination/index.js";
import type { Coordination } from "./coordination/types.js";
import { openDatabase, type Database, type KernelDatabase } from "./db/data-source.js";
import { notFound } from "./errors.js";
import { EventBus } from "./events.js";
import { portOf } from "./unavailable.js";
import { bodyParser } from "./http/body.js";
import { requestContext } from "./http/errors-middleware.js";
import { KERNEL_PATHS, kernelRoutes, type Readiness } from "./http/kernel-routes.js";
import { RouteTable, underPrefix } from "./http/route-table.js";
import { securityHeaders } from "./http/security-headers.js";
import { createConnectionLimits, type ConnectionLimits } from "./http/connection-limits.js";
import { WebSocketHub } from "./http/websocket.js";
import { InstanceRegistry } from "./instances.js";
import { createLogger, type Logger } from "./log.js";
import type { EntityClass, HostView, TokenService } from "./plugin-host/api.js";
import { coreServices } from "./plugin-host/core-services.js";
import { observeRequests, observeUpgrades } from "./metrics/http.js";
import { Metrics } from "./metrics/metrics.js";
import { listenForScrapes } from "./metrics/server.js";
import { PluginHost } from "./plugin-host/loader.js";
import { CONSUMER_GROUP } from "./queues/consumer.js";
import { QueueHost } from "./queues/host.js";
import { jobRunRetention } from "./scheduler/run-retention.js";
import { RunStore } from "./scheduler/run-store.js";
import { Scheduler } from "./scheduler/scheduler.js";
import { JobTriggers } from "./scheduler/trigger-handoff.js";
import { TokenSigner } from "./tokens.js";

export const KERNEL_VERSION = "0.1.0";

/** Options of the WebSocket server beside the HTTP server (the Origin and token check is the hub's verifyClient). */
const WEBSOCKET_OPTIONS = { maxPayload: 64 * 1024 };

/** All that a `worker` or `scheduler` process answers over HTTP; everything else is 404 there. */
const OPERATIONAL_PATHS = ["/healthz", "/readyz", "/metrics"];

type Role = KernelConfig["role"];
/** HTTP for players and admins, WebSockets, plugin routes and assets. */
const servesPlayers = (role: Role) => role === "all" || role === "web";
/** Claims cluster-scoped job slots (and the manual runs other roles queue). */
const runsClusterJobs = (role: Role) => role === "all" || role === "scheduler";
/** Consumes the queues plugins define. */
const consumesQueues = (role: Role) => role === "all" || role === "worker";

export interface KernelOptions {
  /** Project root holding config/ (defaults to the current directory). */
  root?: string;
  env?: NodeJS.ProcessEnv;
  /** Config values that win over files and environment (tests). */
  overrides?: Record<string, unknown>;
  /** Where log lines go (defaults to stdout). */
  logDestination?: NodeJS.WritableStream;
}

/**
 * One flaghost process: config, container, database, coordination, scheduler, events, HTTP and WebSocket,
 * and the plugin host that loads everything else.
 */
export class Kernel {
  readonly container: AwilixContainer;
  readonly log: Logger;
  readonly coordination: Coordination;
  readonly events: EventBus;
  readonly scheduler: Scheduler;
  readonly routes: RouteTable;
  readonly websocket: WebSocketHub;
  /** Open streams, per token, per address and in total: channel sockets and plugins' own streams. */
  readonly connections: ConnectionLimits;
  readonly auth: AuthService;
  readonly plugins: PluginHost;
  readonly metrics: Metrics;
  readonly queues: QueueHost;
  readonly instances: InstanceRegistry;
  readonly jobTriggers: JobTriggers;
  readonly app: Koa & { ws: { use(fn: unknown): unknown; listen(options: Record<string, unknown>): void; server?: { close(cb?: () => void): void } } };
  readonly instanceId: string;
  private database: KernelDatabase | null = null;
  private signer: TokenSigner | null = null;
  private server: Server | null = null;
  private metricsServer: Server | null = null;
  private starting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private announceListening: (url: string) => void = () => {};
  /** Resolved with the base URL once the server listens (plugins may announce their pages' URLs then). */
  private readonly listening = new Promise<string>((resolve) => (this.announceListening = resolve));

  constructor(readonly config: KernelConfig, options: { logDestination?: NodeJS.WritableStream } = {}) {
    this.instanceId = config.instanceId ?? `${hostname()}-${process.pid}`;
    this.log = createLogger({ level: config.log.level, destination: options.logDestination }).child({ instance: this.instanceId });
    this.routes = new RouteTable(this.log.child({ component: "http" }));
    this.container = createContainer({ injectionMode: InjectionMode.PROXY, strict: true });
    this.coordination = openCoordination({ redisUrl: config.redisUrl, redisKeyPrefix: config.redisKeyPrefix });
    this.metrics = new Metrics({
      log: this.log.child({ component: "http" }),
      accessLog: config.log.accessLog,
      coordination: this.coordination,
      pluginStates: () => this.plugins.pluginStates(),
      poolCounts: () => this.database?.connections() ?? null,
      queueStreams: () => this.queues.streams().map((stream) => [stream, CONSUMER_GROUP]),
    });
    this.events = new EventBus({
      log: this.log,
      instanceId: this.instanceId,
      coordination: this.coordination,
      afterCommit: (fn) => (this.database ? this.database.afterCommit(fn) : setImmediate(fn)),
      observer: this.metrics,
    });
    const runStore = new RunStore({
      // The store is only used once the database is open (jobs start after load).
      transaction: (fn) => this.db.transaction(fn),
      query: (sql, params) => this.db.query(sql, params),
    } as Database);
    this.scheduler = new Scheduler({
      store: runStore,
      log: this.log.child({ component: "scheduler" }),
      instanceId: this.instanceId,
      leaseMs: config.scheduler.leaseMs,
      timezone: config.scheduler.timezone,
      runsClusterJobs: runsClusterJobs(config.role),
      observer: this.metrics,
    });
    this.scheduler.add("kernel", jobRunRetention(runStore, config.scheduler.keepRunsDays));
    this.queues = new QueueHost({
      coordination: this.coordination,
      log: this.log.child({ component: "queues" }),
      instanceId: this.instanceId,
      consumesPluginQueues: consumesQueues(config.role),
      blockMs: config.queues.blockMs,
      claimStaleAfterMs: config.queues.claimStaleAfterMs,
      stopTimeoutMs: config.queues.stopTimeoutMs,
    });
    this.jobTriggers = new JobTriggers({
      scheduler: this.scheduler,
      queues: this.queues,
      log: this.log.child({ component: "scheduler" }),
      runsClusterJobs: runsClusterJobs(config.role),
    });
    this.instances = new InstanceRegistry({
      coordination: this.coordination,
      log: this.log.child({ component: "instances" }),
      heartbeatMs: config.instances.heartbeatMs,
      self: { id: this.instanceId, role: config.role, pid: process.pid, host: hostname(), version: KERNEL_VERSION },
    });
    this.auth = new AuthService(config.adminToken);
    this.connections = createConnectionLimits(config.streams);
    this.websocket = new WebSocketHub({
      limits: this.connections,
      log: this.log.child({ component: "websocket" }),
      signer: () => this.tokens,
      origins: config.origins,
      heartbeatMs: config.websocket.heartbeatMs,
      maxBufferedBytes: config.websocket.maxBufferedBytes,
      observer: this.metrics,
    });
    this.plugins = new PluginHost({
      config,
      kernelVersion: KERNEL_VERSION,
      log: this.log,
      container: this.container,
      events: this.events,
      scheduler: this.scheduler,
      queues: this.queues,
      routes: this.routes,
      websocket: this.websocket,
      auth: this.auth,
      metrics: this.metrics,
      openDatabase: (entities) => this.openDatabase(entities),
      kernelMigrations: { owner: "kernel", tablePrefix: "kernel_", migrations: kernelMigrations },
      afterKernelMigrations: async (db) => {
        this.signer = new TokenSigner(config.secret ?? (await loadOrCreateSecret(db)));
      },
    });
    // Redis came back (restarted, or the network healed): heartbeats are written again at once, and whoever keeps
    // state fed by broadcasts or Redis streams hears of it (the scoreboard resyncs, whale re-queues starts).
    this.coordination.onReconnect((downMs) => {
      this.log.warn({ downMs }, "Redis connection restored; resyncing what it may have lost");
      this.instances.refresh().catch((error) => this.log.warn({ err: error }, "could not write the instance heartbeat; will retry"));
      this.events.emit("kernel.coordination.restored", { downMs });
    });
    this.registerKernelServices();
    this.app = this.createApp();
  }

  get db(): Database {
    if (!this.database) throw new Error("the database is not open yet");
    return this.database;
  }

  get tokens(): TokenSigner {
    if (!this.signer) throw new Error("the token signer is not ready yet (the kernel has not loaded)");
    return this.signer;
  }

  /** Loads plugins (in every role) and starts what the role runs: scheduler, queue consumers, WebSocket heartbeats. Idempotent. */
  start(): Promise<void> {
    this.starting ??= (async () => {
      if (this.config.role !== "all" && this.coordination.kind === "memory") {
        this.log.warn(`role ${this.config.role} without REDIS_URL: no other process sees this one's queues, jobs or heartbeat`);
      }
      await this.plugins.load();
      await this.events.connect();
      await this.scheduler.start();
      this.queues.start();
      await this.instances.start();
      if (servesPlayers(this.config.role)) this.websocket.start();
    })();
    return this.starting;
  }

  /** Starts (if needed) and listens; resolves with the bound port. */
  async listen(port = this.config.port, host = this.config.host): Promise<number> {
    await this.start();
    if (!this.server) {
      // Prepared answers go first; everything else is Koa's. WebSockets upgrade on the same server.
      // A worker or scheduler serves neither: Koa alone answers its few operational paths.
      const players = servesPlayers(this.config.role);
      const server = createServer(players ? this.routes.prepared.listener(this.app.callback(), this.metrics) : this.app.callback());
      if (players) this.app.ws.listen({ ...WEBSOCKET_OPTIONS, verifyClient: this.websocket.verifyClient, server });
      server.listen(port, host);
      this.server = server;
      await new Promise<void>((resolve, reject) => {
        server.once("listening", resolve);
        server.once("error", reject);
      });
      if (this.config.metrics.port !== undefined) {
        this.metricsServer = await listenForScrapes(this.metrics, { port: this.config.metrics.port, host, log: this.log });
      }
      const { port: bound } = server.address() as AddressInfo;
      this.announceListening(`http://${host === "0.0.0.0" || host === "::" ? "localhost" : host}:${bound}`);
    }
    return (this.server.address() as AddressInfo).port;
  }

  /** The separate scrape endpoint's URL (config `metrics.port`), or null when there is none. */
  get metricsUrl(): string | null {
    if (!this.metricsServer) return null;
    const { port } = this.metricsServer.address() as AddressInfo;
    return `http://127.0.0.1:${port}/metrics`;
  }

  get url(): string {
    if (!this.server) throw new Error("not listening");
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  reload(): Promise<void> {
    return this.plugins.reload();
  }

  async readiness(): Promise<Readiness> {
    const database = this.database ? ((await this.database.ping()) ? "ok" : "down") : "not open";
    const redis = this.coordination.kind === "memory" ? "in-process" : (await this.coordination.ping()) ? "ok" : "down";
    const plugins = Object.fromEntries(this.plugins.pluginStates().map((p) => [p.id, p.status]));
    const ready = database === "ok" && redis !== "down" && this.plugins.isLoaded && this.starting !== null;
    return { ready, database, redis, plugins };
  }

  /** Stops everything in reverse order of start; memoized. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.instances.stop();
      const server = this.server;
      if (server) {
        this.app.ws.server?.close();
        this.websocket.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      }
      const metricsServer = this.metricsServer;
      if (metricsServer) {
        await new Promise<void>((resolve) => {
          metricsServer.close(() => resolve());
          metricsServer.closeAllConnections();
        });
      }
      // Queue handlers may trigger jobs and use plugin services: they stop first.
      await this.queues.stop();
      await this.scheduler.stop();
      await this.plugins.stop();
      await this.events.drain();
      await this.events.disconnect();
      await this.coordination.close();
      await this.database?.close();
    })();
    return this.stopping;
  }

  /** The kernel-wide services plugins receive through `coreServices` (see plugin-host/core-services.ts). */
  private registerKernelServices(): void {
    const host: HostView = {
      plugins: () => this.plugins.pluginStates(),
      pages: () => this.plugins.pages(),
      jobs: {
        list: () => this.scheduler.list(),
        runs: (jobId, limit) => this.scheduler.runs(jobId, limit),
        trigger: (jobId) => this.jobTriggers.trigger(jobId),
      },
      websocketTokenTtlMs: this.config.websocket.tokenTtlMs,
      adminTokenSet: this.config.adminToken !== undefined,
      listening: this.listening,
    };
    // Resolved at call time: the signing secret is read from the database after the register phase.
    const tokens: TokenService = {
      sign: (claims, ttlMs) => this.tokens.sign(claims, ttlMs),
      verify: (token, audience) => this.tokens.verify(token, audience),
    };
    this.container.register({
      [coreServices.database.id]: asValue(lazyDatabase(() => this.database)),
      [coreServices.coordination.id]: asValue(this.coordination),
      [coreServices.tokens.id]: asValue(tokens),
      [coreServices.host.id]: asValue(host),
      [coreServices.connections.id]: asValue(this.connections),
      // Transient (the actor is memoized per request on ctx.state): awilix's strict mode then refuses it as a
      // dependency of anything longer-lived, such as a plugin.
      [coreServices.caller.id]: asFunction(({ koaContext }: { koaContext: Context }) => this.auth.actor(koaContext)).transient(),
    });
  }

  private async openDatabase(entities: EntityClass[]): Promise<Database> {
    if (this.database) {
      // reload(): a new DataSource over the same connections (an in-memory database keeps its data).
      await this.database.useEntities(entities);
      return this.database;
    }
    this.database = await openDatabase({
      databaseUrl: this.config.databaseUrl,
      databaseSchema: this.config.databaseSchema,
      dataDir: this.config.dataDir,
      poolSize: this.config.database.poolSize,
      connectTimeoutMs: this.config.database.connectTimeoutMs,
      entities,
    });
    return this.database;
  }

  private createApp() {
    const app = websockify(new Koa()) as Kernel["app"];
    app.proxy = this.config.http.trustProxy;
    app.silent = true; // errors are rendered and logged by requestContext
    app.use(observeRequests(this.metrics)); // outermost: sees the final status of every request
    const endpoints = { databasePort: portOf(this.config.databaseUrl, 5432), redisPort: portOf(this.config.redisUrl, 6379) };
    app.use(requestContext({ container: this.container, log: this.log, development: this.config.env === "development", endpoints }));
    app.use(securityHeaders);
    app.use((_ctx, next) => this.events.answerAfterLocalReads(next)); // read-your-writes on this instance
    if (!servesPlayers(this.config.role)) {
      app.use((ctx, next) => (OPERATIONAL_PATHS.includes(ctx.path) ? next() : Promise.reject(notFound(`role ${this.config.role} serves only ${OPERATIONAL_PATHS.join(", ")}`))));
    }
    app.use(bodyParser(this.config.http.bodyLimitBytes));
    const kernel = kernelRoutes({
      auth: this.auth,
      scheduler: this.scheduler,
      triggers: this.jobTriggers,
      instances: this.instances,
      plugins: () => this.plugins.pluginStates(),
      readiness: () => this.readiness(),
      metrics: this.metrics,
      routes: this.routes,
      version: KERNEL_VERSION,
    });
    // Only the kernel's own paths go through its router; every other request skips it.
    const kernelDispatch = compose([kernel.routes(), kernel.allowedMethods()] as Koa.Middleware[]);
    app.use((ctx, next) => (KERNEL_PATHS.some((prefix) => underPrefix(ctx.path, prefix)) ? kernelDispatch(ctx, next) : next()));
    if (servesPlayers(this.config.role)) {
      app.use(this.routes.middleware());
      app.ws.use(observeUpgrades(this.metrics));
      app.ws.use(this.websocket.middleware);
    }
    return app;
  }
}

export async function createKernel(options: KernelOptions = {}): Promise<Kernel> {
  const config = loadConfig({ root: options.root ?? process.cwd(), env: options.env, overrides: options.overrides });
  return new Kernel(config, { logDestination: options.logDestination });
}

/** The database as a plugin receives it: safe to hold from `create`, usable once the kernel opened it (from init on). */
function lazyDatabase(current: () => Database | null): Database {
  const open = (): Database => {
    const database = current();
    if (!database) throw new Error("the database is not open during the register phase (no I/O in create; do it in init)");
    return database;
  };
  return {
    get dataSource() {
      return open().dataSource;
    },
    get embedded() {
      return open().embedded;
    },
    transaction: (fn) => open().transaction(fn),
    afterCommit: (fn) => open().afterCommit(fn),
    query: (sql, params, options) => open().query(sql, params, options),
    ping: () => open().ping(),
    close: () => Promise.reject(new Error("the kernel owns the database; plugins do not close it")),
  };
}

/** The cluster's signing secret: generated by the first instance and shared through the database. */
async function loadOrCreateSecret(db: Database): Promise<string> {
  await db.query(`INSERT INTO kernel_settings (key, value) VALUES ('secret', $1) ON CONFLICT (key) DO NOTHING`, [randomBytes(32).toString("hex")]);
  const rows = await db.query<{ value: string }>(`SELECT value FROM kernel_settings WHERE key = 'secret'`);
  return rows[0]!.value;
}
