import { createMemoryCoordination } from "./memory.js";
import { createRedisCoordination } from "./redis.js";
import type { Coordination } from "./types.js";

export type * from "./types.js";

/** Redis when a URL is configured (several instances), else in-process (the embedded single-instance default). */
export function openCoordination(options: { redisUrl?: string; redisKeyPrefix: string }): Coordination {
  return options.redisUrl ? createRedisCoordination(options.redisUrl, options.redisKeyPrefix) : createMemoryCoordination();
}
