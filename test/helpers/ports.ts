import { createServer } from "node:net";

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

/**
 * A port P such that P + each offset is free, chosen below the kernel's ephemeral range (32768 and up on Linux):
 * a port there may be held by any outgoing connection on this busy machine between the check and the listen.
 */
export async function freePortBlock(offsets: number[] = [0]): Promise<number> {
  const highest = Math.max(...offsets);
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * (12_000 - highest));
    if ((await Promise.all(offsets.map((o) => portFree(port + o)))).every(Boolean)) return port;
  }
  throw new Error("no free block of ports found below 32000");
}

/** npm run cluster's ports for a base port P: nginx on P, web P+101.., workers P+201.., schedulers P+301... */
export function clusterPortOffsets(counts: { web: number; workers: number; schedulers: number }): number[] {
  const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i + 1);
  return [0, ...range(100, counts.web), ...range(200, counts.workers), ...range(300, counts.schedulers)];
}
