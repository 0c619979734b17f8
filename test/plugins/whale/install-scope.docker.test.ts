/**
 * Two flaghost installs (two database schemas, two kernels) on one real engine: each labels its containers with its
 * own install id, and neither's reconcile, clean-up of older containers or stop touches the other's. Fresh schemas
 * number their users and challenges alike, so the two players are the same `user:N` of the same challenge id: the
 * case an unscoped listing by account and challenge got wrong. Ports 30500-30599 (below the ephemeral range, 32768 and up, where an outgoing connection can hold a port).
 */
import { expect } from "chai";
import Docker from "dockerode";
import { randomUUID } from "node:crypto";
import type { Client, TestCtf } from "../../helpers/ctf.js";
import { eventually } from "../../helpers/kernel.js";
import { containerChallenge, containersInRange, FLAG_IMAGE, readService, removeContainersInRange, settled, startContainer, startWhale } from "./helpers.js";

const PORTS_A: [number, number] = [30500, 30549];
const PORTS_B: [number, number] = [30550, 30599];
const BOTH: [number, number] = [PORTS_A[0], PORTS_B[1]];
const INSTALL = "flaghost.whale.install";

describe("whale: two installs on one engine keep to their own containers", function () {
  this.timeout(240_000);
  let a: TestCtf;
  let b: TestCtf;

  before(async () => {
    await removeContainersInRange(BOTH);
    [a, b] = await Promise.all([startWhale({ portRange: PORTS_A }), startWhale({ portRange: PORTS_B })]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await removeContainersInRange(BOTH);
  });

  const installOf = async (t: TestCtf) => (await t.admin.get("/api/v1/containers/admin")).body.data.engine.install_id as string;
  const reconcile = async (t: TestCtf) => {
    const run = await t.bootstrap.post("/api/v1/admin/jobs/whale.reconcile/run", {});
    expect(run.status, JSON.stringify(run.body)).to.be.oneOf([200, 202]);
  };
  const ready = async (t: TestCtf, player: Client, challengeId: number) => {
    const res = await startContainer(player, challengeId);
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    const status = await settled(player, res.body.data.start_id);
    expect(status.status, status.error).to.equal("ready");
    return { startId: res.body.data.start_id as string, port: status.connection.port as number };
  };

  it("each install labels its containers with its own id; one's reconcile and clean-up leave the other's running", async () => {
    const [installA, installB] = [await installOf(a), await installOf(b)];
    expect(installA).to.match(/^[0-9a-f-]{36}$/);
    expect(installB).to.match(/^[0-9a-f-]{36}$/);
    expect(installA).to.not.equal(installB);
    // The same id from every read: it is kept, not made per call.
    expect(await installOf(a)).to.equal(installA);

    const [idA, idB] = [await containerChallenge(a), await containerChallenge(b)];
    const [playerA, playerB] = [await a.register(), await b.register()];
    // Fresh schemas: the same account and challenge ids, so only the install label tells the containers apart.
    expect(idA).to.equal(idB);
    expect(playerA.user!.id).to.equal(playerB.user!.id);

    const inB = await ready(b, playerB, idB);
    // A's worker clears "older containers of this account and challenge" before it starts: B's must not be one.
    const inA = await ready(a, playerA, idA);
    const [containerB] = await containersInRange(PORTS_B);
    const [containerA] = await containersInRange(PORTS_A);
    expect(containerB?.Labels[INSTALL]).to.equal(installB);
    expect(containerA?.Labels[INSTALL]).to.equal(installA);
    expect(containerB!.State).to.equal("running");

    // A stray of A's (its install, a start A has no record of) next to B's container, which A has no record of either.
    const stray = await new Docker().createContainer({
      Image: FLAG_IMAGE,
      Env: ["FLAG=stray", `PORT=${PORTS_A[1]}`],
      Labels: { "flaghost.whale.start": randomUUID(), "flaghost.whale.account": "user:999999", "flaghost.whale.challenge": "999999", "flaghost.whale.host-port": String(PORTS_A[1]), [INSTALL]: installA },
      HostConfig: { NetworkMode: "host" },
    });
    await stray.start();

    await reconcile(a);
    await eventually(async () => !(await containersInRange(PORTS_A)).some((c) => c.Id === stray.id), 30_000, 250);
    // B's container and start are untouched, and so is A's own live one.
    expect((await containersInRange(PORTS_B)).map((c) => [c.Id, c.State])).to.deep.equal([[containerB!.Id, "running"]]);
    expect((await containersInRange(PORTS_A)).map((c) => c.Id)).to.deep.equal([containerA!.Id]);
    expect(await readService(inB.port)).to.match(/^flag\{u\d+_[0-9a-f]{32}\}$/);
    expect((await settled(playerB, inB.startId)).status).to.equal("ready");

    // B's reconcile, in turn, leaves A's container and A's start as they are.
    await reconcile(b);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await containersInRange(PORTS_A)).map((c) => c.Id)).to.deep.equal([containerA!.Id]);
    expect((await settled(playerA, inA.startId)).status).to.equal("ready");

    // Stopping in A removes A's container only.
    expect((await playerA.request("DELETE", "/api/v1/containers", { challenge_id: idA })).status).to.equal(200);
    expect(await containersInRange(PORTS_A)).to.have.length(0);
    expect((await containersInRange(PORTS_B)).map((c) => c.Id)).to.deep.equal([containerB!.Id]);
    expect((await playerB.request("DELETE", "/api/v1/containers", { challenge_id: idB })).status).to.equal(200);
    expect(await containersInRange(PORTS_B)).to.have.length(0);
  });
});
