/** Builds the engine driver whale's config names. */
import { createDockerDriver } from "./docker.js";
import type { EngineDriver, EngineDriverOptions } from "./types.js";

export * from "./types.js";

export function createEngineDriver(options: EngineDriverOptions): EngineDriver {
  switch (options.driver) {
    case "docker":
      return createDockerDriver({ dockerHost: options.dockerHost });
    case "swarm":
      throw new Error("the swarm driver is not written yet"); // replaced by ./swarm.ts in the next commit
  }
}
