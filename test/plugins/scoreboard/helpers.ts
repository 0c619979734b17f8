import { expect } from "chai";
import { resolve } from "node:path";
import WebSocket from "ws";
import { startCtf, type Client, type TestCtf } from "../../helpers/ctf.js";
import { projectRoot } from "../../helpers/kernel.js";

export const SCOREBOARD_PLUGIN = resolve(projectRoot, "plugins/scoreboard");

/** core/ctf plus the scoreboard, set up, on a fresh database. */
export function startScoreboard(options: Parameters<typeof startCtf>[0] = {}): Promise<TestCtf> {
  return startCtf({ ...options, plugins: [SCOREBOARD_PLUGIN, ...(options.plugins ?? [])] });
}

/** Waits until every event emitted so far has been applied by the engine. */
export const settle = (t: TestCtf) => t.kernel.events.drain();

/** The board's rows as a client sees them (asserting 200). */
export async function boardOf(client: Client, query = ""): Promise<Array<Record<string, any>>> {
  const res = await client.get(`/api/v1/scoreboard${query}`);
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body.data;
}

/** [name, score] pairs in board order. */
export const ranking = (rows: Array<Record<string, any>>) => rows.map((r) => [r.name, r.score]);

export async function solve(player: Client, challengeId: number, flag = "flag{test}"): Promise<void> {
  const res = await player.post("/api/v1/challenges/attempt", { challenge_id: challengeId, submission: flag });
  expect(res.body?.data?.status, JSON.stringify(res.body)).to.equal("correct");
}

export async function award(t: TestCtf, target: { user_id?: number; team_id?: number }, value: number): Promise<number> {
  const res = await t.admin.post("/api/v1/awards", { ...target, name: `award ${value}`, value });
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body.data.id;
}

export async function patchUser(t: TestCtf, id: number, body: Record<string, unknown>): Promise<void> {
  const res = await t.admin.patch(`/api/v1/users/${id}`, body);
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
}

export async function patchTeam(t: TestCtf, id: number, body: Record<string, unknown>): Promise<void> {
  const res = await t.admin.patch(`/api/v1/teams/${id}`, body);
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
}

export async function setConfig(t: TestCtf, body: Record<string, unknown>): Promise<void> {
  const res = await t.admin.patch("/api/v1/configs", body);
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
}

/** A player who creates (or joins) a team; returns the client and the team id. */
export async function teamPlayer(t: TestCtf, teamName: string, create: boolean): Promise<{ player: Client; teamId: number }> {
  const player = await t.register();
  const res = await player.post(create ? "/api/v1/teams/new" : "/api/v1/teams/join", { name: teamName, password: "team-password-1" });
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return { player, teamId: res.body.data.id };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A stream token for this client (anonymous when it has no credentials). */
export async function streamToken(client: Client): Promise<string> {
  const res = await client.post("/api/v1/scoreboard/stream-token", {});
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body.data.token;
}

/** A WebSocket client that records every message and can wait for the next one matching a condition. */
export class StreamClient {
  readonly messages: Array<Record<string, any>> = [];
  /** The server's close code and reason, recorded as soon as the socket closes (null while open). */
  closed: { code: number; reason: string } | null = null;
  private read = 0;
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: WebSocket) {
    socket.once("close", (code, reason) => (this.closed = { code, reason: reason.toString() }));
    socket.on("message", (data) => {
      this.messages.push(JSON.parse(data.toString()));
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Opens the stream; rejects with the HTTP status when the upgrade is refused. */
  static open(baseUrl: string, token: string, origin: string = baseUrl): Promise<StreamClient> {
    const url = `${baseUrl.replace(/^http/, "ws")}/api/v1/scoreboard/stream?token=${encodeURIComponent(token)}`;
    return new Promise((resolveOpen, reject) => {
      const client = new StreamClient(new WebSocket(url, { origin }));
      client.socket.once("open", () => resolveOpen(client));
      client.socket.once("unexpected-response", (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
      client.socket.once("error", reject);
    });
  }

  /** The next unread message that matches (skipping others), within timeoutMs. */
  async next(match: (m: Record<string, any>) => boolean = () => true, timeoutMs = 10_000): Promise<Record<string, any>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.read < this.messages.length) {
        const message = this.messages[this.read++]!;
        if (match(message)) return message;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching stream message within ${timeoutMs} ms; got ${JSON.stringify(this.messages.slice(-5))}`);
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          wake();
        });
      });
    }
  }

  /** Messages that arrived and were not read yet. */
  unread(): Array<Record<string, any>> {
    return this.messages.slice(this.read);
  }

  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  close(): void {
    this.socket.close();
  }
}
