import { AsyncLocalStorage } from "node:async_hooks";
import type { Coordination, Unsubscribe } from "./coordination/types.js";
import type { Logger } from "./log.js";
import type { HandlerFailureObserver } from "./metrics/observers.js";

/**
 * Domain events by name. Layers above the kernel add their events by declaration merging:
 *
 *   declare module "../kernel/events.js" { interface EventMap { "solve.created": SolveCreated } }
 *
 * Names not declared still work, with an `unknown` payload.
 */
export interface EventMap {
  /**
   * Local to each process (never broadcast): its Redis connection came back after `downMs` without it. Broadcasts
   * sent meanwhile never arrived, and a restarted Redis lost its keys and streams: resync from the database.
   */
  "kernel.coordination.restored": { downMs: number };
}

export type EventName = keyof EventMap | (string & {});
export type EventPayload<K> = K extends keyof EventMap ? EventMap[K] : unknown;

export interface EventMeta {
  name: string;
  /** The instance that emitted the event. */
  origin: string;
  /** False when the event arrived from another instance through pub/sub. */
  local: boolean;
}

export type EventHandler<K extends EventName> = (payload: EventPayload<K>, meta: EventMeta) => void | Promise<void>;

export interface HandlerOptions {
  /**
   * The handler keeps state that answers reads on this instance (a cache, in-memory standings). The answer to a
   * request whose write emitted the event is then held until the handler has applied it (read-your-writes).
   * Leave it off for work a reader never waits for (streams, notifications, webhooks): it would slow writes.
   */
  servesReads?: boolean;
}

interface Subscription {
  owner: string;
  handler: EventHandler<string>;
  servesReads: boolean;
}

/** What one request's writes set in motion: the read-serving handlers its events started. */
interface RequestWrites {
  /** Set at emit time (inside the write): an event with read-serving handlers is on its way. */
  emitted: boolean;
  applying: Array<Promise<void>>;
}

const BROADCAST_CHANNEL = "kernel:events";

/**
 * The in-process event bus. `emit` inside a database transaction delivers after commit (and never on
 * rollback); handlers run one by one, each isolated: a throwing handler is logged with its owner and never
 * reaches the emitter. Events emitted with `broadcast` also reach every other instance through pub/sub.
 */
export class EventBus {
  private readonly handlers = new Map<string, Subscription[]>();
  private readonly inFlight = new Set<Promise<void>>();
  /** Broadcast events waiting for this turn's publish. */
  private readonly outbox: Array<{ name: string; payload: unknown }> = [];
  private unsubscribeBroadcast: Unsubscribe | null = null;
  /** The request (if any) whose code is emitting: see answerAfterLocalReads. */
  private readonly requestWrites = new AsyncLocalStorage<RequestWrites>();

  constructor(
    private readonly deps: {
      log: Logger;
      instanceId: string;
      coordination: Coordination;
      /** Defers a callback until the current transaction commits (Database.afterCommit). */
      afterCommit: (fn: () => void) => void;
      /** Told of every handler that throws (metrics). */
      observer?: HandlerFailureObserver;
    },
  ) {}

  /** Starts receiving broadcast events from other instances (only meaningful with Redis). */
  async connect(): Promise<void> {
    if (this.unsubscribeBroadcast || this.deps.coordination.kind !== "redis") return;
    this.unsubscribeBroadcast = await this.deps.coordination.subscribe(BROADCAST_CHANNEL, (message) => {
      let parsed: { origin: string; events?: Array<{ name: string; payload: unknown }>; name?: string; payload?: unknown };
      try {
        parsed = JSON.parse(message);
      } catch {
        this.deps.log.warn("dropped a malformed broadcast event");
        return;
      }
      if (parsed.origin === this.deps.instanceId) return; // already delivered locally
      // A batch of events; a single `{name, payload}` is what instances of an earlier version send during an upgrade.
      const events = parsed.events ?? [{ name: parsed.name!, payload: parsed.payload }];
      for (const { name, payload } of events) this.dispatch(name, payload, { name, origin: parsed.origin, local: false });
    });
  }

  async disconnect(): Promise<void> {
    await this.unsubscribeBroadcast?.();
    this.unsubscribeBroadcast = null;
  }

