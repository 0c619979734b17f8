import { WebSocket } from "ws";

/**
 * The live heap of a process started with the V8 inspector (startFlaghost's `inspect`), in MB: a full garbage
 * collection first, then the heap's used size, through the inspector protocol. Right after a collection the heap
 * holds what the process keeps (read models, caches), not garbage waiting for the collector, so two processes'
 * figures can be subtracted.
 */
export async function liveHeapMb(inspectorUrl: string): Promise<number> {
  const socket = new WebSocket(inspectorUrl);
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  let nextId = 0;
  const call = (method: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = ++nextId;
      const onMessage = (data: Buffer) => {
        const message = JSON.parse(data.toString()) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
        if (message.id !== id) return;
        socket.off("message", onMessage);
        if (message.error) reject(new Error(`${method}: ${message.error.message}`));
        else resolve(message.result ?? {});
      };
      socket.on("message", onMessage);
      socket.send(JSON.stringify({ id, method }));
    });
  try {
    // Twice: objects with finalizers or weak references are only freed by a second collection.
    await call("HeapProfiler.collectGarbage");
    await call("HeapProfiler.collectGarbage");
    const usage = await call("Runtime.getHeapUsage");
    return Math.round((Number(usage.usedSize) / 2 ** 20) * 10) / 10;
  } finally {
    socket.close();
  }
}
