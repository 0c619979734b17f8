import type { IncomingMessage } from "node:http";
import { randomUUID } from "node:crypto";
import type { Context } from "koa";
import type { WebSocket } from "ws";
import type { Logger } from "../log.js";
import type { ConnectionObserver } from "../metrics/observers.js";
import type { TokenClaims, TokenSigner, VerifyResult } from "../tokens.js";
import { refusalMessage, type ConnectionLimits } from "./connection-limits.js";

/** The plugin's view of one connected client. */
export interface ChannelConnection {
  readonly id: string;
  /** The verified token's claims (subject, admin flag): those of the latest token, after a renewal. */
  readonly claims: TokenClaims;
  /**
   * Takes a fresh token for this channel and the same subject, so the socket outlives the one it opened with.
   * Without a renewal the kernel closes the socket (4401) when its token expires.
   */
  renew(token: string): VerifyResult;
  /** Sends a JSON message; false (and the client is dropped) when it is too far behind. */
  send(message: unknown): boolean;
  close(code?: number, reason?: string): void;
  onMessage(handler: (message: unknown) => void): void;
  onClose(handler: () => void): void;
}

export interface ChannelDefinition {
  /** The channel's path; must be declared in the plugin manifest's `capabilities.websocket`. */
  path: string;
  onConnect(connection: ChannelConnection): void | Promise<void>;
}

interface LiveSocket {
  socket: WebSocket;
  owner: string;
  path: string;
  alive: boolean;
  claims: TokenClaims;
  /** Closes the socket when its token expires. */
  expiry: NodeJS.Timeout | null;
}

const MAX_INCOMING_MESSAGE_BYTES = 64 * 1024;

/** Timers cannot wait longer than this (about 24.8 days); a longer wait is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Close code for a token that expired or no longer stands for its holder (4000 + HTTP's 401). */
export const CLOSE_UNAUTHORIZED = 4401;
/** Close code for a client past its own limit (per token or address: 4000 + HTTP's 429). */
export const CLOSE_TOO_MANY = 4429;
/** Close code when the server is at its total limit (the standard "try again later"). */
export const CLOSE_TRY_AGAIN_LATER = 1013;

/**
 * Plugin WebSocket channels. Before a socket is accepted (during the HTTP upgrade) the hub checks that the path
 * is a registered channel, that the Origin is allowed, and that `?token=` is a valid, unexpired token signed for
 * that channel. Ping/pong heartbeats drop dead sockets; a client whose unsent data passes the buffered-bytes
 * bound is dropped instead of growing memory. An accepted socket is counted against the stream limits (per token,
 * per address, in total: the excess is closed with 4429 or 1013 and the limit in the reason) and closed with 4401
 * when its token expires, unless the plugin renewed it with a fresh token of the same subject.
 */
export class WebSocketHub {
  private readonly channels = new Map<string, { owner: string; definition: ChannelDefinition }>();
  private readonly sockets = new Set<LiveSocket>();
  /** Each connection handed to a plugin, to its socket (for broadcast). */
  private readonly liveOf = new WeakMap<ChannelConnection, LiveSocket>();
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(
    private readonly deps: {
      log: Logger;
      signer: () => TokenSigner;
      /** Allowed origins; empty means same-origin only (the Origin's host must equal the Host header). */
      origins: string[];
      heartbeatMs: number;
      maxBufferedBytes: number;
      /** Told of every accepted socket and of its close (metrics). */
      observer?: ConnectionObserver;
      /** Bounds sockets per token, per address and in total (shared with other streams). */
      limits: ConnectionLimits;
    },
  ) {}

  register(owner: string, definition: ChannelDefinition): void {
    const existing = this.channels.get(definition.path);
    if (existing && existing.owner !== owner) throw new Error(`WebSocket channel ${definition.path} is already served by "${existing.owner}"`);
    this.channels.set(definition.path, { owner, definition });
  }

  /** Withdraws an owner's channels and closes its open sockets (1001: going away). */
  removeOwner(owner: string): void {
    for (const [path, channel] of this.channels) if (channel.owner === owner) this.channels.delete(path);
    for (const live of this.sockets) if (live.owner === owner) live.socket.close(1001, "channel withdrawn");
  }

  channelPaths(owner?: string): string[] {
    return [...this.channels].filter(([, c]) => !owner || c.owner === owner).map(([path]) => path);
  }

  get connectionCount(): number {
    return this.sockets.size;
  }

  /** ws's verifyClient: refuses with an HTTP status before the upgrade completes. */
  verifyClient = (
    info: { origin: string; req: IncomingMessage },
    done: (result: boolean, code?: number, message?: string) => void,
  ): void => {
    const url = new URL(info.req.url ?? "/", "http://placeholder");
    const channel = this.channels.get(url.pathname);
    if (!channel) return done(false, 404, "No such channel");
    if (!this.originAllowed(info.origin, info.req.headers.host)) return done(false, 403, "Origin not allowed");
    const verdict = this.deps.signer().verify(url.searchParams.get("token"), url.pathname);
    if (!verdict.ok) return done(false, 401, `Token ${verdict.reason}`);
    (info.req as IncomingMessage & { channelClaims?: TokenClaims }).channelClaims = verdict.claims;
    done(true);
  };

