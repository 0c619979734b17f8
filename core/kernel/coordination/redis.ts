import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { Coordination, HeldLock, RateLimitRule, StreamEntry, Unsubscribe } from "./types.js";

/** Deletes the key only if it still holds our token: a late release never frees someone else's lock. */
const RELEASE_IF_OWNER = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
const EXTEND_IF_OWNER = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;

/**
 * XAUTOCLAIM, following its cursor (one call scans only COUNT*10 pending entries, so stale entries behind fresher
 * ones would be missed), then XPENDING per entry for the delivery count XAUTOCLAIM just raised. In one script so
 * the counts are the ones this claim produced. KEYS[1] stream; ARGV group, consumer, minIdleMs, count.
 */
const CLAIM_STALE = `
local want = tonumber(ARGV[4])
local out = {}
local cursor = '0-0'
repeat
  local reply = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], cursor, 'COUNT', want - #out)
  cursor = reply[1]
  for _, entry in ipairs(reply[2]) do
    if entry[2] then
      local info = redis.call('XPENDING', KEYS[1], ARGV[1], entry[1], entry[1], 1)[1]
      out[#out + 1] = {entry[1], entry[2], info[4]}
    end
  end
until cursor == '0-0' or #out >= want
return out
`;

/**
 * Token bucket in one atomic step, on the Redis server's clock (so instances with drifting clocks agree).
 * KEYS[1] bucket hash; ARGV capacity, refill per second, cost. Returns {allowed, remaining, retryAfterMs}.
 * The key expires when the bucket would be full again: a missing bucket is a full one.
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
elseif rate <= 0 or cost > capacity then
  retry = 9007199254740991
else
  retry = math.ceil((cost - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', now)
if rate > 0 then
  redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((capacity - tokens) / rate * 1000)))
else
  redis.call('PERSIST', KEYS[1])
end
return {allowed, math.floor(tokens), retry}
`;

const PING_TIMEOUT_MS = 2_000;
/** Idle blocking-read connections kept for reuse; more are opened under load and closed when returned. */
const MAX_IDLE_BLOCKING = 4;

type ReadReply = Array<[stream: string, entries: Array<[id: string, flat: string[]]>]> | null;

/** Redis wants whole, positive milliseconds. */
const ms = (n: number) => Math.max(1, Math.ceil(n));

/**
 * Coordination on Redis, for several instances. Every key and channel carries the prefix so deployments (and
 * test runs) can share a server; each kind gets its own sub-prefix so a lock, a cache key and a stream with the
 * same name never collide (as in the in-process adapter). Blocking stream reads and subscriptions use their own
 * connections so they never hold up the shared one.
 */
