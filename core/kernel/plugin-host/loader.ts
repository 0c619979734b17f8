import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { asValue, type AwilixContainer } from "awilix";
import { z } from "zod";
import type { AuthService } from "../auth.js";
import { formatIssues } from "../config.js";
import type { KernelConfig } from "../config.js";
import type { Coordination } from "../coordination/types.js";
import type { Database } from "../db/data-source.js";
import { runMigrations, type MigrationSet } from "../db/migrations.js";
import { PluginPhaseError, StartupError } from "../errors.js";
import type { EventBus } from "../events.js";
import { pathClaimantOf } from "../http/path-claims.js";
import type { RouteTable } from "../http/route-table.js";
import type { WebSocketHub } from "../http/websocket.js";
import type { Logger } from "../log.js";
import type { Scheduler } from "../scheduler/scheduler.js";
import type { TokenSigner } from "../tokens.js";
import type { EntityClass, PluginContext, PluginDefinition, PluginState, PluginStatus } from "./api.js";
import { dependentsOf, discoverPlugins, planLoadOrder, type PluginManifest } from "./manifest.js";

interface LoadedPlugin {
  manifest: PluginManifest;
  dir: string;
  definition: PluginDefinition;
  context: PluginContext<unknown>;
  scope: AwilixContainer;
  /** Routes, jobs, handlers and channels may be added until the plugin starts. */
  registrationOpen: boolean;
  /** Set once stop has been called, so it runs once however often stop is requested. */
  stopped?: Promise<void>;
}

export interface PluginHostDeps {
  config: KernelConfig;
  kernelVersion: string;
  log: Logger;
  container: AwilixContainer;
  coordination: Coordination;
  events: EventBus;
  scheduler: Scheduler;
  routes: RouteTable;
  websocket: WebSocketHub;
  auth: AuthService;
  tokens: () => TokenSigner;
  /** Opens (or re-opens with the given entities) the database once every plugin has registered. */
  openDatabase(entities: EntityClass[]): Promise<Database>;
  kernelMigrations: MigrationSet;
  /** Called once the kernel's own tables exist (the signing secret lives there). */
  afterKernelMigrations(db: Database): Promise<void>;
}

/**
 * Discovers plugins, orders them by dependsOn and walks them through register -> migrate -> init -> start.
 * A plugin failing anywhere is marked failed, everything it registered is withdrawn, its dependents are
 * blocked, and the rest carry on. stop() runs in reverse order, once.
 */
export class PluginHost {
  private readonly states = new Map<string, PluginState>();
  private loaded: LoadedPlugin[] = [];
  private readonly services = new Map<string, unknown>();
  private database: Database | null = null;
  private loading: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;

  constructor(private readonly deps: PluginHostDeps) {}

  get db(): Database | null {
    return this.database;
  }

