import type { AwilixContainer } from "awilix";
import type { Middleware } from "koa";
import type { EntitySchema } from "typeorm";
import type { z } from "zod";
import type { Actor, ActorResolver } from "../auth.js";
import type { Coordination } from "../coordination/types.js";
import type { Database } from "../db/data-source.js";
import type { Migration } from "../db/migrations.js";
import type { EventHandler, EventName, EventPayload } from "../events.js";
import type { PluginRoutes } from "../http/route-table.js";
import type { ChannelConnection, ChannelDefinition } from "../http/websocket.js";
import type { Logger } from "../log.js";
import type { PluginQueues } from "../queues/types.js";
import type { JobRun } from "../scheduler/run-store.js";
import type { JobDefinition, JobSummary } from "../scheduler/scheduler.js";
import type { TokenSigner } from "../tokens.js";
import type { PluginManifest } from "./manifest.js";

export type PluginStatus = "loading" | "started" | "failed" | "blocked" | "disabled" | "stopped";

export interface PluginState {
  id: string;
  version: string | null;
  enabled: boolean;
  status: PluginStatus;
  error: string | null;
}

/**
 * Everything a plugin may touch, handed to each phase. Reading a plugin's use of this object tells you all it
 * depends on; nothing is reached through globals.
 */
export interface PluginContext<Config = Record<string, never>> {
  readonly id: string;
  readonly manifest: PluginManifest;
  /** The plugin's folder (for templates and files it ships). */
  readonly dir: string;
  /** Its slice `plugins.<id>` parsed by its own schema (without `enabled`). */
  readonly config: Config;
  readonly log: Logger;
  /** The database; opened after `register`, so touching it there throws (register does no I/O). */
  readonly db: Database;
  readonly coordination: Coordination;
  /** Routes under the http prefixes of the manifest. Open during register and init. */
  readonly routes: PluginRoutes;
  readonly jobs: { add(definition: JobDefinition): string };
  /** Queues on the coordination streams: define consumers (run where the role says), add messages from any role. */
  readonly queues: PluginQueues;
  readonly events: {
    on<K extends EventName>(name: K, handler: EventHandler<K>): () => void;
    /** Delivered after the current transaction commits; `broadcast` also reaches every other instance. */
    emit<K extends EventName>(name: K, payload: EventPayload<K>, options?: { broadcast?: boolean }): void;
  };
  readonly websocket: {
    channel(definition: ChannelDefinition): void;
    /** Sends one message to many of your connections, serialized once; returns how many took it. */
    broadcast(connections: Iterable<ChannelConnection>, message: unknown): number;
  };
  /** Signs and verifies short-lived tokens (e.g. for WebSocket channels). */
  readonly tokens: Pick<TokenSigner, "sign" | "verify">;
  readonly auth: {
    actor(ctx: Parameters<Middleware>[0]): Promise<Actor | null>;
    requireAdmin(): Middleware;
    /** Adds a way to recognise callers (sessions, API tokens); tried after those added before it. */
    addResolver(resolver: ActorResolver): void;
  };
  /** Services shared between plugins: provide your own, get those of plugins you declared in dependsOn. */
  readonly services: {
    provide(name: string, service: unknown): void;
    get<T>(pluginId: string, name: string): T;
  };
  /** What the host knows about itself, for admin pages and navigation. */
  readonly host: {
    plugins(): PluginState[];
    pages(): Array<{ plugin: string; path: string; title: string; audience: "public" | "player" | "admin" }>;
    jobs: { list(): Promise<JobSummary[]>; runs(id: string, limit: number): Promise<JobRun[]>; trigger(id: string): Promise<JobRun> };
    /** The kernel's settings for WebSockets (token lifetime). */
    websocketTokenTtlMs: number;
  };
  /** The plugin's DI scope (a child of the kernel's root container). */
  readonly scope: AwilixContainer;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export type EntityClass = Function | EntitySchema;

/** What a plugin module exports as default. Every member is optional. */
export interface PluginDefinition<S extends z.ZodType = z.ZodType> {
  /** Schema of the config slice `plugins.<id>` (the kernel handles `enabled`). */
  config?: S;
  /** TypeORM entities; every table must start with the manifest's `capabilities.tablePrefix`. */
  entities?: EntityClass[];
  /** Applied in order, once per cluster, before init. */
  migrations?: Migration[];
  /** Synchronous, no I/O: declare routes, jobs, handlers, channels, services. */
  register?(ctx: PluginContext<z.infer<S>>): void;
  /** May do I/O (database ready, migrations applied); bounded by the kernel's init timeout. */
  init?(ctx: PluginContext<z.infer<S>>): void | Promise<void>;
  /** The plugin is about to serve; registration is closed from here on. */
  start?(ctx: PluginContext<z.infer<S>>): void | Promise<void>;
  /** Release what init/start acquired. Runs once, in reverse dependency order. */
  stop?(ctx: PluginContext<z.infer<S>>): void | Promise<void>;
}

/** Identity function that gives a plugin definition its types. */
export function definePlugin<S extends z.ZodType = z.ZodType>(definition: PluginDefinition<S>): PluginDefinition<S> {
  return definition;
}
