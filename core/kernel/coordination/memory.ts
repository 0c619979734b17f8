import { randomUUID } from "node:crypto";
import type { Coordination, HeldLock, PendingSummary, RateLimitResult, RateLimitRule, StreamEntry, Unsubscribe } from "./types.js";

/** Expiry is checked on every read; this sweep only bounds memory for keys nobody reads again. */
const SWEEP_INTERVAL_MS = 30_000;
/** retryAfterMs for a take that can never succeed (no refill, or cost above capacity); Redis returns the same. */
const NEVER = Number.MAX_SAFE_INTEGER;

interface PendingEntry {
  consumer: string;
  deliveries: number;
  deliveredAt: number;
}

interface Group {
  /** Index in the stream's entry list of the next entry never delivered to this group (Redis: last-delivered id). */
  nextIndex: number;
  /** Insertion order is id order, which is the order XAUTOCLAIM scans in. */
  pending: Map<string, PendingEntry>;
}

interface Stream {
  entries: Array<{ id: string; fields: Record<string, string> }>;
  byId: Map<string, Record<string, string>>;
  groups: Map<string, Group>;
  lastMs: number;
  lastSeq: number;
  /** Blocked readers, woken on every add (and on close). */
  waiters: Set<() => void>;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
  /** When the bucket is full again; from then on a missing bucket means the same thing, so it can be dropped. */
  fullAt: number;
}

/**
 * In-process coordination for the embedded, single-process default. Same semantics as the Redis adapter
 * (the contract suite runs against both); nothing here is shared with another process.
 */
export function createMemoryCoordination(): Coordination {
  const locks = new Map<string, { token: string; expiresAt: number }>();
  const cache = new Map<string, { value: string; expiresAt: number }>();
  const buckets = new Map<string, Bucket>();
  const channels = new Map<string, Set<(message: string) => void>>();
  const streams = new Map<string, Stream>();
  let closed = false;

  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const [key, lock] of locks) if (lock.expiresAt <= now) locks.delete(key);
    for (const [key, hit] of cache) if (hit.expiresAt <= now) cache.delete(key);
    for (const [key, bucket] of buckets) if (bucket.fullAt <= now) buckets.delete(key);
  }, SWEEP_INTERVAL_MS);
  sweeper.unref(); // background housekeeping must not keep the process alive

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
      s = { entries: [], byId: new Map(), groups: new Map(), lastMs: 0, lastSeq: 0, waiters: new Set() };
      streams.set(name, s);
    }
    return s;
  };

  const group = (streamName: string, groupName: string): Group => {
    const g = streams.get(streamName)?.groups.get(groupName);
    if (!g) throw new Error(`NOGROUP No such key '${streamName}' or consumer group '${groupName}'`);
    return g;
  };

  const deliverNew = (streamName: string, groupName: string, consumer: string, count: number): StreamEntry[] => {
    const g = group(streamName, groupName);
    const s = stream(streamName);
    const out: StreamEntry[] = [];
    while (g.nextIndex < s.entries.length && out.length < count) {
      const entry = s.entries[g.nextIndex++]!;
      g.pending.set(entry.id, { consumer, deliveries: 1, deliveredAt: Date.now() });
      out.push({ id: entry.id, fields: { ...entry.fields }, deliveries: 1 });
    }
    return out;
  };

  /** Resolves on the next add to the stream, on close, or after ms. */
  const nextAdd = (s: Stream, ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        s.waiters.delete(wake);
        resolve();
      };
      // Not unref'd: like a blocked Redis socket, a pending read is work in progress (it is cleared on close).
      const timer = setTimeout(wake, ms);
      s.waiters.add(wake);
    });

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
      // XADD needs at least one field; failing here too keeps the embedded default from hiding the bug.
      if (Object.keys(fields).length === 0) throw new Error("ERR wrong number of arguments for 'xadd' command");
      const s = stream(name);
      const now = Date.now();
      if (now > s.lastMs) {
        s.lastMs = now;
        s.lastSeq = 0;
      } else {
        s.lastSeq++; // same millisecond, or the clock went back: ids must still increase
      }
      const id = `${s.lastMs}-${s.lastSeq}`;
      const copy = { ...fields };
      s.entries.push({ id, fields: copy });
      s.byId.set(id, copy);
      for (const wake of [...s.waiters]) wake();
      return id;
    },

    async streamEnsureGroup(name, groupName) {
      const s = stream(name);
      if (!s.groups.has(groupName)) s.groups.set(groupName, { nextIndex: 0, pending: new Map() });
    },

    async streamRead(name, groupName, consumer, opts = {}) {
      const count = opts.count ?? 10;
      const deadline = Date.now() + (opts.blockMs ?? 0);
      // Loop because another consumer of the group may take the entry that woke us; Redis keeps us blocked then.
      for (;;) {
        if (closed) return [];
        const entries = deliverNew(name, groupName, consumer, count);
        const wait = deadline - Date.now();
        if (entries.length > 0 || wait <= 0) return entries;
        await nextAdd(stream(name), wait);
      }
    },

    async streamAck(name, groupName, ids) {
      const g = group(name, groupName);
      let acked = 0;
      for (const id of ids) if (g.pending.delete(id)) acked++;
      return acked;
    },

    async streamClaimStale(name, groupName, consumer, minIdleMs, count = 10) {
      const g = group(name, groupName);
      const s = stream(name);
      const now = Date.now();
      const out: StreamEntry[] = [];
      for (const [id, pending] of g.pending) {
        if (out.length >= count) break;
        if (now - pending.deliveredAt < minIdleMs) continue;
        pending.consumer = consumer;
        pending.deliveries++;
        pending.deliveredAt = now;
        out.push({ id, fields: { ...s.byId.get(id)! }, deliveries: pending.deliveries });
      }
      return out;
    },

    async streamPending(name, groupName): Promise<PendingSummary> {
      const g = group(name, groupName);
      const consumers: Record<string, number> = {};
      let oldestId: string | null = null;
      for (const [id, p] of g.pending) {
        consumers[p.consumer] = (consumers[p.consumer] ?? 0) + 1;
        if (oldestId === null || compareIds(id, oldestId) < 0) oldestId = id;
      }
      return { count: g.pending.size, consumers, oldestId };
    },

    async streamLength(name) {
      return streams.get(name)?.entries.length ?? 0;
    },

    async publish(channel, message) {
      // Asynchronous like Redis: a publisher never runs subscriber code on its own stack.
      for (const handler of [...(channels.get(channel) ?? [])]) queueMicrotask(() => deliver(channel, handler, message));
    },

    async subscribe(channel, handler): Promise<Unsubscribe> {
      // Wrap so the same function subscribed twice is two subscriptions, like two Redis clients.
      const subscription = (message: string) => handler(message);
      const set = channels.get(channel) ?? new Set();
      set.add(subscription);
      channels.set(channel, set);
      return async () => {
        set.delete(subscription);
        if (set.size === 0 && channels.get(channel) === set) channels.delete(channel);
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

    async cacheScan(prefix) {
      const now = Date.now();
      const found = new Map<string, string>();
      for (const [key, hit] of cache) if (key.startsWith(prefix) && hit.expiresAt > now) found.set(key, hit.value);
      return found;
    },

    async rateLimit(key, rule: RateLimitRule, cost = 1): Promise<RateLimitResult> {
      const { bucket, result } = takeTokens(buckets.get(key), rule, cost, Date.now());
      buckets.set(key, bucket);
      return result;
    },

    // Nothing to lose: the backend is this process.
    onReconnect: () => async () => {},

    async ping() {
      return !closed;
    },

    async close() {
      closed = true;
      clearInterval(sweeper);
      for (const s of streams.values()) for (const wake of [...s.waiters]) wake();
      channels.clear();
    },
  };
}

