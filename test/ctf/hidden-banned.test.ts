import { expect } from "chai";
import { Client, startCtf, type TestCtf } from "../helpers/ctf.js";

async function solve(client: Client, challengeId: number, submission: string) {
  const res = await client.post("/api/v1/challenges/attempt", { challenge_id: challengeId, submission });
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body.data.status as string;
}

async function apiToken(client: Client): Promise<string> {
  const res = await client.post("/api/v1/tokens", { description: "cli" });
  expect(res.status).to.equal(200);
  return res.body.data.value;
}

function tokenClient(t: TestCtf, token: string): Client {
  const client = t.anonymous();
  client.apiToken = token;
  return client;
}

const ids = (rows: Array<{ id: number }>) => rows.map((r) => r.id);
const DYNAMIC = { type: "dynamic", initial: 500, minimum: 100, decay: 100, function: "linear" };

describe("core/ctf hidden and banned accounts, user mode", () => {
  let t: TestCtf;
  let challenge: number;
  let dynamic: number;
  let hidden: Client;
  let banned: Client;
  let visible: Client;
  let bannedToken: string;

  before(async () => {
    t = await startCtf();
    challenge = await t.challenge({ value: 100 }, "flag{hb}");
    dynamic = await t.challenge(DYNAMIC, "flag{dyn}");
    hidden = await t.register("hidden_player");
    banned = await t.register("banned_player", "banned-password");
    visible = await t.register("visible_player");
    // Hidden and banned accounts solved first, so they would outrank the visible one.
    for (const client of [hidden, banned, visible]) expect(await solve(client, challenge, "flag{hb}")).to.equal("correct");
    expect(await solve(banned, dynamic, "flag{dyn}")).to.equal("correct");
    expect(await solve(visible, dynamic, "flag{dyn}")).to.equal("correct");
    bannedToken = await apiToken(banned);
    expect((await t.admin.get(`/api/v1/challenges/${dynamic}`)).body.data.value).to.equal(400);
    expect((await t.admin.patch(`/api/v1/users/${hidden.user!.id}`, { hidden: true })).status).to.equal(200);
    expect((await t.admin.patch(`/api/v1/users/${banned.user!.id}`, { banned: true })).status).to.equal(200);
  });
  after(() => t.stop());

  it("they disappear from the public user list, which still answers 200; admins see them with view=admin", async () => {
    const list = await t.anonymous().get("/api/v1/users?per_page=100");
    expect(list.status).to.equal(200);
    expect(ids(list.body.data)).to.include(visible.user!.id).and.not.include.members([hidden.user!.id, banned.user!.id]);
    const player = await visible.get("/api/v1/users?per_page=100&view=admin");
    expect(ids(player.body.data)).to.not.include(hidden.user!.id);
    const admin = await t.admin.get("/api/v1/users?per_page=100&view=admin");
    const rows = admin.body.data as Array<{ id: number; hidden: boolean; banned: boolean }>;
    expect(rows.find((r) => r.id === hidden.user!.id)).to.include({ hidden: true });
    expect(rows.find((r) => r.id === banned.user!.id)).to.include({ banned: true });
  });

  it("their profiles and lists are 404 for everyone but admins", async () => {
    for (const who of [hidden, banned]) {
      for (const path of ["", "/solves", "/fails", "/awards"]) {
        expect((await t.anonymous().get(`/api/v1/users/${who.user!.id}${path}`)).status, `anonymous ${path}`).to.equal(404);
        expect((await visible.get(`/api/v1/users/${who.user!.id}${path}`)).status, `player ${path}`).to.equal(404);
      }
      expect((await t.admin.get(`/api/v1/users/${who.user!.id}`)).status).to.equal(200);
    }
  });

  it("their solves are kept: admins still see them", async () => {
    const solves = await t.admin.get(`/api/v1/users/${hidden.user!.id}/solves`);
    expect(solves.body.meta.count).to.equal(1);
    expect(solves.body.data[0].challenge_id).to.equal(challenge);
    expect((await t.admin.get(`/api/v1/users/${banned.user!.id}/solves`)).body.meta.count).to.equal(2);
  });

  it("they are not ranked: the visible player is first", async () => {
    expect((await t.anonymous().get(`/api/v1/users/${visible.user!.id}`)).body.data.place).to.equal("1st");
    expect((await t.admin.get(`/api/v1/users/${hidden.user!.id}`)).body.data).to.include({ place: null, score: 100 });
  });

  it("a banned solver no longer counts toward a dynamic challenge's value", async () => {
    expect((await t.admin.get(`/api/v1/challenges/${dynamic}`)).body.data.value).to.equal(500);
    expect((await t.admin.patch(`/api/v1/users/${banned.user!.id}`, { banned: false })).status).to.equal(200);
    expect((await t.admin.get(`/api/v1/challenges/${dynamic}`)).body.data.value).to.equal(400);
    expect((await t.admin.patch(`/api/v1/users/${banned.user!.id}`, { banned: true })).status).to.equal(200);
    expect((await t.admin.get(`/api/v1/challenges/${dynamic}`)).body.data.value).to.equal(500);
  });

  it("a banned user cannot log in, their session is ended and their API token is refused with 403", async () => {
    const login = await t.anonymous().post("/api/v1/auth/login", { name: "banned_player", password: "banned-password" });
    expect(login.status).to.equal(403);
    expect((await banned.get("/api/v1/users/me")).status).to.equal(401); // the ban ended it (issue 11, hole 6)
    const viaToken = tokenClient(t, bannedToken);
    expect((await viaToken.get("/api/v1/users/me")).status).to.equal(403);
    expect((await viaToken.post("/api/v1/challenges/attempt", { challenge_id: challenge, submission: "flag{hb}" })).status).to.equal(403);
    expect((await viaToken.post("/api/v1/tokens", {})).status).to.equal(403);
  });

  it("a hidden user still logs in and plays", async () => {
    expect((await hidden.get("/api/v1/users/me")).status).to.equal(200);
    expect((await hidden.get("/api/v1/users/me/solves")).body.meta.count).to.equal(1);
  });
});

