import type { Logger } from "pino";
import type { z } from "zod";
import { backoffDelay, retryAfterMs, sleep } from "./backoff.js";
import { GamePlatformError } from "./errors.js";
import {
  assignmentSchema,
  assignmentsSchema,
  createdUserSchema,
  detailSchema,
  flashProgressSchema,
  odlScoresSchema,
  teamSchema,
  userSchema,
  type CreateTeamRequest,
  type CreateUserRequest,
} from "./schemas.js";

export interface ClientOptions {
  /** Ends in `/integrations/syned/v1`. */
  baseUrl: string;
  /** From METACTF_API_TOKEN; only ever put in the Authorization header. */
  token: string;
  timeoutMs: number;
  /** First retry waits about this long; each further one twice as long (with jitter). */
  retryBaseMs: number;
  attempts: number;
  /** The most a `Retry-After` makes us wait. */
  maxRetryAfterMs: number;
  log: Logger;
  /** Waits between attempts (tests observe the delays through it). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Counts the HTTP requests made through a metered client (one sync run's API budget). */
export interface CallMeter {
  calls: number;
}

interface CallSpec<S extends z.ZodType> {
  method: "GET" | "POST";
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  answer: S;
  signal?: AbortSignal;
}

/**
 * The MetaCTF game platform's REST API. Every call: a per-attempt timeout joined with the caller's signal, up to
 * `attempts` tries with backoff on 5xx, 429 (honouring Retry-After), timeouts and network errors, an answer checked
 * by its zod schema, and one log line with the call, status, attempts and duration. Failures are GamePlatformError.
 */
export class GamePlatformClient {
  constructor(
    private readonly options: ClientOptions,
    private readonly meter?: CallMeter,
  ) {}

  /** The same client, counting its requests in `meter`. */
  metered(meter: CallMeter): GamePlatformClient {
    return new GamePlatformClient(this.options, meter);
  }

  createUser(body: CreateUserRequest, signal?: AbortSignal) {
    return this.call({ method: "POST", path: "/users", body, answer: createdUserSchema, signal });
  }

  /** The platform's user for our id, or null when it has none (404). */
  async findUser(synedUserId: string, signal?: AbortSignal) {
    try {
      return await this.call({ method: "GET", path: "/users", query: { syned_user_id: synedUserId }, answer: userSchema, signal });
    } catch (error) {
      if (error instanceof GamePlatformError && error.status === 404) return null;
      throw error;
    }
  }

  createTeam(body: CreateTeamRequest, signal?: AbortSignal) {
    return this.call({ method: "POST", path: "/teams", body, answer: teamSchema, signal });
  }

  deleteTeam(synedTeamId: string, signal?: AbortSignal) {
    return this.call({ method: "POST", path: "/teams/delete", body: { syned_team_id: synedTeamId }, answer: detailSchema, signal });
  }

  assignTeam(synedTeamId: string, synedUserId: string, signal?: AbortSignal) {
    return this.call({ method: "POST", path: "/users/assign_team", body: { syned_team_id: synedTeamId, syned_user_id: synedUserId }, answer: assignmentSchema, signal });
  }

  teamAssignments(synedTeamId: string, signal?: AbortSignal) {
    return this.call({ method: "GET", path: "/users/get_team_assignments", query: { syned_team_id: synedTeamId }, answer: assignmentsSchema, signal });
  }

  /** Totals are always whole; `challenge_solves` only those after `afterUnix` (seconds) when given. */
  odlScores(synedUserId: string, afterUnix?: number, signal?: AbortSignal) {
    return this.call({ method: "GET", path: "/scores/get_odl_scores", query: { syned_user_id: synedUserId, after_time_unix: afterUnix }, answer: odlScoresSchema, signal });
  }

  flashProgress(synedUserId: string, signal?: AbortSignal) {
    return this.call({ method: "GET", path: "/scores/get_flash_ctf_progress", query: { syned_user_id: synedUserId }, answer: flashProgressSchema, signal });
  }

  sendPasswordReset(synedUserId: string, signal?: AbortSignal) {
    return this.call({ method: "POST", path: "/auth/send_password_reset_email", body: { syned_user_id: synedUserId }, answer: detailSchema, signal });
  }

