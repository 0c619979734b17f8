/**
 * whale when its engine goes away and comes back, on the real engine at DOCKER_HOST reached through a socket this
 * test owns (a byte-for-byte relay to the engine's socket): closing the relay is the engine stopping, for whale,
 * without stopping the engine other suites share. Also the global cap and the reconcile job. Ports 32200-32399.
 */
import { expect } from "chai";
import Docker from "dockerode";
import { randomUUID } from "node:crypto";
import type { TestCtf } from "../../helpers/ctf.js";
import { eventually } from "../../helpers/kernel.js";
import { containerChallenge, containersInRange, EngineRelay, FLAG_IMAGE, removeContainersInRange, settled, startContainer, startWhale } from "./helpers.js";

const PORTS: [number, number] = [32200, 32399];
const pluginStatus = async (t: TestCtf) => {
  const res = await t.admin.get("/api/v1/admin/plugins");
  return (res.body.data as Array<{ id: string; status: string; error: string | null }>).find((p) => p.id === "whale")!;
};

describe("whale: engine loss and recovery, the global cap, reconcile", function () {
  this.timeout(240_000);
  const relay = new EngineRelay(`/tmp/flaghost-whale-relay-${process.pid}-${randomUUID().slice(0, 8)}.sock`);
  let t: TestCtf;

  before(async () => {
    await removeContainersInRange(PORTS);
    await relay.listen();
    t = await startWhale({ portRange: PORTS, whale: { dockerHost: `unix://${relay.path}`, maxContainers: 10 } });
  });
  after(async () => {
    await t?.stop();
    await relay.close();
    await removeContainersInRange(PORTS);
  });
  afterEach(() => removeContainersInRange(PORTS));

  it("global cap: 20 concurrent starts from 20 accounts against a cap of 10 leave exactly 10 containers; the others got 429", async () => {
    const id = await containerChallenge(t);
    const players = await Promise.all(Array.from({ length: 20 }, () => t.register()));
    const answers = await Promise.all(players.map((p) => startContainer(p, id)));
    const accepted = answers.filter((a) => a.status === 202);
    const refused = answers.filter((a) => a.status === 429);
    expect(accepted).to.have.length(10);
    expect(refused).to.have.length(10);
    for (const r of refused) {
      expect(Number(r.headers.get("retry-after"))).to.be.greaterThan(0);
      expect(JSON.stringify(r.body.errors)).to.match(/slots are taken/);
    }
    const finals = await Promise.all(answers.map((a, i) => (a.status === 202 ? settled(players[i]!, a.body.data.start_id) : null)));
    expect(finals.filter((f) => f?.status === "ready")).to.have.length(10);
    expect(await containersInRange(PORTS)).to.have.length(10);
    const ports = new Set(finals.filter(Boolean).map((f) => f.connection.port));
    expect(ports.size).to.equal(10);
    for (const [i, a] of answers.entries()) if (a.status === 202) await players[i]!.request("DELETE", "/api/v1/containers", { challenge_id: id });
    expect(await containersInRange(PORTS)).to.have.length(0);
  });

  it("reconcile removes a container without a record, and fails a record whose container is gone (freeing its port)", async () => {
    const id = await containerChallenge(t);
    const player = await t.register();
    const start = await startContainer(player, id);
    const ready = await settled(player, start.body.data.start_id);
    expect(ready.status, ready.error).to.equal("ready");
    // Someone removes the container behind whale's back, and leaves a stray one with whale's labels (this install's).
    const install = (await t.admin.get("/api/v1/containers/admin")).body.data.engine.install_id as string;
    const docker = new Docker();
    const [own] = await containersInRange(PORTS);
    await docker.getContainer(own!.Id).remove({ force: true });
    const stray = await docker.createContainer({
      Image: FLAG_IMAGE,
      Env: ["FLAG=stray", `PORT=${PORTS[1]}`],
      Labels: { "flaghost.whale.start": randomUUID(), "flaghost.whale.account": "user:999999", "flaghost.whale.challenge": "999999", "flaghost.whale.host-port": String(PORTS[1]), "flaghost.whale.install": install },
      HostConfig: { NetworkMode: "host" },
    });
    await stray.start();

    const run = await t.bootstrap.post("/api/v1/admin/jobs/whale.reconcile/run", {});
    expect(run.status, JSON.stringify(run.body)).to.be.oneOf([200, 202]);
    await eventually(async () => (await containersInRange(PORTS)).length === 0, 30_000, 250);
    const after = await settled(player, start.body.data.start_id);
    expect(after.status).to.equal("failed");
    expect(after.error).to.match(/container is gone/);
    // Its slot and port are free: the player starts again and gets the same port.
    const again = await startContainer(player, id);
    expect(again.status).to.equal(202);
    expect((await settled(player, again.body.data.start_id)).connection.port).to.equal(ready.connection.port);
    await player.request("DELETE", "/api/v1/containers", { challenge_id: id });
  });

  it("engine stopped: whale degraded with the reason, 503 on start, the platform serves; engine back: whale recovers by itself", async () => {
    const id = await containerChallenge(t);
    const player = await t.register();
    await eventually(async () => (await pluginStatus(t)).status === "started", 30_000, 200);

    await relay.close();
    const degraded = await eventually(async () => {
      const whale = await pluginStatus(t);
      return whale.status === "degraded" ? whale : null;
    }, 30_000, 200);
    expect(degraded!.error).to.match(/Docker engine unavailable/);
    expect((await fetch(`${t.url}/readyz`)).status).to.equal(200);
    expect((await player.get("/api/v1/challenges")).status).to.equal(200);
    expect((await player.get(`/api/v1/challenges/${id}`)).status).to.equal(200);
    const refused = await startContainer(player, id);
    expect(refused.status).to.equal(503);
    expect(JSON.stringify(refused.body.errors)).to.match(/Docker engine unavailable/);

    await relay.listen();
    await eventually(async () => (await pluginStatus(t)).status === "started", 30_000, 200);
    const start = await startContainer(player, id);
    expect(start.status).to.equal(202);
    expect((await settled(player, start.body.data.start_id)).status).to.equal("ready");
    await player.request("DELETE", "/api/v1/containers", { challenge_id: id });
  });
});
