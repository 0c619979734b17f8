import { PassThrough } from "node:stream";
import type { PluginRoutes } from "../../kernel/http/route-table.js";
import type { Ctf } from "../runtime.js";
import type { Player } from "../service.js";

/** A listener whose unsent data passes this is too far behind and is dropped. */
const MAX_BUFFERED_BYTES = 256 * 1024;
const KEEPALIVE_MS = 25_000;

interface Listener {
  stream: PassThrough;
  player: Player | null;
}

/**
 * `GET /events`: CTFd's server-sent event stream, which CTFd themes and its JS client open to show admin
 * announcements live (`event: notification`). Notifications addressed to one user or team reach only that account.
 * Every instance serves its own listeners; `notification.created` is broadcast, so each sees every announcement.
 */
export function liveEventRoutes(routes: PluginRoutes, ctf: Ctf): void {
  const listeners = new Set<Listener>();

  ctf.on("notification.created", ({ notification }) => {
    const frame = `event: notification\ndata: ${JSON.stringify(notification)}\n\n`;
    for (const listener of listeners) {
      const { player } = listener;
      if (notification.user_id !== null && player?.userId !== notification.user_id && !player?.admin) continue;
      if (notification.team_id !== null && player?.teamId !== notification.team_id && !player?.admin) continue;
      send(listener, frame);
    }
  });

  const send = (listener: Listener, frame: string) => {
    if (listener.stream.writableLength > MAX_BUFFERED_BYTES) {
      listener.stream.destroy();
      return;
    }
    listener.stream.write(frame);
  };

  const keepalive = setInterval(() => {
    for (const listener of listeners) send(listener, ": keepalive\n\n");
  }, KEEPALIVE_MS);
  keepalive.unref();
  ctf.onStop(() => {
    clearInterval(keepalive);
    for (const listener of listeners) listener.stream.end();
    listeners.clear();
  });

  routes.get("/events", async (ctx) => {
    const listener: Listener = { stream: new PassThrough(), player: await ctf.player(ctx) };
    listeners.add(listener);
    const forget = () => listeners.delete(listener);
    ctx.req.once("close", forget);
    listener.stream.once("close", forget);
    ctx.req.socket.setTimeout(0);
    ctx.status = 200;
    ctx.type = "text/event-stream";
    ctx.set("Cache-Control", "no-cache");
    ctx.set("X-Accel-Buffering", "no"); // tell nginx not to buffer the stream
    ctx.body = listener.stream;
    listener.stream.write(": connected\n\n");
  });
}
