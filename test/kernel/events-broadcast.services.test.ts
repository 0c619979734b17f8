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

  it("delivers a broadcast event locally and to the other instance, once each", async () => {
    // Both kernels share one process here, so the fixture's record is shared: tell deliveries apart by `local`.
    await a.request("DELETE", "/events/seen");
    await a.request("POST", "/events/broadcast", { headers: { "x-from": "a" } });
    const events = await eventually(async () => {
      const all = ((await a.request("GET", "/events/seen")).body.data as Array<Record<string, any>>).filter((e) => e.name === "fixture.broadcast");
      return all.length >= 2 ? all : null;
    }, 5000);
    await new Promise((r) => setTimeout(r, 200)); // nothing more arrives
    const final = ((await a.request("GET", "/events/seen")).body.data as Array<Record<string, any>>).filter((e) => e.name === "fixture.broadcast");
    expect(final).to.have.length(2);
    expect(events!.map((e) => e.local).sort()).to.deep.equal([false, true]);
    expect(final.every((e) => e.payload.from === "a")).to.equal(true);
  });

  it("delivers a burst of broadcast events on the other instance once each, in order", async () => {
    await a.request("DELETE", "/events/seen");
    await a.request("POST", "/events/broadcast-burst", { headers: { "x-from": "burst" } });
    const remote = async () =>
      ((await a.request("GET", "/events/seen")).body.data as Array<Record<string, any>>).filter((e) => e.name === "fixture.broadcast" && !e.local).map((e) => e.payload.i);
    await eventually(async () => (await remote()).length >= 5, 5000);
    await new Promise((r) => setTimeout(r, 200)); // nothing more arrives
    expect(await remote()).to.deep.equal([0, 1, 2, 3, 4]);
  });
});
