/**
 * Coordination: the one interface the kernel and plugins use for cross-process work.
 * Two adapters implement it: Redis (several instances) and in-process (the embedded default).
 * Both are held to the same contract suite (test/kernel/coordination.contract.test.ts).
 */

/** A held lock. `release` and `extend` only act while this holder still owns the key (compare-and-delete). */
export interface HeldLock {
  readonly key: string;
  /** The fencing value written into the key; unique per acquisition. */
  readonly token: string;
  /** Releases the lock if still held by this token; true when it was. */
  release(): Promise<boolean>;
  /** Pushes the expiry to now + ttlMs if still held by this token; true when it was. */
  extend(ttlMs: number): Promise<boolean>;
}

export interface StreamEntry {
  id: string;
  fields: Record<string, string>;
  /** How many times this entry was delivered (1 on first delivery). */
  deliveries: number;
}

export interface PendingSummary {
  count: number;
  /** Per consumer: number of entries delivered and not yet acknowledged. */
  consumers: Record<string, number>;
  /** The smallest pending entry id (`<ms>-<seq>`: its first part is when it was added), or null when none is pending. */
  oldestId: string | null;
}

export interface RateLimitRule {
  /** Bucket size: how many tokens a full bucket holds. */
  capacity: number;
  /** Tokens added back per second (may be fractional). */
  refillPerSecond: number;
}

export interface RateLimitResult {
  allowed: boolean;
  /** Whole tokens left after this take. */
  remaining: number;
  /** When not allowed: ms until enough tokens are back; 0 when allowed. */
  retryAfterMs: number;
}

export type Unsubscribe = () => Promise<void>;

export interface Coordination {
  readonly kind: "redis" | "memory";

  /** Locks: SET NX PX semantics. Returns null when another holder has the key. */
  acquireLock(key: string, ttlMs: number): Promise<HeldLock | null>;

  /** Streams with consumer groups (XADD / XGROUP / XREADGROUP / XACK / XAUTOCLAIM semantics). */
  streamAdd(stream: string, fields: Record<string, string>): Promise<string>;
  /** Creates the group (reading from the start of the stream) if it does not exist; idempotent. */
  streamEnsureGroup(stream: string, group: string): Promise<void>;
  /** New entries for this consumer; waits up to blockMs (0 = do not wait) when none are there. */
  streamRead(stream: string, group: string, consumer: string, opts?: { count?: number; blockMs?: number }): Promise<StreamEntry[]>;
  streamAck(stream: string, group: string, ids: string[]): Promise<number>;
  /** Moves entries pending longer than minIdleMs (delivered, never acked) to this consumer and returns them. */
  streamClaimStale(stream: string, group: string, consumer: string, minIdleMs: number, count?: number): Promise<StreamEntry[]>;
  streamPending(stream: string, group: string): Promise<PendingSummary>;
  streamLength(stream: string): Promise<number>;

  /** Pub/sub: messages are strings; every subscriber (in every instance, on Redis) gets every message published after it subscribed. */
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe>;

  /** Cache with TTL; values are strings (callers JSON-encode). */
  cacheGet(key: string): Promise<string | null>;
  cacheSet(key: string, value: string, ttlMs: number): Promise<void>;
  cacheDelete(key: string): Promise<void>;
  /** Every live cache entry whose key starts with `prefix`, as key -> value (for small registries, not hot paths). */
  cacheScan(prefix: string): Promise<Map<string, string>>;

  /** Token bucket: takes `cost` tokens (default 1) from the bucket `key` if available. */
  rateLimit(key: string, rule: RateLimitRule, cost?: number): Promise<RateLimitResult>;

  /**
   * Calls `handler` each time the connection to the shared backend comes back after it was lost, once this
   * process's subscriptions are active again, with how long it was away. Whatever was published meanwhile did
   * not arrive, and a Redis restarted without persistence lost every key, stream and group: a handler resyncs
   * what it keeps from the database. The in-process adapter never loses its backend and never calls it.
   */
  onReconnect(handler: (downMs: number) => void): Unsubscribe;

  /** Health probe for /readyz. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
