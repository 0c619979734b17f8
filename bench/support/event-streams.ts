import { request } from "node:http";
import WebSocket from "ws";

/** One player's score stream, held open for the whole event. */
interface Holder {
  token: string;
  address: string;
  socket: WebSocket | null;
  seq: number | null;
  renewTimer: NodeJS.Timeout | null;
}

/** What the event's streams saw. */
export interface StreamFigures {
  holders: number;
  /** Sockets opened (first connections and reconnections). */
  connects: number;
  /** Sockets that closed while the event ran (a killed web process, a refused token) and were opened again. */
  reconnects: number;
  /** Connection attempts that failed (no token, refused upgrade). */
  connectFailures: number;
  snapshots: number;
  deltas: number;
  /** Sequence gaps seen (each answered with a resync). */
  gaps: number;
  renewals: number;
  renewRefusals: number;
  /** Close codes of sockets closed by the other end. */
  closeCodes: Record<string, number>;
}

/** A POST with the player's own source address, answered as parsed JSON (or null on any failure). */
function postJson(url: string, headers: Record<string, string>, localAddress: string): Promise<{ status: number; body: any } | null> {
  return new Promise((resolve) => {
    const req = request(url, { method: "POST", headers: { ...headers, "content-length": "0" }, localAddress, timeout: 10_000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (text += c));
      res.on("end", () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        } catch {
          resolve({ status: res.statusCode ?? 0, body: null });
        }
      });
      res.on("error", () => resolve(null));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve(null));
    req.end();
  });
}

/**
 * Players holding `/api/v1/scoreboard/stream` open through the load balancer, each from its own loopback address
 * (as players come from their own addresses; flaghost limits streams per address). A socket that closes while the
 * event runs is opened again with a fresh token (a killed web process: nginx sends the new one to another); a gap in
 * `seq` is answered with `{type: "resync"}`; tokens are renewed at 80 % of their life, as the page does.
 *
 * Every solve delta's arrival time is kept per `userId:challengeId`, to be matched with the time the solver's
 * attempt was answered (`deliveryDelays`).
 */
export class EventStreams {
  private readonly holders: Holder[] = [];
  private stopping = false;
  /** Arrival times (epoch ms) of each solve's deltas, over every socket. */
  readonly arrivals = new Map<string, number[]>();
  readonly figures: StreamFigures = { holders: 0, connects: 0, reconnects: 0, connectFailures: 0, snapshots: 0, deltas: 0, gaps: 0, renewals: 0, renewRefusals: 0, closeCodes: {} };

  constructor(private readonly baseUrl: string) {}

