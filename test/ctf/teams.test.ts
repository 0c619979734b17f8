import { expect } from "chai";
import { Client, startCtf, type TestCtf } from "../helpers/ctf.js";

const PUBLIC_TEAM_FIELDS = ["id", "name", "captain_id", "website", "affiliation", "country", "bracket_id", "oauth_id", "fields"];

async function solve(client: Client, challengeId: number, submission: string) {
  const res = await client.post("/api/v1/challenges/attempt", { challenge_id: challengeId, submission });
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body.data.status as string;
}

/** Registers a player and makes them captain of a new team; returns the client and the team id. */
async function captainOf(t: TestCtf, teamName: string, password = "team-password-1"): Promise<{ captain: Client; teamId: number }> {
  const captain = await t.register();
  const res = await captain.post("/api/v1/teams/new", { name: teamName, password });
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return { captain, teamId: res.body.data.id };
}

describe("core/ctf teams: /api/v1/teams", () => {
  let t: TestCtf;
  before(async () => {
    t = await startCtf({ mode: "teams" });
  });
  after(() => t.stop());

  describe("players create, join and leave teams", () => {
    it("POST /teams/new: the creator joins and becomes captain; a second team, a taken name or a bad body is 400", async () => {
      const { captain, teamId } = await captainOf(t, "Red Team");
      const me = await captain.get("/api/v1/teams/me");
      expect(me.status).to.equal(200);
      expect(me.body.data).to.have.all.keys(...PUBLIC_TEAM_FIELDS, "email", "members", "place", "score");
      expect(me.body.data).to.include({ id: teamId, name: "Red Team", captain_id: captain.user!.id, place: null, score: 0 });
      expect(me.body.data.members).to.deep.equal([captain.user!.id]);
      expect((await captain.get("/api/v1/users/me")).body.data.team_id).to.equal(teamId);

      const again = await captain.post("/api/v1/teams/new", { name: "Second Team", password: "team-password-2" });
      expect(again.status).to.equal(400);
      expect(again.body.errors.team).to.be.an("array");

      const other = await t.register();
      const taken = await other.post("/api/v1/teams/new", { name: "red team", password: "team-password-2" });
      expect(taken.status).to.equal(400);
      expect(taken.body.errors.name).to.deep.equal(["Team name has already been taken"]);
      const bad = await other.post("/api/v1/teams/new", { name: "", password: 12345678, website: "nope", hidden: true });
      expect(bad.status).to.equal(400);
      expect(bad.body.errors).to.include.keys("name", "password", "website");
      expect(bad.body.errors.body[0]).to.match(/hidden/);
      expect((await other.post("/api/v1/teams/new", { name: "x".repeat(1000), password: "p".repeat(1000) })).status).to.equal(400);
      expect((await t.anonymous().post("/api/v1/teams/new", { name: "Anon", password: "team-password-1" })).status).to.equal(401);
    });

    it("POST /teams/join with the team password; a wrong one is 403 and does not say which part was wrong", async () => {
      const { teamId } = await captainOf(t, "Blue Team", "blue-password");
      const joiner = await t.register();
      const wrong = await joiner.post("/api/v1/teams/join", { name: "Blue Team", password: "not-it" });
      expect(wrong.status).to.equal(403);
      const unknown = await joiner.post("/api/v1/teams/join", { name: "No Such Team", password: "not-it" });
      expect(unknown.status).to.equal(403);
      expect(unknown.body.errors).to.deep.equal(wrong.body.errors);
      const missing = await joiner.post("/api/v1/teams/join", { name: "Blue Team" });
      expect(missing.status).to.equal(400);
      expect(missing.body.errors.password).to.be.an("array");

      const joined = await joiner.post("/api/v1/teams/join", { name: "blue team", password: "blue-password" });
      expect(joined.status, JSON.stringify(joined.body)).to.equal(200);
      expect(joined.body.data.id).to.equal(teamId);
      expect(joined.body.data.members).to.include(joiner.user!.id);
      const me = await joiner.get("/api/v1/teams/me");
      expect(me.body.data.id).to.equal(teamId);
      expect((await joiner.post("/api/v1/teams/join", { name: "Blue Team", password: "blue-password" })).status).to.equal(400);
    });

    it("only the captain gets invite codes; a code lets another player join; forged codes are refused", async () => {
      const { captain, teamId } = await captainOf(t, "Green Team");
      const invite = await captain.post("/api/v1/teams/me/members");
      expect(invite.status).to.equal(200);
      const code = invite.body.data.code as string;
      expect(code).to.be.a("string");

      const member = await t.register();
      const forged = await member.post("/api/v1/teams/join", { code: code.slice(0, -2) + (code.endsWith("A") ? "BB" : "AA") });
      expect(forged.status).to.equal(403);
      expect(forged.body.errors.code).to.be.an("array");
      const joined = await member.post("/api/v1/teams/join", { code });
      expect(joined.status, JSON.stringify(joined.body)).to.equal(200);
      expect(joined.body.data.id).to.equal(teamId);

      const notCaptain = await member.post("/api/v1/teams/me/members");
      expect(notCaptain.status).to.equal(403);
      expect(notCaptain.body.errors).to.deep.equal({ "": ["Only team captains can generate invite codes"] });
    });

    it("PATCH /teams/me is for the captain; captaincy passes only to a member", async () => {
      const { captain, teamId } = await captainOf(t, "Gold Team", "gold-password");
      const member = await t.register();
      const code = (await captain.post("/api/v1/teams/me/members")).body.data.code;
      expect((await member.post("/api/v1/teams/join", { code })).status).to.equal(200);

      const denied = await member.patch("/api/v1/teams/me", { name: "Hijacked" });
      expect(denied.status).to.equal(403);
      expect(denied.body.errors).to.deep.equal({ "": ["Only team captains can edit team information"] });

      const edited = await captain.patch("/api/v1/teams/me", { name: "Golden Team", affiliation: "Uni Y", hidden: true });
      expect(edited.status, JSON.stringify(edited.body)).to.equal(200);
      expect(edited.body.data).to.include({ name: "Golden Team", affiliation: "Uni Y" });
      expect((await t.admin.get(`/api/v1/teams/${teamId}`)).body.data.hidden).to.equal(false);

      const bad = await captain.patch("/api/v1/teams/me", { name: 3, website: "x".repeat(2000), captain_id: "me", bogus: 1 });
      expect(bad.status).to.equal(400);
      expect(bad.body.errors).to.include.keys("name", "website", "captain_id");
      expect(bad.body.errors.body[0]).to.match(/bogus/);
      const passwordNoConfirm = await captain.patch("/api/v1/teams/me", { password: "new-gold-password" });
      expect(passwordNoConfirm.body.errors.confirm).to.be.an("array");
      const outsider = await t.register();
      const notMember = await captain.patch("/api/v1/teams/me", { captain_id: outsider.user!.id });
      expect(notMember.status).to.equal(400);
      expect(notMember.body.errors.captain_id).to.be.an("array");

      const handed = await captain.patch("/api/v1/teams/me", { captain_id: member.user!.id });
      expect(handed.body.data.captain_id).to.equal(member.user!.id);
      expect((await captain.patch("/api/v1/teams/me", { name: "Mine Again" })).status).to.equal(403);
    });

    it("POST /teams/me/leave: a captain with teammates must hand over first; a member leaves and has no team", async () => {
      const { captain, teamId } = await captainOf(t, "Leaving Team");
      const member = await t.register();
      const code = (await captain.post("/api/v1/teams/me/members")).body.data.code;
      expect((await member.post("/api/v1/teams/join", { code })).status).to.equal(200);

      const blocked = await captain.post("/api/v1/teams/me/leave");
      expect(blocked.status).to.equal(403);
      expect(blocked.body.errors[""]).to.be.an("array");

      expect((await member.post("/api/v1/teams/me/leave")).status).to.equal(200);
      expect((await member.get("/api/v1/teams/me")).status).to.equal(403);
      expect((await member.get("/api/v1/users/me")).body.data.team_id).to.equal(null);
      expect((await captain.get("/api/v1/teams/me")).body.data.members).to.deep.equal([captain.user!.id]);

      // The last member may leave; the team stays, without a captain.
      expect((await captain.post("/api/v1/teams/me/leave")).status).to.equal(200);
      const team = await t.admin.get(`/api/v1/teams/${teamId}`);
      expect(team.body.data).to.include({ captain_id: null });
      expect(team.body.data.members).to.deep.equal([]);
      expect((await t.register().then((p) => p.post("/api/v1/teams/me/leave"))).status).to.equal(403);
    });

    it("a team's solves and awards are its score; solves lists name the member", async () => {
      const c1 = await t.challenge({ value: 100, category: "web" }, "flag{team-1}");
      const c2 = await t.challenge({ value: 300 }, "flag{team-2}");
      const { captain, teamId } = await captainOf(t, "Scoring Team");
      const member = await t.register();
      expect((await member.post("/api/v1/teams/join", { code: (await captain.post("/api/v1/teams/me/members")).body.data.code })).status).to.equal(200);
      expect(await solve(captain, c1, "flag{team-1}")).to.equal("correct");
      expect(await solve(member, c2, "flag{team-2}")).to.equal("correct");
      expect(await solve(member, c1, "flag{team-1}")).to.equal("already_solved");

      const team = await t.anonymous().get(`/api/v1/teams/${teamId}`);
      expect(team.status).to.equal(200);
      expect(team.body.data).to.have.all.keys(...PUBLIC_TEAM_FIELDS, "members", "place", "score");
      expect(team.body.data).to.include({ score: 400, place: "1st" });
      const solves = await t.anonymous().get(`/api/v1/teams/${teamId}/solves`);
      expect(solves.body.meta.count).to.equal(2);
      expect(solves.body.data[0]).to.deep.include({ challenge_id: c2, user: { id: member.user!.id, name: member.user!.name }, team: { id: teamId, name: "Scoring Team" } });
      const memberSolves = await t.anonymous().get(`/api/v1/users/${member.user!.id}/solves`);
      expect(memberSolves.body.data.map((s: { challenge_id: number }) => s.challenge_id)).to.deep.equal([c2]);
      // In team mode a user's profile shows the team's score and place.
      expect((await t.anonymous().get(`/api/v1/users/${member.user!.id}`)).body.data).to.include({ score: 400, place: "1st" });
      expect((await member.get("/api/v1/teams/me/solves")).body.meta.count).to.equal(2);
      expect((await member.get("/api/v1/teams/me/fails")).body.meta.count).to.equal(0);
      expect((await member.get("/api/v1/teams/me/awards")).body.data).to.deep.equal([]);
    });
  });

  describe("admin team management", () => {
    it("POST /teams needs name and password; PATCH and DELETE /teams/:id", async () => {
      const missing = await t.admin.post("/api/v1/teams", {});
      expect(missing.status).to.equal(400);
      expect(missing.body.errors).to.have.keys("name", "password");
      const created = await t.admin.post("/api/v1/teams", { name: "Admin Made", password: "admin-made-pw", email: "team@example.test", affiliation: "Org" });
      expect(created.status, JSON.stringify(created.body)).to.equal(200);
      expect(created.body.data).to.include({ name: "Admin Made", captain_id: null, hidden: false, banned: false, email: "team@example.test" });
      expect(created.body.data.members).to.deep.equal([]);
      const id = created.body.data.id;
      expect((await t.admin.post("/api/v1/teams", { name: "admin made", password: "admin-made-pw" })).body.errors.name).to.deep.equal(["Team name has already been taken"]);

      const patched = await t.admin.patch(`/api/v1/teams/${id}`, { country: "FR", hidden: true });
      expect(patched.body.data).to.include({ country: "FR", hidden: true });
      const bad = await t.admin.patch(`/api/v1/teams/${id}`, { hidden: "yes", captain_id: 0 });
      expect(bad.status).to.equal(400);
      expect(bad.body.errors).to.include.keys("hidden", "captain_id");
      expect((await t.admin.patch("/api/v1/teams/999999", { hidden: true })).status).to.equal(404);

      expect((await t.admin.delete(`/api/v1/teams/${id}`)).body).to.deep.equal({ success: true });
      expect((await t.admin.get(`/api/v1/teams/${id}`)).status).to.equal(404);
      expect((await t.admin.delete(`/api/v1/teams/${id}`)).status).to.equal(404);
    });

    it("GET/POST/DELETE /teams/:id/members; removing a member deletes what they scored for the team", async () => {
      const c = await t.challenge({ value: 150 }, "flag{removed}");
      const team = (await t.admin.post("/api/v1/teams", { name: "Managed Team", password: "managed-pw" })).body.data;
      const player = await t.register();
      const added = await t.admin.post(`/api/v1/teams/${team.id}/members`, { user_id: player.user!.id });
      expect(added.status, JSON.stringify(added.body)).to.equal(200);
      expect(added.body.data).to.deep.equal([player.user!.id]);
      // The first member of a team without a captain becomes captain.
      expect((await t.admin.get(`/api/v1/teams/${team.id}`)).body.data.captain_id).to.equal(player.user!.id);
      const twice = await t.admin.post(`/api/v1/teams/${team.id}/members`, { user_id: player.user!.id });
      expect(twice.status).to.equal(400);
      expect(twice.body.errors.id).to.deep.equal(["User has already joined a team"]);
      expect((await t.admin.post(`/api/v1/teams/${team.id}/members`, { user_id: "x" })).status).to.equal(400);
      const invite = await t.admin.post(`/api/v1/teams/${team.id}/members`, {});
      expect(invite.body.data.code).to.be.a("string");

      expect(await solve(player, c, "flag{removed}")).to.equal("correct");
      expect((await t.admin.get(`/api/v1/teams/${team.id}`)).body.data.score).to.equal(150);
      expect((await t.admin.get(`/api/v1/teams/${team.id}/members`)).body.data).to.deep.equal([player.user!.id]);

      expect((await t.admin.request("DELETE", `/api/v1/teams/${team.id}/members`, { user_id: "all" })).status).to.equal(400);
      expect((await t.admin.request("DELETE", `/api/v1/teams/${team.id}/members`, {})).body.errors.user_id).to.be.an("array");
      const removed = await t.admin.request("DELETE", `/api/v1/teams/${team.id}/members`, { user_id: player.user!.id });
      expect(removed.status).to.equal(200);
      expect(removed.body.data).to.deep.equal([]);
      const after = await t.admin.get(`/api/v1/teams/${team.id}`);
      expect(after.body.data).to.include({ score: 0, captain_id: null });
      expect((await t.admin.get(`/api/v1/teams/${team.id}/solves`)).body.meta.count).to.equal(0);
      expect((await player.get("/api/v1/users/me")).body.data.team_id).to.equal(null);
      expect((await t.admin.request("DELETE", `/api/v1/teams/${team.id}/members`, { user_id: player.user!.id })).status).to.equal(400);
    });

    it("deleting a team leaves its members without a team", async () => {
      const { captain, teamId } = await captainOf(t, "Short Lived");
      expect((await t.admin.delete(`/api/v1/teams/${teamId}`)).status).to.equal(200);
      expect((await captain.get("/api/v1/users/me")).body.data.team_id).to.equal(null);
      expect((await captain.get("/api/v1/teams/me")).status).to.equal(403);
    });

    it("players get 403 and anonymous callers 401 on admin team endpoints", async () => {
      const { captain, teamId } = await captainOf(t, "Guarded Team");
      const anonymous = t.anonymous();
      const calls: Array<[string, string, unknown?]> = [
        ["POST", "/api/v1/teams", { name: "x", password: "xxxxxxxxx" }],
        ["PATCH", `/api/v1/teams/${teamId}`, { hidden: true }],
        ["DELETE", `/api/v1/teams/${teamId}`],
        ["GET", `/api/v1/teams/${teamId}/members`],
        ["POST", `/api/v1/teams/${teamId}/members`, { user_id: captain.user!.id }],
        ["DELETE", `/api/v1/teams/${teamId}/members`, { user_id: captain.user!.id }],
      ];
      for (const [method, path, body] of calls) {
        expect((await captain.request(method, path, body)).status, `${method} ${path} as player`).to.equal(403);
        expect((await anonymous.request(method, path, body)).status, `${method} ${path} anonymous`).to.equal(401);
      }
      expect((await t.admin.get(`/api/v1/teams/${teamId}`)).body.data.hidden).to.equal(false);
    });
  });

  describe("lists", () => {
    it("GET /teams paginates; admins with view=admin get admin fields", async () => {
      const page = await t.anonymous().get("/api/v1/teams?per_page=3");
      expect(page.status).to.equal(200);
      expect(page.body.data).to.have.length(3);
      expect(page.body.meta.pagination).to.include({ page: 1, per_page: 3, prev: null, next: 2 });
      for (const row of page.body.data) expect(row).to.have.all.keys(...PUBLIC_TEAM_FIELDS);
      const admin = await t.admin.get("/api/v1/teams?view=admin&per_page=100");
      expect(admin.body.data[0]).to.include.keys("hidden", "banned", "created", "email", "secret");
      const search = await t.anonymous().get("/api/v1/teams?q=Scoring&field=name");
      expect(search.body.data.map((r: { name: string }) => r.name)).to.deep.equal(["Scoring Team"]);
      expect((await t.anonymous().get("/api/v1/teams?per_page=500")).status).to.equal(400);
      expect((await t.anonymous().get("/api/v1/teams/999999")).status).to.equal(404);
    });
  });
});

