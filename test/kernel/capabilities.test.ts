import { expect } from "chai";
import { startCtf, type TestCtf } from "../helpers/ctf.js";
import { fixturePlugin } from "../helpers/kernel.js";

/** The manifest is a promise the kernel holds plugins to: paths, pages, assets, jobs and tables have one owner. */
describe("enforced capabilities", function () {
  this.timeout(120_000); // boots ctf and nine fixture plugins
  let t: TestCtf;
  const rogues = ["intruder", "undeclared-dependency", "outer-squatter", "page-squatter", "asset-squatter", "double-job", "sneaky-table", "sneaky-alter", "sneaky-index"];

  before(async () => {
    t = await startCtf({ plugins: rogues.map(fixturePlugin) });
  });
  after(() => t?.stop());

  const stateOf = async (id: string) => {
    const res = await t.request("GET", "/api/v1/admin/plugins");
    expect(res.status).to.equal(200);
    return (res.body.data as Array<{ id: string; status: string; error: string | null }>).find((p) => p.id === id);
  };

  it("fails a plugin whose http prefix lies inside ctf's /api/v1, naming both; ctf's routes keep answering", async () => {
    expect(await stateOf("ctf")).to.include({ status: "started" });
    const intruder = await stateOf("intruder");
    expect(intruder).to.include({ status: "failed" });
    expect(intruder!.error).to.equal('plugin "intruder" failed in register: http prefix /api/v1/challenges of "intruder" lies inside /api/v1 of "ctf", which does not delegate it');

    await t.challenge({ name: "still ctf's" });
    const list = await t.admin.get("/api/v1/challenges");
    expect(list.status).to.equal(200);
    expect(list.body.success).to.equal(true);
    expect(list.body.data.map((c: { name: string }) => c.name)).to.include("still ctf's");
  });

  it("fails a plugin inside a delegated prefix that does not declare the owner in dependsOn", async () => {
    const state = await stateOf("undeclared-dependency");
    expect(state).to.include({ status: "failed" });
    expect(state!.error).to.contain('http prefix /api/v1/scoreboard/extra of "undeclared-dependency" lies inside /api/v1 of "ctf", which delegates it, but "undeclared-dependency" does not declare "ctf" in dependsOn');
  });

  it("fails a plugin whose prefix holds ctf's (the other direction)", async () => {
    const state = await stateOf("outer-squatter");
    expect(state).to.include({ status: "failed" });
    expect(state!.error).to.contain('http prefix /api/v1 of "ctf" lies inside /api of "outer-squatter", which does not delegate it');
    expect((await t.request("GET", "/api/v1/admin/plugins")).status).to.equal(200);
  });

  it("gives pages and asset URLs one owner each", async () => {
    const page = await stateOf("page-squatter");
    expect(page).to.include({ status: "failed" });
    expect(page!.error).to.contain('page path /challenges of "page-squatter" is already claimed by "ctf" (page path)');
    const assets = await stateOf("asset-squatter");
    expect(assets).to.include({ status: "failed" });
    expect(assets!.error).to.contain('asset URL /admin/static of "asset-squatter" lies inside /admin of "ctf", which does not delegate it');
    // The refused plugins' pages are not in the navigation.
    const pages = t.kernel.plugins.pages().map((p) => `${p.plugin} ${p.path}`);
    expect(pages.filter((p) => p.endsWith(" /challenges"))).to.deep.equal(["ctf /challenges"]);
  });

  it("refuses a job added twice, naming it", async () => {
    const state = await stateOf("double-job");
    expect(state).to.include({ status: "failed" });
    expect(state!.error).to.contain('job "double-job.tick" is already added');
    expect(t.kernel.scheduler.ids("double-job")).to.deep.equal([]);
  });

  it("rolls back a migration that creates a table outside the plugin's prefix, and fails the plugin naming the table", async () => {
    const state = await stateOf("sneaky-table");
    expect(state).to.include({ status: "failed" });
    expect(state!.error).to.contain('"ctf_x"').and.to.contain('outside the table prefix "sneaky_" of "sneaky-table"');
    const [row] = await t.kernel.db.query<{ foreign: string | null; own: string | null }>(`SELECT to_regclass('ctf_x')::text AS foreign, to_regclass('sneaky_own')::text AS own`);
    expect(row).to.deep.equal({ foreign: null, own: null });
  });

  it("rolls back a migration that alters a kernel table or indexes a ctf table", async () => {
    const alter = await stateOf("sneaky-alter");
    expect(alter).to.include({ status: "failed" });
    expect(alter!.error).to.contain('"kernel_job_runs"');
    const columns = await t.kernel.db.query(`SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'kernel_job_runs' AND column_name = 'sneaky_note'`);
    expect(columns).to.deep.equal([]);

    const index = await stateOf("sneaky-index");
    expect(index).to.include({ status: "failed" });
    expect(index!.error).to.contain('"ctf_users"');
    expect((await t.kernel.db.query<{ name: string | null }>(`SELECT to_regclass('sneaky_index_names')::text AS name`))[0]!.name).to.equal(null);
    // Nothing of theirs was recorded as applied: fixed, they would migrate on the next start.
    const recorded = await t.kernel.db.query(`SELECT owner FROM kernel_migrations WHERE owner LIKE 'sneaky%'`);
    expect(recorded).to.deep.equal([]);
  });
});
