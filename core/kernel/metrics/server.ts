import { createServer, type Server } from "node:http";
import type { Logger } from "../log.js";
import type { Metrics } from "./metrics.js";

/**
 * The plain server `metrics.port` opens: GET (or HEAD) /metrics without a token, for a scraper on a private
 * network; every other request gets 404. It never serves the application, so nothing else is exposed there.
 */
export async function listenForScrapes(metrics: Metrics, options: { port: number; host: string; log: Logger }): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("Not found\n");
      return;
    }
    metrics.render().then(
      (text) => {
        res.writeHead(200, { "Content-Type": metrics.contentType });
        res.end(req.method === "HEAD" ? undefined : text);
      },
      (error: unknown) => {
        options.log.error({ err: error }, "could not render /metrics");
        res.writeHead(500, { "Content-Type": "text/plain; charset=utf-8" }).end("metrics unavailable\n");
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}
