/** Builds the engine driver whale's config names. */
import { createDockerDriver } from "./docker.js";
import { createSwarmDriver } from "./swarm.js";
import type { EngineDriver, EngineDriverOptions } from "./types.js";

export * from "./types.js";

export function createEngineDriver(options: EngineDriverOptions): EngineDriver {
  switch (options.driver) {
    case "docker":
      return createDockerDriver({ dockerHost: options.dockerHost });
    case "swarm":
      return createSwarmDriver({ dockerHost: options.dockerHost });
  }
}
