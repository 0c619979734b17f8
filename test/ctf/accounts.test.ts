import { expect } from "chai";
import { Client, startCtf, type TestCtf } from "../helpers/ctf.js";

const PUBLIC_USER_FIELDS = ["id", "name", "website", "affiliation", "country", "bracket_id", "oauth_id", "fields", "team_id"];

async function solve(client: Client, challengeId: number, submission = "flag{test}") {
  const res = await client.post("/api/v1/challenges/attempt", { challenge_id: challengeId, submission });
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body.data.status as string;
}

describe("core/ctf accounts: /api/v1/users", () => {
  let t: TestCtf;
  before(async () => {
    t = await startCtf();
  });
  after(() => t.stop());

  describe("lists", () => {
    it("paginates with meta.pagination and honours per_page (max 100)", async () => {
      for (let i = 0; i < 3; i++) await t.register(`lister${i}`);
      const first = await t.anonymous().get("/api/v1/users?per_page=2");
      expect(first.status).to.equal(200);
      expect(first.body.success).to.equal(true);
      expect(first.body.data).to.have.length(2);
      const meta = first.body.meta.pagination;
      expect(meta).to.include({ page: 1, prev: null, next: 2, per_page: 2 });
      expect(meta.total).to.be.at.least(3);
      expect(meta.pages).to.equal(Math.ceil(meta.total / 2));
      for (const row of first.body.data) expect(row).to.have.all.keys(...PUBLIC_USER_FIELDS);

      const past = await t.anonymous().get(`/api/v1/users?per_page=2&page=${meta.pages + 1}`);
      expect(past.body.data).to.deep.equal([]);
      expect(past.body.meta.pagination).to.include({ page: meta.pages + 1, next: null, prev: meta.pages });

      const defaults = await t.anonymous().get("/api/v1/users");
      expect(defaults.body.meta.pagination.per_page).to.equal(50);
      for (const bad of ["per_page=101", "per_page=0", "page=0", "page=abc", "per_page=2.5"]) {
        const res = await t.anonymous().get(`/api/v1/users?${bad}`);
        expect(res.status, bad).to.equal(400);
        expect(Object.values(res.body.errors).every(Array.isArray), bad).to.equal(true);
      }
    });

    it("searches by field; only admins may search by email", async () => {
      await t.register("needle_searchable");
      const found = await t.anonymous().get("/api/v1/users?q=searchable&field=name");
      expect(found.body.data.map((u: { name: string }) => u.name)).to.deep.equal(["needle_searchable"]);
      const literal = await t.anonymous().get("/api/v1/users?q=%25&field=name");
      expect(literal.body.data).to.deep.equal([]);
      const player = await t.register();
      const byEmail = await player.get("/api/v1/users?q=needle&field=email");
      expect(byEmail.status).to.equal(400);
      expect(byEmail.body.errors.field).to.deep.equal(["Emails can only be queried by admins"]);
      const admin = await t.admin.get("/api/v1/users?q=needle_searchable@&field=email");
      expect(admin.status).to.equal(200);
      expect(admin.body.data).to.have.length(1);
      expect((await t.anonymous().get("/api/v1/users?field=password&q=x")).status).to.equal(400);
    });

    it("admins with ?view=admin see hidden accounts and admin fields; players sending view=admin do not", async () => {
      const admin = await t.admin.get("/api/v1/users?view=admin&per_page=100");
      const me = admin.body.data.find((u: { name: string }) => u.name === "admin");
      expect(me).to.include({ hidden: true, type: "admin" });
      const player = await t.register();
      const asPlayer = await player.get("/api/v1/users?view=admin&per_page=100");
      expect(asPlayer.body.data.find((u: { name: string }) => u.name === "admin")).to.equal(undefined);
    });
  });

  describe("the caller's own account", () => {
    it("GET /users/me answers self fields, place and score; anonymous gets 401", async () => {
      const player = await t.register("selfie");
      const res = await player.get("/api/v1/users/me");
      expect(res.status).to.equal(200);
      expect(res.body.data).to.have.all.keys(...PUBLIC_USER_FIELDS, "email", "language", "place", "score");
      expect(res.body.data).to.include({ name: "selfie", email: "selfie@example.test", place: null, score: 0 });
      expect((await t.anonymous().get("/api/v1/users/me")).status).to.equal(401);
    });

    it("PATCH /users/me edits the profile; admin-only keys are ignored; unknown keys and bad values are 400", async () => {
      const player = await t.register("editor");
      const res = await player.patch("/api/v1/users/me", { affiliation: "Uni X", website: "https://example.test", country: "US", banned: true, hidden: true, score: 9000 });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.data).to.include({ affiliation: "Uni X", website: "https://example.test", country: "US" });
      expect(res.body.data).to.not.have.property("place");
      const admin = await t.admin.get(`/api/v1/users/${player.user!.id}`);
      expect(admin.body.data).to.include({ banned: false, hidden: false });

      const cleared = await player.patch("/api/v1/users/me", { website: "" });
      expect(cleared.body.data.website).to.equal(null);

      const bad = await player.patch("/api/v1/users/me", { name: 7, website: "ftp://x", affiliation: "a".repeat(5000), nonsense: 1 });
      expect(bad.status).to.equal(400);
      expect(bad.body.errors).to.include.keys("name", "website", "affiliation");
      expect(bad.body.errors.body[0]).to.match(/nonsense/);
      expect(Object.values(bad.body.errors).every(Array.isArray)).to.equal(true);
      expect((await player.patch("/api/v1/users/me", [1, 2])).status).to.equal(400);

      await t.register("taken_name");
      const dup = await player.patch("/api/v1/users/me", { name: "TAKEN_NAME" });
      expect(dup.status).to.equal(400);
      expect(dup.body.errors.name).to.deep.equal(["User name has already been taken"]);
    });

    it("changing password or email needs the current password in confirm", async () => {
      const player = await t.register("changer", "first-password-1");
      const missing = await player.patch("/api/v1/users/me", { password: "second-password-2" });
      expect(missing.status).to.equal(400);
      expect(missing.body.errors.confirm).to.deep.equal(["Please confirm your current password"]);
      const wrong = await player.patch("/api/v1/users/me", { email: "new@example.test", confirm: "not-it-at-all" });
      expect(wrong.status).to.equal(400);
      expect(wrong.body.errors.confirm).to.deep.equal(["Your previous password is incorrect"]);
      const right = await player.patch("/api/v1/users/me", { password: "second-password-2", email: "changer2@example.test", confirm: "first-password-1" });
      expect(right.status).to.equal(200);
      expect(right.body.data.email).to.equal("changer2@example.test");
      // The session that changed it stays logged in; the new password logs in, the old one does not.
      expect((await player.get("/api/v1/users/me")).status).to.equal(200);
      expect((await t.anonymous().post("/api/v1/auth/login", { name: "changer", password: "second-password-2" })).status).to.equal(200);
      expect((await t.anonymous().post("/api/v1/auth/login", { name: "changer", password: "first-password-1" })).status).to.equal(403);
    });
  });

  describe("profiles, score and place", () => {
    it("GET /users/:id answers public fields with place and score; admins get admin fields; unknown ids are 404", async () => {
      const c1 = await t.challenge({ value: 100 }, "flag{p1}");
      const c2 = await t.challenge({ value: 250 }, "flag{p2}");
      const first = await t.register("ranked_first");
      const second = await t.register("ranked_second");
      const tied = await t.register("ranked_tied");
      expect(await solve(second, c1, "flag{p1}")).to.equal("correct");
      expect(await solve(first, c1, "flag{p1}")).to.equal("correct");
      expect(await solve(first, c2, "flag{p2}")).to.equal("correct");
      expect(await solve(tied, c1, "flag{p1}")).to.equal("correct");

      const top = await t.anonymous().get(`/api/v1/users/${first.user!.id}`);
      expect(top.status).to.equal(200);
      expect(top.body.data).to.have.all.keys(...PUBLIC_USER_FIELDS, "place", "score");
      expect(top.body.data).to.include({ name: "ranked_first", score: 350 });
      const places = await Promise.all([first, second, tied].map(async (c) => (await t.anonymous().get(`/api/v1/users/${c.user!.id}`)).body.data.place));
      // Equal scores: whoever reached it first ranks higher.
      const order = [places[0], places[1], places[2]].map((p: string) => Number.parseInt(p, 10));
      expect(order[0]).to.be.below(order[1]!);
      expect(order[1]).to.be.below(order[2]!);
      expect(places[0]).to.match(/^\d+(st|nd|rd|th)$/);

      const admin = await t.admin.get(`/api/v1/users/${first.user!.id}`);
      expect(admin.body.data).to.include({ type: "user", hidden: false, banned: false, email: "ranked_first@example.test", score: 350 });
      expect(admin.body.data.created).to.match(/\+00:00$/);

      expect((await t.anonymous().get("/api/v1/users/999999")).status).to.equal(404);
      expect((await t.anonymous().get("/api/v1/users/abc")).status).to.equal(404);
    });

    it("solves, fails and awards lists: newest first, meta.count, fails rows only for admins, admin rows add provided and ip", async () => {
      const c1 = await t.challenge({ value: 100, category: "web" }, "flag{l1}");
      const c2 = await t.challenge({ value: 200 }, "flag{l2}");
      const player = await t.register("lister_solves");
      expect(await solve(player, c1, "wrong")).to.equal("incorrect");
      expect(await solve(player, c1, "flag{l1}")).to.equal("correct");
      expect(await solve(player, c2, "flag{l2}")).to.equal("correct");
      const id = player.user!.id;

      const solves = await t.anonymous().get(`/api/v1/users/${id}/solves`);
      expect(solves.status).to.equal(200);
      expect(solves.body.meta).to.deep.equal({ count: 2 });
      expect(solves.body.data.map((s: { challenge_id: number }) => s.challenge_id)).to.deep.equal([c2, c1]);
      const row = solves.body.data[1];
      expect(row).to.have.all.keys("id", "date", "type", "challenge_id", "challenge", "user", "team");
      expect(row).to.deep.include({ type: "correct", challenge: { id: c1, name: row.challenge.name, value: 100, category: "web" }, user: { id, name: "lister_solves" }, team: null });
      expect(row.date).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$/);

      const fails = await t.anonymous().get(`/api/v1/users/${id}/fails`);
      expect(fails.body).to.deep.equal({ success: true, data: [], meta: { count: 1 } });
      const ownFails = await player.get("/api/v1/users/me/fails");
      expect(ownFails.body.data).to.deep.equal([]);
      expect(ownFails.body.meta.count).to.equal(1);
      const adminFails = await t.admin.get(`/api/v1/users/${id}/fails`);
      expect(adminFails.body.data).to.have.length(1);
      expect(adminFails.body.data[0]).to.include({ type: "incorrect", provided: "wrong" });
      expect(adminFails.body.data[0]).to.have.property("ip");
      const adminSolves = await t.admin.get(`/api/v1/users/${id}/solves`);
      expect(adminSolves.body.data[0]).to.include({ provided: "flag{l2}" });

      const awards = await t.anonymous().get(`/api/v1/users/${id}/awards`);
      expect(awards.body).to.deep.equal({ success: true, data: [], meta: { count: 0 } });
      expect((await t.anonymous().get("/api/v1/users/999999/solves")).status).to.equal(404);
      expect((await t.anonymous().get("/api/v1/users/me/solves")).status).to.equal(401);
    });

    it("public views stop at the freeze; /me counts everything", async () => {
      const c1 = await t.challenge({ value: 100 }, "flag{f1}");
      const c2 = await t.challenge({ value: 200 }, "flag{f2}");
      const player = await t.register("freezer");
      expect(await solve(player, c1, "flag{f1}")).to.equal("correct");
      expect((await t.admin.patch("/api/v1/configs", { freeze: new Date().toISOString() })).status).to.equal(200);
      try {
        expect(await solve(player, c2, "flag{f2}")).to.equal("correct");
        const id = player.user!.id;
        const publicView = await t.anonymous().get(`/api/v1/users/${id}`);
        expect(publicView.body.data.score).to.equal(100);
        expect((await t.anonymous().get(`/api/v1/users/${id}/solves`)).body.meta.count).to.equal(1);
        const own = await player.get("/api/v1/users/me");
        expect(own.body.data.score).to.equal(300);
        expect((await player.get("/api/v1/users/me/solves")).body.meta.count).to.equal(2);
        expect((await t.admin.get(`/api/v1/users/${id}`)).body.data.score).to.equal(300);
        expect((await t.admin.get(`/api/v1/users/${id}/solves`)).body.meta.count).to.equal(2);
      } finally {
        await t.admin.patch("/api/v1/configs", { freeze: null });
      }
    });

    it("honours account and score visibility", async () => {
      const player = await t.register("visibility_checker");
      const id = player.user!.id;
      try {
        expect((await t.admin.patch("/api/v1/configs", { account_visibility: "private" })).status).to.equal(200);
        expect((await t.anonymous().get("/api/v1/users")).status).to.equal(401);
        expect((await t.anonymous().get(`/api/v1/users/${id}`)).status).to.equal(401);
        expect((await player.get("/api/v1/users")).status).to.equal(200);

        expect((await t.admin.patch("/api/v1/configs", { account_visibility: "admins" })).status).to.equal(200);
        expect((await player.get("/api/v1/users")).status).to.equal(404);
        expect((await player.get(`/api/v1/users/${id}`)).status).to.equal(404);
        expect((await player.get("/api/v1/users/me")).status).to.equal(200);
        expect((await t.admin.get("/api/v1/users")).status).to.equal(200);

        await t.admin.patch("/api/v1/configs", { account_visibility: "public", score_visibility: "hidden" });
        const profile = await t.anonymous().get(`/api/v1/users/${id}`);
        expect(profile.status).to.equal(200);
        expect(profile.body.data).to.include({ score: null, place: null });
        expect((await t.anonymous().get(`/api/v1/users/${id}/solves`)).status).to.equal(403);
        expect((await t.admin.get(`/api/v1/users/${id}`)).body.data.score).to.equal(0);
      } finally {
        await t.admin.patch("/api/v1/configs", { account_visibility: "public", score_visibility: "public" });
      }
    });
  });

  describe("admin account management", () => {
    it("POST /users creates accounts with admin fields; name and password are required", async () => {
      const missing = await t.admin.post("/api/v1/users", {});
      expect(missing.status).to.equal(400);
      expect(missing.body.errors).to.have.keys("name", "password");
      const bad = await t.admin.post("/api/v1/users", { name: "x".repeat(500), password: "short", type: "root", hidden: "yes", bracket_id: "one", extra: true });
      expect(bad.status).to.equal(400);
      expect(bad.body.errors).to.include.keys("name", "password", "type", "hidden", "bracket_id");
      expect(bad.body.errors.body[0]).to.match(/extra/);

      const created = await t.admin.post("/api/v1/users", { name: "ghost", password: "ghost-password", email: "ghost@example.test", hidden: true, banned: true, verified: true });
      expect(created.status, JSON.stringify(created.body)).to.equal(200);
      expect(created.body.data).to.include({ name: "ghost", email: "ghost@example.test", hidden: true, banned: true, verified: true, type: "user" });
      expect(created.body.data).to.not.have.property("password_hash");

      const dupName = await t.admin.post("/api/v1/users", { name: "GHOST", password: "ghost-password" });
      expect(dupName.body.errors.name).to.deep.equal(["User name has already been taken"]);
      const dupEmail = await t.admin.post("/api/v1/users", { name: "ghost2", password: "ghost-password", email: "ghost@example.test" });
      expect(dupEmail.body.errors.email).to.deep.equal(["Email address has already been used"]);
      const noBracket = await t.admin.post("/api/v1/users", { name: "ghost3", password: "ghost-password", bracket_id: 4242 });
      expect(noBracket.status).to.equal(400);
      expect(noBracket.body.errors.bracket_id).to.be.an("array");

      const staff = await t.admin.post("/api/v1/users", { name: "staffer", password: "staff-password", type: "admin" });
      const login = new Client(t.url).adopt(await new Client(t.url).post("/api/v1/auth/login", { name: "staffer", password: "staff-password" }));
      expect(login.status).to.equal(200);
      expect(staff.body.data.type).to.equal("admin");
    });

    it("PATCH /users/:id edits partially; banning yourself is 400; unknown ids are 404", async () => {
      const player = await t.register("patched");
      const res = await t.admin.patch(`/api/v1/users/${player.user!.id}`, { affiliation: "Staff", verified: true });
      expect(res.status).to.equal(200);
      expect(res.body.data).to.include({ affiliation: "Staff", verified: true, name: "patched", hidden: false });
      const adminId = t.admin.user!.id;
      const self = await t.admin.patch(`/api/v1/users/${adminId}`, { banned: true });
      expect(self.status).to.equal(400);
      expect(self.body.errors.id).to.deep.equal(["You cannot ban yourself"]);
      expect((await t.admin.patch("/api/v1/users/999999", { hidden: true })).status).to.equal(404);
      const bad = await t.admin.patch(`/api/v1/users/${player.user!.id}`, { banned: "no", name: "" });
      expect(bad.status).to.equal(400);
      expect(bad.body.errors).to.include.keys("banned", "name");
      const renamed = await t.admin.patch(`/api/v1/users/${player.user!.id}`, { name: "admin" });
      expect(renamed.status).to.equal(400);
      expect(renamed.body.errors.name).to.be.an("array");
    });

    it("DELETE /users/:id removes the account and its rows", async () => {
      const c = await t.challenge({ value: 100 }, "flag{del}");
      const player = await t.register("doomed");
      expect(await solve(player, c, "flag{del}")).to.equal("correct");
      const id = player.user!.id;
      expect((await t.admin.get(`/api/v1/users/${id}/solves`)).body.meta.count).to.equal(1);
      const res = await t.admin.delete(`/api/v1/users/${id}`);
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ success: true });
      expect((await t.admin.get(`/api/v1/users/${id}`)).status).to.equal(404);
      const solvers = await t.admin.get(`/api/v1/challenges/${c}/solves`);
      expect(solvers.body.data).to.deep.equal([]);
      // The deleted account's session is gone with it.
      expect((await player.get("/api/v1/users/me")).status).to.equal(401);
      expect((await t.admin.delete(`/api/v1/users/${id}`)).status).to.equal(404);
      expect((await t.admin.delete(`/api/v1/users/${t.admin.user!.id}`)).status).to.equal(400);
    });

    it("players get 403 and anonymous callers 401 on admin endpoints", async () => {
      const player = await t.register();
      const anonymous = t.anonymous();
      const calls: Array<[string, string, unknown?]> = [
        ["POST", "/api/v1/users", { name: "x", password: "xxxxxxxxx" }],
        ["PATCH", `/api/v1/users/${player.user!.id}`, { hidden: true }],
        ["DELETE", `/api/v1/users/${player.user!.id}`],
      ];
      for (const [method, path, body] of calls) {
        expect((await player.request(method, path, body)).status, `${method} ${path} as player`).to.equal(403);
        expect((await anonymous.request(method, path, body)).status, `${method} ${path} anonymous`).to.equal(401);
      }
      expect((await t.admin.get(`/api/v1/users/${player.user!.id}`)).body.data.hidden).to.equal(false);
    });

    it("the bootstrap admin token manages accounts too", async () => {
      const res = await t.bootstrap.post("/api/v1/users", { name: "from_bootstrap", password: "bootstrap-made" });
      expect(res.status).to.equal(200);
      expect((await t.bootstrap.patch(`/api/v1/users/${res.body.data.id}`, { banned: true })).body.data.banned).to.equal(true);
    });
  });
});
