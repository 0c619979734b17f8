import { expect } from "chai";
import type { TestCtf } from "../../helpers/ctf.js";
import { award, patchUser, setConfig, settle, sleep, startScoreboard, StreamClient, streamToken } from "./helpers.js";

const STREAM = "/api/v1/scoreboard/stream";

/**
 * The close code and reason the server gave, or "open" when it kept the socket within ms. A write's answer waits
 * for the engine to apply it (read-your-writes), so the socket may have closed before the answer arrived.
 */
function closedWithin(client: StreamClient, ms = 10_000): Promise<{ code: number; reason: string } | "open"> {
  if (client.closed) return Promise.resolve(client.closed);
  return Promise.race([
    new Promise<{ code: number; reason: string }>((resolve) => client.socket.once("close", (code, reason) => resolve({ code, reason: reason.toString() }))),
    new Promise<"open">((resolve) => setTimeout(() => resolve("open"), ms).unref()),
  ]);
}

describe("scoreboard stream: the token's holder is checked as they are now", function () {
  this.timeout(120_000);
  let t: TestCtf;
  const open: StreamClient[] = [];
  const connect = async (token: string) => {
    const client = await StreamClient.open(t.url, token);
    open.push(client);
    return client;
  };

  before(async () => {
    t = await startScoreboard();
    // A board frozen a minute ago: admins' snapshots say frozen: false, players' say frozen: true.
    await setConfig(t, { freeze: Math.floor(Date.now() / 1000) - 60 });
    await settle(t);
  });
  afterEach(() => {
    for (const client of open.splice(0)) client.close();
  });
  after(async () => t?.stop());

  it("a demoted admin's open socket loses the live board, and their old token no longer opens it", async () => {
    const moderator = await t.register();
    await patchUser(t, moderator.user!.id, { type: "admin" });
    // A role change ends the account's sessions: the new admin logs in again.
    expect(moderator.adopt(await moderator.post("/api/v1/auth/login", { name: moderator.user!.name, password: "player-password-1" })).status).to.equal(200);
    const token = await streamToken(moderator);
    const socket = await connect(token);
    expect(await socket.next()).to.include({ type: "snapshot", frozen: false });

    await patchUser(t, moderator.user!.id, { type: "user" });
    const outcome = await Promise.race([socket.next((m) => m.type === "snapshot"), closedWithin(socket)]);
    if (typeof outcome === "object" && "code" in outcome) expect(outcome.code, outcome.reason).to.equal(4401);
    else expect(outcome, "the open socket now sees the frozen board").to.include({ type: "snapshot", frozen: true });

    // The demotion ended the account's sessions, so the token issued before it no longer opens the stream;
    // one issued to the player they are now shows the frozen board.
    expect(await closedWithin(await connect(token))).to.deep.include({ code: 4401 });
    expect(moderator.adopt(await moderator.post("/api/v1/auth/login", { name: moderator.user!.name, password: "player-password-1" })).status).to.equal(200);
    const asPlayer = await connect(await streamToken(moderator));
    expect(await asPlayer.next()).to.include({ type: "snapshot", frozen: true });
  });

  it("closes a banned player's socket and refuses their token; the same for a deleted account", async () => {
    const banned = await t.register();
    const bannedToken = await streamToken(banned);
    const bannedSocket = await connect(bannedToken);
    await bannedSocket.next();
    await patchUser(t, banned.user!.id, { banned: true });
    expect(await closedWithin(bannedSocket)).to.deep.include({ code: 4403 });
    const retry = await connect(bannedToken);
    expect(await closedWithin(retry)).to.deep.include({ code: 4403 });
    expect(retry.messages, "no snapshot for a banned account").to.deep.equal([]);

    const deleted = await t.register();
    const deletedToken = await streamToken(deleted);
    const deletedSocket = await connect(deletedToken);
    await deletedSocket.next();
    expect((await t.admin.delete(`/api/v1/users/${deleted.user!.id}`)).status).to.equal(200);
    expect(await closedWithin(deletedSocket)).to.deep.include({ code: 4401 });
    const again = await connect(deletedToken);
    expect(await closedWithin(again)).to.deep.include({ code: 4401 });
    expect(again.messages, "no snapshot for a deleted account").to.deep.equal([]);
  });

  it("closes a player's socket when they log out, and refuses the token issued before", async () => {
    const player = await t.register();
    const token = await streamToken(player);
    const socket = await connect(token);
    await socket.next();
    expect((await player.post("/api/v1/auth/logout")).status).to.equal(200);
    expect(await closedWithin(socket)).to.deep.include({ code: 4401 });
    const again = await connect(token);
    expect(await closedWithin(again)).to.deep.include({ code: 4401 });
  });

  it("closes a socket when its token expires, unless the client renewed it with a fresh token", async () => {
    const player = await t.register();
    const sub = String(player.user!.id);
    const short = t.kernel.tokens.sign({ aud: STREAM, sub, admin: false }, 1500);
    const expiring = await connect(short.token);
    await expiring.next();
    const closed = await closedWithin(expiring);
    expect(closed).to.deep.include({ code: 4401 });
    expect((closed as { reason: string }).reason).to.match(/expired/);

    const first = t.kernel.tokens.sign({ aud: STREAM, sub, admin: false }, 2000);
    const renewed = await connect(first.token);
    await renewed.next();
    // Another player's token cannot take the socket over.
    renewed.send({ type: "renew", token: await streamToken(await t.register()) });
    expect(await renewed.next((m) => m.type === "renew-refused")).to.include({ reason: "wrong-subject" });
    const fresh = await player.post("/api/v1/scoreboard/stream-token", {});
    renewed.send({ type: "renew", token: fresh.body.data.token });
    expect(await renewed.next((m) => m.type === "renewed")).to.include({ expiresAt: fresh.body.data.expiresAt });
    while (Date.now() < Date.parse(first.expiresAt) + 200) await sleep(50);
    const admin = await connect(await streamToken(t.admin));
    await admin.next();
    await award(t, { user_id: player.user!.id }, 7);
    await admin.next((m) => m.type === "delta");
    expect(renewed.socket.readyState, "the renewed socket outlived its first token").to.equal(renewed.socket.OPEN);
  });
});
