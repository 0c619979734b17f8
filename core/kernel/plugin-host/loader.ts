import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { asFunction, asValue, AwilixResolutionError, type AwilixContainer, type Resolver } from "awilix";
import { z } from "zod";
import type { AuthService } from "../auth.js";
import { formatIssues } from "../config.js";
import type { KernelConfig } from "../config.js";
import type { Database } from "../db/data-source.js";
import { runMigrations, type MigrationSet } from "../db/migrations.js";
import { PluginPhaseError, StartupError } from "../errors.js";
import type { EventBus } from "../events.js";
import { pathClaimantOf } from "../http/path-claims.js";
import type { RouteTable } from "../http/route-table.js";
import type { WebSocketHub } from "../http/websocket.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics/metrics.js";
import type { QueueHost } from "../queues/host.js";
import type { Scheduler } from "../scheduler/scheduler.js";
import { isRunning, type EntityClass, type PluginAuth, type PluginDefinition, type PluginEvents, type PluginHealth, type PluginInstance, type PluginJobs, type PluginSelf, type PluginState, type PluginStatus, type PluginWebSocket } from "./api.js";
import { coreServices } from "./core-services.js";
import { isServiceRef, type ServiceRef } from "./service-ref.js";
import { dependentsOf, discoverPlugins, planLoadOrder, type PluginManifest } from "./manifest.js";

/** The awilix key of a plugin's instance in its own scope. */
const INSTANCE_KEY = "plugin.instance";

