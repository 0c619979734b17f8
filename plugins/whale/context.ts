import type { CtfReadService } from "../../core/ctf/service.js";
import type { Logger } from "../../core/kernel/log.js";
import type { PluginEvents } from "../../core/kernel/plugin-host/api.js";
import type { WhaleConfig } from "./config.js";
import type { EngineDriver } from "./engine/index.js";
import type { EngineHealth } from "./engine-health.js";
import type { WhaleMetrics } from "./metrics.js";
import type { StartRecord, StartStore } from "./starts.js";

/** What whale's parts share: built once in `create`, handed to the routes, the worker and the jobs. */
export interface Whale {
  config: WhaleConfig;
  store: StartStore;
  /** Scoped to this install (install.ts): labels what it starts, filters what it lists. */
  engine: EngineDriver;
  /** This install's id (the `flaghost.whale.install` label); available from init on. */
  installId(): string;
  health: EngineHealth;
  read: CtfReadService;
  events: PluginEvents;
  metrics: WhaleMetrics;
  log: Logger;
  /** The flag secret (config, or the database's); available from init on. */
  secret(): string;
}

/** The payload of container.* events for a start. */
export function containerEvent(start: StartRecord, error: string | null = null) {
  return {
    startId: start.id,
    challengeId: start.challengeId,
    accountId: start.accountId,
    accountType: start.accountType,
    error,
    date: new Date().toISOString(),
  };
}
