import Router from "@koa/router";
import type { Context, Middleware, Next } from "koa";
import compose from "koa-compose";
import type { z } from "zod";
import type { Logger } from "../log.js";
import { serveAsset, type AssetMount } from "./assets.js";
import { PathClaims, ROOT_PATH, underPrefix, type PathClaimant } from "./path-claims.js";
import { PreparedRoutes, type PreparedAnswer } from "./prepared.js";

export { underPrefix } from "./path-claims.js";

const METHODS = ["get", "post", "put", "patch", "delete"] as const;
type Method = (typeof METHODS)[number];

/**
 * What a route declares about itself for the OpenAPI document: the schemas its handler already validates with
 * (`parseInput`), so the document and the validation cannot drift apart.
 */
export interface RouteDoc {
  summary?: string;
  description?: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** The `data` of a successful `{ success: true, data }` answer. */
  response?: z.ZodType;
}

/** One registered route, as the OpenAPI document and `kernel.routes.list()` show it. */
export interface RouteRecord {
  owner: string;
  method: Uppercase<Method>;
  path: string;
  doc: RouteDoc;
}

type AddRoute<Self> = {
  (path: string, ...handlers: Middleware[]): Self;
  (path: string, doc: RouteDoc, ...handlers: Middleware[]): Self;
};

/** Adds routes to one router, recording each (with its optional RouteDoc, given before the handlers). */
export type RouteAdders = { [M in Method]: AddRoute<RouteAdders> };

/** What a plugin uses to add routes: paths must lie under the http prefixes its manifest declares. */
export type PluginRoutes = {
  [M in Method]: AddRoute<PluginRoutes>;
} & {
  /**
   * Answers GET and HEAD of `path` (`:name` segments allowed) from prepared bytes before Koa sees the request,
   * falling back to the ordinary route of the same path whenever `answer` returns null (see prepared.ts).
   */
  prepared(path: string, answer: PreparedAnswer): PluginRoutes;
};

interface MountedRouter {
  owner: string;
  prefixes: string[];
  router: Router;
  /** The router's dispatch middleware, made once: it reads the router's routes at request time. */
  dispatch: Middleware;
}

/** A catch-all pattern such as `/{*rest}`: the only route besides "/" itself that the root claim allows. */
const CATCH_ALL = /^\/(\{\*\w+\}|\*\w+)$/;

/** True when a route path lies under one of the declared http entries ("/" being the root page and the catch-all). */
function insideClaim(path: string, http: string[]): boolean {
  return http.some((entry) => (entry === ROOT_PATH ? path === ROOT_PATH || CATCH_ALL.test(path) : underPrefix(path, entry)));
}

const isRouteDoc = (value: unknown): value is RouteDoc => typeof value === "object" && value !== null && typeof value !== "function";

/**
 * Every plugin's router and asset folders, dispatched per request: the most specific prefix goes first and an
 * unmatched request falls through to the next, so core/ctf can own `/api/v1` while the scoreboard owns
 * `/api/v1/scoreboard`. Withdrawing a plugin removes its routes at once, and mounting again replaces them.
 */
export class RouteTable {
  private readonly routers = new Map<string, MountedRouter>();
  private readonly assets = new Map<string, AssetMount[]>();
  private readonly claims = new PathClaims();
  /** Every route by owner ("kernel" for the kernel's own), for the OpenAPI document. */
  private readonly records = new Map<string, RouteRecord[]>();
  private changes = 0;
  private orderedPrefixes: Array<{ prefix: string; mounted: MountedRouter }> | null = null;
  /** Answered ahead of Koa: `prepared.listener(koa)` is the server's request listener. */
  readonly prepared: PreparedRoutes;

  constructor(log: Logger) {
    this.prepared = new PreparedRoutes(log);
  }

