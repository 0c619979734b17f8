import type { Coordination, StreamEntry } from "../coordination/types.js";
import { messageOf } from "../errors.js";
import type { Logger } from "../log.js";
import type { QueueDefinition } from "./types.js";

/** Every queue's consumer group: one per cluster, so each message goes to one consumer. */
export const CONSUMER_GROUP = "flaghost";
/** The field holding the JSON-encoded payload. */
export const PAYLOAD_FIELD = "payload";
/** Pause after a failed read (Redis outage) before trying again. */
const RETRY_AFTER_ERROR_MS = 1_000;

export type NormalizedQueue = Required<QueueDefinition>;

/**
 * The read loop of one queue in this process: reads new entries (blocking up to blockMs), claims entries other
 * consumers left unacknowledged for claimStaleAfterMs, runs at most `concurrency` handlers at once, acknowledges
 * after a handler resolves, and moves an entry that used up maxDeliveries to `<stream>.dead`.
 */
export class QueueConsumer {
  private readonly controller = new AbortController();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly log: Logger;

  constructor(
    private readonly deps: {
      coordination: Coordination;
      log: Logger;
      stream: string;
      definition: NormalizedQueue;
      /** This instance's id: the consumer name in the group. */
      instance: string;
      blockMs: number;
    },
  ) {
    this.log = deps.log.child({ queue: deps.stream });
  }

  start(): void {
    void this.loop();
  }

  /** Stops reading, aborts handlers' signals and waits for them up to `boundMs`; unfinished ones stay pending. */
  async stop(boundMs: number): Promise<void> {
    this.controller.abort(new Error(`the consumer of ${this.deps.stream} is stopping`));
    const settled = Promise.allSettled([...this.inFlight.values()]);
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, boundMs)));
    await Promise.race([settled, bound]);
    clearTimeout(timer);
  }

  private get stopped(): boolean {
    return this.controller.signal.aborted;
  }

  private async loop(): Promise<void> {
    const { coordination, stream, definition, instance } = this.deps;
    // Check for stale entries at least twice per claim period, so a dead consumer's entry waits at most 1.5 periods.
    const claimEveryMs = Math.max(50, Math.floor(definition.claimStaleAfterMs / 2));
    const blockMs = Math.min(this.deps.blockMs, claimEveryMs);
    let nextClaimAt = 0;
    let groupReady = false;
    while (!this.stopped) {
      try {
        if (!groupReady) {
          await coordination.streamEnsureGroup(stream, CONSUMER_GROUP);
          groupReady = true;
        }
        if (this.inFlight.size >= definition.concurrency) {
          await Promise.race(this.inFlight.values());
          continue;
        }
        const room = definition.concurrency - this.inFlight.size;
        let entries: StreamEntry[] = [];
        if (Date.now() >= nextClaimAt) {
          nextClaimAt = Date.now() + claimEveryMs;
          // Entries this process is still handling are skipped: they are slow, not lost.
          entries = (await coordination.streamClaimStale(stream, CONSUMER_GROUP, instance, definition.claimStaleAfterMs, room)).filter((e) => !this.inFlight.has(e.id));
        }
        if (entries.length === 0) entries = await coordination.streamRead(stream, CONSUMER_GROUP, instance, { count: room, blockMs });
        // Read while stopping: left pending, another consumer claims them after claimStaleAfterMs.
        if (this.stopped) break;
        for (const entry of entries) this.dispatch(entry);
      } catch (error) {
        if (this.stopped) break;
        // A Redis restarted without persistence comes back without the stream and its group (NOGROUP): make the
        // group again before the next read. Cheap when it exists (BUSYGROUP is ignored).
        groupReady = false;
        this.log.warn({ err: error }, "reading the queue failed; retrying");
        await sleepUnlessAborted(RETRY_AFTER_ERROR_MS, this.controller.signal);
      }
    }
  }

  private dispatch(entry: StreamEntry): void {
    const work = this.handle(entry).finally(() => this.inFlight.delete(entry.id));
    this.inFlight.set(entry.id, work);
  }

  private async handle(entry: StreamEntry): Promise<void> {
    const { definition, instance } = this.deps;
    const log = this.log.child({ entry: entry.id, deliveries: entry.deliveries });
    if (entry.deliveries > definition.maxDeliveries) {
      return this.deadLetter(entry, `delivered ${entry.deliveries} times without being acknowledged (its consumers died or timed out)`);
    }
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(entry.fields[PAYLOAD_FIELD] ?? "") as Record<string, unknown>;
    } catch {
      return this.deadLetter(entry, `field "${PAYLOAD_FIELD}" is missing or not JSON`);
    }
    try {
      await definition.handler(payload, { id: entry.id, deliveries: entry.deliveries, instance, signal: this.controller.signal, log });
    } catch (error) {
      if (this.stopped) return; // interrupted by shutdown: delivered again elsewhere
      if (entry.deliveries >= definition.maxDeliveries) return this.deadLetter(entry, messageOf(error));
      log.warn({ err: error }, `queue handler failed; the message is delivered again after ${definition.claimStaleAfterMs} ms`);
      return;
    }
    await this.ack(entry, log);
  }

  /** Keeps the message (and why it failed) in `<stream>.dead`, then acknowledges it so it stops coming back. */
  private async deadLetter(entry: StreamEntry, reason: string): Promise<void> {
    const dead = `${this.deps.stream}.dead`;
    const log = this.log.child({ entry: entry.id, deliveries: entry.deliveries });
    try {
      await this.deps.coordination.streamAdd(dead, {
        ...entry.fields,
        originalId: entry.id,
        deliveries: String(entry.deliveries),
        error: reason.slice(0, 2000),
        deadAt: new Date().toISOString(),
      });
    } catch (error) {
      log.error({ err: error }, `could not move the message to ${dead}; it stays pending`);
      return;
    }
    log.error({ reason }, `queue message gave up after ${entry.deliveries} deliveries; moved to ${dead}`);
    await this.ack(entry, log);
  }

  private async ack(entry: StreamEntry, log: Logger): Promise<void> {
    try {
      await this.deps.coordination.streamAck(this.deps.stream, CONSUMER_GROUP, [entry.id]);
    } catch (error) {
      log.warn({ err: error }, "could not acknowledge the message; it will be delivered again");
    }
  }
}

function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
