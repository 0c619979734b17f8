/** Builds the engine driver whale's config names. */
import { createDockerDriver } from "./docker.js";
import { createSwarmDriver } from "./swarm.js";
import type { EngineDriver, EngineDriverOptions } from "./types.js";

export * from "./types.js";

/**
 * Throws at once (a plain Error, a configuration error) when `dockerHost` (or DOCKER_HOST) is not of the form
 * `unix:///path` or `tcp://host:port`; after that every method throws EngineUnavailableError while the engine is away.
 * Plain-HTTP engines only (no TLS, no ssh://).
 */
export function createEngineDriver(options: EngineDriverOptions): EngineDriver {
  switch (options.driver) {
    case "docker":
      return createDockerDriver({ dockerHost: options.dockerHost });
    case "swarm":
      return createSwarmDriver({ dockerHost: options.dockerHost });
  }
}
