import { expect } from "chai";
import type { Middleware } from "koa";
import greeterClient from "../fixtures/plugins/greeter-client/index.js";
import type { Greeter } from "../fixtures/plugins/greeter/service.js";
import type { PluginRoutes } from "../../core/kernel/http/route-table.js";
import type { PluginManifest } from "../../core/kernel/plugin-host/manifest.js";
import { fixturePlugin, startTestKernel, type TestKernel } from "../helpers/kernel.js";

const stateOf = async (t: TestKernel, id: string) => {
  const { body } = await t.request("GET", "/api/v1/admin/plugins");
  return (body.data as Array<{ id: string; status: string; error: string | null }>).find((p) => p.id === id)!;
};

describe("typed service references", () => {
  const kernels: TestKernel[] = [];
  const start = async (...args: Parameters<typeof startTestKernel>) => {
    const t = await startTestKernel(...args);
    kernels.push(t);
    return t;
  };
  afterEach(async () => {
    await Promise.all(kernels.splice(0).map((t) => t.stop()));
  });

  it("hands a plugin the typed service of a plugin it depends on, configured by its owner", async () => {
    const t = await start({ plugins: [fixturePlugin("greeter"), fixturePlugin("greeter-client")], config: { plugins: { greeter: { salutation: "hi" } } } });
    expect((await stateOf(t, "greeter-client")).status).to.equal("started");
    const first = await t.request("GET", "/greeter-client/ada");
    expect(first.body).to.deep.equal({ success: true, data: { greeting: "hi ada", total: 1 } });
    const second = await t.request("GET", "/greeter-client/grace");
    expect(second.body.data).to.deep.equal({ greeting: "hi grace", total: 2 });
  });

  it("resolves the request-scoped caller per request in a handler", async () => {
    const t = await start({ plugins: [fixturePlugin("greeter")] });
    expect((await t.request("GET", "/greeter/me")).body.data).to.equal("hello bootstrap admin");
    expect((await t.request("GET", "/greeter/me", { token: null })).body.data).to.equal("hello stranger");
  });

  it("refuses a service of a plugin outside dependsOn, naming both plugins, and keeps the provider serving", async () => {
    const t = await start({ plugins: [fixturePlugin("greeter"), fixturePlugin("nosy")] });
    const nosy = await stateOf(t, "nosy");
    expect(nosy.status).to.equal("failed");
    expect(nosy.error).to.include('"nosy"').and.include('"greeter"').and.include("greeter.main").and.include("dependsOn");
    expect((await t.request("GET", "/nosy/hello")).status).to.equal(404);
    expect((await stateOf(t, "greeter")).status).to.equal("started");
    expect((await t.request("GET", "/greeter/me")).status).to.equal(200);
  });

  it("refuses a plugin (which outlives requests) that depends on a request-scoped service", async () => {
    const t = await start({ plugins: [fixturePlugin("holds-caller")] });
    const state = await stateOf(t, "holds-caller");
    expect(state.status).to.equal("failed");
    expect(state.error).to.include("core.caller").and.include("request-scoped");
    expect((await t.request("GET", "/holds-caller/who")).status).to.equal(404);
  });

  it("gives two kernels in one process two independent instances of the same plugins", async () => {
    const [one, two] = [await start({ plugins: [fixturePlugin("greeter"), fixturePlugin("greeter-client")] }), await start({ plugins: [fixturePlugin("greeter"), fixturePlugin("greeter-client")] })];
    for (let i = 0; i < 3; i++) await one.request("GET", "/greeter-client/ada");
    expect((await two.request("GET", "/greeter-client/ada")).body.data.total).to.equal(1);
    expect((await one.request("GET", "/greeter-client/ada")).body.data.total).to.equal(4);
  });

  it("lets a plugin be unit-tested by calling its factory with stand-ins for its deps", async () => {
    const handlers = new Map<string, Middleware[]>();
    const routes = { get: (path: string, ...middleware: Middleware[]) => void handlers.set(path, middleware) } as unknown as PluginRoutes;
    const greeter: Greeter = { greet: (name) => `stand-in greets ${name}`, count: () => 41 };
    const manifest = { id: "greeter-client" } as PluginManifest;
    const health = { degraded: () => {}, restored: () => {}, degradedReason: null };
    greeterClient.create({ routes, greeter }, { id: "greeter-client", manifest, dir: "", config: {}, health });
    const ctx = { params: { name: "ada" }, body: undefined as unknown, status: 404 };
    await handlers.get("/greeter-client/:name")![0]!(ctx as never, async () => {});
    expect(ctx.body).to.deep.equal({ success: true, data: { greeting: "stand-in greets ada", total: 41 } });
  });
});