  private async call<S extends z.ZodType>(spec: CallSpec<S>): Promise<z.infer<S>> {
    const name = `${spec.method} ${spec.path}`;
    const started = performance.now();
    const wait = this.options.sleep ?? sleep;
    let attempt = 0;
    let status: number | null = null;
    try {
      for (;;) {
        attempt++;
        const outcome = await this.attempt(spec, name);
        status = outcome.status;
        if (outcome.ok) {
          this.logCall(name, status, attempt, started, null);
          return outcome.value;
        }
        const error = outcome.error;
        if (!error.retryable || attempt >= this.options.attempts) throw error;
        const delay = outcome.retryAfterMs ?? backoffDelay(this.options.retryBaseMs, attempt);
        try {
          await wait(delay, spec.signal);
        } catch {
          throw new GamePlatformError(null, "aborted", `${name} was cancelled while waiting to retry`, name);
        }
      }
    } catch (error) {
      this.logCall(name, status, attempt, started, error as GamePlatformError);
      throw error;
    }
  }

  /** One HTTP request; never throws (the caller decides whether to retry). */
  private async attempt<S extends z.ZodType>(spec: CallSpec<S>, name: string): Promise<AttemptOutcome<z.infer<S>>> {
    if (spec.signal?.aborted) return failed(new GamePlatformError(null, "aborted", `${name} was cancelled`, name), null);
    if (this.meter) this.meter.calls++;
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const signal = spec.signal ? AbortSignal.any([spec.signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await fetch(this.urlOf(spec), {
        method: spec.method,
        headers: {
          authorization: `Bearer ${this.options.token}`,
          accept: "application/json",
          ...(spec.body !== undefined ? { "content-type": "application/json" } : {}),
        },
        body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
        signal,
      });
    } catch {
      if (spec.signal?.aborted) return failed(new GamePlatformError(null, "aborted", `${name} was cancelled`, name), null);
      if (timeout.aborted) return failed(new GamePlatformError(null, "timeout", `${name} got no answer within ${this.options.timeoutMs} ms`, name), null);
      return failed(new GamePlatformError(null, "network", `${name} could not reach the platform`, name), null);
    }
    let text: string;
    try {
      text = await response.text();
    } catch {
      const code = timeout.aborted ? "timeout" : spec.signal?.aborted ? "aborted" : "network";
      return failed(new GamePlatformError(response.status, code, `${name}: the answer was cut off`, name), response.status);
    }
    if (response.status === 429) {
      const wait = retryAfterMs(response.headers.get("retry-after"), this.options.maxRetryAfterMs);
      return { ok: false, status: 429, error: new GamePlatformError(429, "rate_limited", `${name} was rate limited by the platform`, name), retryAfterMs: wait };
    }
    // Some GETs answer 201: both mean success.
    if (response.status !== 200 && response.status !== 201) {
      const detail = this.scrub(detailOf(text) ?? `status ${response.status}`);
      return failed(new GamePlatformError(response.status, "http", `${name} answered ${response.status}: ${detail}`, name), response.status);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return failed(new GamePlatformError(response.status, "malformed", `${name} answered something that is not JSON`, name), response.status);
    }
    const parsed = spec.answer.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.map(String).join(".") || "(root)";
      return failed(new GamePlatformError(response.status, "malformed", `${name} answered a malformed body: field ${field}: ${issue.message}`, name), response.status);
    }
    return { ok: true, status: response.status, value: parsed.data };
  }

  private urlOf(spec: CallSpec<z.ZodType>): string {
    const url = new URL(this.options.baseUrl.replace(/\/+$/, "") + spec.path);
    for (const [key, value] of Object.entries(spec.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    return url.toString();
  }

  /** A platform that echoed our credentials would otherwise carry them into logs and stored errors. */
  private scrub(text: string): string {
    return this.options.token ? text.replaceAll(this.options.token, "[redacted]") : text;
  }

  private logCall(call: string, status: number | null, attempts: number, started: number, error: GamePlatformError | null): void {
    const durationMs = Math.round(performance.now() - started);
    if (error) this.options.log.warn({ call, status, attempts, durationMs, code: error.code, error: error.message }, "metactf call failed");
    else this.options.log.info({ call, status, attempts, durationMs }, "metactf call");
  }
}

type AttemptOutcome<T> = { ok: true; status: number; value: T } | { ok: false; status: number | null; error: GamePlatformError; retryAfterMs: number | null };

const failed = (error: GamePlatformError, status: number | null): AttemptOutcome<never> => ({ ok: false, status, error, retryAfterMs: null });

function detailOf(text: string): string | null {
  try {
    const body = JSON.parse(text) as { detail?: unknown };
    return typeof body.detail === "string" ? body.detail.slice(0, 500) : null;
  } catch {
    return null;
  }
}