interface LoadedPlugin {
  manifest: PluginManifest;
  dir: string;
  definition: PluginDefinition;
  self: PluginSelf<unknown>;
  /** The plugin's DI scope (a child of the kernel's root container) holding its plugin-bound services. */
  scope: AwilixContainer;
  /** What its factory returned (empty until the register phase ran). */
  instance: PluginInstance;
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
  events: EventBus;
  scheduler: Scheduler;
  queues: QueueHost;
  routes: RouteTable;
  websocket: WebSocketHub;
  auth: AuthService;
  metrics: Metrics;
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
  /** Provided service id -> the plugin that provides it (so a withdrawn plugin's services can be withdrawn). */
  private readonly provided = new Map<string, string>();
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
      .filter((p) => isRunning(this.states.get(p.manifest.id)?.status))
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
      if (isRunning(state.status)) state.status = "stopped";
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
        plugin.instance = this.instantiate(plugin);
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
        await withTimeout(Promise.resolve().then(() => plugin.instance.init?.()), config.pluginInitTimeoutMs, `init did not finish within ${config.pluginInitTimeoutMs} ms`);
      } catch (error) {
        await this.runStop(plugin);
        this.fail(plugin, "init", error, order);
      }
    }

    // start: registration closes, then the plugin goes live.
    for (const plugin of alive()) {
      plugin.registrationOpen = false;
      try {
        await withTimeout(Promise.resolve().then(() => plugin.instance.start?.()), config.pluginInitTimeoutMs, `start did not finish within ${config.pluginInitTimeoutMs} ms`);
        const reason = plugin.self.health.degradedReason;
        Object.assign(this.states.get(plugin.manifest.id)!, reason === null ? { status: "started" } : { status: "degraded", error: reason });
        log.info({ plugin: plugin.manifest.id, version: plugin.manifest.version }, "plugin started");
      } catch (error) {
        await this.runStop(plugin);
        this.fail(plugin, "start", error, order);
      }
    }
  }

  /** The plugin's DI scope with its plugin-bound services; `create` is called later by `instantiate`. */
  private createLoadedPlugin(candidate: { manifest: PluginManifest; dir: string; definition: PluginDefinition; config: unknown }): LoadedPlugin {
    const { manifest, dir, definition } = candidate;
    const id = manifest.id;
    const deps = this.deps;
    const log = deps.log.child({ plugin: id });
    const capabilities = manifest.capabilities ?? {};
    const scope = deps.container.createScope();
    const plugin: LoadedPlugin = { manifest, dir, definition, scope, instance: {}, registrationOpen: true, self: { id, manifest, dir, config: candidate.config, health: this.healthOf(id, log) } };
    const assertOpen = (what: string) => {
      if (!plugin.registrationOpen) throw new Error(`plugin "${id}": cannot add ${what} after the plugin started; add it in create or init`);
    };
    const routes = deps.routes.createPluginRoutes(pathClaimantOf(manifest), () => assertOpen("a route"));
    deps.routes.mountAssets(id, (capabilities.assets ?? []).map((a) => ({ owner: id, url: a.url, dir: resolve(dir, a.dir) })));

    const jobs: PluginJobs = {
      add(job) {
        assertOpen("a job");
        if (!(capabilities.jobs ?? []).includes(job.id)) {
          throw new Error(`plugin "${id}": job "${job.id}" is not declared in plugin.json capabilities.jobs`);
        }
        // The scheduler replaces a job added again; from a plugin, a second add is a mistake that would hide one.
        if (deps.scheduler.has(`${id}.${job.id}`)) throw new Error(`plugin "${id}": job "${id}.${job.id}" is already added`);
        return deps.scheduler.add(id, job);
      },
    };
    const events: PluginEvents = {
      on(name, handler, options) {
        assertOpen("an event handler");
        return deps.events.on(id, name, handler, options);
      },
      emit: (name, payload, options) => deps.events.emit(name, payload, options),
    };
    const websocket: PluginWebSocket = {
      channel(definition) {
        assertOpen("a WebSocket channel");
        if (!(capabilities.websocket ?? []).includes(definition.path)) {
          throw new Error(`plugin "${id}": channel ${definition.path} is not declared in plugin.json capabilities.websocket`);
        }
        deps.websocket.register(id, definition);
      },
      broadcast: (connections, message) => deps.websocket.broadcast(id, connections, message),
    };
    const auth: PluginAuth = {
      actor: (ctx) => deps.auth.actor(ctx),
      requireAdmin: () => deps.auth.requireAdmin(),
      addResolver(resolver) {
        assertOpen("an actor resolver");
        deps.auth.addResolver(id, resolver);
      },
    };
    scope.register({
      [coreServices.logger.id]: asValue(log),
      [coreServices.routes.id]: asValue(routes),
      [coreServices.jobs.id]: asValue(jobs),
      [coreServices.events.id]: asValue(events),
      [coreServices.websocket.id]: asValue(websocket),
      [coreServices.auth.id]: asValue(auth),
      [coreServices.metrics.id]: asValue(deps.metrics.forPlugin(id)),
      [coreServices.queues.id]: asValue(deps.queues.facade(id, () => assertOpen("a queue consumer"))),
    });
    return plugin;
  }

  /**
   * The register phase of one plugin: resolves its deps from its scope (awilix, strict mode) and calls its
   * factory. The instance is registered as a scoped service of the plugin, so awilix itself refuses a dependency
   * that lives shorter than the plugin (a request-scoped one).
   */
  private instantiate(plugin: LoadedPlugin): PluginInstance {
    const { id } = plugin.manifest;
    const spec = plugin.definition.deps ?? {};
    for (const [name, ref] of Object.entries(spec)) {
      if (!isServiceRef(ref)) throw new Error(`deps.${name} is not a service reference (use serviceRef() or coreServices)`);
      const owner = ref.owner;
      if (owner !== "core" && owner !== id && !(plugin.manifest.dependsOn ?? []).some((d) => d.id === owner)) {
        throw new Error(`plugin "${id}" needs service "${ref.id}" of plugin "${owner}", but "${owner}" is not in the dependsOn of "${id}"`);
      }
    }
    plugin.scope.register(
      INSTANCE_KEY,
      asFunction(() => {
        const resolved: Record<string, unknown> = {};
        for (const [name, ref] of Object.entries(spec)) resolved[name] = this.resolveDependency(plugin, ref);
        return plugin.definition.create(resolved as never, plugin.self) ?? {};
      }).scoped(),
    );
    const instance = plugin.scope.resolve<PluginInstance>(INSTANCE_KEY);
    if (instance instanceof Promise) throw new Error("create must be synchronous and return the instance (do I/O in init)");
    for (const { ref, value } of instance.provides ?? []) {
      if (ref.owner !== id) throw new Error(`plugin "${id}" cannot provide "${ref.id}": only "${ref.owner}" provides its services`);
      if (ref.lifetime !== "root") throw new Error(`plugin "${id}" provides "${ref.id}", which is declared ${ref.lifetime}-scoped; provided services live as long as the kernel (lifetime root)`);
      this.deps.container.register(ref.id, asValue(value));
      this.provided.set(ref.id, id);
    }
    return instance;
  }

  private resolveDependency(plugin: LoadedPlugin, ref: ServiceRef<unknown>): unknown {
    const { id } = plugin.manifest;
    try {
      return plugin.scope.resolve(ref.id);
    } catch (error) {
      if (!(error instanceof AwilixResolutionError)) throw error;
      if (ref.lifetime === "request" || /shorter lifetime/.test(error.message)) {
        throw new Error(`plugin "${id}" cannot depend on "${ref.id}": it is request-scoped and a plugin outlives every request (resolve it in a handler with fromRequest(ctx, ref))`, { cause: error });
      }
      throw new Error(`plugin "${id}" needs service "${ref.id}", which "${ref.owner}" does not provide`, { cause: error });
    }
  }

  /** Removes everything a plugin registered: routes, assets, jobs, handlers, channels, resolvers, services. */
  private withdraw(plugin: LoadedPlugin): void {
    const id = plugin.manifest.id;
    this.deps.routes.withdraw(id);
    this.deps.scheduler.removeOwner(id);
    this.deps.queues.removeOwner(id);
    this.deps.events.removeOwner(id);
    this.deps.websocket.removeOwner(id);
    this.deps.auth.removeOwner(id);
    this.deps.metrics.removeOwner(id);
    for (const [serviceId, owner] of [...this.provided]) {
      if (owner !== id) continue;
      this.deps.container.register(serviceId, withdrawnService(serviceId, id));
      this.provided.delete(serviceId);
    }
    void plugin.scope.dispose();
  }

  private async runStop(plugin: LoadedPlugin): Promise<void> {
    plugin.stopped ??= (async () => {
      try {
        await withTimeout(Promise.resolve().then(() => plugin.instance.stop?.()), this.deps.config.pluginInitTimeoutMs, "stop timed out");
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
      if (dependentState && (dependentState.status === "loading" || isRunning(dependentState.status))) {
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

  /** The plugin's `self.health`: flips a running plugin between `started` and `degraded`, logging only changes. */
  private healthOf(id: string, log: Logger): PluginHealth {
    const states = this.states;
    let reason: string | null = null;
    return {
      get degradedReason() {
        return reason;
      },
      degraded(why: string) {
        if (reason === why) return;
        reason = why;
        log.warn({ reason: why }, `plugin "${id}" is degraded: ${why}`);
        const state = states.get(id);
        if (state && isRunning(state.status)) Object.assign(state, { status: "degraded", error: why });
      },
      restored() {
        if (reason === null) return;
        reason = null;
        log.info(`plugin "${id}" is no longer degraded`);
        const state = states.get(id);
        if (state && isRunning(state.status)) Object.assign(state, { status: "started", error: null });
      },
    };
  }

  /** Why a plugin cannot go on because of a required dependency, or null. */
  private unavailableDependency(manifest: PluginManifest): string | null {
    for (const dep of manifest.dependsOn ?? []) {
      if (dep.optional) continue;
      const status: PluginStatus | undefined = this.states.get(dep.id)?.status;
      if (status === "loading" || isRunning(status)) continue;
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

/** Stands in for a service whose plugin was withdrawn: resolving it says why. */
function withdrawnService(serviceId: string, owner: string): Resolver<never> {
  return {
    resolve() {
      throw new Error(`service "${serviceId}" is not available: plugin "${owner}" was withdrawn`);
    },
    isLeakSafe: true,
  };
}

async function importDefinition(path: string): Promise<PluginDefinition> {
  const module = (await import(pathToFileURL(path).href)) as { default?: PluginDefinition };
  const definition = module.default;
  if (!definition || typeof definition !== "object") throw new Error(`${path} has no default export (use export default definePlugin({...}))`);
  if (typeof definition.create !== "function") throw new Error(`${path}: the plugin definition has no create(deps, self) factory`);
  return definition;
}

function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

