/**
 * Telling "a backing service is away" apart from a bug: such a failure answers 503 with Retry-After (the client
 * should try again shortly, and a load balancer's /readyz check already says the same), never a 500.
 */

export type UnavailableBackend = "database" | "redis" | "service";

/**
 * SQLSTATEs of a lost or refused connection: class 08 (connection exception), 57P01-57P03 (the server shuts down,
 * crashed, or is starting up), 53300 (too many connections).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;
/** What node-postgres and pg-pool say when a connection dies, cannot be made, or is not handed out in time. */
const PG_MESSAGES = [
  "Connection terminated",
  "timeout exceeded when trying to connect",
  "Client has encountered a connection error and is not queryable",
  "Client was closed and is not queryable",
  "Connection is not established",
];
/** ioredis, with maxRetriesPerRequest set, fails a command with these while it reconnects. */
const REDIS_MESSAGES = ["Connection is closed", "Reached the max retries per request limit", "Stream isn't writeable and enableOfflineQueue options is false"];
/** Node's own connection failures, from whichever client made the connection. */
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);

/** The ports of this process's database and Redis, to name the service behind a bare socket error. */
export interface BackendEndpoints {
  databasePort?: number;
  redisPort?: number;
}

/** The port of a postgres:// or redis:// URL (the scheme's default when it names none), or undefined. */
export function portOf(url: string | undefined, defaultPort: number): number | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.port ? Number(parsed.port) : defaultPort;
  } catch {
    return undefined;
  }
}

/**
 * Which backing service an error says is unavailable, or null when it says something else. Looks through
 * TypeORM's wrapper (`driverError`), `cause` and AggregateError (a connect to a name with several addresses).
 */
export function unavailableBackend(error: unknown, endpoints: BackendEndpoints = {}, depth = 0): UnavailableBackend | null {
  if (!error || typeof error !== "object" || depth > 4) return null;
  const { code, message, name } = error as { code?: unknown; message?: unknown; name?: unknown };
  const text = typeof message === "string" ? message : "";
  if (typeof code === "string" && UNAVAILABLE_SQLSTATE.test(code)) return "database";
  if (PG_MESSAGES.some((m) => text.startsWith(m))) return "database";
  if (name === "MaxRetriesPerRequestError" || REDIS_MESSAGES.some((m) => text.startsWith(m))) return "redis";
  for (const inner of [(error as { driverError?: unknown }).driverError, (error as { cause?: unknown }).cause, ...((error as { errors?: unknown[] }).errors ?? [])]) {
    const found = unavailableBackend(inner, endpoints, depth + 1);
    if (found) return found;
  }
  if (typeof code === "string" && SOCKET_CODES.has(code)) {
    // A refused or cut connection says only where it went: to the database's port, it is the database.
    const port = (error as { port?: unknown }).port;
    if (port !== undefined && Number(port) === endpoints.databasePort) return "database";
    if (port !== undefined && Number(port) === endpoints.redisPort) return "redis";
    return "service";
  }
  return null;
}

export const UNAVAILABLE_MESSAGES: Record<UnavailableBackend, string> = {
  database: "The database is unavailable. Please try again in a few seconds.",
  redis: "The coordination service (Redis) is unavailable. Please try again in a few seconds.",
  service: "A service this server depends on is unavailable. Please try again in a few seconds.",
};
