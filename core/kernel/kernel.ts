import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { asValue, createContainer, InjectionMode, type AwilixContainer } from "awilix";
import Koa from "koa";
import compose from "koa-compose";
import websockify from "koa-websocket";
import { kernelMigrations } from "../../migrations/index.js";
import { AuthService } from "./auth.js";
import { loadConfig, type KernelConfig } from "./config.js";
import { openCoordination } from "./coordination/index.js";
import type { Coordination } from "./coordination/types.js";
import { openDatabase, type Database } from "./db/data-source.js";
import { EventBus } from "./events.js";
import { bodyParser } from "./http/body.js";
import { requestContext } from "./http/errors-middleware.js";
import { KERNEL_PATHS, kernelRoutes, type Readiness } from "./http/kernel-routes.js";
import { RouteTable, underPrefix } from "./http/route-table.js";
import { securityHeaders } from "./http/security-headers.js";
import { WebSocketHub } from "./http/websocket.js";
import { createLogger, type Logger } from "./log.js";
import type { EntityClass } from "./plugin-host/api.js";
import { PluginHost } from "./plugin-host/loader.js";
import { RunStore } from "./scheduler/run-store.js";
import { Scheduler } from "./scheduler/scheduler.js";
import { TokenSigner } from "./tokens.js";

export const KERNEL_VERSION = "0.1.0";

