import { expect } from "chai";
import type { TestCtf } from "../../helpers/ctf.js";
import { award, boardOf, patchUser, setConfig, settle, sleep, solve, startScoreboard, StreamClient, streamToken } from "./helpers.js";

/** The board a client rebuilds from a snapshot and the deltas after it. */
class Mirror {
  private rows = new Map<number, Record<string, any>>();
  private order: number[] = [];
  seq: number;

  constructor(snapshot: Record<string, any>) {
    expect(snapshot.type).to.equal("snapshot");
    this.seq = snapshot.seq;
    for (const row of snapshot.standings) this.rows.set(row.account_id, row);
    this.order = snapshot.standings.map((r: any) => r.account_id);
  }

  apply(delta: Record<string, any>): void {
    expect(delta.type).to.equal("delta");
    expect(delta.seq, "deltas arrive in sequence").to.equal(this.seq + 1);
    this.seq = delta.seq;
    for (const row of delta.rows) {
      expect(delta.order.indexOf(row.account_id) + 1, "a sent row carries its current pos").to.equal(row.pos);
      this.rows.set(row.account_id, row);
    }
    this.order = delta.order;
  }

  /** A row's position is its place in `order`: rows that only moved are not resent. */
  get standings() {
    return this.order.map((id, i) => ({ ...this.rows.get(id), pos: i + 1 }));
  }
}

