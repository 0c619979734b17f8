import { LABEL } from "./container-spec.js";
import { containerEvent, type Whale } from "./context.js";
import type { StartRecord } from "./starts.js";

/**
 * Stops a live start: marks it stopped (a worker still starting it sees that and gives up), removes its containers
 * by label, then frees its slot and port. When the engine cannot be reached the allocations stay held (the port may
 * still be in use) and the reconcile job frees them once the container is gone. Answers the stopped record, or null
 * when the start had ended already.
 */
export async function stopStart(whale: Whale, start: StartRecord, reason: string | null): Promise<StartRecord | null> {
  const stopped = await whale.store.end(start.id, "stopped", reason, { keepAllocations: true });
  if (!stopped) return null;
  if (start.status !== "ready") whale.metrics.starts.inc({ outcome: "stopped" });
  try {
    await removeContainersOf(whale, start.id);
    await whale.store.release(start.id);
  } catch (error) {
    whale.health.noticed(error);
    whale.log.warn({ start: start.id, err: error }, "container not removed yet; reconcile will free its port");
  }
  whale.events.emit("container.stopped", containerEvent(stopped, reason), { broadcast: true });
  return stopped;
}

export async function removeContainersOf(whale: Whale, startId: string): Promise<void> {
  for (const container of await whale.engine.list({ [LABEL.start]: startId })) await whale.engine.remove(container.id);
}
