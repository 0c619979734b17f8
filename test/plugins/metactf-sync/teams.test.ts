import { expect } from "chai";
import { eventually } from "../../helpers/kernel.js";
import { startMetactf, type MetactfTest } from "./helpers.js";

/** Linked teams, their roster on the platform, and the roster job, against the mock over HTTP. */
describe("metactf-sync teams and rosters", function () {
  this.timeout(120_000);
  let m: MetactfTest;

  before(async () => {
    m = await startMetactf({ mode: "teams" });
  });
  after(() => m?.stop());

  const team = async (name: string, members: number[]) => {
    const res = await m.t.admin.post("/api/v1/teams", { name: `${name}_${Math.random().toString(36).slice(2, 6)}`, password: "team-password-1" });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    for (const userId of members) await addMember(res.body.data.id, userId);
    return res.body.data.id as number;
  };
  const addMember = async (teamId: number, userId: number) => {
    const res = await m.t.admin.post(`/api/v1/teams/${teamId}/members`, { user_id: userId });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
  };
  const remoteRoster = (teamId: number) => m.mock.platform().membersOf(`fh-t${teamId}`).sort();

  it("links a team (affiliation from the coach's school), creates it with its coach on the platform and assigns the onboarded members", async () => {
    const coach = await m.coach();
    const a = await m.player();
    const b = await m.player();
    const c = await m.player();
    await m.onboarded(a.id);
    await m.onboarded(b.id);
    const teamId = await team("Falcons", [a.id, b.id, c.id]);

    let res = await coach.client.post("/api/v1/metactf/teams", { team_id: teamId, coach_user_id: coach.id, division: "high_school" });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.data).to.include({ affiliation: "Central High", on_platform: false });

    res = await coach.client.post(`/api/v1/metactf/teams/${teamId}/sync`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.data).to.include({ on_platform: true, created: true, assigned: 2, last_error: null });
    expect(res.body.data.drift).to.deep.equal({ missing: [a.id, b.id], extra: [], notOnboarded: [c.id] });
    expect(m.mock.platform().users.get(`fh-u${coach.id}`)).to.include({ role: "coach" });
    expect(m.mock.platform().teams.get(`fh-t${teamId}`)).to.include({ affiliation: "Central High", division: "high_school", syned_coach_user_id: `fh-u${coach.id}` });
    expect(remoteRoster(teamId)).to.deep.equal([`fh-u${a.id}`, `fh-u${b.id}`].sort());

    // Someone assigned on the platform but not on our team is reported as drift (the API cannot unassign).
    const stranger = await m.player();
    await m.onboarded(stranger.id);
    m.mock.platform().assign(`fh-t${teamId}`, `fh-u${stranger.id}`);
    res = await coach.client.post(`/api/v1/metactf/teams/${teamId}/sync`);
    expect(res.body.data).to.include({ created: false, assigned: 0 });
    expect(res.body.data.drift.extra).to.deep.equal([`fh-u${stranger.id}`]);
  });

  it("roster job: a member added locally appears in the platform's assignments after one run; an unchanged roster costs no call", async () => {
    const coach = await m.coach();
    const a = await m.player();
    await m.onboarded(a.id);
    const teamId = await team("Owls", [a.id]);
    expect((await m.t.admin.post("/api/v1/metactf/teams", { team_id: teamId, coach_user_id: coach.id, division: "college", affiliation: "State U" })).status).to.equal(200);
    let run = await m.runJob("roster");
    expect(run.result.batch).to.include(teamId);
    expect(remoteRoster(teamId)).to.deep.equal([`fh-u${a.id}`]);

    // Nothing changed: no team is due, no call is made.
    await m.resetCalls();
    run = await m.runJob("roster");
    expect(run.result).to.include({ processed: 0, apiCalls: 0 });
    expect((await m.calls()).total).to.equal(0);

    const b = await m.player();
    await m.onboarded(b.id);
    await addMember(teamId, b.id);
    await m.resetCalls();
    run = await m.runJob("roster");
    expect(run.result).to.include({ processed: 1, withNewData: 1, outcome: "succeeded" });
    expect(run.result.batch).to.deep.equal([teamId]);
    expect(remoteRoster(teamId)).to.deep.equal([`fh-u${a.id}`, `fh-u${b.id}`].sort());
    expect((await m.calls()).counts).to.deep.equal({ "GET /users/get_team_assignments": 1, "POST /users/assign_team": 1 });

    const runs = await m.t.admin.get("/api/v1/metactf/runs?job=roster");
    expect(runs.status).to.equal(200);
    expect(runs.body.data[0]).to.include({ job: "roster", processed: 1, apiCalls: 2, trigger: "manual" });
  });

  it("refuses to unlink a team with members; a remote failure does not block the local unlink", async () => {
    const coach = await m.coach();
    const a = await m.player();
    await m.onboarded(a.id);
    const teamId = await team("Hawks", [a.id]);
    await coach.client.post("/api/v1/metactf/teams", { team_id: teamId, coach_user_id: coach.id, division: "middle_school" });
    expect((await coach.client.post(`/api/v1/metactf/teams/${teamId}/sync`)).status).to.equal(200);

    let res = await coach.client.delete(`/api/v1/metactf/teams/${teamId}`);
    expect(res.status).to.equal(409);
    expect(JSON.stringify(res.body)).to.contain("1 member");

    const res2 = await m.t.admin.request("DELETE", `/api/v1/teams/${teamId}/members`, { user_id: a.id });
    expect(res2.status, JSON.stringify(res2.body)).to.equal(200);
    // The platform still has the member, so it refuses (409); we unlink anyway and say so.
    res = await coach.client.delete(`/api/v1/metactf/teams/${teamId}`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.data).to.deep.equal({ remote: "failed" });
    expect(m.t.logs.some((l) => l.msg.includes("unlinked here anyway"))).to.equal(true);
    expect((await coach.client.get("/api/v1/metactf/teams")).body.data.map((t: any) => t.team_id)).not.to.include(teamId);
  });

  it("deletes an empty team on the platform too", async () => {
    const coach = await m.coach();
    const teamId = await team("Empty", []);
    await coach.client.post("/api/v1/metactf/teams", { team_id: teamId, coach_user_id: coach.id, division: "college" });
    await coach.client.post(`/api/v1/metactf/teams/${teamId}/sync`);
    expect(m.mock.platform().teams.has(`fh-t${teamId}`)).to.equal(true);
    const res = await coach.client.delete(`/api/v1/metactf/teams/${teamId}`);
    expect(res.body.data).to.deep.equal({ remote: "deleted" });
    expect(m.mock.platform().teams.has(`fh-t${teamId}`)).to.equal(false);
  });

  it("keeps coaches to their own teams and validates the link", async () => {
    const coach = await m.coach();
    const other = await m.coach();
    const teamId = await team("Private", []);
    expect((await other.client.post("/api/v1/metactf/teams", { team_id: teamId, coach_user_id: coach.id, division: "college" })).status).to.equal(403);
    expect((await coach.client.post("/api/v1/metactf/teams", { team_id: teamId, coach_user_id: coach.id, division: "college" })).status).to.equal(200);
    expect((await other.client.post(`/api/v1/metactf/teams/${teamId}/sync`)).status).to.equal(403);
    expect((await other.client.delete(`/api/v1/metactf/teams/${teamId}`)).status).to.equal(403);
    expect((await other.client.get("/api/v1/metactf/teams")).body.data).to.deep.equal([]);

    let res = await m.t.admin.post("/api/v1/metactf/teams", { team_id: teamId, coach_user_id: coach.id, division: "kindergarten" });
    expect(res.status).to.equal(400);
    expect(res.body.errors).to.have.key("division");
    const { id: notCoach } = await m.player();
    res = await m.t.admin.post("/api/v1/metactf/teams", { team_id: teamId, coach_user_id: notCoach, division: "college" });
    expect(res.status).to.equal(400);
    expect(res.body.errors).to.have.key("coach_user_id");
    expect((await m.t.admin.post("/api/v1/metactf/teams", { team_id: 99999, coach_user_id: coach.id, division: "college" })).status).to.equal(404);
  });
});

