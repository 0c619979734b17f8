import { PassThrough } from "node:stream";
import { HttpError } from "../../kernel/errors.js";
import { refusalMessage, type ConnectionLimits } from "../../kernel/http/connection-limits.js";
import type { PluginRoutes } from "../../kernel/http/route-table.js";
import { sha256, type Credential } from "../accounts/auth.js";
import type { AccountUpdated, NotificationCreated } from "../events.js";
import type { Ctf } from "../runtime.js";
import type { Player } from "../service.js";

/** A listener whose unsent data passes this is too far behind and is dropped. */
const MAX_BUFFERED_BYTES = 256 * 1024;
const KEEPALIVE_MS = 25_000;
/** Timers cannot wait longer than this (about 24.8 days); a later expiry is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type Notification = NotificationCreated["notification"];

interface Listener {
  stream: PassThrough;
  player: Player | null;
  /** The session or API token the stream was opened with, to re-check its holder. */
  credential: Credential | null;
  /** Notifications that arrived while the holder was being re-checked, delivered (or not) once that is done. */
  held: Notification[] | null;
  /** Re-checks the holder when the credential expires. */
  expiry: NodeJS.Timeout | null;
  /** Set when another change arrived during a re-check. */
  again: boolean;
}

/** Whether an account change concerns the player: their own user, or the team they were in. */
function concerns(change: AccountUpdated, player: Player): boolean {
  if (change.accountType === "user" && change.id === player.userId) return true;
  return player.teamId !== null && ((change.accountType === "team" && change.id === player.teamId) || change.affectedTeamIds.includes(player.teamId));
}

function addressedTo(notification: Notification, player: Player | null): boolean {
  if (player?.admin) return true;
  if (notification.user_id !== null && player?.userId !== notification.user_id) return false;
  return notification.team_id === null || player?.teamId === notification.team_id;
}

/**
 * `GET /events`: CTFd's server-sent event stream, which CTFd themes and its JS client open to show admin
 * announcements live (`event: notification`). Notifications addressed to one user or team reach only that account.
 * Every instance serves its own listeners; `notification.created` is broadcast, so each sees every announcement.
 *
 * A stream keeps no identity it no longer has: when its holder's account, sessions, role or team change (on any
 * instance: `account.updated` is broadcast) or its credential expires, the holder is re-read from the database.
 * A holder who logged out, was banned or deleted loses the stream (the browser's EventSource reconnects as whoever
 * it is now); otherwise the stream goes on with the holder's current team and role.
 *
 * Streams count against the kernel's limits (`streams.*`): per session or API token, per address and in total
 * (with the WebSocket channels); the excess is answered 429, naming the limit.
 */
export function liveEventRoutes(routes: PluginRoutes, ctf: Ctf, limits: ConnectionLimits): void {
  const listeners = new Set<Listener>();

  const send = (listener: Listener, frame: string) => {
    if (listener.stream.writableLength > MAX_BUFFERED_BYTES) {
      listener.stream.destroy();
      return;
    }
    listener.stream.write(frame);
  };

  const deliver = (listener: Listener, notification: Notification) => {
    if (listener.held) listener.held.push(notification);
    else if (addressedTo(notification, listener.player)) send(listener, `event: notification\ndata: ${JSON.stringify(notification)}\n\n`);
  };

  const armExpiry = (listener: Listener, expiresAt: Date) => {
    if (listener.expiry) clearTimeout(listener.expiry);
    listener.expiry = setTimeout(() => void recheck(listener), Math.max(0, Math.min(MAX_TIMER_MS, expiresAt.getTime() - Date.now())));
    listener.expiry.unref();
  };

  /** Re-reads the holder; ends the stream when the credential no longer stands for an allowed player. */
  const recheck = async (listener: Listener) => {
    if (!listener.credential) return;
    if (listener.held) {
      listener.again = true; // a change landed while a re-check was reading: read once more after it
      return;
    }
    listener.held = []; // synchronously, so a notification dispatched meanwhile waits for the answer
    let current: Awaited<ReturnType<Ctf["auth"]["recheck"]>> = null;
    do {
      listener.again = false;
      try {
        current = await ctf.auth.recheck(listener.credential);
      } catch (error) {
        ctf.log.warn({ err: error }, "could not re-check an /events listener; ending its stream");
        current = null;
      }
    } while (listener.again && current);
    const held = listener.held;
    listener.held = null;
    if (!current) {
      listener.stream.end();
      return;
    }
    listener.player = current.player;
    armExpiry(listener, current.expiresAt);
    for (const notification of held) deliver(listener, notification);
  };

  ctf.on("notification.created", ({ notification }) => {
    for (const listener of listeners) deliver(listener, notification);
  });
  ctf.on("account.updated", (change) => {
    const concerned = [...listeners].filter((listener) => listener.player !== null && concerns(change, listener.player));
    return Promise.all(concerned.map(recheck)).then(() => undefined);
  });

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
    const player = await ctf.player(ctx);
    const credential = player ? ctf.auth.credentialOf(ctx) : null;
    const admission = limits.admit({ key: credential ? `sse:${credential.kind}:${sha256(credential.secret)}` : null, address: ctx.ip });
    if (!admission.ok) {
      const message = refusalMessage(admission, "session or token");
      throw new HttpError(429, message, { [admission.limit]: [message] });
    }
    const listener: Listener = { stream: new PassThrough(), player, credential, held: null, expiry: null, again: false };
    listeners.add(listener);
    const forget = () => {
      admission.release();
      if (listener.expiry) clearTimeout(listener.expiry);
      listeners.delete(listener);
    };
    ctx.req.once("close", forget);
    listener.stream.once("close", forget);
    // Re-checked right away: that also learns when the credential expires (the cached caller does not say).
    if (listener.credential) void recheck(listener);
    ctx.req.socket.setTimeout(0);
    ctx.status = 200;
    ctx.type = "text/event-stream";
    ctx.set("Cache-Control", "no-cache");
    ctx.set("X-Accel-Buffering", "no"); // tell nginx not to buffer the stream
    ctx.body = listener.stream;
    listener.stream.write(": connected\n\n");
  });
}