  /** Opens one stream per player, `perSecond` at a time (a real crowd arrives over the first minutes). */
  async open(players: Array<{ token: string; address: string }>, perSecond: number): Promise<void> {
    this.figures.holders = players.length;
    for (let i = 0; i < players.length; i++) {
      if (this.stopping) return;
      const holder: Holder = { ...players[i]!, socket: null, seq: null, renewTimer: null };
      this.holders.push(holder);
      void this.connect(holder);
      if ((i + 1) % perSecond === 0) await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /** How many sockets are open now. */
  openCount(): number {
    return this.holders.filter((h) => h.socket?.readyState === WebSocket.OPEN).length;
  }

  private async streamToken(holder: Holder): Promise<{ token: string; expiresAt: number } | null> {
    const answer = await postJson(`${this.baseUrl}/api/v1/scoreboard/stream-token`, { authorization: `Token ${holder.token}` }, holder.address);
    if (answer?.status !== 200 || typeof answer.body?.data?.token !== "string") return null;
    return { token: answer.body.data.token, expiresAt: new Date(answer.body.data.expiresAt).getTime() };
  }

  private async connect(holder: Holder, attempt = 0): Promise<void> {
    if (this.stopping) return;
    const signed = await this.streamToken(holder);
    if (!signed) {
      this.figures.connectFailures++;
      setTimeout(() => void this.connect(holder, attempt + 1), Math.min(10_000, 1000 * 2 ** attempt)).unref();
      return;
    }
    const url = `${this.baseUrl.replace(/^http/, "ws")}/api/v1/scoreboard/stream?token=${encodeURIComponent(signed.token)}`;
    const socket = new WebSocket(url, { localAddress: holder.address, origin: this.baseUrl, perMessageDeflate: false });
    holder.socket = socket;
    holder.seq = null;
    this.figures.connects++;
    let opened = false;
    socket.on("open", () => {
      opened = true;
      this.scheduleRenewal(holder, signed.expiresAt);
    });
    socket.on("message", (data) => this.receive(holder, data.toString()));
    socket.on("error", () => {
      /* the close that follows reconnects */
    });
    socket.on("close", (code) => {
      if (holder.renewTimer) clearTimeout(holder.renewTimer);
      if (this.stopping || holder.socket !== socket) return;
      this.figures.closeCodes[code] = (this.figures.closeCodes[code] ?? 0) + 1;
      if (opened) this.figures.reconnects++;
      else this.figures.connectFailures++;
      const wait = opened ? 200 + Math.random() * 800 : Math.min(10_000, 1000 * 2 ** attempt);
      setTimeout(() => void this.connect(holder, opened ? 0 : attempt + 1), wait).unref();
    });
  }

  private scheduleRenewal(holder: Holder, expiresAt: number): void {
    const inMs = Math.max(1000, (expiresAt - Date.now()) * 0.8);
    holder.renewTimer = setTimeout(async () => {
      const socket = holder.socket;
      const signed = await this.streamToken(holder);
      if (!signed || socket !== holder.socket || socket?.readyState !== WebSocket.OPEN) return;
      socket.send(JSON.stringify({ type: "renew", token: signed.token }));
      this.scheduleRenewal(holder, signed.expiresAt);
    }, inMs);
    holder.renewTimer.unref();
  }

  private receive(holder: Holder, text: string): void {
    const arrived = Date.now();
    let message: { type?: string; seq?: number; event?: string; user_id?: number; challenge_id?: number };
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.type === "snapshot") {
      this.figures.snapshots++;
      holder.seq = message.seq ?? null;
    } else if (message.type === "delta") {
      this.figures.deltas++;
      if (holder.seq !== null && message.seq !== holder.seq + 1) {
        this.figures.gaps++;
        holder.socket?.send(JSON.stringify({ type: "resync" }));
      }
      holder.seq = message.seq ?? null;
      if (message.event === "solve" && message.user_id != null && message.challenge_id != null) {
        const key = `${message.user_id}:${message.challenge_id}`;
        let list = this.arrivals.get(key);
        if (!list) this.arrivals.set(key, (list = []));
        list.push(arrived);
      }
    } else if (message.type === "renewed") {
      this.figures.renewals++;
    } else if (message.type === "renew-refused") {
      this.figures.renewRefusals++;
    }
  }

  async close(): Promise<void> {
    this.stopping = true;
    for (const holder of this.holders) {
      if (holder.renewTimer) clearTimeout(holder.renewTimer);
      holder.socket?.terminate();
    }
  }
}

/**
 * Delivery delays: for every acknowledged correct answer (`userId:challengeId` → when its answer arrived), the time
 * from that answer to each arrival of its delta on a stream. A delta can beat the HTTP answer to the client (0 then).
 * Also says how many answers no stream delivered at all.
 */
export function deliveryDelays(acks: Map<string, number>, arrivals: Map<string, number[]>): { delays: number[]; acksWithoutDelta: number } {
  const delays: number[] = [];
  let acksWithoutDelta = 0;
  for (const [key, ackedAt] of acks) {
    const seen = arrivals.get(key);
    if (!seen) {
      acksWithoutDelta++;
      continue;
    }
    for (const at of seen) delays.push(Math.max(0, at - ackedAt));
  }
  return { delays, acksWithoutDelta };
}