describe("metactf-sync roster job on its schedule", function () {
  this.timeout(120_000);
  let m: MetactfTest;

  before(async () => {
    // Every second instead of every minute, so the test sees the scheduler do it.
    m = await startMetactf({ mode: "teams", config: { rosterCron: "* * * * * *" } });
  });
  after(() => m?.stop());

  it("carries a roster change to the platform by itself, and keeps idle runs out of the run log", async () => {
    const coach = await m.coach();
    const member = await m.player();
    await m.onboarded(member.id);
    const created = await m.t.admin.post("/api/v1/teams", { name: `Scheduled_${Math.random().toString(36).slice(2, 6)}`, password: "team-password-1" });
    const teamId = created.body.data.id as number;
    expect((await coach.client.post("/api/v1/metactf/teams", { team_id: teamId, coach_user_id: coach.id, division: "college" })).status).to.equal(200);
    await eventually(() => m.mock.platform().teams.has(`fh-t${teamId}`), 30_000);

    await m.t.admin.post(`/api/v1/teams/${teamId}/members`, { user_id: member.id });
    await eventually(() => m.mock.platform().membersOf(`fh-t${teamId}`).includes(`fh-u${member.id}`), 30_000);

    // Several scheduled runs more, all idle: the kernel records them, our log only those that had a team due (the
    // creation and the new member; one more if a run raced the membership change).
    const kernelRuns = async () => (await m.t.admin.get("/api/v1/admin/jobs/metactf-sync.roster/runs?limit=50")).body.data.length;
    const before = await kernelRuns();
    await eventually(async () => (await kernelRuns()) >= before + 3, 30_000);
    const logged = (await m.t.admin.get("/api/v1/metactf/runs?job=roster")).body.data;
    expect(logged.length).to.be.within(2, 3);
    expect(logged.every((r: any) => r.trigger === "schedule" && r.batch.length === 1 && r.batch[0] === teamId)).to.equal(true);
    expect(logged.reduce((sum: number, r: any) => sum + r.withNewData, 0)).to.equal(2);
  });
});
