import { isPlainObject } from "../config.js";
import type { Coordination } from "../coordination/types.js";
import type { Logger } from "../log.js";
import { PAYLOAD_FIELD, QueueConsumer, type NormalizedQueue } from "./consumer.js";
import type { PluginQueues, QueueDefinition } from "./types.js";

const DEFAULT_MAX_DELIVERIES = 5;
const NAME = /^[a-z][a-z0-9-]{0,39}$/;

interface DefinedQueue {
  owner: string;
  stream: string;
  definition: NormalizedQueue;
  consumeHere: boolean;
  consumer: QueueConsumer | null;
}

export interface QueueHostDeps {
  coordination: Coordination;
  log: Logger;
  instanceId: string;
  /** Whether this process consumes plugin queues (role `all` or `worker`). */
  consumesPluginQueues: boolean;
  blockMs: number;
  /** Used when a definition gives no claimStaleAfterMs. */
  claimStaleAfterMs: number;
  /** How long stop() waits for handlers in flight. */
  stopTimeoutMs: number;
}

/**
 * Every queue of the process, on the coordination streams. Queues are defined in every role (so any role can
 * enqueue); their consumers run only where the role says, and only once the kernel starts the host.
 */
export class QueueHost {
  private readonly queues = new Map<string, DefinedQueue>();
  private started = false;

  constructor(private readonly deps: QueueHostDeps) {}

  /**
   * Adds (or replaces) the queue `<owner>.<name>`. `consumeHere` overrides the role's rule for plugin queues
   * (the kernel's own job-trigger queue is consumed where cluster jobs run). Returns the stream name.
   */
  define(owner: string, definition: QueueDefinition, options: { consumeHere?: boolean } = {}): string {
    const normalized = this.normalize(definition);
    const stream = `${owner}.${definition.name}`;
    this.remove(stream);
    const queue: DefinedQueue = { owner, stream, definition: normalized, consumeHere: options.consumeHere ?? this.deps.consumesPluginQueues, consumer: null };
    this.queues.set(stream, queue);
    if (this.started) this.startConsumer(queue);
    return stream;
  }

  /** Enqueues `payload` (JSON-encoded in one field) on `<owner>.<name>`; returns the entry id. */
  async add(owner: string, name: string, payload: Record<string, unknown>): Promise<string> {
    const stream = `${owner}.${name}`;
    if (!this.queues.has(stream)) throw new Error(`"${owner}" has no queue "${name}" (define it first)`);
    if (!isPlainObject(payload)) throw new Error(`queue ${stream}: the payload must be an object`);
    return this.deps.coordination.streamAdd(stream, { [PAYLOAD_FIELD]: JSON.stringify(payload) });
  }

  /** Withdraws every queue of an owner (a plugin that failed or stopped); its handlers' signals are aborted. */
  removeOwner(owner: string): void {
    for (const queue of [...this.queues.values()]) if (queue.owner === owner) this.remove(queue.stream);
  }

  /** Stream names of every defined queue (for queue-depth gauges; dead letters are `<name>.dead`). */
  streams(): string[] {
    return [...this.queues.keys()].sort();
  }

  /** The streams this process consumes. */
  consumedStreams(): string[] {
    return [...this.queues.values()].filter((q) => q.consumer).map((q) => q.stream).sort();
  }

  /** Starts the consumers this role runs. Idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const queue of this.queues.values()) this.startConsumer(queue);
  }

  /** Stops every consumer, waiting (bounded) for handlers in flight. */
  async stop(): Promise<void> {
    this.started = false;
    const consumers = [...this.queues.values()].flatMap((q) => (q.consumer ? [q.consumer] : []));
    for (const queue of this.queues.values()) queue.consumer = null;
    await Promise.all(consumers.map((c) => c.stop(this.deps.stopTimeoutMs)));
  }

  /** The facade a plugin receives as `coreServices.queues`; `assertOpen` throws once the plugin's registration closed. */
  facade(owner: string, assertOpen: () => void): PluginQueues {
    return {
      define: (definition) => {
        assertOpen();
        return this.define(owner, definition);
      },
      add: (name, payload) => this.add(owner, name, payload),
    };
  }

  private remove(stream: string): void {
    const queue = this.queues.get(stream);
    if (!queue) return;
    this.queues.delete(stream);
    void queue.consumer?.stop(0);
  }

  private startConsumer(queue: DefinedQueue): void {
    if (!queue.consumeHere || queue.consumer) return;
    queue.consumer = new QueueConsumer({
      coordination: this.deps.coordination,
      log: this.deps.log.child({ plugin: queue.owner }),
      stream: queue.stream,
      definition: queue.definition,
      instance: this.deps.instanceId,
      blockMs: this.deps.blockMs,
    });
    queue.consumer.start();
  }

  private normalize(definition: QueueDefinition): NormalizedQueue {
    const { name } = definition;
    if (typeof name !== "string" || !NAME.test(name)) throw new Error(`queue name "${name}" must be lowercase letters, digits and dashes`);
    if (typeof definition.handler !== "function") throw new Error(`queue "${name}": handler must be a function`);
    const positive = (value: number | undefined, fallback: number, field: string, min = 1) => {
      if (value === undefined) return fallback;
      if (!Number.isInteger(value) || value < min) throw new Error(`queue "${name}": ${field} must be an integer of at least ${min}`);
      return value;
    };
    return {
      name,
      handler: definition.handler,
      concurrency: positive(definition.concurrency, 1, "concurrency"),
      claimStaleAfterMs: positive(definition.claimStaleAfterMs, this.deps.claimStaleAfterMs, "claimStaleAfterMs", 100),
      maxDeliveries: positive(definition.maxDeliveries, DEFAULT_MAX_DELIVERIES, "maxDeliveries"),
    };
  }
}
