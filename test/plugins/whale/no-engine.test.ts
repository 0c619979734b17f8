import { expect } from "chai";
import type { TestCtf } from "../../helpers/ctf.js";
import { eventually } from "../../helpers/kernel.js";
import { containerChallenge, startContainer, startWhale, TEST_SECRET } from "./helpers.js";
import { deriveFlag } from "../../../plugins/whale/flags.js";

/** An engine address nothing answers on: whale must run degraded, never fail, and the platform must serve. */
const NO_ENGINE = "unix:///tmp/flaghost-whale-test-no-engine.sock";

describe("whale without an engine: challenges, flags, validation, degraded", function () {
  this.timeout(120_000);
  let t: TestCtf;

  before(async () => {
    t = await startWhale({ whale: { dockerHost: NO_ENGINE } });
  });
  after(async () => t?.stop());

  it("creates a container challenge from flat fields, fills the defaults, and shows them to admins only", async () => {
    const id = await containerChallenge(t, { command: ["/serve"], lifetime_s: 600 });
    const adminView = await t.admin.get(`/api/v1/challenges/${id}`);
    expect(adminView.status).to.equal(200);
    expect(adminView.body.data).to.include({ type: "container", image: "flaghost/flag-server:test", port: 8000, memory_mb: 256, cpus: 0.5, lifetime_s: 600, max_renewals: 5, flag_mode: "dynamic", flag_prefix: "flag" });
    expect(adminView.body.data.command).to.deep.equal(["/serve"]);
    const player = await t.register();
    const playerView = await player.get(`/api/v1/challenges/${id}`);
    expect(playerView.status).to.equal(200);
    expect(playerView.body.data).not.to.have.property("image");
    expect(playerView.body.data).not.to.have.property("port");
  });

  it("updates one field alone and keeps the others", async () => {
    const id = await containerChallenge(t, { memory_mb: 128 });
    const res = await t.admin.patch(`/api/v1/challenges/${id}`, { lifetime_s: 120 });
    expect(res.status).to.equal(200);
    const view = await t.admin.get(`/api/v1/challenges/${id}`);
    expect(view.body.data).to.include({ lifetime_s: 120, memory_mb: 128, image: "flaghost/flag-server:test" });
  });

  it("refuses bad fields with a 400 naming each one", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ image: undefined }, "type_settings.image"],
      [{ port: 0 }, "type_settings.port"],
      [{ port: "eighty" }, "type_settings.port"],
      [{ memory_mb: -1 }, "type_settings.memory_mb"],
      [{ cpus: 0 }, "type_settings.cpus"],
      [{ flag_mode: "sometimes" }, "type_settings.flag_mode"],
      [{ flag_prefix: "a{b" }, "type_settings.flag_prefix"],
      [{ command: "sh -c x" }, "type_settings.command"],
      [{ image: "bad image name" }, "type_settings.image"],
    ];
    for (const [fields, field] of cases) {
      const res = await t.admin.post("/api/v1/challenges", { name: "bad", value: 1, type: "container", image: "x/y:1", port: 80, ...fields });
      expect(res.status, JSON.stringify(fields)).to.equal(400);
      expect(res.body.errors, JSON.stringify(fields)).to.have.property(field);
    }
    // A field of no type at all is still refused by core/ctf's strict body.
    const unknown = await t.admin.post("/api/v1/challenges", { name: "bad", value: 1, type: "container", image: "x/y:1", port: 80, colour: "red" });
    expect(unknown.status).to.equal(400);
  });

  it("judges dynamic flags per account: own flag correct, another's incorrect with flag.reused, forged incorrect", async () => {
    const id = await containerChallenge(t);
    const [alice, bob] = [await t.register(), await t.register()];
    const reused: unknown[] = [];
    const off = t.kernel.events.on("test", "flag.reused", (payload) => void reused.push(payload));
    try {
      const aliceFlag = deriveFlag(TEST_SECRET, "flag", id, { accountType: "user", accountId: alice.user!.id });
      const bobFlag = deriveFlag(TEST_SECRET, "flag", id, { accountType: "user", accountId: bob.user!.id });
      const forged = aliceFlag.replace(/_[0-9a-f]{4}/, "_0000");
      const attempt = (client: typeof alice, submission: string) => client.post("/api/v1/challenges/attempt", { challenge_id: id, submission });

      expect((await attempt(bob, aliceFlag)).body.data.status).to.equal("incorrect");
      expect((await attempt(bob, forged)).body.data.status).to.equal("incorrect");
      expect((await attempt(alice, aliceFlag)).body.data.status).to.equal("correct");
      expect((await attempt(bob, bobFlag)).body.data.status).to.equal("correct");
      await t.kernel.events.drain();
      expect(reused).to.have.length(1);
      expect(reused[0]).to.include({ challengeId: id, submitterAccountId: bob.user!.id, submitterUserId: bob.user!.id, ownerAccountId: alice.user!.id, accountType: "user" });
    } finally {
      off();
    }
  });

  it("an admin trying another account's flag (preview or not) gets incorrect and emits no flag.reused; a player does", async () => {
    const id = await containerChallenge(t);
    const bob = await t.register();
    const carol = await t.register();
    const bobFlag = deriveFlag(TEST_SECRET, "flag", id, { accountType: "user", accountId: bob.user!.id });
    const reused: any[] = [];
    const off = t.kernel.events.on("test", "flag.reused", (payload) => void reused.push(payload));
    try {
      const preview = await t.admin.post("/api/v1/challenges/attempt?preview=1", { challenge_id: id, submission: bobFlag });
      expect(preview.status).to.equal(200);
      expect(preview.body.data.status).to.equal("incorrect");
      const recorded = await t.admin.post("/api/v1/challenges/attempt", { challenge_id: id, submission: bobFlag });
      expect(recorded.body.data.status).to.equal("incorrect");
      // The admin's own flag is theirs: correct in a preview.
      const adminFlag = deriveFlag(TEST_SECRET, "flag", id, { accountType: "user", accountId: t.admin.user!.id });
      expect((await t.admin.post("/api/v1/challenges/attempt?preview=1", { challenge_id: id, submission: adminFlag })).body.data.status).to.equal("correct");
      await t.kernel.events.drain();
      expect(reused).to.deep.equal([]);
      // The same flag from a player is sharing, reported once.
      expect((await carol.post("/api/v1/challenges/attempt", { challenge_id: id, submission: bobFlag })).body.data.status).to.equal("incorrect");
      await t.kernel.events.drain();
      expect(reused.map((r) => [r.submitterAccountId, r.ownerAccountId])).to.deep.equal([[carol.user!.id, bob.user!.id]]);
    } finally {
      off();
    }
  });

  it("a static-mode challenge has no whale flag: only its ordinary flags count", async () => {
    const id = await containerChallenge(t, { flag_mode: "static" });
    await t.admin.post("/api/v1/flags", { challenge_id: id, type: "static", content: "flag{same_for_all}" });
    const player = await t.register();
    const own = deriveFlag(TEST_SECRET, "flag", id, { accountType: "user", accountId: player.user!.id });
    expect((await player.post("/api/v1/challenges/attempt", { challenge_id: id, submission: own })).body.data.status).to.equal("incorrect");
    expect((await player.post("/api/v1/challenges/attempt", { challenge_id: id, submission: "flag{same_for_all}" })).body.data.status).to.equal("correct");
  });

  it("is degraded with the reason, /readyz stays 200, the rest serves, and a start is 503", async () => {
    const plugin = await eventually(async () => {
      const res = await t.admin.get("/api/v1/admin/plugins");
      const whale = (res.body.data as Array<{ id: string; status: string; error: string | null }>).find((p) => p.id === "whale");
      return whale?.status === "degraded" ? whale : null;
    });
    expect(plugin!.error).to.match(/Docker engine unavailable/);
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).to.equal(200);
    const player = await t.register();
    expect((await player.get("/api/v1/challenges")).status).to.equal(200);

    const id = await containerChallenge(t);
    const res = await startContainer(player, id);
    expect(res.status).to.equal(503);
    expect(JSON.stringify(res.body.errors)).to.match(/Docker engine unavailable/);
  });

  it("refuses a player's start outside the event window or while paused (403, before the engine is asked)", async () => {
    const id = await containerChallenge(t);
    const player = await t.register();
    const now = Math.floor(Date.now() / 1000);
    try {
      await t.admin.patch("/api/v1/configs", { start: now - 7200, end: now - 3600 });
      const ended = await startContainer(player, id);
      expect(ended.status).to.equal(403);
      expect(JSON.stringify(ended.body.errors)).to.match(/has ended/);
      await t.admin.patch("/api/v1/configs", { start: now + 3600, end: null });
      expect(JSON.stringify((await startContainer(player, id)).body.errors)).to.match(/has not started yet/);
      await t.admin.patch("/api/v1/configs", { start: null, paused: true });
      expect(JSON.stringify((await startContainer(player, id)).body.errors)).to.match(/is paused/);
    } finally {
      await t.admin.patch("/api/v1/configs", { start: null, end: null, paused: false });
    }
    // Back in the window, the request goes on to the engine check (none here: 503).
    expect((await startContainer(player, id)).status).to.equal(503);
  });

  it("validates start requests: 400 naming the field, 401 without a player, 404 for a missing challenge, 400 for another type", async () => {
    const player = await t.register();
    for (const body of [{}, { challenge_id: "x" }, { challenge_id: -1 }, { challenge_id: 1, extra: true }]) {
      const res = await player.post("/api/v1/containers", body);
      expect(res.status, JSON.stringify(body)).to.equal(400);
      // An unknown key is named in the message of the body as a whole.
      expect(JSON.stringify(res.body.errors)).to.match(Object.keys(body).includes("extra") ? /extra/ : /challenge_id/);
    }
    expect((await t.anonymous().post("/api/v1/containers", { challenge_id: 1 })).status).to.equal(401);
    expect((await player.get("/api/v1/containers/status?id=nope")).status).to.equal(400);
    expect((await player.get("/api/v1/containers/status?id=00000000-0000-4000-8000-000000000000")).status).to.equal(404);
    expect((await player.post("/api/v1/containers/renew", { challenge_id: 999 })).status).to.equal(404);
    expect((await player.request("DELETE", "/api/v1/containers", { challenge_id: 999 })).status).to.equal(404);
    expect((await player.get("/api/v1/containers")).body.data).to.deep.equal([]);
    expect((await player.get("/api/v1/containers/admin")).status).to.equal(403);
  });
});
