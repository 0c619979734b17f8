import { expect } from "chai";
import { loadConfig } from "../../../core/kernel/config.js";
import { startCtf } from "../../helpers/ctf.js";
import { projectRoot } from "../../helpers/kernel.js";
import { CTF_PLUGIN } from "../../helpers/ctf.js";
import { MANUAL_JOBS, METACTF_PLUGIN, SECRET_TOKEN, startMetactf } from "./helpers.js";

/** Configuration: disabled by default, environment names, and degraded (not failed) without a platform. */
describe("metactf-sync configuration", function () {
  this.timeout(120_000);

  it("is disabled by default", async () => {
    const t = await startCtf({ plugins: [METACTF_PLUGIN] });
    try {
      const plugins = (await t.admin.get("/api/v1/admin/plugins")).body.data;
      expect(plugins.find((p: any) => p.id === "metactf-sync")).to.include({ enabled: false, status: "disabled" });
    } finally {
      await t.stop();
    }
  });

  it("reads FLAGHOST__plugins__metactf_sync__<key> from the environment into plugins.metactf-sync", async () => {
    const env = {
      FLAGHOST__plugins__metactf_sync__enabled: "true",
      FLAGHOST__plugins__metactf_sync__baseUrl: "http://127.0.0.1:9/integrations/syned/v1",
      FLAGHOST__plugins__metactf_sync__batchSize: "7",
      FLAGHOST__plugins__metactf_sync__idPrefix: "league-",
    };
    const config = loadConfig({ root: projectRoot, env, overrides: { pluginPaths: [CTF_PLUGIN, METACTF_PLUGIN] } });
    expect(config.plugins["metactf-sync"]).to.deep.equal({ enabled: true, baseUrl: "http://127.0.0.1:9/integrations/syned/v1", batchSize: 7, idPrefix: "league-" });
    // A misspelt plugin segment is refused, naming the variable.
    expect(() => loadConfig({ root: projectRoot, env: { FLAGHOST__plugins__metactf_synk__batchSize: "7" }, overrides: { pluginPaths: [CTF_PLUGIN, METACTF_PLUGIN] } })).to.throw(/FLAGHOST__plugins__metactf_synk__batchSize.*metactf-sync/s);

    // The plugin runs on that slice: seven competitors per ODL run, ids with the league's prefix.
    const { baseUrl: _unreachable, ...fromEnvironment } = config.plugins["metactf-sync"]!;
    const m = await startMetactf({ config: fromEnvironment });
    try {
      const { id } = await m.player();
      await m.onboarded(id);
      expect(m.mock.platform().users.has(`league-u${id}`)).to.equal(true);
      const plan = (await m.t.admin.post("/api/v1/metactf/sync", { dryRun: true, job: "odl" })).body.data.plans.odl;
      expect(plan.calls[0]).to.contain(`syned_user_id=league-u${id}`);
    } finally {
      await m.stop();
    }
  });

  it("refuses an unknown key in its slice at start-up, with the path", async () => {
    const error = await startMetactf({ config: { batchsize: 3 } }).then(
      async (m) => (await m.stop(), null),
      (e: Error) => e,
    );
    expect(error?.message).to.match(/plugins\.metactf-sync.*batchsize/s);
  });

  for (const missing of ["baseUrl", "token"] as const) {
    it(`enabled without ${missing}: degraded with the reason, the rest of the platform serving`, async () => {
      const m = await startMetactf(missing === "baseUrl" ? { baseUrl: null } : { token: null });
      try {
        const plugins = (await m.t.admin.get("/api/v1/admin/plugins")).body.data;
        const state = plugins.find((p: any) => p.id === "metactf-sync");
        expect(state.status).to.equal("degraded");
        expect(state.error).to.contain(missing === "baseUrl" ? "plugins.metactf-sync.baseUrl is not set" : "METACTF_API_TOKEN is not set");
        expect((await m.t.admin.get("/readyz")).status).to.equal(200);
        expect((await m.t.admin.get("/api/v1/challenges")).status).to.equal(200);

        // Local work goes on; calls that need the platform say why it is missing.
        const { id } = await m.player();
        await m.competitor(id);
        const res = await m.t.admin.post(`/api/v1/metactf/competitors/${id}/onboard`);
        expect(res.status).to.equal(503);
        expect(JSON.stringify(res.body)).to.contain("not configured");
        const run = await m.runJob("odl");
        expect(run.result).to.include({ outcome: "failed", apiCalls: 0 });
        expect(run.result.errors[0].message).to.contain("is not set");
        expect((await m.calls()).total).to.equal(0);
      } finally {
        await m.stop();
      }
    });
  }

  it("keeps the token out of every log line and answer, also when calls fail", async () => {
    const m = await startMetactf({ config: { ...MANUAL_JOBS } });
    try {
      const { id } = await m.player();
      await m.onboarded(id);
      await m.faults({ failNext: 3, failStatus: 500 });
      await m.runJob("odl");
      await m.faults({ malformedNext: 1 });
      await m.runJob("totals");
      const answers = [
        (await m.t.admin.get("/api/v1/metactf/competitors")).body,
        (await m.t.admin.get("/api/v1/metactf/runs")).body,
        (await m.t.admin.get("/api/v1/admin/plugins")).body,
        (await m.t.admin.get("/api/v1/admin/jobs")).body,
        (await m.t.admin.post("/api/v1/metactf/sync", { dryRun: true })).body,
        (await m.t.admin.get("/metactf")).body,
      ];
      expect(m.t.logs.filter((l) => l.msg === "metactf call failed").length).to.be.at.least(1);
      m.expectNoTokenLeak(answers);
      expect(JSON.stringify(m.t.logs)).not.to.contain(SECRET_TOKEN);
    } finally {
      await m.stop();
    }
  });
});
