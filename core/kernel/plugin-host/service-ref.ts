import type { Context } from "koa";

/**
 * How long a resolved service lives:
 *  - `root`: one per kernel (the database, coordination, a plugin's provided services);
 *  - `plugin`: one per loaded plugin, bound to it (its logger, config, route registrar);
 *  - `request`: one per HTTP request (the caller). A plugin lives longer than a request, so it cannot list a
 *    request-scoped service in its deps; its handlers resolve one per request with `fromRequest(ctx, ref)`.
 */
export type ServiceLifetime = "root" | "plugin" | "request";

const SERVICE_REF_BRAND = Symbol.for("flaghost.serviceRef");

/**
 * A typed reference to a service, declared once by its owner (`core` for the kernel's, else the plugin id before
 * the first dot: `ctf.game` belongs to `ctf`). The kernel registers the service in awilix under `id`; a plugin
 * lists the reference in its `deps` and receives the resolved, typed value.
 */
export class ServiceRef<T> {
  /** Carries the service's type for inference only; never set at run time. */
  declare readonly type: T;
  /**
   * Marks references across module copies: a plugin may load this file through another module system than the
   * kernel (e.g. under a test runner), so `instanceof` is not a reliable test; `isServiceRef` checks this brand.
   */
  readonly [SERVICE_REF_BRAND] = true;

  constructor(
    readonly id: string,
    readonly lifetime: ServiceLifetime,
  ) {}

  /** The plugin that provides it, or "core" for the kernel's own services. */
  get owner(): string {
    return this.id.slice(0, this.id.indexOf("."));
  }

  toString(): string {
    return this.id;
  }
}

export function isServiceRef(value: unknown): value is ServiceRef<unknown> {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[SERVICE_REF_BRAND] === true;
}

const SERVICE_ID = /^[a-z][a-z0-9-]{0,39}\.[A-Za-z][A-Za-z0-9.]*$/;

/** Declares a service reference: `export const gameService = serviceRef<GameService>("ctf.game")`. */
export function serviceRef<T>(id: string, options: { lifetime?: ServiceLifetime } = {}): ServiceRef<T> {
  if (!SERVICE_ID.test(id)) throw new Error(`service id "${id}" must be "<owner>.<name>", e.g. "ctf.game"`);
  return new ServiceRef<T>(id, options.lifetime ?? "root");
}

/** What a plugin lists in `deps`. */
export type DepsSpec = Record<string, ServiceRef<any>>;

/** The resolved, typed object a plugin's factory receives for its `deps`. */
export type ResolvedDeps<D extends DepsSpec> = { [K in keyof D]: D[K] extends ServiceRef<infer T> ? T : never };

/** One service a plugin provides: made with `provide(ref, value)`, so the value must have the ref's type. */
export interface ProvidedService {
  readonly ref: ServiceRef<unknown>;
  readonly value: unknown;
}

export function provide<T>(ref: ServiceRef<T>, value: T): ProvidedService {
  return { ref: ref as ServiceRef<unknown>, value };
}

/** Resolves a request-scoped service (e.g. `coreServices.caller`) in the request's own DI scope. */
export function fromRequest<T>(ctx: Context, ref: ServiceRef<T>): T {
  return ctx.state.scope.resolve<T>(ref.id);
}
