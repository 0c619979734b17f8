import { expect } from "chai";
import { fixturePlugin, startTestKernel, eventually, type TestKernel } from "../helpers/kernel.js";

describe("scheduler", () => {
  let t: TestKernel;
  before(async () => {
    t = await startTestKernel({ plugins: [fixturePlugin("alpha"), fixturePlugin("beta")] });
  });
  after(() => t.stop());

  it("lists jobs with cron, scope, next run and the last run", async () => {
    await eventually(async () => (await t.kernel.scheduler.runs("alpha.tick", 1)).some((r) => r.outcome === "succeeded"), 5000);
    const res = await t.request("GET", "/api/v1/admin/jobs");
    expect(res.status).to.equal(200);
    const jobs = res.body.data as Array<Record<string, any>>;
    expect(jobs.map((j) => j.id)).to.deep.equal(["alpha.tick", "beta.hourly", "beta.tick", "kernel.job-runs-retention"]);
    const tick = jobs.find((j) => j.id === "alpha.tick")!;
    expect(tick).to.include({ plugin: "alpha", cron: "* * * * * *", scope: "cluster" });
    expect(Date.parse(tick.nextRunAt)).to.be.greaterThan(Date.now() - 1000);
    expect(tick.last).to.include({ job: "alpha.tick", outcome: "succeeded", trigger: "schedule", instance: t.kernel.instanceId });
    expect(tick.last.durationMs).to.be.a("number");
    const hourly = jobs.find((j) => j.id === "beta.hourly")!;
    expect(hourly.last).to.equal(null);
    expect(new Date(hourly.nextRunAt).getUTCMinutes()).to.equal(0);
  });

  it("records one run per slot, each slot a whole second", async () => {
    const runs = await t.kernel.scheduler.runs("beta.tick", 50);
    const slots = runs.filter((r) => r.trigger === "schedule").map((r) => r.slot);
    expect(slots.length).to.be.greaterThan(0);
    expect(new Set(slots).size).to.equal(slots.length);
    for (const slot of slots) expect(new Date(slot).getUTCMilliseconds()).to.equal(0);
  });

  it("triggers a run through the admin API and returns it; the runs endpoint lists it newest first", async () => {
    const res = await t.request("POST", "/api/v1/admin/jobs/beta.hourly/run");
    expect(res.status).to.equal(200);
    expect(res.body.data).to.include({ job: "beta.hourly", trigger: "manual", outcome: "succeeded", error: null });
    const runs = await t.request("GET", "/api/v1/admin/jobs/beta.hourly/runs?limit=5");
    expect(runs.body.data[0].id).to.equal(res.body.data.id);
  });

  it("answers an unknown job with 404 and a bad limit with 400", async () => {
    expect((await t.request("POST", "/api/v1/admin/jobs/nope.nothing/run")).status).to.equal(404);
    const bad = await t.request("GET", "/api/v1/admin/jobs/alpha.tick/runs?limit=-3");
    expect(bad.status).to.equal(400);
    expect(bad.body.errors).to.have.property("limit");
  });

  it("records a failing run with its error and a timed-out run as timeout", async () => {
    const { scheduler } = t.kernel;
    scheduler.add("kernel-test", { id: "explodes", cron: "0 0 1 1 *", run: () => Promise.reject(new Error("boom at run")) });
    scheduler.add("kernel-test", { id: "hangs", cron: "0 0 1 1 *", timeoutMs: 100, run: ({ signal }) => new Promise((r) => signal.addEventListener("abort", r)) });
    const failed = await scheduler.trigger("kernel-test.explodes");
    expect(failed).to.include({ outcome: "failed", error: "boom at run" });
    const timedOut = await scheduler.trigger("kernel-test.hangs");
    expect(timedOut.outcome).to.equal("timeout");
    expect(timedOut.error).to.include("100 ms");
    scheduler.removeOwner("kernel-test");
  });

  it("skips a slot (recorded) while the previous run of a non-overlapping job still holds the lease", async () => {
    const { scheduler } = t.kernel;
    let release!: () => void;
    scheduler.add("kernel-test", { id: "busy", cron: "0 0 1 1 *", run: () => new Promise<void>((r) => (release = r)) });
    const first = scheduler.trigger("kernel-test.busy");
    await eventually(() => release !== undefined);
    const second = await scheduler.trigger("kernel-test.busy");
    expect(second).to.include({ outcome: "skipped", error: "the previous run still holds the lease" });
    release();
    expect((await first).outcome).to.equal("succeeded");
    scheduler.removeOwner("kernel-test");
  });

  it("runs the most recent missed slot once when a job asks for catch-up, and not otherwise", async () => {
    const { scheduler } = t.kernel;
    const before = new Date();
    scheduler.add("kernel-test", { id: "catches-up", cron: "0 * * * *", catchUp: true, run: () => {} });
    scheduler.add("kernel-test", { id: "no-catch-up", cron: "0 * * * *", run: () => {} });
    const [run] = await eventually(async () => {
      const runs = await scheduler.runs("kernel-test.catches-up", 5);
      return runs.length > 0 && runs[0]!.outcome === "succeeded" ? runs : null;
    }, 5000) as Awaited<ReturnType<typeof scheduler.runs>>;
    const lastHour = new Date(Math.floor(before.getTime() / 3_600_000) * 3_600_000).toISOString();
    expect(run).to.include({ trigger: "catch-up", slot: lastHour });
    expect(await scheduler.runs("kernel-test.no-catch-up", 5)).to.deep.equal([]);
    // Adding it again (as a restart would) does not run the same slot twice.
    scheduler.add("kernel-test", { id: "catches-up", cron: "0 * * * *", catchUp: true, run: () => {} });
    await new Promise((r) => setTimeout(r, 300));
    expect(await scheduler.runs("kernel-test.catches-up", 5)).to.have.length(1);
    scheduler.removeOwner("kernel-test");
  });

  it("replaces a job added again with the same id instead of duplicating it", () => {
    const { scheduler } = t.kernel;
    scheduler.add("kernel-test", { id: "twice", cron: "0 0 1 1 *", run: () => {} });
    scheduler.add("kernel-test", { id: "twice", cron: "0 0 2 1 *", run: () => {} });
    expect(scheduler.ids("kernel-test")).to.deep.equal(["kernel-test.twice"]);
    scheduler.removeOwner("kernel-test");
  });

  it("rejects an invalid cron expression with the job id in the message", () => {
    expect(() => t.kernel.scheduler.add("kernel-test", { id: "bad", cron: "every tuesday", run: () => {} })).to.throw(/job "bad": invalid cron expression/);
  });
});
