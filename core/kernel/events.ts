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
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface EventMap {}

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

interface Subscription {
  owner: string;
  handler: EventHandler<string>;
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
  on<K extends EventName>(owner: string, name: K, handler: EventHandler<K>): () => void {
    const list = this.handlers.get(name) ?? [];
    const subscription: Subscription = { owner, handler: handler as EventHandler<string> };
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
    this.deps.afterCommit(() => {
      this.dispatch(name, payload, { name, origin: this.deps.instanceId, local: true });
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

  /** Resolves when every handler started so far has finished (tests and graceful shutdown). */
  async drain(): Promise<void> {
    // Handlers are dispatched on a later tick than emit; give that tick a chance first.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private dispatch(name: string, payload: unknown, meta: EventMeta): void {
    for (const { owner, handler } of this.handlers.get(name) ?? []) {
      const run = (async () => {
        try {
          await handler(payload, meta);
        } catch (error) {
          this.deps.observer?.handlerFailed(owner, name);
          this.deps.log.error({ err: error, plugin: owner, event: name }, `event handler of "${owner}" for ${name} failed`);
        }
      })();
      this.inFlight.add(run);
      void run.finally(() => this.inFlight.delete(run));
    }
  }
}
