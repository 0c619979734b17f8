import { expect } from "chai";
import WebSocket from "ws";
import { startCtf, type Client, type TestCtf } from "../helpers/ctf.js";
import { sleep, startScoreboard, streamToken } from "../plugins/scoreboard/helpers.js";

const LIMITS = { perToken: 2, perAddress: 3, total: 5 };
const config = { http: { trustProxy: true }, streams: LIMITS };

/** Opens the scoreboard stream from `address` (X-Forwarded-For, trusted here); resolves with the first message or the close. */
function openSocket(t: TestCtf, token: string, address: string): Promise<{ socket: WebSocket; first: Record<string, any> | { closed: number; reason: string } }> {
  const url = `${t.url.replace(/^http/, "ws")}/api/v1/scoreboard/stream?token=${encodeURIComponent(token)}`;
  const socket = new WebSocket(url, { origin: t.url, headers: { "x-forwarded-for": address } });
  return new Promise((resolve, reject) => {
    socket.once("message", (data) => resolve({ socket, first: JSON.parse(data.toString()) }));
    socket.once("close", (code, reason) => resolve({ socket, first: { closed: code, reason: reason.toString() } }));
    socket.once("error", reject);
  });
}

/** Opens /events from `address` as `client` (anonymous when null); the caller closes it. */
async function openEvents(t: TestCtf, client: Client | null, address: string) {
  const controller = new AbortController();
  const response = await fetch(`${t.url}/events`, { headers: { "x-forwarded-for": address, ...(client?.cookie ? { cookie: client.cookie } : {}) }, signal: controller.signal });
  const body = response.status === 200 ? null : await response.json();
  return { status: response.status, body, close: () => controller.abort() };
}

describe("stream connection limits: per token, per address, in total", function () {
  this.timeout(120_000);

  it("refuses the scoreboard stream's excess sockets with a close code that says which limit, and frees a slot on close", async () => {
    const t = await startScoreboard({ config });
    const sockets: WebSocket[] = [];
    const open = async (token: string, address: string) => {
      const opened = await openSocket(t, token, address);
      sockets.push(opened.socket);
      return opened;
    };
    try {
      const token = await streamToken(t.anonymous());
      expect((await open(token, "10.0.0.1")).first).to.include({ type: "snapshot" });
      expect((await open(token, "10.0.0.1")).first).to.include({ type: "snapshot" });
      const perToken = (await open(token, "10.0.0.1")).first;
      expect(perToken).to.include({ closed: 4429 });
      expect(perToken.reason).to.match(/token/);

      expect((await open(await streamToken(t.anonymous()), "10.0.0.1")).first).to.include({ type: "snapshot" });
      const perAddress = (await open(await streamToken(t.anonymous()), "10.0.0.1")).first;
      expect(perAddress).to.include({ closed: 4429 });
      expect(perAddress.reason).to.match(/address/);

      expect((await open(await streamToken(t.anonymous()), "10.0.0.2")).first).to.include({ type: "snapshot" });
      expect((await open(await streamToken(t.anonymous()), "10.0.0.3")).first).to.include({ type: "snapshot" });
      const total = (await open(await streamToken(t.anonymous()), "10.0.0.4")).first;
      expect(total).to.include({ closed: 1013 });
      expect(total.reason).to.match(/limit/);

      // A closed socket gives its slot back.
      const first = sockets[0]!;
      await new Promise((resolve) => (first.once("close", resolve), first.close()));
      let again: Record<string, any> = {};
      for (let i = 0; i < 50 && again.type !== "snapshot"; i++) {
        if (i > 0) await sleep(50);
        again = (await open(await streamToken(t.anonymous()), "10.0.0.4")).first;
      }
      expect(again).to.include({ type: "snapshot" });
    } finally {
      for (const socket of sockets) socket.terminate();
      await t.stop();
    }
  });

  it("answers /events beyond a limit with a 429 that names it, and frees a slot on close", async () => {
    const t = await startCtf({ config: { ...config, streams: { ...LIMITS, total: 4 } } });
    const streams: Array<{ close(): void }> = [];
    const open = async (client: Client | null, address: string) => {
      const opened = await openEvents(t, client, address);
      streams.push(opened);
      return opened;
    };
    try {
      const alice = await t.register();
      expect((await open(alice, "10.1.0.1")).status).to.equal(200);
      expect((await open(alice, "10.1.0.1")).status).to.equal(200);
      const perSession = await open(alice, "10.1.0.1");
      expect(perSession.status).to.equal(429);
      expect(JSON.stringify(perSession.body.errors)).to.match(/session or token/);

      expect((await open(null, "10.1.0.1")).status).to.equal(200);
      const perAddress = await open(null, "10.1.0.1");
      expect(perAddress.status).to.equal(429);
      expect(JSON.stringify(perAddress.body.errors)).to.match(/address/);

      expect((await open(null, "10.1.0.2")).status).to.equal(200);
      const total = await open(null, "10.1.0.3");
      expect(total.status).to.equal(429);
      expect(JSON.stringify(total.body.errors)).to.match(/limit/);

      streams[0]!.close();
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        if (i > 0) await sleep(50);
        status = (await open(null, "10.1.0.3")).status;
      }
      expect(status).to.equal(200);
    } finally {
      for (const stream of streams) stream.close();
      await t.stop();
    }
  });
});
