import type { Logger } from "../log.js";

/** What a plugin hands to `queues.define`. */
export interface QueueDefinition {
  /** Name within the plugin; the stream is `<plugin>.<name>`. */
  name: string;
  /** Handles one message. Resolving acknowledges it; throwing leaves it to be delivered again. */
  handler(payload: Record<string, unknown>, context: QueueMessageContext): unknown;
  /** Messages handled at once by this process. Default 1. */
  concurrency?: number;
  /**
   * A message delivered this long ago and not acknowledged (its handler failed, or its process died) is
   * delivered again, to any consumer. A handler must finish within it. Default `queues.claimStaleAfterMs` (30 s).
   */
  claimStaleAfterMs?: number;
  /** After this many deliveries without success the message moves to `<stream>.dead`. Default 5. */
  maxDeliveries?: number;
}

export interface QueueMessageContext {
  /** The stream entry id (what `add` returned). */
  id: string;
  /** 1 on the first delivery. */
  deliveries: number;
  /** The instance handling it (the consumer name in the group). */
  instance: string;
  /** Aborted when the process stops or the plugin is withdrawn. */
  signal: AbortSignal;
  log: Logger;
}

/** The queues a plugin receives as `coreServices.queues`. */
export interface PluginQueues {
  /** Registers a consumer of `<plugin>.<name>`; only during register and init. Returns the stream name. */
  define(definition: QueueDefinition): string;
  /** Enqueues a message on one of this plugin's queues (from any role); returns the entry id. */
  add(name: string, payload: Record<string, unknown>): Promise<string>;
}
