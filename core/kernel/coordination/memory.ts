import { randomUUID } from "node:crypto";
import type { Coordination, HeldLock, PendingSummary, RateLimitResult, RateLimitRule, StreamEntry, Unsubscribe } from "./types.js";

interface StoredEntry {
  id: string;
  fields: Record<string, string>;
}

interface PendingEntry {
  consumer: string;
  deliveries: number;
  deliveredAt: number;
}

interface Group {
  /** Index in the stream's entry list of the next entry never delivered to this group. */
  nextIndex: number;
  pending: Map<string, PendingEntry>;
}

interface Stream {
  entries: StoredEntry[];
  groups: Map<string, Group>;
  lastMs: number;
  lastSeq: number;
  waiters: Set<() => void>;
}

/**
 * In-process coordination for the embedded, single-process default. Same semantics as the Redis adapter
 * (the contract suite runs against both); nothing here is shared with another process.
 */
export function createMemoryCoordination(): Coordination {
  const locks = new Map<string, { token: string; expiresAt: number }>();
  const cache = new Map<string, { value: string; expiresAt: number }>();
  const buckets = new Map<string, { tokens: number; updatedAt: number }>();
  const channels = new Map<string, Set<(message: string) => void>>();
  const streams = new Map<string, Stream>();
  let closed = false;

  const liveLock = (key: string) => {
    const lock = locks.get(key);
    if (lock && lock.expiresAt <= Date.now()) {
      locks.delete(key);
      return undefined;
    }
    return lock;
  };

  const stream = (name: string): Stream => {
    let s = streams.get(name);
    if (!s) {
      s = { entries: [], groups: new Map(), lastMs: 0, lastSeq: 0, waiters: new Set() };
      streams.set(name, s);
    }
    return s;
  };

  const group = (streamName: string, groupName: string): Group => {
    const g = stream(streamName).groups.get(groupName);
    if (!g) throw new Error(`NOGROUP no consumer group "${groupName}" on stream "${streamName}"`);
    return g;
  };

  const deliverNew = (streamName: string, groupName: string, consumer: string, count: number): StreamEntry[] => {
    const s = stream(streamName);
    const g = group(streamName, groupName);
    const out: StreamEntry[] = [];
    while (g.nextIndex < s.entries.length && out.length < count) {
      const entry = s.entries[g.nextIndex++]!;
      g.pending.set(entry.id, { consumer, deliveries: 1, deliveredAt: Date.now() });
      out.push({ id: entry.id, fields: { ...entry.fields }, deliveries: 1 });
    }
    return out;
  };

  return {
    kind: "memory",

    async acquireLock(key, ttlMs) {
      if (liveLock(key)) return null;
      const token = randomUUID();
      locks.set(key, { token, expiresAt: Date.now() + ttlMs });
      const held: HeldLock = {
        key,
        token,
        async release() {
          if (liveLock(key)?.token !== token) return false;
          locks.delete(key);
          return true;
        },
        async extend(ms) {
          const lock = liveLock(key);
          if (lock?.token !== token) return false;
          lock.expiresAt = Date.now() + ms;
          return true;
        },
      };
      return held;
    },

    async streamAdd(name, fields) {
      const s = stream(name);
      const now = Date.now();
      if (now > s.lastMs) {
        s.lastMs = now;
        s.lastSeq = 0;
      } else {
        s.lastSeq++;
      }
      const id = `${s.lastMs}-${s.lastSeq}`;
      s.entries.push({ id, fields: { ...fields } });
      for (const wake of [...s.waiters]) wake();
      return id;
    },

    async streamEnsureGroup(name, groupName) {
      const s = stream(name);
      if (!s.groups.has(groupName)) s.groups.set(groupName, { nextIndex: 0, pending: new Map() });
    },

    async streamRead(name, groupName, consumer, opts = {}) {
      const count = opts.count ?? 10;
      const now = deliverNew(name, groupName, consumer, count);
      if (now.length > 0 || !opts.blockMs || closed) return now;
      const s = stream(name);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          s.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, opts.blockMs);
        s.waiters.add(wake);
      });
      return closed ? [] : deliverNew(name, groupName, consumer, count);
    },

    async streamAck(name, groupName, ids) {
      const g = group(name, groupName);
      let acked = 0;
      for (const id of ids) if (g.pending.delete(id)) acked++;
      return acked;
    },

    async streamClaimStale(name, groupName, consumer, minIdleMs, count = 10) {
      const s = stream(name);
      const g = group(name, groupName);
      const now = Date.now();
      const out: StreamEntry[] = [];
      for (const [id, pending] of g.pending) {
        if (out.length >= count) break;
        if (now - pending.deliveredAt < minIdleMs) continue;
        const entry = s.entries.find((e) => e.id === id);
        if (!entry) {
          g.pending.delete(id);
          continue;
        }
        pending.consumer = consumer;
        pending.deliveries++;
        pending.deliveredAt = now;
        out.push({ id, fields: { ...entry.fields }, deliveries: pending.deliveries });
      }
      return out;
    },

    async streamPending(name, groupName): Promise<PendingSummary> {
      const g = group(name, groupName);
      const consumers: Record<string, number> = {};
      for (const p of g.pending.values()) consumers[p.consumer] = (consumers[p.consumer] ?? 0) + 1;
      return { count: g.pending.size, consumers };
    },

    async streamLength(name) {
      return streams.get(name)?.entries.length ?? 0;
    },

    async publish(channel, message) {
      for (const handler of [...(channels.get(channel) ?? [])]) queueMicrotask(() => handler(message));
    },

    async subscribe(channel, handler): Promise<Unsubscribe> {
      // Wrap so the same function subscribed twice is two subscriptions, like two Redis clients.
      const subscription = (message: string) => handler(message);
      const set = channels.get(channel) ?? new Set();
      set.add(subscription);
      channels.set(channel, set);
      return async () => {
        set.delete(subscription);
      };
    },

    async cacheGet(key) {
      const hit = cache.get(key);
      if (!hit) return null;
      if (hit.expiresAt <= Date.now()) {
        cache.delete(key);
        return null;
      }
      return hit.value;
    },

    async cacheSet(key, value, ttlMs) {
      cache.set(key, { value, expiresAt: Date.now() + ttlMs });
    },

    async cacheDelete(key) {
      cache.delete(key);
    },

    async rateLimit(key, rule: RateLimitRule, cost = 1): Promise<RateLimitResult> {
      return takeTokens(buckets, key, rule, cost, Date.now());
    },

    async ping() {
      return !closed;
    },

    async close() {
      closed = true;
      for (const s of streams.values()) for (const wake of [...s.waiters]) wake();
      channels.clear();
    },
  };
}

/** Token bucket arithmetic shared in spirit with the Redis Lua script: continuous refill by elapsed time. */
function takeTokens(buckets: Map<string, { tokens: number; updatedAt: number }>, key: string, rule: RateLimitRule, cost: number, now: number): RateLimitResult {
  const bucket = buckets.get(key) ?? { tokens: rule.capacity, updatedAt: now };
  const refilled = Math.min(rule.capacity, bucket.tokens + ((now - bucket.updatedAt) / 1000) * rule.refillPerSecond);
  if (refilled >= cost) {
    buckets.set(key, { tokens: refilled - cost, updatedAt: now });
    return { allowed: true, remaining: Math.floor(refilled - cost), retryAfterMs: 0 };
  }
  buckets.set(key, { tokens: refilled, updatedAt: now });
  const retryAfterMs = rule.refillPerSecond > 0 ? Math.ceil(((cost - refilled) / rule.refillPerSecond) * 1000) : Number.MAX_SAFE_INTEGER;
  return { allowed: false, remaining: Math.floor(refilled), retryAfterMs };
}
