import { expect } from "chai";
import { ADMIN_PASSWORD, Client, startCtf, type TestCtf } from "../helpers/ctf.js";

describe("core/ctf: setup, register, login, sessions and CSRF", () => {
  let t: TestCtf;
  before(async () => {
    t = await startCtf();
  });
  after(() => t.stop());

  it("setup runs once: a second setup is refused", async () => {
    const again = await t.anonymous().post("/api/v1/setup", { ctf_name: "x", name: "admin2", email: "a2@example.test", password: "longenough" });
    expect(again.status).to.equal(403);
    expect(again.body.success).to.equal(false);
  });

  it("register sets an httpOnly SameSite=Lax session cookie and answers the user and a CSRF token", async () => {
    const client = new Client(t.url);
    const res = await client.post("/api/v1/auth/register", { name: "alice", email: "alice@example.test", password: "alice-password" });
    expect(res.status).to.equal(200);
    expect(res.body.data.user).to.include({ name: "alice", email: "alice@example.test" });
    expect(res.body.data.user).to.not.have.property("password_hash");
    expect(res.body.data.csrfToken).to.match(/^[0-9a-f]{64}$/);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("session="))!;
    expect(cookie).to.match(/httponly/i).and.match(/samesite=lax/i);
    client.adopt(res);
    const session = await client.get("/api/v1/auth/session");
    expect(session.body.data.user).to.include({ name: "alice", admin: false });
  });

  it("refuses duplicate names and bad bodies with field errors", async () => {
    const dup = await t.anonymous().post("/api/v1/auth/register", { name: "ALICE", email: "other@example.test", password: "alice-password" });
    expect(dup.status).to.equal(400);
    expect(dup.body.errors.name).to.be.an("array");
    const bad = await t.anonymous().post("/api/v1/auth/register", { name: 5, email: "nope", password: "x".repeat(5000) });
    expect(bad.status).to.equal(400);
    expect(bad.body.errors).to.have.keys("name", "email", "password");
  });

  it("logs in with name or email; a wrong password is 403 without saying which part was wrong", async () => {
    const ok = new Client(t.url).adopt(await new Client(t.url).post("/api/v1/auth/login", { name: "admin", password: ADMIN_PASSWORD }));
    expect(ok.status).to.equal(200);
    expect(ok.body.data.user.name).to.equal("admin");
    const wrong = await t.anonymous().post("/api/v1/auth/login", { name: "admin", password: "nope-nope" });
    expect(wrong.status).to.equal(403);
    const unknown = await t.anonymous().post("/api/v1/auth/login", { name: "nobody", password: "nope-nope" });
    expect(unknown.status).to.equal(403);
    expect(unknown.body.errors).to.deep.equal(wrong.body.errors);
  });

  it("refuses a cookie-authenticated write without the CSRF token, accepts it with the token", async () => {
    const player = await t.register();
    const withoutToken = await player.request("POST", "/api/v1/challenges/attempt", { challenge_id: 1, submission: "x" }, { "csrf-token": "" });
    expect(withoutToken.status).to.equal(403);
    expect(withoutToken.body.errors.csrf).to.be.an("array");
    const admin = t.admin;
    const patchNoToken = await admin.request("PATCH", "/api/v1/configs", { name: "Hacked" }, { "csrf-token": "0".repeat(64) });
    expect(patchNoToken.status).to.equal(403);
    const patched = await admin.patch("/api/v1/configs", { name: "Renamed CTF" });
    expect(patched.status).to.equal(200);
    expect(patched.body.data.name).to.equal("Renamed CTF");
  });

  it("logout ends the session", async () => {
    const player = await t.register();
    expect((await player.post("/api/v1/auth/logout")).status).to.equal(200);
    const session = await player.get("/api/v1/auth/session");
    expect(session.body.data.user).to.equal(null);
  });

  it("admin settings are admin-only and validated", async () => {
    const player = await t.register();
    expect((await player.patch("/api/v1/configs", { name: "x" })).status).to.equal(403);
    expect((await t.anonymous().get("/api/v1/configs")).status).to.equal(401);
    const bad = await t.admin.patch("/api/v1/configs", { mode: "solo", freeze: "tomorrow", bogus: 1 });
    expect(bad.status).to.equal(400);
    expect(Object.keys(bad.body.errors)).to.include.members(["mode", "freeze"]);
    const viaBootstrap = await t.bootstrap.get("/api/v1/configs");
    expect(viaBootstrap.status).to.equal(200);
  });
});