describe("core/ctf teams: team size, join rate limit and user mode", () => {
  it("refuses a join that would pass the event's team_size", async () => {
    const t = await startCtf({ mode: "teams", settings: { team_size: 2 } });
    try {
      const { captain } = await captainOf(t, "Pair", "pair-password");
      const second = await t.register();
      expect((await second.post("/api/v1/teams/join", { name: "Pair", password: "pair-password" })).status).to.equal(200);
      const third = await t.register();
      const full = await third.post("/api/v1/teams/join", { name: "Pair", password: "pair-password" });
      expect(full.status).to.equal(403);
      expect(full.body.errors.team[0]).to.match(/team size limit of 2/);
      const code = (await captain.post("/api/v1/teams/me/members")).body.data.code;
      expect((await third.post("/api/v1/teams/join", { code })).status).to.equal(403);
      expect((await third.get("/api/v1/users/me")).body.data.team_id).to.equal(null);
    } finally {
      await t.stop();
    }
  });

  it("rate-limits join attempts per address with 429", async () => {
    const t = await startCtf({ mode: "teams" });
    try {
      await captainOf(t, "Vault", "vault-password");
      const guesser = await t.register();
      // Sent together, so the bucket (10 per 5 seconds) has no time to refill in between.
      const answers = await Promise.all(Array.from({ length: 15 }, (_, i) => guesser.post("/api/v1/teams/join", { name: "Vault", password: `guess-${i}` })));
      const statuses = answers.map((a) => a.status);
      expect(statuses.filter((s) => s === 403).length).to.be.within(10, 11);
      expect(statuses.filter((s) => s === 429).length).to.be.at.least(4);
      const limited = answers.find((a) => a.status === 429)!;
      expect(limited.body.errors[""][0]).to.match(/Too many requests/);
      expect(limited.headers.get("retry-after")).to.match(/^\d+$/);
    } finally {
      await t.stop();
    }
  });

  it("in user mode, player team actions are refused and the team list still answers", async () => {
    const t = await startCtf({ mode: "users" });
    try {
      const player = await t.register();
      const res = await player.post("/api/v1/teams/new", { name: "Solo", password: "solo-password" });
      expect(res.status).to.equal(403);
      expect(res.body.errors.mode).to.be.an("array");
      expect((await t.anonymous().get("/api/v1/teams")).status).to.equal(200);
      expect((await player.get("/api/v1/teams/me")).status).to.equal(403);
    } finally {
      await t.stop();
    }
  });
});
