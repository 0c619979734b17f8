import type { AccountUpdated, CallerFacts } from "../../core/ctf/service.js";
import type { ChannelConnection } from "../../core/kernel/http/websocket.js";
import type { TokenClaims } from "../../core/kernel/tokens.js";
import { refusal, type Viewer } from "./access.js";
import type { ScoreAnnouncement } from "./service.js";
import type { BoardChange, Scoreboard } from "./board.js";
import { rowObject, zulu } from "./engine/rows.js";
import { VIEWS, type View } from "./engine/state.js";

export const STREAM_PATH = "/api/v1/scoreboard/stream";

/** How soon a client may get the same snapshot again by asking. */
const RESYNC_REPEAT_MS = 5_000;

/** Timers cannot wait longer than this (about 24.8 days); a later freeze is re-armed when settings change. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Close codes: the token no longer stands for its holder (expired, signed out, deleted); the holder may not see. */
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_FORBIDDEN = 4403;

/** A client may renew its token at most this often (each renewal re-reads its holder). */
const RENEW_INTERVAL_MS = 1_000;

/** Who holds a connection's token, as last checked. */
interface Holder {
  view: View;
  viewer: Viewer;
  /** The account's user id; null for anonymous tokens and the kernel's bootstrap admin. */
  userId: number | null;
  teamId: number | null;
  renewedAt: number;
}

type Verdict = { ok: true; holder: Omit<Holder, "renewedAt"> } | { ok: false; code: number; reason: string };

/** What the stream needs besides the board: the holder's current facts and the token lifetime. */
export interface StreamAccess {
  caller(userId: number): Promise<CallerFacts | null>;
  tokenTtlMs: number;
}

/** What was last published to a view's clients: the top N ids in order, and each one's row content. */
interface Published {
  order: number[];
  tails: Map<number, string>;
}

/**
 * The live stream (`/api/v1/scoreboard/stream`). The kernel checks Origin and the signed token before a socket
 * reaches us, and closes it when the token expires. We check the token's holder as they are now: a banned or
 * deleted account is refused (4403, 4401), a token issued before its holder signed out is refused (4401), and the
 * view is live only for a holder who is still an admin (admins see through the freeze). Each change to a
 * holder's account, role, team or credentials re-checks their open sockets: a refused one is closed, one whose
 * view changed gets the new view's snapshot. A client keeps its socket past the token's expiry by sending
 * `{type: "renew", token}` with a fresh token of the same holder (answered `{type: "renewed", expiresAt}`, or
 * `{type: "renew-refused", reason}`).
 *
 * Protocol (JSON): on connect, `{type: "snapshot", seq, frozen, freezeAt, standings}` with the top N rows as the
 * API serves them; then `{type: "delta", seq, event: "solve" | "award" | "rank", rows, order, ...}` where `order`
 * is the account ids of the new top N (a row's pos is its index there + 1) and `rows` the rows whose content
 * changed or that entered the top N (with their current pos). Rows that only moved are not resent, so a solve
 * costs one row and the order, whatever the number of accounts it overtook. `seq` increases by one per message
 * of a view; a client that sees a gap sends `{type: "resync"}` and gets a new snapshot. Deltas are computed once
 * per change and view and sent to every client of that view. Other plugins' `{type: "announcement", kind, data}`
 * messages (service.ts) carry no seq. A frozen public view does not change, so players
 * get nothing after the freeze.
 */