describe("scoreboard stream", function () {
  this.timeout(120_000);
  let t: TestCtf;
  const open: StreamClient[] = [];
  const connect = async (token: string, origin?: string) => {
    const client = await StreamClient.open(t.url, token, origin);
    open.push(client);
    return client;
  };

  before(async () => {
    t = await startScoreboard();
  });
  afterEach(() => {
    for (const client of open.splice(0)) client.close();
  });
  after(async () => t?.stop());

  it("sends a snapshot of the API's rows, then solve and award deltas in sequence that keep a mirror equal to the API", async () => {
    const challenge = await t.challenge({ value: 100 });
    const [a, b] = [await t.register("st_a"), await t.register("st_b")];
    await solve(a, challenge);
    await settle(t);
    const client = await connect(await streamToken(t.anonymous()));
    const snapshot = await client.next();
    expect(snapshot).to.include({ type: "snapshot", frozen: false, freezeAt: null });
    expect(snapshot.standings).to.deep.equal(await boardOf(t.anonymous()));
    const mirror = new Mirror(snapshot);

    await solve(b, await t.challenge({ value: 500 }));
    const solved = await client.next();
    expect(solved).to.include({ event: "solve", account_id: b.user!.id, user_id: b.user!.id, value: 500, score: 500 });
    // Only the solver's row is sent (st_a only moved down a place).
    expect(solved.rows.map((r: any) => r.account_id)).to.deep.equal([b.user!.id]);
    mirror.apply(solved);

    await award(t, { user_id: a.user!.id }, 1000);
    const awarded = await client.next();
    expect(awarded).to.include({ event: "award", account_id: a.user!.id, challenge_id: null, value: 1000, score: 1100 });
    mirror.apply(awarded);

    await patchUser(t, b.user!.id, { hidden: true });
    const ranked = await client.next();
    expect(ranked).to.include({ event: "rank" });
    mirror.apply(ranked);
    await settle(t);
    expect(mirror.standings).to.deep.equal(await boardOf(t.anonymous()));
  });

  it("answers a client that saw a gap with a fresh snapshot", async () => {
    const client = await connect(await streamToken(t.anonymous()));
    const mirror = new Mirror(await client.next());
    const player = await t.register("gap_player");
    await solve(player, await t.challenge({ value: 3 }));
    await client.next(); // lost on the way, as far as this client knows
    await award(t, { user_id: player.user!.id }, 4);
    const after = await client.next();
    expect(after.seq).to.equal(mirror.seq + 2); // a gap
    client.send({ type: "resync" });
    const fresh = await client.next((m) => m.type === "snapshot");
    expect(fresh.seq).to.equal(after.seq);
    await settle(t);
    expect(fresh.standings).to.deep.equal(await boardOf(t.anonymous()));
    // Deltas continue from the snapshot's sequence.
    await award(t, { user_id: player.user!.id }, 5);
    const next = new Mirror(fresh);
    next.apply(await client.next());
  });

  it("refuses a wrong Origin and bad, expired, or foreign tokens before the upgrade", async () => {
    const good = await streamToken(t.anonymous());
    const refused = async (token: string, origin?: string) => {
      try {
        await connect(token, origin);
      } catch (error) {
        return (error as { status?: number }).status;
      }
      return "accepted";
    };
    expect(await refused(good, "http://evil.example")).to.equal(403);
    expect(await refused("not-a-token")).to.equal(401);
    expect(await refused(good.slice(0, -2) + (good.endsWith("AA") ? "BB" : "AA"))).to.equal(401);
    expect(await refused(t.kernel.tokens.sign({ aud: "/api/v1/scoreboard/stream" }, -1000).token)).to.equal(401);
    expect(await refused(t.kernel.tokens.sign({ aud: "/api/v1/other" }, 60_000).token)).to.equal(401);
    expect(await refused(good)).to.equal("accepted");
  });

  it("a logged-in page needs its CSRF token to get a stream token; admins get one that sees live", async () => {
    const player = await t.register();
    const withoutCsrf = await fetch(`${t.url}/api/v1/scoreboard/stream-token`, { method: "POST", headers: { cookie: player.cookie!, "content-type": "application/json" }, body: "{}" });
    expect(withoutCsrf.status).to.equal(403);
    expect((await player.post("/api/v1/scoreboard/stream-token", {})).status).to.equal(200);
    const adminToken = await streamToken(t.admin);
    const claims = t.kernel.tokens.verify(adminToken, "/api/v1/scoreboard/stream");
    expect(claims.ok && claims.claims.admin).to.equal(true);
    const anonymousClaims = t.kernel.tokens.verify(await streamToken(t.anonymous()), "/api/v1/scoreboard/stream");
    expect(anonymousClaims.ok && anonymousClaims.claims.admin).to.equal(false);
  });

  it("disconnects clients who may no longer see the board after a visibility change", async () => {
    const client = await connect(await streamToken(t.anonymous()));
    await client.next();
    const closed = new Promise<number>((resolve) => client.socket.once("close", (code) => resolve(code)));
    try {
      await setConfig(t, { score_visibility: "private" });
      expect(await closed).to.equal(4403);
    } finally {
      await setConfig(t, { score_visibility: "public" });
      await settle(t);
    }
  });

  // Last: the freeze applies to everything after it.
  it("after the freeze, players' streams stay silent while admins see every delta", async () => {
    const [early, late] = [await t.register("fz_early"), await t.register("fz_late")];
    await solve(early, await t.challenge({ value: 10 }));
    const viewer = await t.register();
    // A few seconds ahead, so both streams connect before it.
    const freeze = Math.ceil((Date.now() + 3000) / 1000);
    await setConfig(t, { freeze });
    await settle(t);
    const player = await connect(await streamToken(viewer));
    const admin = await connect(await streamToken(t.admin));
    expect((await player.next()).frozen).to.equal(false);
    expect((await admin.next()).frozen).to.equal(false);
    // When the freeze comes, players get a snapshot that says so.
    const playerSnapshot = await player.next();
    expect(playerSnapshot).to.include({ type: "snapshot", frozen: true, freezeAt: new Date(freeze * 1000).toISOString() });
    while (Date.now() < freeze * 1000 + 50) await sleep(50);

    await solve(late, await t.challenge({ value: 20 }));
    await award(t, { user_id: early.user!.id }, 30);
    expect(await admin.next()).to.include({ event: "solve", account_id: late.user!.id });
    expect(await admin.next()).to.include({ event: "award", account_id: early.user!.id });

    // Something players may see (a frozen-board account is hidden): it is the very next message they get,
    // so nothing was sent to them for the solve and the award in between.
    await patchUser(t, early.user!.id, { hidden: true });
    const next = await player.next();
    expect(next).to.include({ type: "delta", event: "rank", seq: playerSnapshot.seq + 1 });
    expect(next.order).not.to.include(early.user!.id);
    expect(next.order).not.to.include(late.user!.id);
  });
});
