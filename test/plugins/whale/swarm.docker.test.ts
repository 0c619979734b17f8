/**
 * whale with the `swarm` driver on the one-node swarm of the test engine (host network, ports 32500-32599): the same
 * start → ready → flag → stop and expiry contract as on a single engine, the container a task of a swarm service.
 */
import { expect } from "chai";
import Docker from "dockerode";
import type { TestCtf } from "../../helpers/ctf.js";
import { eventually } from "../../helpers/kernel.js";
import { containerChallenge, readService, settled, startContainer, startWhale } from "./helpers.js";

const PORTS: [number, number] = [32500, 32599];

/** whale's swarm services whose host port lies in this suite's range. */
async function servicesInRange(): Promise<Docker.Service[]> {
  const services = await new Docker().listServices({ filters: { label: ["flaghost.whale.start"] } });
  return services.filter((s) => {
    const port = Number(s.Spec?.Labels?.["flaghost.whale.host-port"]);
    return port >= PORTS[0] && port <= PORTS[1];
  });
}

async function removeServicesInRange(): Promise<void> {
  for (const s of await servicesInRange()) await new Docker().getService(s.ID).remove().catch(() => undefined);
}

describe("whale on a one-node Docker Swarm: start, flag, stop, expiry", function () {
  this.timeout(240_000);
  let t: TestCtf;

  before(async () => {
    await removeServicesInRange();
    t = await startWhale({ portRange: PORTS, whale: { driver: "swarm" } });
  });
  after(async () => {
    await t?.stop();
    await removeServicesInRange();
  });

  it("start → ready serves the player's own flag; stop removes the service and frees the port", async () => {
    const id = await containerChallenge(t);
    const player = await t.register();
    const res = await startContainer(player, id);
    expect(res.status).to.equal(202);
    const status = await settled(player, res.body.data.start_id, 120_000);
    expect(status.status, status.error).to.equal("ready");
    const flag = await readService(status.connection.port);
    expect((await player.post("/api/v1/challenges/attempt", { challenge_id: id, submission: flag })).body.data.status).to.equal("correct");
    const services = await servicesInRange();
    expect(services).to.have.length(1);
    expect(services[0]!.Spec!.Labels).to.include({ "flaghost.whale.start": res.body.data.start_id, "flaghost.whale.challenge": String(id) });

    expect((await player.request("DELETE", "/api/v1/containers", { challenge_id: id })).status).to.equal(200);
    expect(await servicesInRange()).to.have.length(0);
    const again = await startContainer(player, id);
    expect((await settled(player, again.body.data.start_id, 120_000)).connection.port).to.equal(status.connection.port);
    await player.request("DELETE", "/api/v1/containers", { challenge_id: id });
  });

  it("expiry: the reaper removes the service once its lifetime is over", async () => {
    const id = await containerChallenge(t, { lifetime_s: 5 });
    const player = await t.register();
    const res = await startContainer(player, id);
    const ready = await settled(player, res.body.data.start_id, 120_000);
    expect(ready.status, ready.error).to.equal("ready");
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(ready.expires_at) - Date.now()) + 500));
    await t.bootstrap.post("/api/v1/admin/jobs/whale.reap/run", {});
    const after = await settled(player, res.body.data.start_id);
    expect(after).to.include({ status: "stopped", error: "Expired" });
    await eventually(async () => (await servicesInRange()).length === 0, 30_000, 250);
  });
});
