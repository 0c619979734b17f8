import { expect } from "chai";
import { fixturePlugin, startTestKernel, errorLogs, eventually, type TestKernel } from "../helpers/kernel.js";
import { Kernel } from "../../core/kernel/kernel.js";
import { loadConfig } from "../../core/kernel/config.js";
import { projectRoot } from "../helpers/kernel.js";

const statusOf = (t: TestKernel, id: string) => t.kernel.plugins.pluginStates().find((p) => p.id === id);

describe("plugin loader", () => {
  let t: TestKernel | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  it("starts the scheduler once and runs the jobs of two plugins without logging an error; load twice and reload keep one of everything", async () => {
    t = await startTestKernel({ plugins: [fixturePlugin("alpha"), fixturePlugin("beta")] });
    const { kernel } = t;
    expect(kernel.scheduler.isStarted).to.equal(true);
    await kernel.start(); // a second start is a no-op
    await kernel.scheduler.start();
    expect(kernel.scheduler.ids().sort()).to.deep.equal(["alpha.tick", "beta.hourly", "beta.tick", "kernel.job-runs-retention"]);

    const ran = async (id: string) => (await kernel.scheduler.runs(id, 10)).filter((r) => r.outcome === "succeeded").length;
    await eventually(async () => (await ran("alpha.tick")) >= 2 && (await ran("beta.tick")) >= 2, 8000);

    const counts = () => ({
      jobs: kernel.scheduler.ids().length,
      routes: kernel.routes.routeCount(),
      handlers: kernel.events.handlerCount(),
    });
    const before = counts();
    expect(before).to.deep.equal({ jobs: 4, routes: 4, handlers: 1 }); // three of the plugins, and the kernel's retention

    await kernel.plugins.load(); // loading the same set again
    expect(counts()).to.deep.equal(before);
    await kernel.reload();
    expect(counts()).to.deep.equal(before);
    await kernel.reload();
    expect(counts()).to.deep.equal(before);
    expect(statusOf(t, "alpha")?.status).to.equal("started");

    // One handler, not three: an event emitted once is handled once.
    const state0 = (await t.request("GET", "/alpha/state")).body.data.pings;
    await t.request("POST", "/alpha/emit");
    await kernel.events.drain();
    expect((await t.request("GET", "/alpha/state")).body.data.pings).to.equal(state0 + 1);
    expect(errorLogs(t)).to.deep.equal([]);
  });

  it("shows a plugin running without its backend as degraded with the reason, keeps /readyz 200, and restores it", async () => {
    t = await startTestKernel({ plugins: [fixturePlugin("backend-probe"), fixturePlugin("independent")], config: { plugins: { "backend-probe": { startsWithout: "engine unreachable at unix:///nowhere.sock" } } } });
    const probe = async () => ((await t!.request("GET", "/api/v1/admin/plugins")).body.data as Array<{ id: string }>).find((p) => p.id === "backend-probe");
    expect(await probe()).to.deep.include({ status: "degraded", error: "engine unreachable at unix:///nowhere.sock" });
    const ready = await t.request("GET", "/readyz", { token: null });
    expect(ready.status).to.equal(200);
    expect(ready.body.data.plugins).to.deep.include({ "backend-probe": "degraded", independent: "started" });

    expect((await t.request("POST", "/backend-probe/backend", { body: { lost: null } })).body.data).to.deep.equal({ degradedReason: null });
    expect(await probe()).to.deep.include({ status: "started", error: null });
    await t.request("POST", "/backend-probe/backend", { body: { lost: "engine stopped answering" } });
    expect(await probe()).to.deep.include({ status: "degraded", error: "engine stopped answering" });
    expect(t.logs.filter((l) => l.msg.includes("is degraded")).map((l) => l.msg)).to.deep.equal([
      'plugin "backend-probe" is degraded: engine unreachable at unix:///nowhere.sock',
      'plugin "backend-probe" is degraded: engine stopped answering',
    ]);
    await t.kernel.stop();
    expect(statusOf(t, "backend-probe")?.status).to.equal("stopped");
  });

  it("marks a plugin that throws in init failed, blocks its dependent, and keeps serving an independent one", async () => {
    t = await startTestKernel({ plugins: [fixturePlugin("broken-init"), fixturePlugin("needs-broken"), fixturePlugin("independent")] });
    const { body } = await t.request("GET", "/api/v1/admin/plugins");
    const byId = Object.fromEntries((body.data as Array<{ id: string; error: string }>).map((p) => [p.id, p]));
    expect(byId["broken-init"]).to.deep.include({ status: "failed", enabled: true, version: "0.0.1" });
    expect(byId["broken-init"].error).to.include("the database of broken-init is on fire").and.include("init");
    expect(byId["needs-broken"]).to.deep.include({ status: "blocked" });
    expect(byId["needs-broken"].error).to.include("broken-init");
    expect(byId["independent"]).to.deep.include({ status: "started", error: null });

    expect((await t.request("GET", "/broken/hello")).status).to.equal(404);
    expect((await t.request("GET", "/needs-broken/hello")).status).to.equal(404);
    expect(t.kernel.scheduler.ids().sort()).to.deep.equal(["independent.tick", "kernel.job-runs-retention"]);
    await eventually(async () => (await t!.request("GET", "/independent/state")).body.data.ticks >= 1, 5000);
    const failure = t.logs.find((l) => l.plugin === "broken-init" && l.level >= 50);
    expect(failure?.msg).to.include("failed in init");
  });

  it("turns a hung init into a named failure after the timeout", async () => {
    t = await startTestKernel({ plugins: [fixturePlugin("slow-init"), fixturePlugin("independent")], config: { pluginInitTimeoutMs: 300 } });
    expect(statusOf(t, "slow-init")).to.deep.include({ status: "failed" });
    expect(statusOf(t, "slow-init")!.error).to.match(/slow-init.*init did not finish within 300 ms/);
    expect(statusOf(t, "independent")!.status).to.equal("started");
  });

  it("refuses registrations after start, naming the plugin", async () => {
    t = await startTestKernel({ plugins: [fixturePlugin("late-register")] });
    expect(statusOf(t, "late-register")!.status).to.equal("failed");
    expect(statusOf(t, "late-register")!.error).to.include('plugin "late-register": cannot add a route after the plugin started');
  });

  it("reports an invalid manifest with the JSON pointer, a cycle, and an unknown dependency", async () => {
    t = await startTestKernel({
      plugins: [fixturePlugin("bad-manifest"), fixturePlugin("cycle-a"), fixturePlugin("cycle-b"), fixturePlugin("unknown-dep"), fixturePlugin("independent")],
    });
    const bad = statusOf(t, "bad-manifest")!;
    expect(bad.status).to.equal("failed");
    expect(bad.error).to.include("/version").and.include("must match pattern");
    expect(bad.error).to.include("must NOT have additional properties (colour)");
    expect(statusOf(t, "cycle-a")!.error).to.match(/dependency cycle: cycle-(a|b) -> cycle-(a|b) -> cycle-(a|b)/);
    expect(statusOf(t, "cycle-b")!.status).to.equal("failed");
    expect(statusOf(t, "unknown-dep")).to.deep.include({ status: "failed", error: 'depends on unknown plugin "nowhere"' });
    expect(statusOf(t, "independent")!.status).to.equal("started");
  });

  it("does not import a disabled plugin and blocks what depends on it", async () => {
    t = await startTestKernel({
      plugins: [fixturePlugin("broken-init"), fixturePlugin("needs-broken")],
      config: { plugins: { "broken-init": { enabled: false } } },
    });
    expect(statusOf(t, "broken-init")).to.deep.include({ status: "disabled", enabled: false });
    expect(statusOf(t, "needs-broken")).to.deep.include({ status: "blocked", error: 'depends on "broken-init", which is disabled' });
    expect(t.logs.some((l) => String(l.msg).includes("on fire"))).to.equal(false);
  });

  it("validates each plugin's config slice and stops start-up naming the key path", async () => {
    const config = loadConfig({
      root: projectRoot,
      env: {},
      overrides: { dataDir: "memory:", pluginPaths: [fixturePlugin("with-config")], plugins: { "with-config": { greeting: 5 } }, log: { level: "silent" } },
    });
    const kernel = new Kernel(config);
    let error: Error | undefined;
    try {
      await kernel.start();
    } catch (caught) {
      error = caught as Error;
    } finally {
      await kernel.stop();
    }
    expect(error?.name).to.equal("StartupError");
    expect(error?.message).to.include("plugins.with-config.greeting:").and.include("expected string");
  });

  it("hands a plugin its parsed config slice with defaults", async () => {
    t = await startTestKernel({ plugins: [fixturePlugin("with-config")], config: { plugins: { "with-config": { greeting: "hi", repeat: 2 } } } });
    expect((await t.request("GET", "/with-config/greeting")).body).to.deep.equal({ success: true, data: "hihi" });
  });
});
