import { resolve } from "node:path";
import { expect } from "chai";
import { projectRoot, startTestKernel, type TestKernel } from "../helpers/kernel.js";

/** The complete example of docs/plugins.md, loaded exactly as the docs show it. */
describe("docs example plugin: countdown", () => {
  let t: TestKernel;
  let endsAt: string;
  before(async () => {
    endsAt = new Date(Date.now() + 3_600_000).toISOString();
    t = await startTestKernel({ plugins: [resolve(projectRoot, "docs/examples/countdown")], config: { plugins: { countdown: { endsAt } } } });
  });
  after(() => t.stop());

  it("starts, creates its table and serves its route with its config", async () => {
    expect(t.kernel.plugins.pluginStates()).to.deep.equal([{ id: "countdown", version: "1.0.0", enabled: true, status: "started", error: null }]);
    const res = await t.request("GET", "/countdown", { token: null });
    expect(res.status).to.equal(200);
    expect(res.body.data).to.include({ title: "The event ends in", endsAt, heartbeats: 0 });
    expect(res.body.data.secondsLeft).to.be.within(3500, 3600);
    expect(res.body.data.viewer).to.equal(null);
    // The caller is resolved per request: the bootstrap admin token is recognised.
    expect((await t.request("GET", "/countdown")).body.data.viewer).to.equal("bootstrap admin");
  });

  it("runs its job through the admin API and records a heartbeat; admins can clear them", async () => {
    const run = await t.request("POST", "/api/v1/admin/jobs/countdown.heartbeat/run");
    expect(run.body.data).to.include({ job: "countdown.heartbeat", outcome: "succeeded" });
    expect((await t.request("GET", "/countdown")).body.data.heartbeats).to.equal(1);
    expect((await t.request("DELETE", "/countdown/heartbeats", { token: null })).status).to.equal(401);
    expect((await t.request("DELETE", "/countdown/heartbeats")).status).to.equal(200);
    expect((await t.request("GET", "/countdown")).body.data.heartbeats).to.equal(0);
  });
});
