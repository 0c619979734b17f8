/**
 * whale in team mode on the real engine (ports 32700-32749): the team is the account, so its members share one
 * container per challenge and its flag; a player without a team cannot start one.
 */
import { expect } from "chai";
import type { Client, TestCtf } from "../../helpers/ctf.js";
import { containerChallenge, containersInRange, readService, removeContainersInRange, settled, startContainer, startWhale } from "./helpers.js";

const PORTS: [number, number] = [32700, 32749];

describe("whale in team mode: one container per team", function () {
  this.timeout(180_000);
  let t: TestCtf;

  before(async () => {
    await removeContainersInRange(PORTS);
    t = await startWhale({ mode: "teams", portRange: PORTS });
  });
  after(async () => {
    await t?.stop();
    await removeContainersInRange(PORTS);
  });

  async function member(team: string, create: boolean): Promise<Client> {
    const player = await t.register();
    const res = await player.post(create ? "/api/v1/teams/new" : "/api/v1/teams/join", { name: team, password: "team-password-1" });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return player;
  }

  it("members share the team's container and flag; a second member's start is 409; another team's flag is incorrect", async () => {
    const id = await containerChallenge(t);
    const [a1, a2, b1] = [await member("whales", true), await member("whales", false), await member("sharks", true)];
    const start = await startContainer(a1, id);
    expect(start.status).to.equal(202);
    expect((await startContainer(a2, id)).status).to.equal(409);
    const ready = await settled(a2, start.body.data.start_id); // a teammate may follow the team's start
    expect(ready.status, ready.error).to.equal("ready");
    expect((await a2.get("/api/v1/containers")).body.data.map((c: any) => c.start_id)).to.deep.equal([start.body.data.start_id]);
    const [container] = await containersInRange(PORTS);
    expect(container!.Labels["flaghost.whale.account"]).to.match(/^team:\d+$/);

    const flag = await readService(ready.connection.port);
    expect(flag).to.match(/^flag\{t\d+_[0-9a-f]{32}\}$/);
    expect((await b1.post("/api/v1/challenges/attempt", { challenge_id: id, submission: flag })).body.data.status).to.equal("incorrect");
    expect((await a2.post("/api/v1/challenges/attempt", { challenge_id: id, submission: flag })).body.data.status).to.equal("correct");

    expect((await a2.request("DELETE", "/api/v1/containers", { challenge_id: id })).status).to.equal(200);
    expect(await containersInRange(PORTS)).to.have.length(0);
  });

  it("a player without a team cannot start a container (403)", async () => {
    const id = await containerChallenge(t);
    const loner = await t.register();
    const res = await startContainer(loner, id);
    expect(res.status).to.equal(403);
  });
});