  /**
   * A fresh router for the claimant's plugin (replacing any previous one) and the guarded facade the plugin sees.
   * Throws, naming both plugins, when its paths overlap another plugin's without delegation (see PathClaims).
   */
  createPluginRoutes(claimant: PathClaimant, assertOpen: () => void): PluginRoutes {
    const { owner, http } = claimant;
    this.claims.claim(claimant);
    const router = new Router();
    this.routers.set(owner, { owner, prefixes: http, router, dispatch: router.routes() as unknown as Middleware });
    this.orderedPrefixes = null;
    this.prepared.withdraw(owner); // a reload registers them again
    this.records.set(owner, []);
    this.changes++;
    const checkPath = (method: string, path: string) => {
      assertOpen();
      if (!insideClaim(path, http)) {
        throw new Error(`route ${method} ${path} is outside the http prefixes declared in plugin.json (${http.join(", ") || "none"})`);
      }
    };
    const facade = this.recordingFacade(owner, router, checkPath) as PluginRoutes;
    facade.prepared = (path, answer) => {
      checkPath("GET (prepared)", path);
      this.prepared.add({ owner, path, answer });
      return facade;
    };
    return facade;
  }

  /** The kernel's own routes, added to its router and recorded like a plugin's (owner "kernel"). */
  kernelRoutes(router: Router): RouteAdders {
    this.records.set("kernel", []);
    this.changes++;
    return this.recordingFacade("kernel", router, () => {});
  }

  /** Every registered route (prepared answers are the GET of the same path, so they add none). */
  list(): RouteRecord[] {
    return [...this.records.values()].flat();
  }

  /** Grows whenever a route is added or withdrawn: a cache built from list() is valid while it stays the same. */
  get revision(): number {
    return this.changes;
  }

  private recordingFacade(owner: string, router: Router, checkPath: (method: string, path: string) => void): RouteAdders {
    const facade = {} as RouteAdders;
    for (const method of METHODS) {
      facade[method] = (path: string, ...rest: Array<RouteDoc | Middleware>) => {
        checkPath(method.toUpperCase(), path);
        const doc = isRouteDoc(rest[0]) ? (rest.shift() as RouteDoc) : {};
        router[method](path, ...(rest as Parameters<Router["get"]>[1][]));
        this.records.get(owner)?.push({ owner, method: method.toUpperCase() as Uppercase<Method>, path, doc });
        this.changes++;
        return facade;
      };
    }
    return facade;
  }

  mountAssets(owner: string, mounts: AssetMount[]): void {
    this.assets.set(owner, mounts);
  }

  withdraw(owner: string): void {
    this.claims.release(owner);
    this.records.delete(owner);
    this.changes++;
    this.routers.delete(owner);
    this.orderedPrefixes = null;
    this.assets.delete(owner);
    this.prepared.withdraw(owner);
  }

  routeCount(owner?: string): number {
    let count = 0;
    for (const mounted of this.routers.values()) if (!owner || mounted.owner === owner) count += mounted.router.stack.length;
    return count + this.prepared.count(owner);
  }

  middleware(): Middleware {
    const dispatch = (ctx: Context, next: Next) => {
      // Routers whose prefixes hold the path, the most specific prefix first (each router once).
      const candidates: Middleware[] = [];
      for (const { prefix, mounted } of this.prefixOrder()) {
        if (underPrefix(ctx.path, prefix) && !candidates.includes(mounted.dispatch)) candidates.push(mounted.dispatch);
      }
      if (candidates.length === 0) return next();
      return candidates.length === 1 ? candidates[0]!(ctx, next) : compose(candidates)(ctx, next);
    };
    const assetsThenDispatch = async (ctx: Context, next: Next, mounts: AssetMount[]) => {
      for (const mount of mounts) {
        if (await serveAsset(ctx, mount)) {
          ctx.state.routePattern = `${mount.url}/*`; // the mount, not the file: one series per folder
          return;
        }
      }
      return dispatch(ctx, next);
    };
    return (ctx: Context, next: Next) => {
      if (ctx.method === "GET" || ctx.method === "HEAD") {
        let mounts: AssetMount[] | null = null;
        for (const mountsOfOwner of this.assets.values()) {
          for (const mount of mountsOfOwner) if (underPrefix(ctx.path, mount.url)) (mounts ??= []).push(mount);
        }
        if (mounts) return assetsThenDispatch(ctx, next, mounts);
      }
      return dispatch(ctx, next);
    };
  }

  /** Every (prefix, router) pair, longest prefix first; rebuilt only when routers change. */
  private prefixOrder(): Array<{ prefix: string; mounted: MountedRouter }> {
    this.orderedPrefixes ??= [...this.routers.values()]
      .flatMap((mounted) => mounted.prefixes.map((prefix) => ({ prefix, mounted })))
      .sort((a, b) => b.prefix.length - a.prefix.length);
    return this.orderedPrefixes;
  }
}
