import type { Coordination } from "./coordination/types.js";
import type { Logger } from "./log.js";

/** What every live process says about itself. */
export interface InstanceInfo {
  id: string;
  role: string;
  pid: number;
  host: string;
  version: string;
  startedAt: string;
  lastSeen: string;
}

const KEY_PREFIX = "kernel.instance:";
/** A heartbeat lives for three intervals: one missed beat (a long GC pause) does not drop an instance. */
const BEATS_TO_LIVE = 3;

/**
 * The cluster's list of live processes: each writes a heartbeat into the coordination cache every `heartbeatMs`
 * (Redis when several instances share it, in-process when embedded), expiring after three missed beats, and
 * deletes it on a clean stop.
 */
export class InstanceRegistry {
  private timer: NodeJS.Timeout | null = null;
  private readonly self: Omit<InstanceInfo, "lastSeen">;

  constructor(
    private readonly deps: {
      coordination: Coordination;
      log: Logger;
      heartbeatMs: number;
      self: Omit<InstanceInfo, "lastSeen" | "startedAt">;
    },
  ) {
    this.self = { ...deps.self, startedAt: new Date().toISOString() };
  }

  /** Writes the first heartbeat, then keeps beating. Idempotent. */
  async start(): Promise<void> {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.beat().catch((error) => this.deps.log.warn({ err: error }, "could not write the instance heartbeat; will retry"));
    }, this.deps.heartbeatMs);
    this.timer.unref();
    await this.beat();
  }

  async stop(): Promise<void> {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    await this.deps.coordination.cacheDelete(KEY_PREFIX + this.self.id).catch((error) => {
      this.deps.log.warn({ err: error }, "could not remove the instance heartbeat; it expires by itself");
    });
  }

  /** Live instances, by id. */
  async list(): Promise<InstanceInfo[]> {
    const entries = await this.deps.coordination.cacheScan(KEY_PREFIX);
    const instances: InstanceInfo[] = [];
    for (const value of entries.values()) {
      try {
        instances.push(JSON.parse(value) as InstanceInfo);
      } catch {
        // Not written by a registry of this kernel: not an instance.
      }
    }
    return instances.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Writes the heartbeat now (a restarted Redis lost it), rather than at the next interval. */
  async refresh(): Promise<void> {
    if (this.timer) await this.beat();
  }

  private beat(): Promise<void> {
    const info: InstanceInfo = { ...this.self, lastSeen: new Date().toISOString() };
    return this.deps.coordination.cacheSet(KEY_PREFIX + info.id, JSON.stringify(info), this.deps.heartbeatMs * BEATS_TO_LIVE);
  }
}