export function createRedisCoordination(url: string, keyPrefix: string): Coordination {
  // Fail commands after a few reconnect attempts during an outage rather than queueing them forever.
  const client = new Redis(url, { maxRetriesPerRequest: 3 });
  // An outage must surface as failed calls (and /readyz "down"), not as an unhandled 'error' event that kills the process.
  client.on("error", () => {});
  const key = {
    lock: (name: string) => `${keyPrefix}lock:${name}`,
    stream: (name: string) => `${keyPrefix}stream:${name}`,
    cache: (name: string) => `${keyPrefix}cache:${name}`,
    bucket: (name: string) => `${keyPrefix}ratelimit:${name}`,
    channel: (name: string) => `${keyPrefix}${name}`,
  };
  let closed = false;

  const duplicate = () => {
    const connection = client.duplicate();
    connection.on("error", () => {});
    return connection;
  };

  const idleBlocking: Redis[] = [];
  const busyBlocking = new Set<Redis>();
  const takeBlocking = () => {
    const connection = idleBlocking.pop() ?? duplicate();
    busyBlocking.add(connection);
    return connection;
  };
  const returnBlocking = (connection: Redis) => {
    busyBlocking.delete(connection);
    if (!closed && connection.status === "ready" && idleBlocking.length < MAX_IDLE_BLOCKING) idleBlocking.push(connection);
    else void quit(connection);
  };

  let subscriber: Redis | null = null;
  const channels = new Map<string, { handlers: Set<(message: string) => void>; subscribed: Promise<unknown> }>();
  const subscriberConnection = () => {
    if (!subscriber) {
      subscriber = duplicate();
      subscriber.on("message", (channel: string, message: string) => {
        for (const handler of [...(channels.get(channel)?.handlers ?? [])]) deliver(channel.slice(keyPrefix.length), handler, message);
      });
      watchConnection(subscriber);
    }
    return subscriber;
  };

  // Reconnection: ioredis reconnects each connection by itself and re-subscribes the subscriber's channels.
  // What it cannot give back is what happened meanwhile (messages published, keys and streams of a restarted
  // server), so onReconnect's handlers are told once the shared connection and the subscriber are both back.
  const reconnectHandlers = new Set<(downMs: number) => void>();
  let lostAt: number | null = null;
  const restored = async () => {
    if (closed || lostAt === null || client.status !== "ready") return;
    const current = subscriber;
    if (current && current.status !== "ready") return; // its own "ready" comes later and calls this again
    const downMs = Date.now() - lostAt;
    lostAt = null;
    try {
      // ioredis re-sent SUBSCRIBE before "ready"; asking again (idempotent) and awaiting the reply makes sure the
      // channels are live before handlers resync: a message published after that is delivered, one before is in the database.
      if (current && channels.size > 0) await current.subscribe(...channels.keys());
    } catch {
      lostAt ??= Date.now() - downMs; // lost again at once: the next "ready" tries again
      return;
    }
    for (const handler of [...reconnectHandlers]) {
      try {
        handler(downMs);
      } catch (error) {
        process.emitWarning(`a reconnect handler threw: ${error instanceof Error ? error.message : String(error)}`, "CoordinationWarning");
      }
    }
  };
  function watchConnection(connection: Redis): void {
    connection.on("close", () => {
      if (!closed) lostAt ??= Date.now();
    });
    connection.on("ready", () => void restored());
  }
  watchConnection(client);

  /** XREADGROUP ">" (new entries only), so every returned entry is on its first delivery. */
  const readNew = async (connection: Redis, stream: string, group: string, consumer: string, count: number, blockMs?: number) => {
    const k = key.stream(stream);
    const reply = (blockMs
      ? await connection.xreadgroup("GROUP", group, consumer, "COUNT", count, "BLOCK", blockMs, "STREAMS", k, ">")
      : await connection.xreadgroup("GROUP", group, consumer, "COUNT", count, "STREAMS", k, ">")) as ReadReply;
    return (reply?.[0]?.[1] ?? []).map(([id, flat]): StreamEntry => ({ id, fields: toFields(flat), deliveries: 1 }));
  };

  return {
    kind: "redis",

    async acquireLock(name, ttlMs) {
      const token = randomUUID();
      const k = key.lock(name);
      if ((await client.set(k, token, "PX", ms(ttlMs), "NX")) !== "OK") return null;
      const held: HeldLock = {
        key: name,
        token,
        release: async () => (await client.eval(RELEASE_IF_OWNER, 1, k, token)) === 1,
        extend: async (ttl) => (await client.eval(EXTEND_IF_OWNER, 1, k, token, ms(ttl))) === 1,
      };
      return held;
    },

    async streamAdd(stream, fields) {
      return (await client.xadd(key.stream(stream), "*", ...Object.entries(fields).flat())) as string;
    },

    async streamEnsureGroup(stream, group) {
      try {
        await client.xgroup("CREATE", key.stream(stream), group, "0", "MKSTREAM");
      } catch (error) {
        if (!String((error as Error).message).includes("BUSYGROUP")) throw error;
      }
    },

    async streamRead(stream, group, consumer, opts = {}) {
      if (closed) return [];
      const count = opts.count ?? 10;
      if (!opts.blockMs || opts.blockMs <= 0) return readNew(client, stream, group, consumer, count);
      // A blocked XREADGROUP holds its connection until it returns, so it gets one of its own.
      const connection = takeBlocking();
      try {
        return await readNew(connection, stream, group, consumer, count, ms(opts.blockMs));
      } catch (error) {
        if (closed) return []; // close() cut the connection to wake us
        throw error;
      } finally {
        returnBlocking(connection);
      }
    },

    async streamAck(stream, group, ids) {
      if (ids.length === 0) return 0;
      return client.xack(key.stream(stream), group, ...ids);
    },

    async streamClaimStale(stream, group, consumer, minIdleMs, count = 10) {
      const reply = (await client.eval(CLAIM_STALE, 1, key.stream(stream), group, consumer, Math.max(0, Math.ceil(minIdleMs)), count)) as Array<[string, string[], number]>;
      return reply.map(([id, flat, deliveries]) => ({ id, fields: toFields(flat), deliveries: Number(deliveries) }));
    },

    async streamPending(stream, group) {
      const [count, oldestId, , perConsumer] = (await client.xpending(key.stream(stream), group)) as [number, string | null, string | null, Array<[string, string]> | null];
      return { count: Number(count), consumers: Object.fromEntries((perConsumer ?? []).map(([name, n]) => [name, Number(n)])), oldestId: oldestId ?? null };
    },

    async streamLength(stream) {
      return client.xlen(key.stream(stream));
    },

    async publish(channel, message) {
      await client.publish(key.channel(channel), message);
    },

    async subscribe(channel, handler): Promise<Unsubscribe> {
      if (closed) throw new Error("coordination is closed");
      const full = key.channel(channel);
      let entry = channels.get(full);
      if (!entry) {
        entry = { handlers: new Set(), subscribed: subscriberConnection().subscribe(full) };
        channels.set(full, entry);
      }
      const { handlers } = entry;
      // Wrap so the same function subscribed twice is two subscriptions.
      const subscription = (message: string) => handler(message);
      handlers.add(subscription);
      const unsubscribe = async () => {
        handlers.delete(subscription);
        if (handlers.size > 0 || channels.get(full)?.handlers !== handlers) return;
        channels.delete(full);
        // Nothing to undo if this fails (e.g. during an outage): messages for a channel without handlers are dropped.
        await subscriber?.unsubscribe(full).catch(() => {});
      };
      try {
        // A second subscriber to a channel must also wait until Redis confirmed the SUBSCRIBE, or it could miss messages.
        await entry.subscribed;
      } catch (error) {
        await unsubscribe();
        throw error;
      }
      return unsubscribe;
    },

    async cacheGet(name) {
      return client.get(key.cache(name));
    },

    async cacheSet(name, value, ttlMs) {
      await client.set(key.cache(name), value, "PX", ms(ttlMs));
    },

    async cacheDelete(name) {
      await client.del(key.cache(name));
    },

    async cacheScan(prefix) {
      const full = key.cache("");
      const found = new Map<string, string>();
      let cursor = "0";
      do {
        const [next, keys] = await client.scan(cursor, "MATCH", `${globEscape(full + prefix)}*`, "COUNT", 500);
        cursor = next;
        if (keys.length === 0) continue;
        // A key may expire between SCAN and MGET: its value is then null and it is left out.
        const values = await client.mget(...keys);
        keys.forEach((k, i) => {
          const value = values[i];
          if (value !== null && value !== undefined) found.set(k.slice(full.length), value);
        });
      } while (cursor !== "0");
      return found;
    },

    async rateLimit(name, rule: RateLimitRule, cost = 1) {
      const reply = (await client.eval(TAKE_TOKENS, 1, key.bucket(name), rule.capacity, rule.refillPerSecond, cost)) as [number, number, number];
      const [allowed, remaining, retryAfterMs] = reply.map(Number) as [number, number, number];
      return { allowed: allowed === 1, remaining, retryAfterMs };
    },

    onReconnect(handler) {
      const own = (downMs: number) => handler(downMs);
      reconnectHandlers.add(own);
      return async () => {
        reconnectHandlers.delete(own);
      };
    },

    async ping() {
      if (closed) return false;
      // During an outage a command waits for reconnect attempts; a health probe must answer promptly instead.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS);
        timer.unref();
      });
      const pong = client.ping().then(
        (reply) => reply === "PONG",
        () => false,
      );
      try {
        return await Promise.race([pong, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      // Cutting a blocked connection rejects its XREADGROUP, which streamRead turns into [].
      for (const connection of busyBlocking) connection.disconnect();
      busyBlocking.clear();
      channels.clear();
      reconnectHandlers.clear();
      const others = [...idleBlocking.splice(0), ...(subscriber ? [subscriber] : [])];
      subscriber = null;
      await Promise.all([...others, client].map(quit));
    },
  };
}

/** QUIT when connected (lets replies in flight arrive); otherwise just drop the socket and stop reconnecting. */
async function quit(connection: Redis): Promise<void> {
  if (connection.status !== "ready") return connection.disconnect();
  await connection.quit().then(
    () => {},
    () => connection.disconnect(),
  );
}

/** SCAN MATCH treats * ? [ ] and \\ as pattern syntax; a prefix must match them literally. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

function toFields(flat: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  return fields;
}

/** A throwing subscriber must neither crash the process nor stop the others; it surfaces as a process warning. */
function deliver(channel: string, handler: (message: string) => void, message: string) {
  try {
    handler(message);
  } catch (error) {
    process.emitWarning(`a subscriber on channel "${channel}" threw: ${error instanceof Error ? error.message : String(error)}`, "CoordinationWarning");
  }
}
