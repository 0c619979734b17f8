import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { Coordination, HeldLock, RateLimitRule, StreamEntry, Unsubscribe } from "./types.js";

/** Deletes the key only if it still holds our token: a late release never frees someone else's lock. */
const RELEASE_IF_OWNER = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
const EXTEND_IF_OWNER = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;

/**
 * Token bucket in one atomic step, on the Redis server's clock (so instances with drifting clocks agree).
 * KEYS[1] bucket hash; ARGV capacity, refill per second, cost. Returns {allowed, remaining, retryAfterMs}.
 */
const TAKE_TOKENS = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1]) or capacity
local updated = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - updated) / 1000 * rate)
local allowed = 0
local retry = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
elseif rate > 0 then
  retry = math.ceil((cost - tokens) / rate * 1000)
else
  retry = 9007199254740991
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', now)
local ttl = 1000
if rate > 0 then ttl = math.ceil(capacity / rate * 1000) + 1000 end
redis.call('PEXPIRE', KEYS[1], ttl)
return {allowed, math.floor(tokens), retry}
`;

/**
 * Coordination on Redis, for several instances. Every key and channel carries the prefix so deployments (and
 * test runs) can share a server. Blocking stream reads use their own connection so they never hold up the
 * shared one.
 */
export function createRedisCoordination(url: string, keyPrefix: string): Coordination {
  const options = { maxRetriesPerRequest: 3, enableReadyCheck: true, lazyConnect: false };
  const client = new Redis(url, options);
  const extraConnections = new Set<Redis>();
  let subscriber: Redis | null = null;
  const handlers = new Map<string, Set<(message: string) => void>>();
  // An outage must surface as failed calls (and /readyz "down"), not as an unhandled 'error' event.
  client.on("error", () => {});
  const k = (key: string) => `${keyPrefix}${key}`;

  const toEntries = (reply: unknown, deliveries = 1): StreamEntry[] =>
    ((reply as Array<[string, string[]]> | null) ?? []).filter(([, flat]) => flat !== null).map(([id, flat]) => {
      const fields: Record<string, string> = {};
      for (let i = 0; i < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
      return { id, fields, deliveries };
    });

  const connection = () => {
    const extra = client.duplicate();
    extra.on("error", () => {});
    extraConnections.add(extra);
    return extra;
  };

  return {
    kind: "redis",

    async acquireLock(key, ttlMs) {
      const token = randomUUID();
      const result = await client.set(k(key), token, "PX", ttlMs, "NX");
      if (result !== "OK") return null;
      const held: HeldLock = {
        key,
        token,
        release: async () => (await client.eval(RELEASE_IF_OWNER, 1, k(key), token)) === 1,
        extend: async (ms) => (await client.eval(EXTEND_IF_OWNER, 1, k(key), token, String(ms))) === 1,
      };
      return held;
    },

    async streamAdd(stream, fields) {
      return (await client.xadd(k(stream), "*", ...Object.entries(fields).flat())) as string;
    },

    async streamEnsureGroup(stream, group) {
      try {
        await client.xgroup("CREATE", k(stream), group, "0", "MKSTREAM");
      } catch (error) {
        if (!String((error as Error).message).includes("BUSYGROUP")) throw error;
      }
    },

    async streamRead(stream, group, consumer, opts = {}) {
      const count = opts.count ?? 10;
      if (!opts.blockMs) {
        const reply = (await client.xreadgroup("GROUP", group, consumer, "COUNT", count, "STREAMS", k(stream), ">")) as Array<[string, Array<[string, string[]]>]> | null;
        return toEntries(reply?.[0]?.[1]);
      }
      const blocking = connection();
      try {
        const reply = (await blocking.xreadgroup("GROUP", group, consumer, "COUNT", count, "BLOCK", opts.blockMs, "STREAMS", k(stream), ">")) as Array<[string, Array<[string, string[]]>]> | null;
        return toEntries(reply?.[0]?.[1]);
      } catch (error) {
        if (blocking.status === "end" || blocking.status === "close") return []; // closed while waiting
        throw error;
      } finally {
        extraConnections.delete(blocking);
        blocking.disconnect();
      }
    },

    async streamAck(stream, group, ids) {
      if (ids.length === 0) return 0;
      return client.xack(k(stream), group, ...ids);
    },

    async streamClaimStale(stream, group, consumer, minIdleMs, count = 10) {
      const reply = (await client.xautoclaim(k(stream), group, consumer, minIdleMs, "0-0", "COUNT", count)) as [string, Array<[string, string[]]>, string[]?];
      const entries = toEntries(reply[1]);
      if (entries.length === 0) return entries;
      // XAUTOCLAIM counts the delivery; read the counters back so callers can give up on poison entries.
      const details = (await client.xpending(k(stream), group, entries[0]!.id, entries[entries.length - 1]!.id, entries.length * 2 + 10)) as Array<[string, string, number, number]>;
      const deliveries = new Map(details.map(([id, , , times]) => [id, Number(times)]));
      return entries.map((e) => ({ ...e, deliveries: deliveries.get(e.id) ?? 2 }));
    },

    async streamPending(stream, group) {
      const [count, , , perConsumer] = (await client.xpending(k(stream), group)) as [number, string | null, string | null, Array<[string, string]> | null];
      return { count: Number(count), consumers: Object.fromEntries((perConsumer ?? []).map(([name, n]) => [name, Number(n)])) };
    },

    async streamLength(stream) {
      return client.xlen(k(stream));
    },

    async publish(channel, message) {
      await client.publish(k(channel), message);
    },

    async subscribe(channel, handler): Promise<Unsubscribe> {
      if (!subscriber) {
        subscriber = connection();
        subscriber.on("message", (fullChannel: string, message: string) => {
          for (const h of [...(handlers.get(fullChannel) ?? [])]) h(message);
        });
      }
      const full = k(channel);
      const subscription = (message: string) => handler(message);
      let set = handlers.get(full);
      if (!set) {
        set = new Set();
        handlers.set(full, set);
        await subscriber.subscribe(full);
      }
      set.add(subscription);
      return async () => {
        set!.delete(subscription);
        if (set!.size === 0 && handlers.get(full) === set) {
          handlers.delete(full);
          await subscriber?.unsubscribe(full).catch(() => {});
        }
      };
    },

    async cacheGet(key) {
      return client.get(k(key));
    },

    async cacheSet(key, value, ttlMs) {
      await client.set(k(key), value, "PX", ttlMs);
    },

    async cacheDelete(key) {
      await client.del(k(key));
    },

    async rateLimit(key, rule: RateLimitRule, cost = 1) {
      const [allowed, remaining, retryAfterMs] = (await client.eval(TAKE_TOKENS, 1, k(`ratelimit:${key}`), String(rule.capacity), String(rule.refillPerSecond), String(cost))) as [number, number, number];
      return { allowed: allowed === 1, remaining: Number(remaining), retryAfterMs: Number(retryAfterMs) };
    },

    async ping() {
      try {
        return (await client.ping()) === "PONG";
      } catch {
        return false;
      }
    },

    async close() {
      for (const extra of extraConnections) extra.disconnect();
      extraConnections.clear();
      subscriber = null;
      handlers.clear();
      await client.quit().catch(() => client.disconnect());
    },
  };
}
