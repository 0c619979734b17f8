/**
 * Who may start a container of a challenge, on the real engine at DOCKER_HOST: the rule core/ctf applies when a
 * player opens the challenge (404 unless visible, 403 while its prerequisites are unmet), the same message, and
 * admins past it. Ports 30600-30649.
 */
import { expect } from "chai";
import type { TestCtf } from "../../helpers/ctf.js";
import { containerChallenge, containersInRange, removeContainersInRange, settled, startContainer, startWhale } from "./helpers.js";

const PORTS: [number, number] = [30600, 30649];

describe("whale: a start follows core/ctf's rule for opening a challenge (visibility, prerequisites)", function () {
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

  it("refuses a start while the prerequisites are unmet (403, core/ctf's message), and accepts it once they are solved", async () => {
    const first = await t.challenge({}, "flag{first}");
    const gated = await containerChallenge(t, { requirements: { prerequisites: [first] } });
    const player = await t.register();

    const opened = await player.get(`/api/v1/challenges/${gated}`);
    expect(opened.status).to.equal(403);
    const refused = await startContainer(player, gated);
    expect(refused.status).to.equal(403);
    // The very answer core/ctf gives for opening the challenge: one rule, one message.
    expect(refused.body.errors).to.deep.equal(opened.body.errors);
    expect(JSON.stringify(refused.body.errors)).to.match(/You have not solved the prerequisites of this challenge/);
    expect(await containersInRange(PORTS)).to.have.length(0);
    expect((await player.get("/api/v1/containers")).body.data).to.deep.equal([]);

    // An admin is not held by prerequisites.
    const adminStart = await startContainer(t.admin, gated);
    expect(adminStart.status, JSON.stringify(adminStart.body)).to.equal(202);
    expect((await settled(t.admin, adminStart.body.data.start_id)).status).to.equal("ready");
    expect((await t.admin.request("DELETE", "/api/v1/containers", { challenge_id: gated })).status).to.equal(200);

    expect((await player.post("/api/v1/challenges/attempt", { challenge_id: first, submission: "flag{first}" })).body.data.status).to.equal("correct");
    const accepted = await startContainer(player, gated);
    expect(accepted.status, JSON.stringify(accepted.body)).to.equal(202);
    const status = await settled(player, accepted.body.data.start_id);
    expect(status.status, status.error).to.equal("ready");
    expect((await player.request("DELETE", "/api/v1/containers", { challenge_id: gated })).status).to.equal(200);
    expect(await containersInRange(PORTS)).to.have.length(0);
  });

  it("refuses a hidden challenge as missing (404) to players, as opening it would", async () => {
    const hidden = await containerChallenge(t, { state: "hidden" });
    const player = await t.register();
    expect((await player.get(`/api/v1/challenges/${hidden}`)).status).to.equal(404);
    const refused = await startContainer(player, hidden);
    expect(refused.status).to.equal(404);
    expect(await containersInRange(PORTS)).to.have.length(0);
  });
});
