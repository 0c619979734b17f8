import { expect } from "chai";
import { fixturePlugin, startTestKernel, type TestKernel } from "../helpers/kernel.js";

describe("event bus", () => {
  let t: TestKernel;
  before(async () => {
    t = await startTestKernel({ plugins: [fixturePlugin("events")] });
  });
  after(() => t.stop());
  beforeEach(() => t.request("DELETE", "/events/seen"));

  const seen = async () => (await t.request("GET", "/events/seen")).body.data as Array<Record<string, any>>;

  it("delivers an event emitted in a transaction after it commits, with the committed data visible", async () => {
    const res = await t.request("POST", "/events/commit");
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    await t.kernel.events.drain();
    const events = await seen();
    expect(events).to.have.length(1);
    expect(events[0]).to.deep.include({ name: "fixture.committed", payload: { step: "inside" }, local: true });
    expect(events[0]!.committedRows).to.be.at.least(1);
  });

  it("drops the event when the transaction rolls back", async () => {
    const res = await t.request("POST", "/events/rollback");
    expect(res.status).to.equal(409);
    await t.kernel.events.drain();
    expect(await seen()).to.deep.equal([]);
  });

  it("logs a throwing handler with its plugin id, never fails the emitter, and still runs the other handlers", async () => {
    const res = await t.request("POST", "/events/boom");
    expect(res.status).to.equal(200);
    await t.kernel.events.drain();
    expect((await seen()).map((e) => e.name)).to.deep.equal(["fixture.boom"]);
    const logged = t.logs.find((l) => l.level >= 50 && l.event === "fixture.boom");
    expect(logged).to.deep.include({ plugin: "events" });
    expect(JSON.stringify(logged)).to.include("handler exploded on purpose");
  });
});