export class ScoreStream {
  private readonly clients: Record<View, Set<ChannelConnection>> = { live: new Set(), public: new Set() };
  private readonly holders = new Map<ChannelConnection, Holder>();
  /** When each user last changed credentials (signed out, password, revoked token): older tokens are refused. */
  private readonly signedOutAt = new Map<number, number>();
  private readonly seq: Record<View, number> = { live: 0, public: 0 };
  private readonly published: Record<View, Published> = { live: { order: [], tails: new Map() }, public: { order: [], tails: new Map() } };
  private freezeTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly board: Scoreboard,
    private readonly top: number,
    private readonly sendToAll: (connections: Iterable<ChannelConnection>, message: unknown) => number,
    private readonly access: StreamAccess,
  ) {
    board.onChange((change) => this.publish(change));
    board.onSettings(() => {
      this.dropRefused();
      this.armFreezeTimer();
    });
  }

  async connect(connection: ChannelConnection): Promise<void> {
    let closed = false;
    connection.onClose(() => {
      closed = true;
      const holder = this.holders.get(connection);
      if (holder) this.clients[holder.view].delete(connection);
      this.holders.delete(connection);
    });
    const verdict = await this.authorise(connection.claims);
    if (closed) return;
    if (!verdict.ok) return connection.close(verdict.code, verdict.reason);
    const holder: Holder = { ...verdict.holder, renewedAt: 0 };
    this.holders.set(connection, holder);
    this.clients[holder.view].add(connection);
    // A resync is answered when something happened since this client's last snapshot (or a while passed), so a
    // client spamming resyncs costs nothing.
    let last = { view: holder.view, seq: this.seq[holder.view], at: Date.now() };
    connection.onMessage((message) => {
      const type = (message as { type?: unknown } | null)?.type;
      if (type === "renew") {
        this.renew(connection, (message as { token?: unknown }).token).catch(() => connection.close(1011, "could not check the token's holder"));
        return;
      }
      const current = this.holders.get(connection);
      if (type !== "resync" || !current) return;
      const view = current.view;
      if (last.view === view && this.seq[view] === last.seq && Date.now() - last.at < RESYNC_REPEAT_MS) return;
      last = { view, seq: this.seq[view], at: Date.now() };
      connection.send(this.snapshot(view));
    });
    connection.send(this.snapshot(holder.view));
  }

  /**
   * An account changed (on any instance): its holders' sockets are re-checked. New credentials (a sign-out, a
   * password, a revoked token) close them outright: the tokens were issued to a session that may be gone.
   */
  async accountChanged(change: AccountUpdated): Promise<void> {
    const signedOut = change.accountType === "user" && change.changes.includes("credentials");
    if (signedOut) this.rememberSignOut(change.id);
    const concerned = [...this.holders].filter(([, h]) => h.userId !== null && this.concerns(change, h));
    // The sign-out is remembered first, so a re-check refuses a signed-out holder (4401) unless a ban or a
    // deletion says more (4403, 4401 with its own reason).
    await Promise.all(concerned.map(([connection]) => this.reauthorise(connection)));
  }

  /** Called once the board has its first state (init): what clients see from now on starts here. */
  start(): void {
    for (const view of VIEWS) this.remember(view);
    this.armFreezeTimer();
  }

  stop(): void {
    if (this.freezeTimer) clearTimeout(this.freezeTimer);
    this.freezeTimer = null;
  }

  snapshot(view: View) {
    const freezeAt = this.board.settings.freezeAt;
    return {
      type: "snapshot",
      seq: this.seq[view],
      frozen: view === "public" && this.board.frozen(),
      freezeAt: freezeAt === null ? null : new Date(freezeAt).toISOString(),
      standings: this.board.state
        .standings(view)
        .slice(0, this.top)
        .map((s, i) => rowObject(i + 1, s.tail)),
    };
  }

  private publish(change: BoardChange): void {
    for (const view of VIEWS) {
      if (change.cause.event === "rebuilt") {
        this.remember(view);
        this.seq[view]++;
        this.broadcast(view, this.snapshot(view));
        continue;
      }
      if (!change.views[view]) continue;
      const standings = this.board.state.standings(view);
      const count = Math.min(this.top, standings.length);
      const before = this.published[view];
      const order = new Array<number>(count);
      const rows: Array<Record<string, unknown>> = [];
      const tails = new Map<number, string>();
      for (let i = 0; i < count; i++) {
        const s = standings[i]!;
        order[i] = s.id;
        tails.set(s.id, s.tail);
        if (before.tails.get(s.id) !== s.tail) rows.push(rowObject(i + 1, s.tail));
      }
      const orderChanged = order.length !== before.order.length || order.some((id, i) => before.order[i] !== id);
      this.published[view] = { order, tails };
      if (change.cause.event === "rank" && rows.length === 0 && !orderChanged) continue;
      this.seq[view]++;
      this.broadcast(view, { type: "delta", seq: this.seq[view], ...this.describe(change, view), rows, order });
    }
  }

  /** The delta's event and what happened, in the view's terms. */
  private describe(change: BoardChange, view: View): Record<string, unknown> {
    const state = this.board.state;
    const cause = change.cause;
    if (cause.event === "solve" || cause.event === "award") {
      const item = cause.event === "solve" ? { ...cause.solve, kind: "solve" as const } : { ...cause.award, kind: "award" as const };
      const accountId = state.mode === "teams" ? item.teamId : item.userId;
      return {
        event: cause.event,
        account_id: accountId,
        user_id: item.userId,
        challenge_id: item.kind === "solve" ? item.challengeId : null,
        value: state.valueOf(item, view),
        date: zulu(item.at),
        score: accountId === null ? null : (state.standing(view, accountId)?.score ?? null),
      };
    }
    return { event: "rank" };
  }

  private remember(view: View): void {
    const standings = this.board.state.standings(view).slice(0, this.top);
    this.published[view] = { order: standings.map((s) => s.id), tails: new Map(standings.map((s) => [s.id, s.tail])) };
  }

  /** Another plugin's announcement (see service.ts): outside the delta sequence, hidden from players while frozen. */
  announce({ kind, data }: ScoreAnnouncement): void {
    const message = { type: "announcement", kind, data };
    this.broadcast("live", message);
    if (!this.board.frozen()) this.broadcast("public", message);
  }

  private broadcast(view: View, message: unknown): void {
    this.sendToAll(this.clients[view], message);
  }

  /** Who the token stands for now, and what they may see. */
  private async authorise(claims: TokenClaims): Promise<Verdict> {
    let holder: Omit<Holder, "renewedAt"> = { view: "public", viewer: { loggedIn: false, admin: false }, userId: null, teamId: null };
    if (claims.sub !== undefined && !/^[1-9]\d{0,9}$/.test(claims.sub)) {
      // The kernel's bootstrap admin (no account): its token says what it is.
      holder = { ...holder, viewer: { loggedIn: true, admin: claims.admin === true } };
    } else if (claims.sub !== undefined) {
      const userId = Number(claims.sub);
      const facts = await this.access.caller(userId);
      if (!facts) return { ok: false, code: CLOSE_UNAUTHORIZED, reason: "the account no longer exists" };
      if (facts.banned) return { ok: false, code: CLOSE_FORBIDDEN, reason: "the account is banned" };
      if ((this.signedOutAt.get(userId) ?? -Infinity) > claims.exp - this.access.tokenTtlMs) {
        return { ok: false, code: CLOSE_UNAUTHORIZED, reason: "signed out: get a new token" };
      }
      holder = { view: "public", viewer: { loggedIn: true, admin: claims.admin === true && facts.admin }, userId, teamId: facts.teamId };
    }
    if (refusal(this.board.settings, holder.viewer)) return { ok: false, code: CLOSE_FORBIDDEN, reason: "the scoreboard is not visible to you" };
    return { ok: true, holder: { ...holder, view: holder.viewer.admin ? "live" : "public" } };
  }

  /** Re-checks an open socket's holder: closes it when refused, moves it (with a snapshot) when its view changed. */
  private async reauthorise(connection: ChannelConnection): Promise<void> {
    const verdict = await this.authorise(connection.claims);
    const holder = this.holders.get(connection);
    if (!holder) return; // closed meanwhile
    if (!verdict.ok) return connection.close(verdict.code, verdict.reason);
    const { view } = verdict.holder;
    Object.assign(holder, verdict.holder);
    if (this.clients[view].has(connection)) return;
    for (const v of VIEWS) this.clients[v].delete(connection);
    this.clients[view].add(connection);
    connection.send(this.snapshot(view));
  }

  private async renew(connection: ChannelConnection, token: unknown): Promise<void> {
    const holder = this.holders.get(connection);
    if (!holder) return;
    if (typeof token !== "string") return void connection.send({ type: "renew-refused", reason: "malformed" });
    if (Date.now() - holder.renewedAt < RENEW_INTERVAL_MS) return void connection.send({ type: "renew-refused", reason: "too-soon" });
    const verdict = connection.renew(token);
    if (!verdict.ok) return void connection.send({ type: "renew-refused", reason: verdict.reason });
    holder.renewedAt = Date.now();
    await this.reauthorise(connection);
    if (this.holders.has(connection)) connection.send({ type: "renewed", expiresAt: new Date(verdict.claims.exp).toISOString() });
  }

  private concerns(change: AccountUpdated, holder: Holder): boolean {
    if (change.accountType === "user" && change.id === holder.userId) return true;
    return holder.teamId !== null && ((change.accountType === "team" && change.id === holder.teamId) || change.affectedTeamIds.includes(holder.teamId));
  }

  /** Remembered for a token's lifetime: later, every token issued before the sign-out has expired anyway. */
  private rememberSignOut(userId: number): void {
    const now = Date.now();
    this.signedOutAt.delete(userId);
    this.signedOutAt.set(userId, now); // insertion order is time order, so the stale ones are at the front
    for (const [id, at] of this.signedOutAt) {
      if (at > now - this.access.tokenTtlMs) break;
      this.signedOutAt.delete(id);
    }
  }

  /** After a visibility change, clients who may no longer see the board are disconnected. */
  private dropRefused(): void {
    for (const [connection, holder] of [...this.holders]) if (refusal(this.board.settings, holder.viewer)) connection.close(CLOSE_FORBIDDEN, "the scoreboard is not visible to you");
  }

  /** When the freeze comes, players get a snapshot marked frozen (the standings themselves do not change). */
  private armFreezeTimer(): void {
    if (this.freezeTimer) clearTimeout(this.freezeTimer);
    this.freezeTimer = null;
    const freezeAt = this.board.settings.freezeAt;
    if (freezeAt === null || freezeAt <= Date.now()) return;
    this.freezeTimer = setTimeout(
      () => {
        this.freezeTimer = null;
        if (!this.board.frozen()) return this.armFreezeTimer();
        this.seq.public++;
        this.broadcast("public", this.snapshot("public"));
      },
      Math.min(MAX_TIMER_MS, freezeAt - Date.now() + 1),
    );
    this.freezeTimer.unref();
  }
}
