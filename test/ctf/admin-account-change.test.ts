import { expect } from "chai";
import { Client, startCtf, type TestCtf } from "../helpers/ctf.js";

/**
 * Issue 11, hole 6: an admin's password reset, ban or role change of a user ends that user's sessions (as the
 * user's own password change ends their other sessions), and the user's API tokens are re-checked on their next use.
 */
describe("admin changes to a user end the user's sessions", function () {
  this.timeout(120_000);
  let t: TestCtf;

  before(async () => {
    t = await startCtf();
  });
  after(() => t?.stop());

  /** A fresh player with a session and an API token, both used once so their callers are cached. */
  async function playerWithToken(): Promise<{ session: Client; token: Client; id: number }> {
    const session = await t.register();
    const made = await session.post("/api/v1/tokens", { description: "ci" });
    expect(made.status).to.equal(200);
    const token = t.anonymous();
    token.apiToken = made.body.data.value;
    expect((await session.get("/api/v1/users/me")).status).to.equal(200);
    expect((await token.get("/api/v1/users/me")).status).to.equal(200);
    return { session, token, id: session.user!.id };
  }

  const adminPatch = async (id: number, body: Record<string, unknown>) => {
    const res = await t.admin.patch(`/api/v1/users/${id}`, body);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
  };

  it("a password reset ends the user's sessions; the new password logs in", async () => {
    const { session, token, id } = await playerWithToken();
    await adminPatch(id, { password: "reset-by-admin-1" });
    expect((await session.get("/api/v1/users/me")).status).to.equal(401);
    // The token is the user's own credential, not the password: it stays, re-read from the database.
    expect((await token.get("/api/v1/users/me")).status).to.equal(200);
    const fresh = t.anonymous();
    expect(fresh.adopt(await fresh.post("/api/v1/auth/login", { name: session.user!.name, password: "reset-by-admin-1" })).status).to.equal(200);
  });

  it("a ban ends the user's sessions (they stay ended after an unban) and refuses the user's tokens", async () => {
    const { session, token, id } = await playerWithToken();
    await adminPatch(id, { banned: true });
    expect((await token.get("/api/v1/users/me")).status).to.equal(403);
    await adminPatch(id, { banned: false });
    expect((await session.get("/api/v1/users/me")).status).to.equal(401);
    expect((await token.get("/api/v1/users/me")).status).to.equal(200);
  });

  it("a role change ends the user's sessions, and the user's token acts with the new role at once", async () => {
    const { session, token, id } = await playerWithToken();
    expect((await token.get("/api/v1/configs")).status).to.equal(403);
    await adminPatch(id, { type: "admin" });
    expect((await session.get("/api/v1/users/me")).status).to.equal(401);
    expect((await token.get("/api/v1/configs")).status).to.equal(200);
    await adminPatch(id, { type: "user" });
    expect((await token.get("/api/v1/configs")).status).to.equal(403);
  });

  it("other changes (a website, hiding) leave the sessions alone", async () => {
    const { session, id } = await playerWithToken();
    await adminPatch(id, { website: "https://example.test", hidden: true });
    await adminPatch(id, { hidden: false });
    expect((await session.get("/api/v1/users/me")).status).to.equal(200);
  });
});