  /** Subscribes `owner` (a plugin id or "kernel") to an event; returns the function that removes it. */
  on<K extends EventName>(owner: string, name: K, handler: EventHandler<K>, options: HandlerOptions = {}): () => void {
    const list = this.handlers.get(name) ?? [];
    const subscription: Subscription = { owner, handler: handler as EventHandler<string>, servesReads: options.servesReads === true };
    list.push(subscription);
    this.handlers.set(name, list);
    return () => {
      const current = this.handlers.get(name) ?? [];
      this.handlers.set(
        name,
        current.filter((s) => s !== subscription),
      );
    };
  }

  /** Removes every handler `owner` registered (plugin withdrawal). */
  removeOwner(owner: string): void {
    for (const [name, list] of this.handlers) this.handlers.set(name, list.filter((s) => s.owner !== owner));
  }

  handlerCount(owner?: string): number {
    let count = 0;
    for (const list of this.handlers.values()) count += owner ? list.filter((s) => s.owner === owner).length : list.length;
    return count;
  }

  emit<K extends EventName>(name: K, payload: EventPayload<K>, options: { broadcast?: boolean } = {}): void {
    const writes = this.requestWrites.getStore();
    if (writes && this.handlers.get(name)?.some((s) => s.servesReads)) writes.emitted = true;
    this.deps.afterCommit(() => {
      const applying = this.dispatch(name, payload, { name, origin: this.deps.instanceId, local: true });
      writes?.applying.push(...applying);
      if (options.broadcast && this.deps.coordination.kind === "redis") this.queueBroadcast(name, payload);
    });
  }

  /**
   * Broadcast events committed in the same turn of the event loop go out as one message, in order: a burst of
   * solves costs one publish (and one delivery to each instance) instead of one per event.
   */
  private queueBroadcast(name: string, payload: unknown): void {
    this.outbox.push({ name, payload });
    if (this.outbox.length > 1) return; // a flush is already scheduled
    const flush = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      const events = this.outbox.splice(0);
      try {
        await this.deps.coordination.publish(BROADCAST_CHANNEL, JSON.stringify({ origin: this.deps.instanceId, events }));
      } catch (error) {
        this.deps.log.error({ err: error, events: events.map((e) => e.name) }, "could not broadcast events to other instances");
      }
    });
    this.inFlight.add(flush);
    void flush.finally(() => this.inFlight.delete(flush));
  }

  /**
   * Read-your-writes on this instance: runs a request (`respond`, e.g. Koa's `next`) and, if its writes emitted
   * events that read-serving handlers take, resolves only once those handlers have applied them, so the answer
   * is not sent before the next read on this instance can see the write. Requests that emit nothing such (every
   * read, and attempts that only record a submission) pay one AsyncLocalStorage frame and nothing else. Other
   * instances are not waited for: they converge through the broadcast.
   *
   * Why it works: emit runs inside the write and marks the request; the events are dispatched in a microtask queued
   * when their transaction commits (Database.afterCommit), which the request's handler awaited, so by the time the
   * request's code has finished (a later microtask) every handler it set going is known. A rolled-back write
   * dispatches nothing and so holds nothing up. No turn of the event loop is waited for: under load the rest of a
   * turn is many milliseconds of other requests.
   */
  async answerAfterLocalReads<T>(respond: () => Promise<T>): Promise<T> {
    const writes: RequestWrites = { emitted: false, applying: [] };
    try {
      return await this.requestWrites.run(writes, respond);
    } finally {
      if (writes.emitted) {
        await null; // one more microtask: a dispatch queued by the request's very last statement has run
        await Promise.all(writes.applying);
      }
    }
  }

  /** Resolves when every handler started so far has finished (tests and graceful shutdown). */
  async drain(): Promise<void> {
    // Handlers are dispatched in a microtask after their commit, and broadcasts go out on the next turn: let both start first.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Starts every handler of the event; answers the runs of those that serve reads (they never reject). */
  private dispatch(name: string, payload: unknown, meta: EventMeta): Array<Promise<void>> {
    const applying: Array<Promise<void>> = [];
    for (const { owner, handler, servesReads } of this.handlers.get(name) ?? []) {
      // Outside the emitting request: what a handler emits in turn is not the request's to wait for.
      const run = this.requestWrites.exit(async () => {
        try {
          await handler(payload, meta);
        } catch (error) {
          this.deps.observer?.handlerFailed(owner, name);
          this.deps.log.error({ err: error, plugin: owner, event: name }, `event handler of "${owner}" for ${name} failed`);
        }
      });
      this.inFlight.add(run);
      void run.finally(() => this.inFlight.delete(run));
      if (servesReads) applying.push(run);
    }
    return applying;
  }
}
