import type { JobRunContext } from "../../core/kernel/scheduler/scheduler.js";
import { LABEL } from "./container-spec.js";
import type { Whale } from "./context.js";
import { stopStart } from "./stop.js";

/** A start still not ready after this long has lost its message or its worker for good (the queue redelivers well before). */
const STUCK_AFTER_MS = 15 * 60_000;
/** A start queued this long that no message took may have lost its message (Redis restarted): queue it again. */
export const UNTAKEN_AFTER_MS = 2 * 60_000;

/**
 * Queues again the queued starts no message took, queued at least `olderThanMs` ago: a Redis restart without
 * persistence loses the start queue, while the 202 the player got promised a start. A duplicate of a message
 * that still exists is harmless: the first message to take the start owns it (StartStore.take).
 */
export async function requeueUntaken(whale: Whale, enqueue: (startId: string) => Promise<unknown>, olderThanMs: number): Promise<number> {
  const ids = await whale.store.untaken(olderThanMs);
  for (const id of ids) await enqueue(id);
  return ids.length;
}

/** `whale.reap` (every 30 s): stops the containers whose lifetime is over. */
export async function reapExpired(whale: Whale, run: Pick<JobRunContext, "signal">): Promise<{ stopped: number }> {
  let stopped = 0;
  for (;;) {
    const batch = await whale.store.expired(100);
    if (batch.length === 0 || run.signal.aborted) return { stopped };
    for (const start of batch) if (await stopStart(whale, start, "Expired")) stopped++;
    if (batch.length < 100) return { stopped };
  }
}

/**
 * `whale.reconcile` (every 5 min, and once at boot): makes the records and the engine agree. A container whose start
 * is not live is removed; a ready start whose container is gone or exited is marked failed (its slot and port
 * freed); allocations still held by ended starts are freed once no container of theirs is left; with `enqueue`,
 * starts queued for UNTAKEN_AFTER_MS that no message took are queued again.
 */
export async function reconcile(whale: Whale, enqueue?: (startId: string) => Promise<unknown>): Promise<{ removed: number; failed: number; released: number; requeued: number }> {
  const [containers, live] = await Promise.all([whale.engine.list({ [LABEL.start]: true }), whale.store.allLive()]);
  const liveIds = new Set(live.map((s) => s.id));
  const byStart = new Map<string, typeof containers>();
  for (const container of containers) {
    const startId = container.labels[LABEL.start]!;
    byStart.set(startId, [...(byStart.get(startId) ?? []), container]);
  }

  let removed = 0;
  for (const container of containers) {
    if (liveIds.has(container.labels[LABEL.start]!)) continue;
    await whale.engine.remove(container.id);
    removed++;
  }

  let failed = 0;
  for (const start of live) {
    const own = byStart.get(start.id) ?? [];
    const running = own.some((c) => c.state === "running" || c.state === "starting");
    const gone = start.status === "ready" && !running;
    const stuck = start.status !== "ready" && Date.now() - start.createdAt.getTime() > STUCK_AFTER_MS;
    if (!gone && !stuck) continue;
    for (const container of own) await whale.engine.remove(container.id);
    if (await whale.store.end(start.id, "failed", gone ? "The container is gone (found by reconcile)" : "The start never finished (found by reconcile)")) failed++;
  }

  let released = 0;
  // Their containers, if any, were removed above.
  for (const startId of await whale.store.strandedAllocations()) {
    await whale.store.release(startId);
    released++;
  }
  const requeued = enqueue ? await requeueUntaken(whale, enqueue, UNTAKEN_AFTER_MS) : 0;
  return { removed, failed, released, requeued };
}