/** Options of the WebSocket server beside the HTTP server (the Origin and token check is the hub's verifyClient). */
const WEBSOCKET_OPTIONS = { maxPayload: 64 * 1024 };

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
  readonly auth: AuthService;
  readonly plugins: PluginHost;
  readonly app: Koa & { ws: { use(fn: unknown): unknown; listen(options: Record<string, unknown>): void; server?: { close(cb?: () => void): void } } };
  readonly instanceId: string;
  private database: Database | null = null;
  private signer: TokenSigner | null = null;
  private server: Server | null = null;
  private starting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;

  constructor(readonly config: KernelConfig, options: { logDestination?: NodeJS.WritableStream } = {}) {
    this.instanceId = config.instanceId ?? `${hostname()}-${process.pid}`;
    this.log = createLogger({ level: config.log.level, destination: options.logDestination }).child({ instance: this.instanceId });
    this.routes = new RouteTable(this.log.child({ component: "http" }));
    this.container = createContainer({ injectionMode: InjectionMode.PROXY, strict: true });
    this.coordination = openCoordination({ redisUrl: config.redisUrl, redisKeyPrefix: config.redisKeyPrefix });
    this.events = new EventBus({
      log: this.log,
      instanceId: this.instanceId,
      coordination: this.coordination,
      afterCommit: (fn) => (this.database ? this.database.afterCommit(fn) : setImmediate(fn)),
    });
    this.scheduler = new Scheduler({
      store: new RunStore({
        // The store is only used once the database is open (jobs start after load).
        transaction: (fn) => this.db.transaction(fn),
        query: (sql, params) => this.db.query(sql, params),
      } as Database),
      log: this.log.child({ component: "scheduler" }),
      instanceId: this.instanceId,
      leaseMs: config.scheduler.leaseMs,
      timezone: config.scheduler.timezone,
      runsClusterJobs: config.role === "all" || config.role === "scheduler",
    });
    this.auth = new AuthService(config.adminToken);
    this.websocket = new WebSocketHub({
      log: this.log.child({ component: "websocket" }),
      signer: () => this.tokens,
      origins: config.origins,
      heartbeatMs: config.websocket.heartbeatMs,
      maxBufferedBytes: config.websocket.maxBufferedBytes,
    });
    this.plugins = new PluginHost({
      config,
      kernelVersion: KERNEL_VERSION,
      log: this.log,
      container: this.container,
      coordination: this.coordination,
      events: this.events,
      scheduler: this.scheduler,
      routes: this.routes,
      websocket: this.websocket,
      auth: this.auth,
      tokens: () => this.tokens,
      openDatabase: (entities) => this.openDatabase(entities),
      kernelMigrations: { owner: "kernel", tablePrefix: "kernel_", migrations: kernelMigrations },
      afterKernelMigrations: async (db) => {
        this.signer = new TokenSigner(config.secret ?? (await loadOrCreateSecret(db)));
      },
    });
    this.container.register({
      config: asValue(config),
      log: asValue(this.log),
      coordination: asValue(this.coordination),
      events: asValue(this.events),
      scheduler: asValue(this.scheduler),
      auth: asValue(this.auth),
      websocket: asValue(this.websocket),
    });
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

  /** Loads plugins and starts the scheduler and WebSocket heartbeats. Idempotent. */
  start(): Promise<void> {
    this.starting ??= (async () => {
      await this.plugins.load();
      await this.events.connect();
      await this.scheduler.start();
      this.websocket.start();
    })();
    return this.starting;
  }

  /** Starts (if needed) and listens; resolves with the bound port. */
  async listen(port = this.config.port, host = this.config.host): Promise<number> {
    await this.start();
    if (!this.server) {
      // Prepared answers go first; everything else is Koa's. WebSockets upgrade on the same server.
      const server = createServer(this.routes.prepared.listener(this.app.callback()));
      this.app.ws.listen({ ...WEBSOCKET_OPTIONS, verifyClient: this.websocket.verifyClient, server });
      server.listen(port, host);
      this.server = server;
      await new Promise<void>((resolve, reject) => {
        server.once("listening", resolve);
        server.once("error", reject);
      });
    }
    return (this.server.address() as AddressInfo).port;
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
      const server = this.server;
      if (server) {
        this.app.ws.server?.close();
        this.websocket.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      }
      await this.scheduler.stop();
      await this.plugins.stop();
      await this.events.drain();
      await this.events.disconnect();
      await this.coordination.close();
      await this.database?.close();
    })();
    return this.stopping;
  }

  private async openDatabase(entities: EntityClass[]): Promise<Database> {
    if (this.database) {
      // reload(): keep the connection (an in-memory database would be lost) and rebuild entity metadata.
      const dataSource = this.database.dataSource;
      dataSource.setOptions({ entities });
      await (dataSource as unknown as { buildMetadatas(): Promise<void> }).buildMetadatas();
      return this.database;
    }
    this.database = await openDatabase({
      databaseUrl: this.config.databaseUrl,
      databaseSchema: this.config.databaseSchema,
      dataDir: this.config.dataDir,
      entities,
    });
    return this.database;
  }

  private createApp() {
    const app = websockify(new Koa()) as Kernel["app"];
    app.proxy = this.config.http.trustProxy;
    app.silent = true; // errors are rendered and logged by requestContext
    app.use(requestContext({ container: this.container, log: this.log, development: this.config.env === "development" }));
    app.use(securityHeaders);
    app.use(bodyParser(this.config.http.bodyLimitBytes));
    const kernel = kernelRoutes({
      auth: this.auth,
      scheduler: this.scheduler,
      plugins: () => this.plugins.pluginStates(),
      readiness: () => this.readiness(),
      routes: this.routes,
      version: KERNEL_VERSION,
    });
    // Only the kernel's own paths go through its router; every other request skips it.
    const kernelDispatch = compose([kernel.routes(), kernel.allowedMethods()] as Koa.Middleware[]);
    app.use((ctx, next) => (KERNEL_PATHS.some((prefix) => underPrefix(ctx.path, prefix)) ? kernelDispatch(ctx, next) : next()));
    app.use(this.routes.middleware());
    app.ws.use(this.websocket.middleware);
    return app;
  }
}

export async function createKernel(options: KernelOptions = {}): Promise<Kernel> {
  const config = loadConfig({ root: options.root ?? process.cwd(), env: options.env, overrides: options.overrides });
  return new Kernel(config, { logDestination: options.logDestination });
}

/** The cluster's signing secret: generated by the first instance and shared through the database. */
async function loadOrCreateSecret(db: Database): Promise<string> {
  await db.query(`INSERT INTO kernel_settings (key, value) VALUES ('secret', $1) ON CONFLICT (key) DO NOTHING`, [randomBytes(32).toString("hex")]);
  const rows = await db.query<{ value: string }>(`SELECT value FROM kernel_settings WHERE key = 'secret'`);
  return rows[0]!.value;
}
