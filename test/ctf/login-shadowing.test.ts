import { expect } from "chai";
import { startCtf, type TestCtf } from "../helpers/ctf.js";
import { hashPassword } from "../../core/ctf/passwords.js";

/**
 * Issue 11, hole 5: login matches a name or an email, so a name in the shape of another player's email address
 * could shadow that player's login. Names may not look like an email address, and an email-shaped login is
 * looked up by email first.
 */
describe("login cannot be shadowed by an email-shaped name", function () {
  this.timeout(120_000);
  let t: TestCtf;
  const victimEmail = "victim@example.test";

  before(async () => {
    t = await startCtf();
    const victim = t.anonymous();
    expect((await victim.post("/api/v1/auth/register", { name: "victim", email: victimEmail, password: "victim-password-1" })).status).to.equal(200);
  });
  after(() => t?.stop());

  const loginAs = async (name: string, password: string) => {
    const client = t.anonymous();
    return client.adopt(await client.post("/api/v1/auth/login", { name, password }));
  };

  it("refuses registering a name in the shape of an email address, naming the field", async () => {
    const res = await t.anonymous().post("/api/v1/auth/register", { name: victimEmail.toUpperCase(), email: "attacker@example.test", password: "attacker-password-1" });
    expect(res.status).to.equal(400);
    expect(res.body.errors).to.have.keys("name");
    expect((await loginAs(victimEmail, "victim-password-1")).body.data.user.name).to.equal("victim");
  });

  it("refuses renaming to an email address (profile and admin), naming the field", async () => {
    const attacker = await t.register();
    const target = "renamed@example.test"; // no account has it, so only the shape rule can refuse it
    const own = await attacker.patch("/api/v1/users/me", { name: target });
    expect(own.status).to.equal(400);
    expect(own.body.errors).to.have.keys("name");
    const byAdmin = await t.admin.patch(`/api/v1/users/${attacker.user!.id}`, { name: ` ${target} ` });
    expect(byAdmin.status).to.equal(400);
    expect(byAdmin.body.errors).to.have.keys("name");
    const created = await t.admin.post("/api/v1/users", { name: target, password: "created-password-1" });
    expect(created.status).to.equal(400);
    expect(created.body.errors).to.have.keys("name");
  });

  it("logs in by email even when an older account (imported from CTFd) is named like that email", async () => {
    // Only an import can still bring such a name in; written here directly as an import would.
    await t.kernel.db.query(`INSERT INTO ctf_users (name, email, password_hash) VALUES ($1, $2, $3)`, [victimEmail, "legacy@example.test", await hashPassword("legacy-password-1")]);
    const victim = await loginAs(victimEmail, "victim-password-1");
    expect(victim.status).to.equal(200);
    expect(victim.body.data.user.name).to.equal("victim");
    // The legacy account still logs in by its own email, and by its name when no account has that email.
    expect((await loginAs("legacy@example.test", "legacy-password-1")).status).to.equal(200);
    await t.kernel.db.query(`INSERT INTO ctf_users (name, email, password_hash) VALUES ($1, $2, $3)`, ["nobody@example.test", "other@example.test", await hashPassword("other-password-1")]);
    expect((await loginAs("nobody@example.test", "other-password-1")).status).to.equal(200);
  });
});
