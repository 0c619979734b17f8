import { expect } from "chai";
import { errorLogs } from "../helpers/kernel.js";
import { startCtf, type ApiResponse, type TestCtf } from "../helpers/ctf.js";

/**
 * Issue 11, hole 14: a NUL byte in any string input reaches Postgres (which refuses it in text) and used to be a
 * 500. Every body, query and form value is checked once, where input is parsed: 400 naming the field.
 */
describe("a NUL byte in input is a 400 naming the field", function () {
  this.timeout(120_000);
  let t: TestCtf;
  const NUL = "\u0000";

  before(async () => {
    t = await startCtf({ mode: "teams" });
  });
  after(() => t?.stop());

  const refused = (res: ApiResponse, field: string) => {
    expect(res.status, JSON.stringify(res.body)).to.equal(400);
    expect(res.body.success).to.equal(false);
    expect(res.body.errors, JSON.stringify(res.body)).to.have.property(field);
  };

  describe("without logging in", () => {
    it("in a registration's name and email", async () => {
      refused(await t.anonymous().post("/api/v1/auth/register", { name: `a${NUL}b`, email: "nul@example.test", password: "player-password-1" }), "name");
      refused(await t.anonymous().post("/api/v1/auth/register", { name: "nul-email", email: `nul${NUL}@example.test`, password: "player-password-1" }), "email");
    });

    it("in a login's name and password", async () => {
      refused(await t.anonymous().post("/api/v1/auth/login", { name: `admin${NUL}`, password: "whatever-123" }), "name");
      refused(await t.anonymous().post("/api/v1/auth/login", { name: "admin", password: `pw${NUL}` }), "password");
    });

    it("in a login sent as a form", async () => {
      const res = await t.anonymous().request("POST", "/api/v1/auth/login", `name=ad%00min&password=x`, { "content-type": "application/x-www-form-urlencoded" });
      refused(res, "name");
    });

    it("in search queries", async () => {
      refused(await t.anonymous().get("/api/v1/users?field=name&q=%00"), "q");
      refused(await t.anonymous().get("/api/v1/teams?q=x%00y"), "q");
      refused(await t.anonymous().get("/api/v1/users?affiliation=%00"), "affiliation");
    });

    it("in setup (already done: the input is refused first)", async () => {
      refused(await t.anonymous().post("/api/v1/setup", { ctf_name: `x${NUL}`, user_mode: "users", name: "second", email: "second@example.test", password: "admin-password-123" }), "ctf_name");
    });
  });

  describe("logged in", () => {
    it("in a submission, profile fields, a team name and an admin's challenge, nested too", async () => {
      const player = await t.register();
      const id = await t.challenge();
      refused(await player.patch("/api/v1/users/me", { affiliation: `lab${NUL}` }), "affiliation");
      refused(await player.patch("/api/v1/users/me", { website: `https://x.example/${NUL}` }), "website");
      refused(await player.post("/api/v1/teams/new", { name: `team${NUL}`, password: "team-password-1" }), "name");
      expect((await player.post("/api/v1/teams/new", { name: "nul-team", password: "team-password-1" })).status).to.equal(200);
      refused(await player.post("/api/v1/challenges/attempt", { challenge_id: id, submission: `flag{${NUL}}` }), "submission");
      refused(await t.admin.post("/api/v1/challenges", { name: "n", category: `c${NUL}`, description: "d", value: 1 }), "category");
      refused(await t.admin.post("/api/v1/challenges", { name: "n", category: "c", description: "d", value: 1, tags: [`t${NUL}`] }), "tags.0");
    });
  });

  describe("afterwards", () => {
    it("no error was logged for any of them", () => {
      expect(errorLogs(t).map((line) => line.msg)).to.deep.equal([]);
    });
  });
});
