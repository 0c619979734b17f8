/**
 * Errors that carry their meaning to the HTTP layer and their origin to the log.
 */

/** Field errors in CTFd's shape: every value is a list of messages. */
export type FieldErrors = Record<string, string[]>;

/** An error with an HTTP status and a CTFd-style body; thrown anywhere, rendered by the kernel's error middleware. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fieldErrors?: FieldErrors,
    /** Extra top-level body fields, e.g. CTFd's attempt statuses. */
    readonly body?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/**
 * True for an HttpError. Checked by brand as well as by class: a plugin module can end up with its own copy of
 * this file (a loader may instantiate a module twice under different URLs), and its errors must still render.
 */
export function isHttpError(error: unknown): error is HttpError {
  return error instanceof HttpError || ((error as Error | null)?.name === "HttpError" && typeof (error as HttpError).status === "number");
}

export const badRequest = (errors: FieldErrors) => new HttpError(400, "Bad request", errors);
export const unauthorized = (message = "Authentication required") => new HttpError(401, message);
export const forbidden = (message = "You don't have the permission to access the requested resource.") =>
  new HttpError(403, message);
export const notFound = (message = "Not found") => new HttpError(404, message);
export const conflict = (message: string) => new HttpError(409, message);

/** An error raised by a plugin during a lifecycle phase, prefixed with who and when. */
export class PluginPhaseError extends Error {
  constructor(
    readonly pluginId: string,
    readonly phase: string,
    cause: unknown,
  ) {
    super(`plugin "${pluginId}" failed in ${phase}: ${messageOf(cause)}`, { cause });
    this.name = "PluginPhaseError";
  }
}

/** Start-up problems an event host must fix (bad config, bad manifests): printed without a stack. */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StartupError";
  }
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