describe("core/ctf hidden and banned accounts, team mode", () => {
  let t: TestCtf;
  let challenge: number;
  const teams: Record<"hidden" | "banned" | "mixed", { id: number; captain: Client }> = {} as never;
  let hiddenMember: Client;
  let bannedMember: Client;
  let bannedTeamToken: string;

  const makeTeam = async (name: string) => {
    const captain = await t.register();
    const res = await captain.post("/api/v1/teams/new", { name, password: `${name}-password` });
    expect(res.status).to.equal(200);
    return { id: res.body.data.id as number, captain };
  };

  before(async () => {
    t = await startCtf({ mode: "teams" });
    challenge = await t.challenge({ value: 100 }, "flag{team-hb}");
    teams.hidden = await makeTeam("Hidden Team");
    teams.banned = await makeTeam("Banned Team");
    teams.mixed = await makeTeam("Mixed Team");
    hiddenMember = await t.register();
    bannedMember = await t.register();
    for (const member of [hiddenMember, bannedMember]) expect((await t.admin.post(`/api/v1/teams/${teams.mixed.id}/members`, { user_id: member.user!.id })).status).to.equal(200);
    for (const team of Object.values(teams)) expect(await solve(team.captain, challenge, "flag{team-hb}")).to.equal("correct");
    bannedTeamToken = await apiToken(teams.banned.captain);
    expect((await t.admin.patch(`/api/v1/teams/${teams.hidden.id}`, { hidden: true })).status).to.equal(200);
    expect((await t.admin.patch(`/api/v1/teams/${teams.banned.id}`, { banned: true })).status).to.equal(200);
    expect((await t.admin.patch(`/api/v1/users/${hiddenMember.user!.id}`, { hidden: true })).status).to.equal(200);
    expect((await t.admin.patch(`/api/v1/users/${bannedMember.user!.id}`, { banned: true })).status).to.equal(200);
  });
  after(() => t.stop());

  it("hidden and banned teams disappear from the public team list, which still answers 200", async () => {
    const list = await t.anonymous().get("/api/v1/teams");
    expect(list.status).to.equal(200);
    expect(ids(list.body.data)).to.deep.equal([teams.mixed.id]);
    const admin = await t.admin.get("/api/v1/teams?view=admin");
    expect(ids(admin.body.data)).to.have.members([teams.hidden.id, teams.banned.id, teams.mixed.id]);
    expect((await t.anonymous().get("/api/v1/users")).status).to.equal(200);
  });

  it("their pages are 404 for non-admins; their solves are kept for admins", async () => {
    for (const team of [teams.hidden, teams.banned]) {
      for (const path of ["", "/solves", "/awards", "/fails"]) {
        expect((await t.anonymous().get(`/api/v1/teams/${team.id}${path}`)).status, `anonymous ${path}`).to.equal(404);
        expect((await teams.mixed.captain.get(`/api/v1/teams/${team.id}${path}`)).status, `player ${path}`).to.equal(404);
      }
      expect((await t.admin.get(`/api/v1/teams/${team.id}/solves`)).body.meta.count).to.equal(1);
    }
    expect((await t.anonymous().get(`/api/v1/teams/${teams.mixed.id}`)).body.data.place).to.equal("1st");
  });

  it("a team's hidden and banned members: listed on /teams/me and for admins, not publicly", async () => {
    const all = [teams.mixed.captain.user!.id, hiddenMember.user!.id, bannedMember.user!.id].sort((a, b) => a - b);
    expect((await teams.mixed.captain.get("/api/v1/teams/me")).body.data.members).to.deep.equal(all);
    expect((await t.admin.get(`/api/v1/teams/${teams.mixed.id}`)).body.data.members).to.deep.equal(all);
    expect((await t.anonymous().get(`/api/v1/teams/${teams.mixed.id}`)).body.data.members).to.deep.equal([teams.mixed.captain.user!.id]);
    expect((await t.anonymous().get(`/api/v1/users/${hiddenMember.user!.id}`)).status).to.equal(404);
  });

  it("members of a banned team and banned members are refused on sessions and API tokens", async () => {
    expect((await teams.banned.captain.get("/api/v1/users/me")).status).to.equal(403);
    expect((await tokenClient(t, bannedTeamToken).get("/api/v1/users/me")).status).to.equal(403);
    expect((await tokenClient(t, bannedTeamToken).post("/api/v1/challenges/attempt", { challenge_id: challenge, submission: "x" })).status).to.equal(403);
    expect((await bannedMember.get("/api/v1/teams/me")).status).to.equal(401); // the user's ban ended the session
    const login = await t.anonymous().post("/api/v1/auth/login", { name: bannedMember.user!.name, password: "player-password-1" });
    expect(login.status).to.equal(403);
    expect((await hiddenMember.get("/api/v1/teams/me")).status).to.equal(200);
  });
});
