/**
 * The connection both drivers share: where the engine is (`dockerHost`, DOCKER_HOST or the default socket), a
 * dockerode client for it, and the translation of dockerode's failures into EngineUnavailableError (the engine
 * cannot be reached) or an Error carrying the engine's own message (the engine answered no).
 */
import Docker from "dockerode";
import { EngineUnavailableError } from "./types.js";

const defaultSocket = "/var/run/docker.sock";
/** Quiet-socket limit for one request; a healthy engine answers create/start well within it, even under load. */
const requestTimeoutMs = 60_000;
/** ping is how whale notices an engine going away or coming back, so it gives up sooner. */
const pingTimeoutMs = 5_000;

export interface EngineConnection {
  /** For operations. */
  docker: Docker;
  /** For ping only (shorter timeout). */
  pingClient: Docker;
  /** Where, in words for messages: `unix:///tmp/x.sock` or `tcp://host:2375`. */
  where: string;
}

export function connect(dockerHost: string | undefined): EngineConnection {
  const where = dockerHost || process.env.DOCKER_HOST || `unix://${defaultSocket}`;
  const target = parseDockerHost(where);
  // Every field given explicitly: dockerode merges its own reading of DOCKER_HOST underneath what we pass.
  const options = (timeout: number): Docker.DockerOptions =>
    target.socketPath
      ? { socketPath: target.socketPath, host: undefined, port: undefined, protocol: "http", timeout }
      : { socketPath: undefined, host: target.host, port: target.port, protocol: "http", timeout };
  return { docker: new Docker(options(requestTimeoutMs)), pingClient: new Docker(options(pingTimeoutMs)), where };
}

function parseDockerHost(value: string): { socketPath?: string; host?: string; port?: number } {
  if (value.startsWith("unix://")) return { socketPath: value.slice("unix://".length) || defaultSocket };
  const url = value.startsWith("tcp://") && URL.canParse(value) ? new URL(value) : null;
  // A malformed address is a configuration error, not an engine that went away: it fails at once, at boot.
  if (!url || !url.hostname || (url.pathname !== "" && url.pathname !== "/") || url.username) {
    throw new Error(`dockerHost "${value}" is neither unix:///path nor tcp://host:port`);
  }
  return { host: url.hostname, port: Number(url.port || 2375) };
}

/** The shape of dockerode's errors: a status code when the engine answered, a Node error code when it did not. */
interface DockerodeError {
  statusCode?: number;
  code?: string;
  message?: string;
  json?: { message?: string } | null;
}

/** The engine answered with this HTTP status (e.g. 404 for a missing container). */
export function engineStatus(error: unknown): number | undefined {
  return (error as DockerodeError | null)?.statusCode;
}

/**
 * Runs one engine call: failures to reach the engine become EngineUnavailableError with a reason a host can act on,
 * engine refusals an Error with the engine's message prefixed by `what`, with `statusCode` kept for callers.
 */
export async function engineCall<T>(connection: EngineConnection, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw translate(connection, what, error);
  }
}

export function translate(connection: EngineConnection, what: string, error: unknown): Error {
  if (error instanceof EngineUnavailableError) return error;
  const e = (error ?? {}) as DockerodeError;
  if (typeof e.statusCode === "number") {
    // dockerode's own message starts with "(HTTP code 500) server error - "; the engine's words are what matter.
    const message = e.json?.message ?? e.message?.replace(/^\(HTTP code \d+\) [^-]*- /, "").trim() ?? `HTTP ${e.statusCode}`;
    // 503: the engine is there but cannot serve this now (a swarm call on a node that is no swarm manager).
    if (e.statusCode === 503) return new EngineUnavailableError(`Docker engine at ${connection.where} cannot serve ${what}: ${message}`);
    return Object.assign(new Error(`${what}: ${message}`), { statusCode: e.statusCode });
  }
  return new EngineUnavailableError(unreachableReason(connection.where, e));
}

function unreachableReason(where: string, e: DockerodeError): string {
  const hint = "start the engine or point plugins.whale.dockerHost (or DOCKER_HOST) at one";
  switch (e.code) {
    case "ENOENT":
      return `Docker engine socket ${where} does not exist: ${hint}`;
    case "ECONNREFUSED":
      return `Docker engine at ${where} refused the connection: ${hint}`;
    case "EACCES":
      return `no permission to use the Docker engine socket ${where}: give flaghost's user access to it (e.g. the docker group)`;
    case "ECONNRESET": // also how a request ends that got no answer within its timeout
    case "ETIMEDOUT":
      return `Docker engine at ${where} gave no answer (${e.message ?? e.code}): it timed out, stopped or is overloaded`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `Docker engine host in ${where} cannot be resolved: check plugins.whale.dockerHost`;
    default:
      return `Docker engine at ${where} cannot be reached (${e.code ?? e.message ?? "unknown error"}): ${hint}`;
  }
}

/**
 * ping for both drivers: anything but a Docker engine's answer is "unavailable", including an HTTP server that is
 * not one (a wrong dockerHost).
 */
export async function pingEngine(connection: EngineConnection): Promise<void> {
  try {
    await connection.pingClient.ping();
  } catch (error) {
    const status = engineStatus(error);
    if (status === undefined) throw translate(connection, "ping", error);
    throw new EngineUnavailableError(`${connection.where} answered ping with HTTP ${status}: is it a Docker engine? check plugins.whale.dockerHost`);
  }
}

/** The drivers' own label on what they start: the allocated host port, so list and inspect can report it. */
export const hostPortLabel = "flaghost.whale.host-port";

/** Set by the swarm on the containers of its tasks. */
export const swarmServiceLabel = "com.docker.swarm.service.id";

/** Docker's label filter syntax: `key=value` for a value, `key` for presence. */
export function labelFilters(labels: Record<string, string | true>): string[] {
  return Object.entries(labels).map(([key, value]) => (value === true ? key : `${key}=${value}`));
}
