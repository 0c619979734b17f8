import type { Middleware } from "koa";
import type { EntitySchema } from "typeorm";
import type { z } from "zod";
import type { Actor, ActorResolver } from "../auth.js";
import type { Migration } from "../db/migrations.js";
import type { EventHandler, EventName, EventPayload, HandlerOptions } from "../events.js";
import type { ChannelConnection, ChannelDefinition } from "../http/websocket.js";
import type { JobRun } from "../scheduler/run-store.js";
import type { JobDefinition, JobSummary } from "../scheduler/scheduler.js";
import type { TriggerResult } from "../scheduler/trigger-handoff.js";
import type { TokenSigner } from "../tokens.js";
import type { PluginManifest } from "./manifest.js";
import type { DepsSpec, ProvidedService, ResolvedDeps } from "./service-ref.js";

export { coreServices } from "./core-services.js";
export { fromRequest, provide, serviceRef, type ServiceRef } from "./service-ref.js";

/**
 * `degraded`: started and serving, but running without one of its backends (a Docker engine, a remote API); `error`
 * says why. It counts as running everywhere (dependents load, pages show, /readyz stays 200).
 */
export type PluginStatus = "loading" | "started" | "degraded" | "failed" | "blocked" | "disabled" | "stopped";

/** A plugin that is serving, whether fully or degraded. */
export function isRunning(status: PluginStatus | undefined): boolean {
  return status === "started" || status === "degraded";
}

export interface PluginState {
  id: string;
  version: string | null;
  enabled: boolean;
  status: PluginStatus;
  error: string | null;
}

/** Adds jobs to the cluster's one scheduler; ids are prefixed with the plugin id (`countdown.heartbeat`). */
export interface PluginJobs {
  add(definition: JobDefinition): string;
}

export interface PluginEvents {
  /** `{ servesReads: true }` for handlers that update what this instance answers reads from (see HandlerOptions). */
  on<K extends EventName>(name: K, handler: EventHandler<K>, options?: HandlerOptions): () => void;
  /** Delivered after the current transaction commits; `broadcast` also reaches every other instance. */
  emit<K extends EventName>(name: K, payload: EventPayload<K>, options?: { broadcast?: boolean }): void;
}

export interface PluginWebSocket {
  channel(definition: ChannelDefinition): void;
  /** Sends one message to many of your connections, serialized once; returns how many took it. */
  broadcast(connections: Iterable<ChannelConnection>, message: unknown): number;
}

export interface PluginAuth {
  actor(ctx: Parameters<Middleware>[0]): Promise<Actor | null>;
  requireAdmin(): Middleware;
  /** Adds a way to recognise callers (sessions, API tokens); tried after those added before it. */
  addResolver(resolver: ActorResolver): void;
}

/** Signs and verifies short-lived tokens (e.g. for WebSocket channels). */
export type TokenService = Pick<TokenSigner, "sign" | "verify">;

/** What the host knows about itself, for admin pages and navigation. */
export interface HostView {
  plugins(): PluginState[];
  pages(): Array<{ plugin: string; path: string; title: string; audience: "public" | "player" | "admin" }>;
  /** `trigger` runs the job here, or (on a process that runs no cluster jobs) queues it for one that does. */
  jobs: { list(): Promise<JobSummary[]>; runs(id: string, limit: number): Promise<JobRun[]>; trigger(id: string): Promise<TriggerResult> };
  /** The kernel's settings for WebSockets (token lifetime). */
  websocketTokenTtlMs: number;
  /** Whether a bootstrap admin token (FLAGHOST_ADMIN_TOKEN) is configured. */
  adminTokenSet: boolean;
  /** Resolves with this process's base URL once it listens (never, in a kernel that does not listen). */
  listening: Promise<string>;
}

/** Who the plugin is: handed to its factory beside the resolved deps. */
export interface PluginSelf<Config> {
  readonly id: string;
  readonly manifest: PluginManifest;
  /** The plugin's folder (for templates and files it ships). */
  readonly dir: string;
  /** Its slice `plugins.<id>` parsed by its own schema (without `enabled`). */
  readonly config: Config;
  /**
   * Reports a backend lost or back. `degraded(reason)` shows the plugin as `degraded` with the reason in
   * /api/v1/admin/plugins and /readyz (which stays 200); `restored()` returns it to `started`. Safe to call at any
   * time, also before start (the state applies once the plugin starts) and repeatedly (only changes are logged).
   */
  readonly health: PluginHealth;
}

export interface PluginHealth {
  degraded(reason: string): void;
  restored(): void;
  /** The reason given to `degraded`, or null while healthy. */
  readonly degradedReason: string | null;
}

/**
 * What a plugin's factory returns: the services it provides and its lifecycle as closures over its own state.
 * Every member is optional.
 */
export interface PluginInstance {
  /** `provide(ref, value)` for each service this plugin owns; dependents receive them through their deps. */
  provides?: ProvidedService[];
  /** May do I/O (database ready, migrations applied); bounded by the kernel's init timeout. Registration is still open. */
  init?(): void | Promise<void>;
  /** The plugin is about to serve; registration is closed from here on. */
  start?(): void | Promise<void>;
  /** Release what init/start acquired. Runs once, in reverse dependency order. */
  stop?(): void | Promise<void>;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export type EntityClass = Function | EntitySchema;

/** What a plugin module exports as default. */
export interface PluginDefinition<S extends z.ZodType = z.ZodType, D extends DepsSpec = DepsSpec> {
  /** Schema of the config slice `plugins.<id>` (the kernel handles `enabled`). */
  config?: S;
  /** TypeORM entities; every table must start with the manifest's `capabilities.tablePrefix`. */
  entities?: EntityClass[];
  /** Applied in order, once per cluster, before init. */
  migrations?: Migration[];
  /** The services this plugin needs, by reference: kernel ones from `coreServices`, others' from their type modules. */
  deps?: D;
  /**
   * The register phase: called once per load with the resolved deps. Synchronous, no I/O: declare routes, jobs,
   * handlers and channels, build your state, and return your instance. Keep all state inside this closure (nothing
   * mutable at module level), so two kernels in one process get two independent instances.
   */
  create(deps: ResolvedDeps<D>, self: PluginSelf<z.infer<S>>): PluginInstance | void;
}

/** Identity function that gives a plugin definition its types. */
export function definePlugin<S extends z.ZodType = z.ZodObject<{}>, D extends DepsSpec = {}>(definition: PluginDefinition<S, D>): PluginDefinition<S, D> {
  return definition;
}
