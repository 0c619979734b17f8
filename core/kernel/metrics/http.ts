import type { Context, Next } from "koa";
import { requestIdOf } from "../http/request-id.js";
import { UNMATCHED_ROUTE, type RequestObserver } from "./observers.js";

declare module "koa" {
  interface DefaultState {
    /** The route pattern of a request answered outside a router (a static asset mount), for metrics and the access log. */
    routePattern?: string;
  }
}

/**
 * The outermost Koa middleware: reports each request, once answered, with its route pattern, status and
 * duration. It sits outside requestContext, so the status is the final one (errors are already rendered).
 */
export function observeRequests(observer: RequestObserver) {
  return async (ctx: Context, next: Next) => {
    const startedAt = performance.now();
    try {
      await next();
    } finally {
      observer.requestFinished({
        method: ctx.method,
        route: routePatternOf(ctx),
        status: ctx.status,
        durationMs: performance.now() - startedAt,
        requestId: ctx.state.requestId ?? requestIdOf(undefined),
        path: ctx.path,
      });
    }
  };
}

/**
 * koa-websocket middleware, ahead of the hub's: reports an accepted upgrade as status 101. Only registered
 * channel paths get here (the hub's verifyClient refuses the rest), so the path is the pattern.
 */
export function observeUpgrades(observer: RequestObserver) {
  return async (ctx: Context, next: Next) => {
    const startedAt = performance.now();
    await next();
    observer.requestFinished({
      method: ctx.method,
      route: ctx.path,
      status: 101,
      durationMs: performance.now() - startedAt,
      requestId: requestIdOf(ctx.headers["x-request-id"]),
      path: ctx.path,
    });
  };
}

/** @koa/router's documented `ctx.routerPath` (the matched layer's path), else what the kernel set, else `unmatched`. */
function routePatternOf(ctx: Context): string {
  if ("routerPath" in ctx && typeof ctx.routerPath === "string") return ctx.routerPath;
  return ctx.state.routePattern ?? UNMATCHED_ROUTE;
}
