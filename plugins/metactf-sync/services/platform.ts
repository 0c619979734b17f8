import { HttpError } from "../../../core/kernel/errors.js";
import type { GamePlatformClient } from "../client/client.js";
import { GamePlatformError } from "../client/errors.js";

/**
 * The client when the plugin is configured, else null with the reason. Routes that need the platform answer 503
 * with that reason; jobs record it as their error.
 */
export interface PlatformAccess {
  client: GamePlatformClient | null;
  reason: string | null;
}

export function requirePlatform(platform: PlatformAccess): GamePlatformClient {
  if (!platform.client) throw new HttpError(503, `The MetaCTF game platform is not configured: ${platform.reason}`);
  return platform.client;
}

/** A platform failure as the answer to our caller: 502 with what the platform said (never our token). */
export function platformFailure(error: unknown, what: string): never {
  if (error instanceof GamePlatformError) throw new HttpError(502, `${what}: ${error.message}`, undefined, { platform: error.toJSON() });
  throw error;
}

export const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));
