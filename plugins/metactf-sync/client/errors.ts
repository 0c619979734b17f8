/**
 * What went wrong talking to the platform:
 *  - `http`: it answered an error status (`status` set; `message` holds its `detail`)
 *  - `rate_limited`: 429 on every attempt
 *  - `timeout`: no answer within the per-call timeout
 *  - `network`: no connection, reset, DNS
 *  - `malformed`: an answer that is not JSON or misses a field (`message` names the field)
 *  - `aborted`: the caller's signal (a job's timeout or shutdown) stopped it
 */
export type GamePlatformErrorCode = "http" | "rate_limited" | "timeout" | "network" | "malformed" | "aborted";

export class GamePlatformError extends Error {
  constructor(
    /** The HTTP status, or null when there was none (timeout, network, aborted). */
    readonly status: number | null,
    readonly code: GamePlatformErrorCode,
    message: string,
    /** Which call, as `METHOD /path` without the query (no ids, no secrets). */
    readonly call: string,
  ) {
    super(message);
    this.name = "GamePlatformError";
  }

  /** Worth another attempt: server errors, 429, timeouts and network failures; never another 4xx or a bad answer. */
  get retryable(): boolean {
    if (this.code === "timeout" || this.code === "network" || this.code === "rate_limited") return true;
    return this.code === "http" && this.status !== null && this.status >= 500;
  }

  /** For logs and stored errors. */
  toJSON() {
    return { status: this.status, code: this.code, message: this.message, call: this.call };
  }
}

export const isGamePlatformError = (error: unknown): error is GamePlatformError => error instanceof GamePlatformError;
