/**
 * whale's engine drivers: one interface over a single Docker engine (`docker`) and a Docker Swarm (`swarm`), so the
 * rest of whale starts, inspects and removes containers without knowing which one runs them.
 * Build one with `createEngineDriver` (./index.ts).
 */

/** What to run for one start. */
export interface ContainerSpec {
  /** Unique per start, e.g. `flaghost-whale-<startId>`. */
  name: string;
  image: string;
  command?: string[];
  /** FLAG and PORT among them. */
  env: Record<string, string>;
  /** flaghost.whale.account / .challenge / .start / .expires */
  labels: Record<string, string>;
  memoryMb: number;
  cpus: number;
  network: "host" | "bridge";
  /** Where the service listens inside (bridge mode). */
  containerPort: number;
  /** Allocated host port: published (bridge) or listened on directly (host). */
  hostPort: number;
}

/**
 * `starting`: created or scheduled, not running yet; `running`: the process runs (it may not answer yet);
 * `exited`: stopped or failed to start (see `error`); `missing`: the engine knows no such id.
 */
export type ContainerState = "starting" | "running" | "exited" | "missing";

export interface ContainerInfo {
  /** The id `start` returned (a container id, or a service id on swarm). */
  id: string;
  name: string;
  labels: Record<string, string>;
  state: ContainerState;
  hostPort: number | null;
  /** `exited`: why, in words an admin can act on; `starting`: what holds it up, when the engine says; else null. */
  error: string | null;
}

export interface EngineDriver {
  readonly kind: "docker" | "swarm";
  /** Throws EngineUnavailableError(reason) when the engine is unreachable. */
  ping(): Promise<void>;
  /** Created and started (or the service created). Throws an Error with the engine's reason when it refuses. */
  start(spec: ContainerSpec): Promise<{ id: string }>;
  /** State "missing" when gone. */
  inspect(id: string): Promise<ContainerInfo>;
  /** Force; idempotent (removing a missing one is no error). */
  remove(id: string): Promise<void>;
  /** By label: a string matches that value, `true` matches any value (presence). */
  list(labels: Record<string, string | true>): Promise<ContainerInfo[]>;
  close(): Promise<void>;
}

/**
 * The engine cannot be reached (socket missing, connection refused, no answer in time). Every driver method throws
 * it then; the message is a reason a host can act on. Engine answers (a bad image, a name in use) are plain Errors.
 */
export class EngineUnavailableError extends Error {
  override readonly name = "EngineUnavailableError";
}

export interface EngineDriverOptions {
  driver: "docker" | "swarm";
  /** The form of DOCKER_HOST (`unix:///path` or `tcp://host:port`); absent → DOCKER_HOST, else the default socket. */
  dockerHost?: string;
}