  pluginStates(): PluginState[] {
    return [...this.states.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  pages() {
    return this.loaded
      .filter((p) => this.states.get(p.manifest.id)?.status === "started")
      .flatMap((p) => (p.manifest.capabilities?.pages ?? []).map((page) => ({ plugin: p.manifest.id, audience: page.audience ?? "public", ...page })));
  }

  get isLoaded(): boolean {
    return this.loading !== null && this.loaded.every((p) => this.states.get(p.manifest.id)?.status !== "loading");
  }

  /** Loads the configured plugin set. Calling it again while loaded does nothing (use reload). */
  load(): Promise<void> {
    this.loading ??= this.loadAll();
    return this.loading;
  }

  /** Stops every plugin, withdraws what they registered, and loads the set again from disk and config. */
  async reload(): Promise<void> {
    await this.load();
    await this.stopPlugins();
    this.loaded = [];
    this.states.clear();
    this.services.clear();
    this.stopping = null;
    this.loading = this.loadAll();
    await this.loading;
  }

  /** Stops plugins in reverse dependency order; memoized. */
  stop(): Promise<void> {
    this.stopping ??= this.stopPlugins();
    return this.stopping;
  }

  private async stopPlugins(): Promise<void> {
    for (const plugin of [...this.loaded].reverse()) {
      const state = this.states.get(plugin.manifest.id)!;
      await this.runStop(plugin);
      this.withdraw(plugin);
      if (state.status === "started") state.status = "stopped";
    }
  }

  /** Registers every plugin and applies all migrations, without init or start (`flaghost migrate`). */
  async migrateOnly(): Promise<void> {
    await this.loadAll("migrate");
  }

  private async loadAll(until: "migrate" | "start" = "start"): Promise<void> {
    const { config, log } = this.deps;
    const discovered = discoverPlugins(config.pluginPaths);
    const { order, problems } = planLoadOrder(discovered, this.deps.kernelVersion);
    for (const plugin of discovered) {
      const problem = problems.get(plugin.id);
      if (!problem) continue;
      this.setState(plugin.id, { version: plugin.manifest?.version ?? null, enabled: this.isEnabled(plugin.id), status: problem.status, error: problem.error });
    }

    // Import enabled plugins and validate every config slice first: a bad slice stops start-up, naming the key.
    const candidates: Array<{ manifest: PluginManifest; dir: string; definition: PluginDefinition; config: unknown }> = [];
    const configProblems: string[] = [];
    for (const manifest of order) {
      const dir = discovered.find((d) => d.manifest === manifest)!.dir;
      const enabled = this.isEnabled(manifest.id);
      this.setState(manifest.id, { version: manifest.version, enabled, status: enabled ? "loading" : "disabled", error: null });
      if (!enabled) continue;
      const blockedBy = this.unavailableDependency(manifest);
      if (blockedBy) {
        this.markBlocked(manifest.id, blockedBy);
        continue;
      }
      let definition: PluginDefinition;
      try {
        definition = await importDefinition(resolve(dir, manifest.entry));
      } catch (error) {
        this.markFailed(manifest, new PluginPhaseError(manifest.id, "import", error), order);
        continue;
      }
      const slice = { ...(config.plugins[manifest.id] ?? {}) };
      delete slice.enabled;
      const parsed = (definition.config ?? z.object({}).loose()).safeParse(slice);
      if (!parsed.success) {
        configProblems.push(formatIssues(parsed.error, ["plugins", manifest.id]));
        continue;
      }
      candidates.push({ manifest, dir, definition, config: parsed.data });
    }
    if (configProblems.length > 0) throw new StartupError(`invalid configuration:\n${configProblems.join("\n")}`);

    // register: synchronous, no I/O.
    for (const candidate of candidates) {
      if (this.unavailableDependency(candidate.manifest)) {
        this.markBlocked(candidate.manifest.id, this.unavailableDependency(candidate.manifest)!);
        continue;
      }
      let plugin: LoadedPlugin;
      try {
        plugin = this.createLoadedPlugin(candidate);
      } catch (error) {
        // Its paths overlap a plugin loaded before it: nothing of it was mounted.
        this.markFailed(candidate.manifest, new PluginPhaseError(candidate.manifest.id, "register", error), order);
        continue;
      }
      this.loaded.push(plugin);
      try {
        const result = candidate.definition.register?.(plugin.context) as unknown;
        if (result instanceof Promise) throw new Error("register must be synchronous (do I/O in init)");
      } catch (error) {
        this.fail(plugin, "register", error, order);
      }
    }

    // migrate: open the database with every surviving plugin's entities, then apply migrations once per cluster.
    const alive = () => this.loaded.filter((p) => this.states.get(p.manifest.id)!.status === "loading");
    this.database = await this.deps.openDatabase(alive().flatMap((p) => p.definition.entities ?? []));
    for (const plugin of alive()) {
      const problem = this.tablePrefixProblem(plugin);
      if (problem) this.fail(plugin, "migrate", new Error(problem), order);
    }
    const sets: MigrationSet[] = [this.deps.kernelMigrations, ...alive().map((p) => ({ owner: p.manifest.id, tablePrefix: p.manifest.capabilities?.tablePrefix ?? null, migrations: p.definition.migrations ?? [] }))];
    const { applied, failed } = await runMigrations(this.database, sets);
    if (failed.has("kernel")) throw new StartupError(`kernel migrations failed: ${failed.get("kernel")!.message}`, { cause: failed.get("kernel") });
    if (applied.length > 0) log.info({ applied }, `applied ${applied.length} migration(s)`);
    await this.deps.afterKernelMigrations(this.database);
    for (const plugin of alive()) {
      const error = failed.get(plugin.manifest.id);
      if (error) this.fail(plugin, "migrate", error, order);
    }

    if (until === "migrate") return;

    // init, in dependency order, each bounded by the timeout.
    for (const plugin of alive()) {
      const blockedBy = this.unavailableDependency(plugin.manifest);
      if (blockedBy) {
        this.withdraw(plugin);
        this.markBlocked(plugin.manifest.id, blockedBy);
        continue;
      }
      try {
        await withTimeout(Promise.resolve().then(() => plugin.definition.init?.(plugin.context)), config.pluginInitTimeoutMs, `init did not finish within ${config.pluginInitTimeoutMs} ms`);
      } catch (error) {
        await this.runStop(plugin);
        this.fail(plugin, "init", error, order);
      }
    }

    // start: registration closes, then the plugin goes live.
    for (const plugin of alive()) {
      plugin.registrationOpen = false;
      try {
        await withTimeout(Promise.resolve().then(() => plugin.definition.start?.(plugin.context)), config.pluginInitTimeoutMs, `start did not finish within ${config.pluginInitTimeoutMs} ms`);
        this.states.get(plugin.manifest.id)!.status = "started";
        log.info({ plugin: plugin.manifest.id, version: plugin.manifest.version }, "plugin started");
      } catch (error) {
        await this.runStop(plugin);
        this.fail(plugin, "start", error, order);
      }
    }
  }

  private createLoadedPlugin(candidate: { manifest: PluginManifest; dir: string; definition: PluginDefinition; config: unknown }): LoadedPlugin {
    const { manifest, dir, definition } = candidate;
    const id = manifest.id;
    const deps = this.deps;
    const log = deps.log.child({ plugin: id });
    const capabilities = manifest.capabilities ?? {};
    const plugin = { manifest, dir, definition, registrationOpen: true } as LoadedPlugin;
    const assertOpen = (what: string) => {
      if (!plugin.registrationOpen) throw new Error(`plugin "${id}": cannot add ${what} after the plugin started; add it in register or init`);
    };
    const routes = deps.routes.createPluginRoutes(pathClaimantOf(manifest), () => assertOpen("a route"));
    const scope = deps.container.createScope();
    deps.routes.mountAssets(id, (capabilities.assets ?? []).map((a) => ({ owner: id, url: a.url, dir: resolve(dir, a.dir) })));
    const host = this;

    const context: PluginContext<unknown> = {
      id,
      manifest,
      dir,
      config: candidate.config,
      log,
      db: pluginDatabase(() => {
        if (!host.database) throw new Error(`plugin "${id}": the database is not open during register (no I/O in register)`);
        return host.database;
      }),
      coordination: deps.coordination,
      routes,
      jobs: {
        add(job) {
          assertOpen("a job");
          if (!(capabilities.jobs ?? []).includes(job.id)) {
            throw new Error(`plugin "${id}": job "${job.id}" is not declared in plugin.json capabilities.jobs`);
          }
          // The scheduler replaces a job added again; from a plugin, a second add is a mistake that would hide one.
          if (deps.scheduler.has(`${id}.${job.id}`)) throw new Error(`plugin "${id}": job "${id}.${job.id}" is already added`);
          return deps.scheduler.add(id, job);
        },
      },
      events: {
        on(name, handler) {
          assertOpen("an event handler");
          return deps.events.on(id, name, handler);
        },
        emit: (name, payload, options) => deps.events.emit(name, payload, options),
      },
      websocket: {
        channel(definition) {
          assertOpen("a WebSocket channel");
          if (!(capabilities.websocket ?? []).includes(definition.path)) {
            throw new Error(`plugin "${id}": channel ${definition.path} is not declared in plugin.json capabilities.websocket`);
          }
          deps.websocket.register(id, definition);
        },
        broadcast: (connections, message) => deps.websocket.broadcast(id, connections, message),
      },
      // Resolved at call time: the signing secret is read from the database after register.
      tokens: {
        sign: (claims, ttlMs) => deps.tokens().sign(claims, ttlMs),
        verify: (token, audience) => deps.tokens().verify(token, audience),
      },
      auth: {
        actor: (ctx) => deps.auth.actor(ctx),
        requireAdmin: () => deps.auth.requireAdmin(),
        addResolver(resolver) {
          assertOpen("an actor resolver");
          deps.auth.addResolver(id, resolver);
        },
      },
      services: {
        provide(name, service) {
          assertOpen("a service");
          host.services.set(`${id}/${name}`, service);
        },
        get<T>(pluginId: string, name: string): T {
          if (pluginId !== id && !(manifest.dependsOn ?? []).some((d) => d.id === pluginId)) {
            throw new Error(`plugin "${id}" uses a service of "${pluginId}" without declaring it in dependsOn`);
          }
          const key = `${pluginId}/${name}`;
          if (!host.services.has(key)) throw new Error(`plugin "${pluginId}" provides no service "${name}"`);
          return host.services.get(key) as T;
        },
      },
      host: {
        plugins: () => host.pluginStates(),
        pages: () => host.pages(),
        jobs: {
          list: () => deps.scheduler.list(),
          runs: (jobId, limit) => deps.scheduler.runs(jobId, limit),
          trigger: (jobId) => deps.scheduler.trigger(jobId),
        },
        websocketTokenTtlMs: deps.config.websocket.tokenTtlMs,
      },
      scope,
    };
    scope.register({ pluginId: asValue(id), pluginConfig: asValue(candidate.config), log: asValue(log), plugin: asValue(context) });
    plugin.context = context;
    plugin.scope = scope;
    return plugin;
  }

  /** Removes everything a plugin registered: routes, assets, jobs, handlers, channels, resolvers, services. */
  private withdraw(plugin: LoadedPlugin): void {
    const id = plugin.manifest.id;
    this.deps.routes.withdraw(id);
    this.deps.scheduler.removeOwner(id);
    this.deps.events.removeOwner(id);
    this.deps.websocket.removeOwner(id);
    this.deps.auth.removeOwner(id);
    for (const key of [...this.services.keys()]) if (key.startsWith(`${id}/`)) this.services.delete(key);
    void plugin.scope.dispose();
  }

  private async runStop(plugin: LoadedPlugin): Promise<void> {
    plugin.stopped ??= (async () => {
      try {
        await withTimeout(Promise.resolve().then(() => plugin.definition.stop?.(plugin.context)), this.deps.config.pluginInitTimeoutMs, "stop timed out");
      } catch (error) {
        this.deps.log.error({ err: error, plugin: plugin.manifest.id }, `plugin "${plugin.manifest.id}" failed to stop cleanly`);
      }
    })();
    return plugin.stopped;
  }

  private fail(plugin: LoadedPlugin, phase: string, error: unknown, order: PluginManifest[]): void {
    this.withdraw(plugin);
    this.markFailed(plugin.manifest, error instanceof PluginPhaseError ? error : new PluginPhaseError(plugin.manifest.id, phase, error), order);
  }

  private markFailed(manifest: PluginManifest, error: PluginPhaseError, order: PluginManifest[]): void {
    const state = this.states.get(manifest.id)!;
    state.status = "failed";
    state.error = error.message;
    this.deps.log.error({ err: error.cause ?? error, plugin: manifest.id, phase: error.phase }, error.message);
    for (const dependent of dependentsOf(manifest.id, order)) {
      const dependentState = this.states.get(dependent);
      if (dependentState && (dependentState.status === "loading" || dependentState.status === "started")) {
        const loaded = this.loaded.find((p) => p.manifest.id === dependent);
        if (loaded) this.withdraw(loaded);
        this.markBlocked(dependent, `depends on "${manifest.id}", which failed`);
      }
    }
  }

  private markBlocked(id: string, reason: string): void {
    const state = this.states.get(id)!;
    state.status = "blocked";
    state.error = reason;
    this.deps.log.warn({ plugin: id }, `plugin "${id}" is blocked: ${reason}`);
  }

  /** Why a plugin cannot go on because of a required dependency, or null. */
  private unavailableDependency(manifest: PluginManifest): string | null {
    for (const dep of manifest.dependsOn ?? []) {
      if (dep.optional) continue;
      const status: PluginStatus | undefined = this.states.get(dep.id)?.status;
      if (status === "loading" || status === "started") continue;
      return `depends on "${dep.id}", which is ${status === "disabled" ? "disabled" : status === "blocked" ? "blocked" : status ?? "missing"}`;
    }
    return null;
  }

  private tablePrefixProblem(plugin: LoadedPlugin): string | null {
    const entities = plugin.definition.entities ?? [];
    if (entities.length === 0) return null;
    const prefix = plugin.manifest.capabilities?.tablePrefix;
    if (!prefix) return "declares entities but no capabilities.tablePrefix in plugin.json";
    for (const entity of entities) {
      const table = this.database!.dataSource.getMetadata(entity).tableName;
      if (!table.startsWith(prefix)) return `table "${table}" does not start with the declared prefix "${prefix}"`;
    }
    return null;
  }

  private isEnabled(id: string): boolean {
    return this.deps.config.plugins[id]?.enabled !== false;
  }

  private setState(id: string, state: Omit<PluginState, "id">): void {
    this.states.set(id, { id, ...state });
  }
}

/** The database as a plugin sees it: safe to destructure in register, usable from init on. */
function pluginDatabase(open: () => Database): Database {
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

async function importDefinition(path: string): Promise<PluginDefinition> {
  const module = (await import(pathToFileURL(path).href)) as { default?: PluginDefinition };
  const definition = module.default;
  if (!definition || typeof definition !== "object") throw new Error(`${path} has no default export (use export default definePlugin({...}))`);
  return definition;
}

function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

