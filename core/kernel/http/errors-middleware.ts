import type { AwilixContainer } from "awilix";
import { asValue } from "awilix";
import type { Context, Next } from "koa";
import { isHttpError } from "../errors.js";
import type { Logger } from "../log.js";
import { UNAVAILABLE_MESSAGES, unavailableBackend, type BackendEndpoints, type UnavailableBackend } from "../unavailable.js";
import { requestIdOf } from "./request-id.js";

declare module "koa" {
  interface DefaultState {
    requestId: string;
    /** The request's own DI scope, disposed when the response is done. */
    scope: AwilixContainer;
  }
}

/**
 * Gives each request an id (echoed as X-Request-Id) and an awilix scope, and turns every error into a
 * CTFd-style body: HttpError keeps its status and field errors; a backing service gone away (Postgres or Redis
 * down, restarting, not reachable in time) is a 503 with Retry-After; anything else is a 500 that names the
 * request id, with the stack in the log (and in the body only in development).
 */
export function requestContext(options: { container: AwilixContainer; log: Logger; development: boolean; endpoints?: BackendEndpoints }) {
  // An outage fails every request: one warning per backend per interval says so without flooding the log.
  const lastWarned = new Map<UnavailableBackend, number>();
  return async (ctx: Context, next: Next) => {
    const requestId = requestIdOf(ctx.headers["x-request-id"]);
    ctx.state.requestId = requestId;
    ctx.set("X-Request-Id", requestId);
    // The request's DI scope is made on first use: most requests never resolve anything from it.
    let scope: AwilixContainer | null = null;
    Object.defineProperty(ctx.state, "scope", {
      configurable: true,
      enumerable: true,
      get() {
        if (!scope) {
          scope = options.container.createScope();
          scope.register({ requestId: asValue(requestId), koaContext: asValue(ctx) });
        }
        return scope;
      },
    });
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) renderError(ctx, 404, { success: false, errors: { route: ["Not found"] } });
    } catch (error) {
      if (isHttpError(error)) {
        const errors = error.fieldErrors ?? { message: [error.message] };
        renderError(ctx, error.status, { success: false, errors, ...error.body });
        if (error.status === 401) ctx.set("WWW-Authenticate", 'Token realm="flaghost"');
      } else if (isClientError(error)) {
        // koa/http-errors thrown by middleware we did not write (e.g. a malformed URI).
        const status = (error as { status: number }).status;
        renderError(ctx, status, { success: false, errors: { message: [(error as Error).message] } });
      } else if (unavailableBackend(error, options.endpoints)) {
        const backend = unavailableBackend(error, options.endpoints)!;
        const now = Date.now();
        if (now - (lastWarned.get(backend) ?? 0) >= UNAVAILABLE_WARN_EVERY_MS) {
          lastWarned.set(backend, now);
          options.log.warn({ err: error, requestId, method: ctx.method, path: ctx.path, backend }, `${backend} unavailable: answering 503`);
        }
        ctx.set("Retry-After", String(UNAVAILABLE_RETRY_AFTER_S));
        renderError(ctx, 503, { success: false, errors: { [backend]: [UNAVAILABLE_MESSAGES[backend]] }, requestId });
      } else {
        options.log.error({ err: error, requestId, method: ctx.method, path: ctx.path }, "unexpected error");
        const body: Record<string, unknown> = {
          success: false,
          errors: { server: [`An unexpected error occurred. Request id: ${requestId}`] },
          requestId,
        };
        if (options.development) body.stack = (error as Error)?.stack;
        renderError(ctx, 500, body);
      }
    } finally {
      if (scope) await (scope as AwilixContainer).dispose();
    }
  };
}

/** What a 503 for a backend outage tells clients to wait; a restart of Postgres or Redis takes seconds. */
const UNAVAILABLE_RETRY_AFTER_S = 5;
const UNAVAILABLE_WARN_EVERY_MS = 5_000;

function renderError(ctx: Context, status: number, body: Record<string, unknown>): void {
  ctx.status = status;
  ctx.body = body;
}

function isClientError(error: unknown): boolean {
  const status = (error as { status?: unknown })?.status;
  return typeof status === "number" && status >= 400 && status < 500 && (error as { expose?: boolean }).expose === true;
}
