import { expect } from "chai";
import { resolve } from "node:path";
import { startCtf, type TestCtf } from "../helpers/ctf.js";
import { projectRoot } from "../helpers/kernel.js";

const SCOREBOARD_PLUGIN = resolve(projectRoot, "plugins/scoreboard");

/** `/a/:id/{*rest}` as OpenAPI writes it: `/a/{id}/{rest}`. */
const asOpenApiPath = (path: string) => path.replace(/:(\w+)/g, "{$1}").replace(/\{\*(\w+)\}/g, "{$1}");

describe("GET /api/v1/openapi.json", function () {
  this.timeout(120_000); // boots ctf and the scoreboard on a shared two-core machine
  let t: TestCtf;

  before(async () => {
    t = await startCtf({ plugins: [SCOREBOARD_PLUGIN] });
  });
  after(() => t?.stop());

  it("answers anonymous callers with an OpenAPI 3.1 document listing every registered route with its method and owner", async () => {
    // The scoreboard lies inside ctf's /api/v1, which ctf delegates to it: both load.
    expect(t.kernel.plugins.pluginStates().map((p) => `${p.id} ${p.status}`)).to.deep.equal(["ctf started", "scoreboard started"]);

    const res = await t.request("GET", "/api/v1/openapi.json", { token: null });
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/^application\/json/);
    const doc = res.body;
    expect(doc.openapi).to.equal("3.1.0");
    expect(doc.info).to.include({ title: "flaghost" });
    expect(doc.info.version).to.be.a("string");
    expect(doc.paths).to.be.an("object");

    const routes = t.kernel.routes.list();
    const owners = new Set(routes.map((r) => r.owner));
    expect([...owners].sort()).to.deep.equal(["ctf", "kernel", "scoreboard"]);
    expect(routes.length).to.be.greaterThan(80);
    const missing = routes.filter((r) => !doc.paths[asOpenApiPath(r.path)]?.[r.method.toLowerCase()]);
    expect(missing.map((r) => `${r.method} ${r.path}`)).to.deep.equal([]);
    for (const r of routes) expect(doc.paths[asOpenApiPath(r.path)][r.method.toLowerCase()].tags, `${r.method} ${r.path}`).to.include(r.owner);

    // Kernel routes are there too, and a prepared route is the GET of its path, not a second operation.
    expect(doc.paths["/healthz"].get).to.be.an("object");
    expect(doc.paths["/api/v1/admin/jobs/{id}/runs"].get.parameters).to.deep.include({ name: "id", in: "path", required: true, schema: { type: "string", minLength: 1, maxLength: 100 } });
    expect(Object.keys(doc.paths["/api/v1/scoreboard"])).to.deep.equal(["get"]);
    // operationIds are unique, as client generators need.
    const ids = Object.values(doc.paths).flatMap((ops: any) => Object.values(ops).map((op: any) => op.operationId));
    expect(new Set(ids).size).to.equal(ids.length);
  });

  it("describes POST /api/v1/challenges's body from the schema the route validates with, and query parameters from its query schema", async () => {
    const doc = (await t.request("GET", "/api/v1/openapi.json", { token: null })).body;
    const create = doc.paths["/api/v1/challenges"].post;
    expect(create.tags).to.deep.equal(["ctf"]);
    const schema = create.requestBody.content["application/json"].schema;
    expect(schema.type).to.equal("object");
    expect(schema.required).to.deep.equal(["name"]);
    expect(schema.additionalProperties).to.equal(false); // the schema is strict: unknown fields are refused
    expect(schema.properties.name).to.include({ type: "string" });
    expect(create.responses["400"]).to.deep.equal({ $ref: "#/components/responses/BadRequest" });

    // The body really is what the route checks: leaving a required field out is a 400 naming it.
    const refused = await t.admin.post("/api/v1/challenges", { category: "misc", value: 100 });
    expect(refused.status).to.equal(400);
    expect(refused.body.errors).to.have.property("name");

    const bracket = doc.paths["/api/v1/scoreboard"].get.parameters.find((p: { name: string }) => p.name === "bracket_id");
    expect(bracket).to.include({ in: "query", required: false });
    expect(bracket.schema.type).to.equal("integer");
  });

  it("rebuilds the document when routes change: a withdrawn plugin's routes leave it", async () => {
    const before = (await t.request("GET", "/api/v1/openapi.json", { token: null })).body;
    expect(before.paths["/api/v1/scoreboard"]).to.be.an("object");
    t.kernel.routes.withdraw("scoreboard");
    const after = (await t.request("GET", "/api/v1/openapi.json", { token: null })).body;
    expect(after.paths["/api/v1/scoreboard"]).to.equal(undefined);
    expect(after.paths["/api/v1/challenges"].post).to.be.an("object");
    expect(after.tags.map((tag: { name: string }) => tag.name)).to.deep.equal(["ctf", "kernel"]);
  });
});
