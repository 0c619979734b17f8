import { expect } from "chai";
import { startCtf, type TestCtf } from "../helpers/ctf.js";

describe("database across a reload", () => {
  let t: TestCtf | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  it("keeps what was written (also in an in-memory database) and keeps serving reads and writes", async () => {
    t = await startCtf();
    const before = await t.challenge({ name: "written before the reload" });
    await t.kernel.reload();
    await t.kernel.reload();

    const read = await t.admin.get(`/api/v1/challenges/${before}`);
    expect(read.status).to.equal(200);
    expect(read.body.data.name).to.equal("written before the reload");
    const after = await t.challenge({ name: "written after the reload" });
    const list = await t.admin.get("/api/v1/challenges");
    expect(list.body.data.map((c: { id: number }) => c.id)).to.include.members([before, after]);
  });
});
