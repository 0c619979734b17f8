import Router from "@koa/router";
import type { Context, Middleware, Next } from "koa";
import compose from "koa-compose";
import type { Logger } from "../log.js";
import { serveAsset, type AssetMount } from "./assets.js";
import { PreparedRoutes, type PreparedAnswer } from "./prepared.js";

type Method = "get" | "post" | "put" | "patch" | "delete";

/** What a plugin uses to add routes: paths must lie under the http prefixes its manifest declares. */
export type PluginRoutes = {
  [M in Method]: (path: string, ...handlers: Middleware[]) => PluginRoutes;
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

/** True when `path` is `prefix` itself or below it. */
export function underPrefix(path: string, prefix: string): boolean {
  if (prefix === "/") return path.startsWith("/");
  return path === prefix || path.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`);
}

/**
 * Every plugin's router and asset folders, dispatched per request: the most specific prefix goes first and an
 * unmatched request falls through to the next, so core/ctf can own `/api/v1` while the scoreboard owns
 * `/api/v1/scoreboard`. Withdrawing a plugin removes its routes at once, and mounting again replaces them.
 */
export class RouteTable {
  private readonly routers = new Map<string, MountedRouter>();
  private readonly assets = new Map<string, AssetMount[]>();
  private orderedPrefixes: Array<{ prefix: string; mounted: MountedRouter }> | null = null;
  /** Answered ahead of Koa: `prepared.listener(koa)` is the server's request listener. */
  readonly prepared: PreparedRoutes;

  constructor(log: Logger) {
    this.prepared = new PreparedRoutes(log);
  }

  /** A fresh router for `owner` (replacing any previous one) and the guarded facade the plugin sees. */
  createPluginRoutes(owner: string, prefixes: string[], assertOpen: () => void): PluginRoutes {
    for (const prefix of prefixes) {
      for (const other of this.routers.values()) {
        if (other.owner !== owner && other.prefixes.includes(prefix)) {
          throw new Error(`http prefix ${prefix} is already claimed by "${other.owner}"`);
        }
      }
    }
    const router = new Router();
    this.routers.set(owner, { owner, prefixes, router, dispatch: router.routes() as unknown as Middleware });
    this.orderedPrefixes = null;
    this.prepared.withdraw(owner); // a reload registers them again
    const checkPath = (method: string, path: string) => {
      assertOpen();
      if (!prefixes.some((prefix) => underPrefix(path, prefix))) {
        throw new Error(`route ${method} ${path} is outside the http prefixes declared in plugin.json (${prefixes.join(", ") || "none"})`);
      }
    };
    const facade = {} as PluginRoutes;
    for (const method of ["get", "post", "put", "patch", "delete"] as const) {
      facade[method] = (path, ...handlers) => {
        checkPath(method.toUpperCase(), path);
        router[method](path, ...(handlers as Parameters<Router["get"]>[1][]));
        return facade;
      };
    }
    facade.prepared = (path, answer) => {
      checkPath("GET (prepared)", path);
      this.prepared.add({ owner, path, answer });
      return facade;
    };
    return facade;
  }

  mountAssets(owner: string, mounts: AssetMount[]): void {
    this.assets.set(owner, mounts);
  }

  withdraw(owner: string): void {
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