  /** koa-websocket middleware: hands an accepted socket to its channel. */
  middleware = async (ctx: Context & { websocket: WebSocket }): Promise<void> => {
    const channel = this.channels.get(ctx.path);
    const claims = (ctx.req as IncomingMessage & { channelClaims?: TokenClaims }).channelClaims;
    if (!channel || !claims) {
      ctx.websocket.close(1008, "channel unavailable");
      return;
    }
    // Counted per token (its nonce names it), per address and in total; the excess is told which limit it passed.
    const admission = this.deps.limits.admit({ key: `ws:${claims.n}`, address: ctx.ip });
    if (!admission.ok) {
      ctx.websocket.close(admission.limit === "total" ? CLOSE_TRY_AGAIN_LATER : CLOSE_TOO_MANY, refusalMessage(admission, "token"));
      return;
    }
    const path = ctx.path;
    const live: LiveSocket = { socket: ctx.websocket, owner: channel.owner, path, alive: true, claims, expiry: null };
    this.sockets.add(live);
    this.deps.observer?.connectionOpened(path);
    this.armExpiry(live);
    ctx.websocket.on("pong", () => (live.alive = true));
    // "close" fires once per socket, however it ended (closed, terminated, shut down), so the count stays exact.
    ctx.websocket.on("close", () => {
      admission.release();
      if (live.expiry) clearTimeout(live.expiry);
      this.sockets.delete(live);
      this.deps.observer?.connectionClosed(path);
    });
    try {
      await channel.definition.onConnect(this.connection(live));
    } catch (error) {
      this.deps.log.error({ err: error, plugin: channel.owner, channel: ctx.path }, "channel onConnect failed");
      ctx.websocket.close(1011, "server error");
    }
  };

  start(): void {
    if (this.heartbeat) return;
    this.heartbeat = setInterval(() => {
      for (const live of this.sockets) {
        if (!live.alive) {
          live.socket.terminate();
          this.sockets.delete(live);
          continue;
        }
        live.alive = false;
        live.socket.ping();
      }
    }, this.deps.heartbeatMs);
    this.heartbeat.unref();
  }

  stop(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    for (const live of this.sockets) live.socket.close(1001, "server shutting down");
    this.sockets.clear();
  }

  private originAllowed(origin: string | undefined, host: string | undefined): boolean {
    if (!origin) return false; // browsers always send one; other clients can set it
    if (this.deps.origins.length > 0) return this.deps.origins.some((allowed) => sameOrigin(allowed, origin));
    try {
      return new URL(origin).host === host;
    } catch {
      return false;
    }
  }

  /**
   * Sends one message to many connections, serialized once (a solve on a busy scoreboard goes to thousands).
   * Returns how many took it; a client too far behind is dropped, as with `send`. Only the owner's own
   * connections are sent to.
   */
  broadcast(owner: string, connections: Iterable<ChannelConnection>, message: unknown): number {
    const data = Buffer.from(JSON.stringify(message));
    let sent = 0;
    for (const connection of connections) {
      const live = this.liveOf.get(connection);
      if (live?.owner === owner && this.sendData(live, data)) sent++;
    }
    return sent;
  }

  /** Sends serialized JSON as a text frame, or drops the client when its unsent data would pass the bound. */
  private sendData(live: LiveSocket, data: Buffer): boolean {
    const { socket } = live;
    if (socket.readyState !== socket.OPEN) return false;
    if (socket.bufferedAmount + data.length > this.deps.maxBufferedBytes) {
      this.deps.log.warn({ plugin: live.owner }, "dropping a WebSocket client that fell too far behind");
      socket.terminate();
      this.sockets.delete(live);
      return false;
    }
    socket.send(data, { binary: false });
    return true;
  }

  /** A socket never outlives its token: at expiry it is closed unless a renewal re-armed this. */
  private armExpiry(live: LiveSocket): void {
    if (live.expiry) clearTimeout(live.expiry);
    const left = live.claims.exp - Date.now();
    live.expiry = setTimeout(
      () => (live.claims.exp <= Date.now() ? live.socket.close(CLOSE_UNAUTHORIZED, "token expired") : this.armExpiry(live)),
      Math.max(0, Math.min(MAX_TIMER_MS, left)),
    );
    live.expiry.unref();
  }

  private renew(live: LiveSocket, token: string): VerifyResult {
    const verdict = this.deps.signer().verify(token, live.path);
    if (!verdict.ok) return verdict;
    if (verdict.claims.sub !== live.claims.sub) return { ok: false, reason: "wrong-subject" };
    live.claims = verdict.claims;
    this.armExpiry(live);
    return verdict;
  }

  private connection(live: LiveSocket): ChannelConnection {
    const { socket } = live;
    const connection: ChannelConnection = {
      id: randomUUID(),
      get claims() {
        return live.claims;
      },
      renew: (token) => this.renew(live, token),
      send: (message) => this.sendData(live, Buffer.from(JSON.stringify(message))),
      close: (code = 1000, reason = "") => socket.close(code, reason),
      onMessage: (handler) =>
        socket.on("message", (raw, isBinary) => {
          const size = Array.isArray(raw) ? raw.reduce((n, b) => n + b.length, 0) : (raw as Buffer).byteLength;
          if (isBinary || size > MAX_INCOMING_MESSAGE_BYTES) return socket.close(1009, "message too large or binary");
          try {
            handler(JSON.parse(raw.toString()));
          } catch {
            socket.close(1007, "messages must be JSON");
          }
        }),
      onClose: (handler) => socket.on("close", handler),
    };
    this.liveOf.set(connection, live);
    return connection;
  }
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}
