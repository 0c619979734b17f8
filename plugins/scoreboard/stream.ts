import type { ChannelConnection } from "../../core/kernel/http/websocket.js";
import type { TokenClaims } from "../../core/kernel/tokens.js";
import { refusal } from "./access.js";
import type { BoardChange, Scoreboard } from "./board.js";
import { rowObject, zulu } from "./engine/rows.js";
import { VIEWS, type View } from "./engine/state.js";

export const STREAM_PATH = "/api/v1/scoreboard/stream";

/** How soon a client may get the same snapshot again by asking. */
const RESYNC_REPEAT_MS = 5_000;

/** Timers cannot wait longer than this (about 24.8 days); a later freeze is re-armed when settings change. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What was last published to a view's clients: the top N ids in order, and each one's row content. */
interface Published {
  order: number[];
  tails: Map<number, string>;
}

/**
 * The live stream (`/api/v1/scoreboard/stream`). The kernel checks Origin and the signed token before a socket
 * reaches us; the token's `admin` claim picks the view (admins see through the freeze).
 *
 * Protocol (JSON): on connect, `{type: "snapshot", seq, frozen, freezeAt, standings}` with the top N rows as the
 * API serves them; then `{type: "delta", seq, event: "solve" | "award" | "rank", rows, order, ...}` where `order`
 * is the account ids of the new top N (a row's pos is its index there + 1) and `rows` the rows whose content
 * changed or that entered the top N (with their current pos). Rows that only moved are not resent, so a solve
 * costs one row and the order, whatever the number of accounts it overtook. `seq` increases by one per message
 * of a view; a client that sees a gap sends `{type: "resync"}` and gets a new snapshot. Deltas are computed once
 * per change and view and sent to every client of that view. A frozen public view does not change, so players
 * get nothing after the freeze.
 */
export class ScoreStream {
  private readonly clients: Record<View, Set<ChannelConnection>> = { live: new Set(), public: new Set() };
  private readonly seq: Record<View, number> = { live: 0, public: 0 };
  private readonly published: Record<View, Published> = { live: { order: [], tails: new Map() }, public: { order: [], tails: new Map() } };
  private freezeTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly board: Scoreboard,
    private readonly top: number,
    private readonly sendToAll: (connections: Iterable<ChannelConnection>, message: unknown) => number,
  ) {
    board.onChange((change) => this.publish(change));
    board.onSettings(() => {
      this.dropRefused();
      this.armFreezeTimer();
    });
  }

  connect(connection: ChannelConnection): void {
    if (!this.allowed(connection.claims)) {
      connection.close(4403, "the scoreboard is not visible to you");
      return;
    }
    const view: View = connection.claims.admin ? "live" : "public";
    this.clients[view].add(connection);
    connection.onClose(() => this.clients[view].delete(connection));
    // A resync is answered when something happened since this client's last snapshot (or a while passed), so a
    // client spamming resyncs costs nothing.
    let last = { seq: this.seq[view], at: Date.now() };
    connection.onMessage((message) => {
      if ((message as { type?: unknown } | null)?.type !== "resync") return;
      if (this.seq[view] === last.seq && Date.now() - last.at < RESYNC_REPEAT_MS) return;
      last = { seq: this.seq[view], at: Date.now() };
      connection.send(this.snapshot(view));
    });
    connection.send(this.snapshot(view));
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

  private broadcast(view: View, message: unknown): void {
    this.sendToAll(this.clients[view], message);
  }

  /** A token's holder: logged in when it names a subject, admin when it says so. */
  private allowed(claims: TokenClaims): boolean {
    return refusal(this.board.settings, { loggedIn: claims.sub !== undefined, admin: claims.admin === true }) === null;
  }

  /** After a visibility change, clients who may no longer see the board are disconnected. */
  private dropRefused(): void {
    for (const view of VIEWS) for (const connection of [...this.clients[view]]) if (!this.allowed(connection.claims)) connection.close(4403, "the scoreboard is not visible to you");
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
