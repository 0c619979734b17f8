import { request } from "node:http";
import { expect } from "chai";
import { WebSocket } from "ws";
import { TokenSigner } from "../../core/kernel/tokens.js";
import { fixturePlugin, startTestKernel, type TestKernel } from "../helpers/kernel.js";

describe("HTTP and WebSocket", () => {
  let t: TestKernel;
  before(async () => {
    t = await startTestKernel({ plugins: [fixturePlugin("channels"), fixturePlugin("alpha")], config: { websocket: { maxBufferedBytes: 256 * 1024 } } });
  });
  after(() => t.stop());

  describe("health, readiness and admin guard", () => {
    it("answers /healthz and /readyz with the database, redis and plugin states", async () => {
      expect((await t.request("GET", "/healthz", { token: null })).status).to.equal(200);
      const ready = await t.request("GET", "/readyz", { token: null });
      expect(ready.status).to.equal(200);
      expect(ready.body.success).to.equal(true);
      expect(ready.body.data.database).to.equal("ok");
      expect(ready.body.data.redis).to.be.oneOf(["ok", "in-process"]);
      expect(ready.body.data.plugins).to.deep.equal({ alpha: "started", channels: "started" });
    });

    it("refuses admin endpoints without the bootstrap token (401) and with a wrong one, never 500", async () => {
      const missing = await t.request("GET", "/api/v1/admin/plugins", { token: null });
      expect(missing.status).to.equal(401);
      expect(missing.body.success).to.equal(false);
      const wrong = await t.request("GET", "/api/v1/admin/jobs", { token: "not-the-token-at-all" });
      expect(wrong.status).to.equal(401);
      expect((await t.request("GET", "/api/v1/admin/plugins")).status).to.equal(200);
    });
  });

  describe("envelopes and errors", () => {
    it("answers a bad body with 400 and field errors", async () => {
      const res = await t.request("POST", "/channels/items", { body: { name: "", count: "three" } });
      expect(res.status, JSON.stringify(res.body)).to.equal(400);
      expect(res.body.success).to.equal(false);
      expect(Object.keys(res.body.errors).sort()).to.deep.equal(["count", "name"]);
      expect(res.body.errors.count[0]).to.match(/expected number/);
    });

    it("answers malformed JSON with 400 and an oversized body with 413", async () => {
      const malformed = await t.request("POST", "/channels/items", { body: "{not json" });
      expect(malformed.status).to.equal(400);
      expect(malformed.body.errors.body[0]).to.include("is not valid JSON");
      const huge = await t.request("POST", "/channels/items", { body: JSON.stringify({ name: "x".repeat(2 * 1024 * 1024), count: 1 }) });
      expect(huge.status).to.equal(413);
    });

    it("turns an unexpected error into 500 with a request id and keeps the detail in the log only", async () => {
      const res = await t.request("GET", "/channels/crash");
      expect(res.status).to.equal(500);
      const requestId = res.headers.get("x-request-id");
      expect(requestId).to.be.a("string");
      expect(res.body.errors.server[0]).to.include(requestId);
      expect(JSON.stringify(res.body)).not.to.include("secret internal detail");
      expect(res.body.stack).to.equal(undefined);
      const logged = t.logs.find((l) => l.requestId === requestId);
      expect(JSON.stringify(logged)).to.include("secret internal detail");
    });

    it("sends security headers and answers unknown routes with a JSON 404", async () => {
      const res = await t.request("GET", "/no/such/route");
      expect(res.status).to.equal(404);
      expect(res.body).to.deep.equal({ success: false, errors: { route: ["Not found"] } });
      expect(res.headers.get("content-security-policy")).to.include("default-src 'self'").and.include("script-src 'self'");
      expect(res.headers.get("x-content-type-options")).to.equal("nosniff");
    });

    it("never writes the admin token to the log", async () => {
      await t.request("GET", "/api/v1/admin/plugins");
      expect(JSON.stringify(t.logs)).not.to.include("test-admin-token");
    });
  });

  describe("static assets", () => {
    it("serves files from the declared folder", async () => {
      const res = await t.request("GET", "/channels/static/hello.txt", { token: null });
      expect(res.status).to.equal(200);
      expect(res.body).to.equal("hello from a static file\n");
      expect((await t.request("GET", "/channels/static/css/site.css", { token: null })).status).to.equal(200);
    });

    for (const attempt of [
      "/channels/static/../plugin.json",
      "/channels/static/..%2fplugin.json",
      "/channels/static/%2e%2e/plugin.json",
      "/channels/static/%2e%2e%2fplugin.json",
      "/channels/static/%252e%252e%252fplugin.json",
      "/channels/static/css/..%2f..%2findex.ts",
      "/channels/static/..%5cplugin.json",
      "/channels/static/%2fetc%2fpasswd",
      "/channels/static/",
    ]) {
      it(`answers 404 to ${attempt}`, async () => {
        // fetch() would normalise "..", so send the raw path over a socket-level request.
        const res = await rawRequest(t.url, "GET", attempt);
        expect(res.status).to.equal(404);
        expect(res.body).not.to.include("\"entry\"");
      });
    }
  });

  describe("WebSocket channels", () => {
    const wsUrl = (token: string | null) => `${t.url.replace("http", "ws")}/channels/echo${token === null ? "" : `?token=${encodeURIComponent(token)}`}`;
    const issue = async (ttlMs?: number) => (await t.request("POST", "/channels/token", { body: ttlMs ? { ttlMs } : {}, token: null })).body.data.token as string;

    it("accepts a valid token from the same origin and echoes", async () => {
      const ws = new WebSocket(wsUrl(await issue()), { origin: t.url });
      const messages: unknown[] = [];
      ws.on("message", (m) => messages.push(JSON.parse(m.toString())));
      await new Promise((resolve, reject) => {
        ws.once("open", resolve);
        ws.once("error", reject);
      });
      ws.send(JSON.stringify({ hi: 1 }));
      await waitFor(() => messages.length >= 2);
      expect(messages).to.deep.equal([{ type: "hello" }, { type: "echo", message: { hi: 1 } }]);
      ws.close();
    });

    it("broadcasts one message to every connection of the channel, as a text frame", async () => {
      const sockets = await Promise.all(
        [1, 2, 3].map(async () => {
          const ws = new WebSocket(wsUrl(await issue()), { origin: t.url });
          const frames: Array<{ text: boolean; message: any }> = [];
          ws.on("message", (m, isBinary) => frames.push({ text: !isBinary, message: JSON.parse(m.toString()) }));
          await new Promise((resolve) => ws.once("open", resolve));
          await waitFor(() => frames.length >= 1); // hello
          return { ws, frames };
        }),
      );
      sockets[0]!.ws.send(JSON.stringify({ type: "shout" }));
      await waitFor(() => sockets.every((s) => s.frames.some((f) => f.message.type === "shout")));
      await waitFor(() => sockets[0]!.frames.some((f) => f.message.type === "shouted"));
      expect(sockets[0]!.frames.find((f) => f.message.type === "shouted")!.message.reached).to.equal(3);
      const shouts = sockets.map((s) => s.frames.find((f) => f.message.type === "shout")!);
      expect(shouts.every((f) => f.text)).to.equal(true);
      expect(new Set(shouts.map((f) => f.message.from)).size).to.equal(1);
      for (const { ws } of sockets) ws.close();
    });

    it("refuses a wrong Origin with 403", async () => {
      expect(await refusal(wsUrl(await issue()), "http://evil.example")).to.equal(403);
    });

    it("refuses a missing Origin", async () => {
      expect(await refusal(wsUrl(await issue()), null)).to.equal(403);
    });

    it("refuses a missing, expired or forged token with 401", async () => {
      expect(await refusal(wsUrl(null), t.url)).to.equal(401);
      const expiring = await issue(1);
      await new Promise((r) => setTimeout(r, 20));
      expect(await refusal(wsUrl(expiring), t.url)).to.equal(401);
      const forged = new TokenSigner("another-secret-another-secret-another-secret").sign({ aud: "/channels/echo" }, 60_000).token;
      expect(await refusal(wsUrl(forged), t.url)).to.equal(401);
      const valid = await issue();
      const tampered = valid.replace(/^./, (c) => (c === "e" ? "f" : "e"));
      expect(await refusal(wsUrl(tampered), t.url)).to.equal(401);
    });

    it("refuses an unknown channel with 404", async () => {
      expect(await refusal(`${t.url.replace("http", "ws")}/channels/nope?token=x`, t.url)).to.equal(404);
    });

    it("drops a client that stops reading instead of buffering without bound", async () => {
      const ws = new WebSocket(wsUrl(await issue()), { origin: t.url });
      await new Promise((resolve) => ws.once("open", resolve));
      let received = 0;
      ws.on("message", () => received++);
      // Stop reading: the server's send buffer fills until the bound trips and the socket is dropped.
      const socket = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      socket.pause();
      const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
      ws.send(JSON.stringify({ type: "flood" }));
      await new Promise((r) => setTimeout(r, 500));
      socket.resume();
      expect(await closed).to.equal(1006); // terminated, not closed politely
      expect(received).to.be.greaterThan(0).and.lessThan(1000); // 1000 x 64 KiB were offered; far fewer went out
      expect(t.logs.some((l) => String(l.msg).includes("fell too far behind"))).to.equal(true);
    });
  });

  describe("prepared answers (routes.prepared)", () => {
    const greeting = "/channels/greetings/ada";
    const preparedBody = JSON.stringify({ success: true, data: { greeting: "hello ada", via: "prepared" } });

    it("answers from the prepared bytes with the headers every response carries", async () => {
      const res = await fetch(t.url + greeting);
      expect(res.status).to.equal(200);
      expect(await res.text()).to.equal(preparedBody);
      expect(res.headers.get("content-type")).to.equal("application/json; charset=utf-8");
      expect(res.headers.get("content-length")).to.equal(String(Buffer.byteLength(preparedBody)));
      expect(res.headers.get("etag")).to.equal('"greeting-ada"');
      expect(res.headers.get("cache-control")).to.equal("no-cache");
      expect(res.headers.get("x-content-type-options")).to.equal("nosniff");
      expect(res.headers.get("content-security-policy")).to.include("default-src 'self'");
      expect(res.headers.get("x-request-id")).to.match(/^[0-9a-f-]{36}$/);
      const echoed = await fetch(t.url + greeting, { headers: { "x-request-id": "trace-12345678" } });
      expect(echoed.headers.get("x-request-id")).to.equal("trace-12345678");
      const another = await fetch(t.url + greeting);
      expect(another.headers.get("x-request-id")).not.to.equal(res.headers.get("x-request-id"));
    });

    it("answers 304 to a matching If-None-Match (also weak or in a list) and HEAD without a body", async () => {
      for (const tag of ['"greeting-ada"', 'W/"greeting-ada"', '"other", "greeting-ada"', "*"]) {
        const res = await fetch(t.url + greeting, { headers: { "if-none-match": tag } });
        expect(res.status, tag).to.equal(304);
        expect(await res.text()).to.equal("");
        expect(res.headers.get("etag")).to.equal('"greeting-ada"');
        expect(res.headers.get("content-type")).to.equal(null);
        expect(res.headers.get("x-frame-options")).to.equal("DENY");
      }
      expect((await fetch(t.url + greeting, { headers: { "if-none-match": '"stale"' } })).status).to.equal(200);
      const head = await rawRequest(t.url, "HEAD", greeting);
      expect(head.status).to.equal(200);
      expect(head.headers["content-length"]).to.equal(String(Buffer.byteLength(preparedBody)));
      expect(head.body).to.equal("");
    });

    it("leaves to the Koa route what the answer declines: unknown params, a query, other methods", async () => {
      const unknown = await t.request("GET", "/channels/greetings/linus", { token: null });
      expect(unknown.body.data).to.deep.equal({ greeting: "hello linus", via: "koa", query: "" });
      const query = await t.request("GET", `${greeting}?lang=fr`, { token: null });
      expect(query.body.data).to.deep.equal({ greeting: "hello ada", via: "koa", query: "lang=fr" });
      // The channels router has no POST route there: Koa's JSON 404, not the prepared bytes.
      expect((await t.request("POST", greeting, { token: null })).body).to.deep.equal({ success: false, errors: { route: ["Not found"] } });
      // A path the pattern does not cover (an extra segment) is not prepared either.
      expect((await t.request("GET", `${greeting}/more`, { token: null })).status).to.equal(404);
    });

    it("logs an answer that throws, with the plugin's id, and lets the Koa route answer", async () => {
      const res = await t.request("GET", "/channels/greetings/boom", { token: null });
      expect(res.status).to.equal(200);
      expect(res.body.data.via).to.equal("koa");
      const logged = t.logs.find((l) => String(l.msg).startsWith("prepared answer failed"));
      expect(logged).to.deep.include({ plugin: "channels", path: "/channels/greetings/:name" });
      expect(JSON.stringify(logged)).to.include("prepared answer exploded");
    });

    it("keeps one prepared route per registration across reloads", async () => {
      const before = t.kernel.routes.routeCount("channels");
      await t.kernel.reload();
      await t.kernel.reload();
      expect(t.kernel.routes.routeCount("channels")).to.equal(before);
      expect(await (await fetch(t.url + greeting)).text()).to.equal(preparedBody);
    });
  });
});

async function rawRequest(base: string, method: string, path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

function refusal(url: string, origin: string | null): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, origin ? { origin } : {});
    ws.once("open", () => {
      ws.close();
      reject(new Error("the socket was accepted"));
    });
    ws.once("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once("error", () => {});
  });
}

async function waitFor(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}