/** A throwing subscriber must neither crash the process nor stop the others; it surfaces as a process warning. */
function deliver(channel: string, handler: (message: string) => void, message: string) {
  try {
    handler(message);
  } catch (error) {
    process.emitWarning(`a subscriber on channel "${channel}" threw: ${error instanceof Error ? error.message : String(error)}`, "CoordinationWarning");
  }
}

/** Token bucket with continuous refill by elapsed time; the same arithmetic as the Redis adapter's Lua script. */
function takeTokens(previous: Bucket | undefined, rule: RateLimitRule, cost: number, now: number): { bucket: Bucket; result: RateLimitResult } {
  const { capacity, refillPerSecond: rate } = rule;
  const elapsed = previous ? Math.max(0, now - previous.updatedAt) : 0;
  let tokens = Math.min(capacity, (previous?.tokens ?? capacity) + (elapsed / 1000) * rate);
  const allowed = tokens >= cost;
  if (allowed) tokens -= cost;
  const retryAfterMs = allowed ? 0 : rate <= 0 || cost > capacity ? NEVER : Math.ceil(((cost - tokens) / rate) * 1000);
  const fullAt = rate > 0 ? now + ((capacity - tokens) / rate) * 1000 : Infinity;
  return { bucket: { tokens, updatedAt: now, fullAt }, result: { allowed, remaining: Math.floor(tokens), retryAfterMs } };
}

/** Orders stream ids (`<ms>-<seq>`) as Redis does: by time, then sequence. */
function compareIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split("-").map(Number) as [number, number];
  const [bMs, bSeq] = b.split("-").map(Number) as [number, number];
  return aMs - bMs || aSeq - bSeq;
}
