import { expect } from "chai";
import { uniqueName } from "../helpers/backends.js";
import { eventually, fixturePlugin, startTestKernel, type TestKernel } from "../helpers/kernel.js";

/** Two kernels on one Postgres schema and one Redis prefix: broadcast events reach the other instance. */
describe("event bus across instances (Redis pub/sub)", () => {
  let a: TestKernel;
  let b: TestKernel;
  before(async () => {
    const schema = uniqueName("t");
    const shared = { redisKeyPrefix: `${schema}:` };
    a = await startTestKernel({ plugins: [fixturePlugin("events")], schema, config: { ...shared, instanceId: "a" } });
    b = await startTestKernel({ plugins: [fixturePlugin("events")], schema, config: { ...shared, instanceId: "b" } });
  });
  after(async () => {
    await b.kernel.stop();
    await a.stop();
  });

  const broadcastsSeenBy = async (t: TestKernel) =>
    ((await t.request("GET", "/events/seen")).body.data as Array<Record<string, any>>).filter((e) => e.name === "fixture.broadcast");

  it("delivers a broadcast event locally and to the other instance, once each", async () => {
    // Each kernel has its own instance of the fixture, so each records what reached it.
    await Promise.all([a.request("DELETE", "/events/seen"), b.request("DELETE", "/events/seen")]);
    await a.request("POST", "/events/broadcast", { headers: { "x-from": "a" } });
    await eventually(async () => (await broadcastsSeenBy(a)).length >= 1 && (await broadcastsSeenBy(b)).length >= 1, 5000);
    await new Promise((r) => setTimeout(r, 200)); // nothing more arrives
    const [onA, onB] = [await broadcastsSeenBy(a), await broadcastsSeenBy(b)];
    expect(onA.map((e) => [e.local, e.payload.from])).to.deep.equal([[true, "a"]]);
    expect(onB.map((e) => [e.local, e.payload.from])).to.deep.equal([[false, "a"]]);
  });

  it("delivers a burst of broadcast events on the other instance once each, in order", async () => {
    await Promise.all([a.request("DELETE", "/events/seen"), b.request("DELETE", "/events/seen")]);
    await a.request("POST", "/events/broadcast-burst", { headers: { "x-from": "burst" } });
    const remote = async () => (await broadcastsSeenBy(b)).filter((e) => !e.local).map((e) => e.payload.i);
    await eventually(async () => (await remote()).length >= 5, 5000);
    await new Promise((r) => setTimeout(r, 200)); // nothing more arrives
    expect(await remote()).to.deep.equal([0, 1, 2, 3, 4]);
  });
});
