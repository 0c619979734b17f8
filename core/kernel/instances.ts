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

/** Emitted on every instance (not broadcast: each sees it for itself) when others vanished without a clean stop. */
export interface InstancesLost {
  instances: InstanceInfo[];
}

declare module "./events.js" {
  interface EventMap {
    "kernel.instances.lost": InstancesLost;
  }
}

const KEY_PREFIX = "kernel.instance:";
/** Written by a clean stop, so the others can tell a goodbye from a death. */
const LEFT_PREFIX = "kernel.instance-left:";
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
  /** The other instances seen at the last beat (null until the first look). */
  private known: Map<string, InstanceInfo> | null = null;
  private watching = false;

  constructor(
    private readonly deps: {
      coordination: Coordination;
      log: Logger;
      heartbeatMs: number;
      self: Omit<InstanceInfo, "lastSeen" | "startedAt">;
      /**
       * Told, at most once per beat, of the instances whose heartbeat expired without a clean stop (killed,
       * crashed, cut off from Redis; or all of them after Redis lost its data). Their last broadcasts may never
       * have gone out, so whoever keeps state fed by broadcast events reconciles it with the database.
       */
      onLost?: (lost: InstanceInfo[]) => void;
    },
  ) {
    this.self = { ...deps.self, startedAt: new Date().toISOString() };
  }

  /** Writes the first heartbeat, then keeps beating. Idempotent. */
  async start(): Promise<void> {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.beat().catch((error) => this.deps.log.warn({ err: error }, "could not write the instance heartbeat; will retry"));
      // One look at a time: a slow Redis must not report the same loss twice.
      if (this.deps.onLost && !this.watching) {
        this.watching = true;
        this.watch()
          .catch((error) => this.deps.log.warn({ err: error }, "could not list the instances; will retry"))
          .finally(() => (this.watching = false));
      }
    }, this.deps.heartbeatMs);
    this.timer.unref();
    await this.beat();
    if (this.deps.onLost) await this.watch().catch(() => undefined);
  }

  async stop(): Promise<void> {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    // The goodbye outlives the heartbeat it replaces, so no watcher mistakes this stop for a death.
    await this.deps.coordination.cacheSet(LEFT_PREFIX + this.self.id, this.self.startedAt, 2 * this.deps.heartbeatMs * BEATS_TO_LIVE).catch(() => undefined);
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

  /** Compares the live list with the last one: instances gone without a goodbye are reported to onLost. */
  private async watch(): Promise<void> {
    const now = new Map((await this.list()).filter((i) => i.id !== this.self.id).map((i) => [i.id, i]));
    const before = this.known;
    this.known = now;
    if (!before) return;
    const lost: InstanceInfo[] = [];
    for (const [id, info] of before) {
      // Gone, or replaced by a new process under the same id (a restart policy can be quicker than the heartbeat's
      // expiry). A clean stop's goodbye names the incarnation that left.
      const successor = now.get(id);
      if (successor && successor.startedAt === info.startedAt && successor.pid === info.pid) continue;
      if ((await this.deps.coordination.cacheGet(LEFT_PREFIX + id)) !== info.startedAt) lost.push(info);
    }
    if (lost.length === 0) return;
    this.deps.log.warn({ lost: lost.map((i) => ({ id: i.id, role: i.role, pid: i.pid, lastSeen: i.lastSeen })) }, "instances stopped beating without a clean stop");
    this.deps.onLost!(lost);
  }

  private beat(): Promise<void> {
    const info: InstanceInfo = { ...this.self, lastSeen: new Date().toISOString() };
    return this.deps.coordination.cacheSet(KEY_PREFIX + info.id, JSON.stringify(info), this.deps.heartbeatMs * BEATS_TO_LIVE);
  }
}
