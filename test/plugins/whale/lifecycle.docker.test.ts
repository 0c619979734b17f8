/**
 * whale on the real engine at DOCKER_HOST (host network, ports 32000-32199): the life of a container from the
 * player's side. Every case removes its containers; the suite removes whatever is left in its port range.
 */
import { expect } from "chai";
import type { TestCtf } from "../../helpers/ctf.js";
import { eventually } from "../../helpers/kernel.js";
import { parsePrometheus } from "../../helpers/prometheus.js";
import { containerChallenge, containersInRange, readService, removeContainersInRange, settled, startContainer, startWhale, statusOf } from "./helpers.js";

const PORTS: [number, number] = [32000, 32199];

describe("whale on a real engine: start, flag, double click, stop, expiry, renewals", function () {
  this.timeout(180_000);
  let t: TestCtf;

  before(async () => {
    await removeContainersInRange(PORTS);
    t = await startWhale({ portRange: PORTS });
  });
  after(async () => {
    await t?.stop();
    await removeContainersInRange(PORTS);
  });
  afterEach(() => removeContainersInRange(PORTS));

  it("start → ready: the container serves the player's own flag, which solves; another account's is incorrect and flag.reused", async () => {
    const id = await containerChallenge(t);
    const [alice, bob] = [await t.register(), await t.register()];
    const reused: any[] = [];
    const off = t.kernel.events.on("test", "flag.reused", (payload) => void reused.push(payload));
    const ready: any[] = [];
    const offReady = t.kernel.events.on("test", "container.ready", (payload) => void ready.push(payload));
    try {
      const res = await startContainer(alice, id);
      expect(res.status).to.equal(202);
      expect(res.body).to.deep.include({ success: true });
      expect(res.body.data.status).to.equal("queued");
      const startId = res.body.data.start_id as string;
      const status = await settled(alice, startId);
      expect(status.status, status.error).to.equal("ready");
      expect(status.connection.host).to.equal("127.0.0.1");
      expect(status.connection.port).to.be.within(...PORTS);
      expect(Date.parse(status.expires_at)).to.be.greaterThan(Date.now() + 3000 * 1000);

      const flag = await readService(status.connection.port);
      expect(flag).to.match(/^flag\{u\d+_[0-9a-f]{32}\}$/);
      expect((await bob.post("/api/v1/challenges/attempt", { challenge_id: id, submission: flag })).body.data.status).to.equal("incorrect");
      expect((await alice.post("/api/v1/challenges/attempt", { challenge_id: id, submission: flag })).body.data.status).to.equal("correct");
      await t.kernel.events.drain();
      expect(reused.map((r) => [r.submitterAccountId, r.ownerAccountId])).to.deep.equal([[bob.user!.id, alice.user!.id]]);
      expect(ready.map((r) => r.startId)).to.deep.equal([startId]);

      // The list and the labels say the same.
      const list = await alice.get("/api/v1/containers");
      expect(list.body.data).to.have.length(1);
      expect(list.body.data[0]).to.include({ challenge_id: id, start_id: startId, status: "ready", renewals_left: 5 });
      const [container] = await containersInRange(PORTS);
      expect(container!.Labels).to.include({ "flaghost.whale.account": `user:${alice.user!.id}`, "flaghost.whale.challenge": String(id), "flaghost.whale.start": startId });
      expect(container!.Labels["flaghost.whale.expires"]).to.match(/^\d{4}-\d\d-\d\dT/);

      // The figures: one start ready, its duration and queue wait observed, one container running (gauges refresh every 5 s).
      const metrics = await eventually(async () => {
        const exposition = parsePrometheus((await t.request("GET", "/metrics")).body);
        return exposition.sum("flaghost_whale_running_containers") === 1 ? exposition : null;
      }, 15_000, 250);
      expect(metrics!.sum("flaghost_whale_starts_total", { outcome: "ready" })).to.equal(1);
      expect(metrics!.sum("flaghost_whale_start_duration_seconds_count")).to.equal(1);
      expect(metrics!.sum("flaghost_whale_queue_wait_seconds_count")).to.equal(1);
      expect(metrics!.sum("flaghost_whale_queue_depth")).to.equal(0);
    } finally {
      off();
      offReady();
    }
  });

  it("double click: a second start while one is queued or running is 409, and only one container exists", async () => {
    const id = await containerChallenge(t);
    const player = await t.register();
    const [first, second] = await Promise.all([startContainer(player, id), startContainer(player, id)]);
    expect([first.status, second.status].sort()).to.deep.equal([202, 409]);
    const accepted = first.status === 202 ? first : second;
    const refused = first.status === 202 ? second : first;
    expect(JSON.stringify(refused.body.errors)).to.match(/already have a container/);
    const status = await settled(player, accepted.body.data.start_id);
    expect(status.status, status.error).to.equal("ready");
    const again = await startContainer(player, id);
    expect(again.status).to.equal(409);
    const mine = (await containersInRange(PORTS)).filter((c) => c.Labels["flaghost.whale.challenge"] === String(id));
    expect(mine).to.have.length(1);
  });

  it("a second challenge beyond perAccountLimit (1) is 409; stopping frees the slot and the port at once", async () => {
    const [a, b] = [await containerChallenge(t), await containerChallenge(t)];
    const player = await t.register();
    const start = await startContainer(player, a);
    const status = await settled(player, start.body.data.start_id);
    expect(status.status, status.error).to.equal("ready");
    const beyond = await startContainer(player, b);
    expect(beyond.status).to.equal(409);
    expect(JSON.stringify(beyond.body.errors)).to.match(/You may run 1 container\(s\) at a time/);

    const stopped = await player.request("DELETE", "/api/v1/containers", { challenge_id: a });
    expect(stopped.status).to.equal(200);
    expect(stopped.body.data.status).to.equal("stopped");
    expect((await statusOf(player, start.body.data.start_id)).body.data).to.include({ status: "stopped", connection: null });
    expect(await containersInRange(PORTS)).to.have.length(0);
    // The port is free again: another player's start is handed the same one.
    const other = await t.register();
    const next = await startContainer(other, a);
    const nextStatus = await settled(other, next.body.data.start_id);
    expect(nextStatus.connection.port).to.equal(status.connection.port);
    await other.request("DELETE", "/api/v1/containers", { challenge_id: a });
  });

  it("expiry: the reaper removes a container past its lifetime; a renewal beyond the limit is refused", async () => {
    const id = await containerChallenge(t, { lifetime_s: 6, max_renewals: 1 });
    const player = await t.register();
    const start = await startContainer(player, id);
    const startId = start.body.data.start_id as string;
    const ready = await settled(player, startId);
    expect(ready.status, ready.error).to.equal("ready");

    const renewed = await player.post("/api/v1/containers/renew", { challenge_id: id });
    expect(renewed.status).to.equal(200);
    expect(renewed.body.data.renewals_left).to.equal(0);
    expect(Date.parse(renewed.body.data.expires_at)).to.be.at.least(Date.parse(ready.expires_at));
    const refused = await player.post("/api/v1/containers/renew", { challenge_id: id });
    expect(refused.status).to.equal(409);
    expect(JSON.stringify(refused.body.errors)).to.match(/No renewals left/);

    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(renewed.body.data.expires_at) - Date.now()) + 500));
    const run = await t.bootstrap.post("/api/v1/admin/jobs/whale.reap/run", {});
    expect(run.status, JSON.stringify(run.body)).to.be.oneOf([200, 202]);
    const after = await settled(player, startId);
    expect(after.status).to.equal("stopped");
    expect(after.error).to.equal("Expired");
    // The record says stopped before the engine has removed the container (the reaper's cron run may be the one
    // removing it while the triggered run found nothing left to do): it is gone within moments.
    await eventually(async () => (await containersInRange(PORTS)).length === 0, 15_000, 200);
  });

  it("a start that cannot succeed (the image is missing) retries, then fails with the reason and frees its slot", async () => {
    const id = await containerChallenge(t, { image: "127.0.0.1:1/flaghost/missing:test" });
    const player = await t.register();
    const start = await startContainer(player, id);
    const status = await settled(player, start.body.data.start_id);
    expect(status.status).to.equal("failed");
    expect(status.attempt).to.equal(3);
    expect(status.max_attempts).to.equal(3);
    expect(status.error).to.be.a("string").and.not.empty;
    // Nothing held: the same player can try again at once (and is refused only by the image, not by a limit).
    expect((await startContainer(player, id)).status).to.equal(202);
  });
});
