import { expect } from "chai";
import { startMockServer, type MockServer } from "../../../plugins/metactf-sync/mock/server.js";

/** The mock platform itself, over HTTP: datasets, validation and status codes, filtering, admin routes. */
describe("metactf-sync mock platform", function () {
  this.timeout(60_000);
  let mock: MockServer;
  const TOKEN = "mock-test-token";

  const call = async (method: string, path: string, body?: unknown, token: string | null = TOKEN) => {
    const response = await fetch(mock.baseUrl + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  const admin = async (method: string, path: string) => (await fetch(`${mock.url}/__admin${path}`, { method })).json() as Promise<any>;

  before(async () => {
    mock = await startMockServer({ token: TOKEN });
  });
  after(() => mock.stop());

  it("lists and seeds the datasets: baseline has 2 coaches, 3 teams of 4, 12 competitors; large has 300 competitors", async () => {
    expect((await admin("GET", "/datasets")).datasets.map((d: any) => d.name)).to.deep.equal(["baseline", "large"]);
    expect(await admin("POST", "/seed/baseline")).to.include({ users: 14, teams: 3 });
    const users = [...mock.platform().users.values()];
    expect(users.filter((u) => u.role === "coach")).to.have.length(2);
    for (const team of ["fh-t1", "fh-t2", "fh-t3"]) expect((await call("GET", `/users/get_team_assignments?syned_team_id=${team}`)).body.total_count).to.equal(4);
    expect(await admin("POST", "/seed/large?first_user_id=10")).to.include({ users: 300, teams: 0 });
    expect(mock.platform().users.has("fh-u10")).to.equal(true);
    expect(mock.platform().flashCtfs).to.have.length(6);
    expect((await fetch(`${mock.url}/__admin/seed/huge`, { method: "POST" })).status).to.equal(404);
  });

  it("answers the API's status codes: 401 without the token, 400 naming the field, 404 unknown, 409 duplicates and teams with members", async () => {
    await admin("POST", "/seed/baseline");
    expect((await call("GET", "/users?syned_user_id=fh-u4", undefined, null)).status).to.equal(401);
    const bad = await call("POST", "/users", { first_name: "A", last_name: "B", email: "nope", preferred_username: "ab", role: "user", syned_user_id: "x" });
    expect(bad.status).to.equal(400);
    expect(bad.body.detail).to.match(/^email: /);
    expect((await call("POST", "/users", "{not json")).status).to.equal(400);
    expect((await call("GET", "/users?syned_user_id=fh-u999")).status).to.equal(404);
    expect((await call("POST", "/teams", { syned_coach_user_id: "fh-u4", syned_team_id: "fh-t9", team_name: "T", affiliation: "S", division: "high_school" })).status).to.equal(404); // not a coach
    expect((await call("POST", "/teams", { syned_coach_user_id: "fh-u2", syned_team_id: "fh-t1", team_name: "T", affiliation: "S", division: "high_school" })).status).to.equal(409);
    const refused = await call("POST", "/teams/delete", { syned_team_id: "fh-t1" });
    expect(refused.status).to.equal(409);
    expect(refused.body.detail).to.contain("members");
    expect((await call("POST", "/auth/send_password_reset_email", { syned_user_id: "fh-u4" })).body).to.deep.equal({ detail: "Password reset email sent" });
  });

  it("filters ODL solves by after_time_unix while the totals stay whole; Flash CTF progress is not time-filtered", async () => {
    await admin("POST", "/reset");
    const platform = mock.platform();
    platform.createUser({ first_name: "A", last_name: "B", email: "a@b.test", preferred_username: "ab", role: "user", syned_user_id: "fh-u2" });
    for (const at of [1_000, 2_000, 3_000]) await fetch(`${mock.url}/__admin/solves`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ syned_user_id: "fh-u2", challenge: at / 1000, timestamp_unix: at }) });
    const all = (await call("GET", "/scores/get_odl_scores?syned_user_id=fh-u2")).body;
    const recent = (await call("GET", "/scores/get_odl_scores?syned_user_id=fh-u2&after_time_unix=2000")).body;
    expect(all.challenge_solves).to.have.length(3);
    expect(recent.challenge_solves.map((s: any) => s.timestamp_unix)).to.deep.equal([3_000]);
    expect(recent.total_challenges_solved).to.equal(3);
    expect(recent.total_points).to.equal(all.total_points);
    expect((await call("GET", "/scores/get_odl_scores?syned_user_id=fh-u2&after_time_unix=soon")).status).to.equal(400);
    await fetch(`${mock.url}/__admin/flash_ctfs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "F", start_unix: 100, end_unix: 200, results: [] }) });
    const flash = (await call("GET", "/scores/get_flash_ctf_progress?syned_user_id=fh-u2")).body;
    expect(flash.flash_ctfs).to.deep.equal([{ flash_ctf_name: "F", flash_ctf_time_start_unix: 100, flash_ctf_time_end_unix: 200, challenges_solved: 0, points_earned: 0, rank: null, challenge_solves: [] }]);
  });

  it("counts calls per call and per user, and injects faults: a 5xx rate and 429 with Retry-After (latency: client.test.ts)", async () => {
    await admin("POST", "/seed/baseline");
    await admin("DELETE", "/calls");
    await call("GET", "/users?syned_user_id=fh-u4");
    await call("GET", "/scores/get_odl_scores?syned_user_id=fh-u4");
    const calls = await admin("GET", "/calls");
    expect(calls).to.deep.equal({ counts: { "GET /users": 1, "GET /scores/get_odl_scores": 1 }, byUser: { "fh-u4": { "GET /users": 1, "GET /scores/get_odl_scores": 1 } }, total: 2 });

    await fetch(`${mock.url}/__admin/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ errorRate: 1, errorStatus: 502 }) });
    expect((await call("GET", "/users?syned_user_id=fh-u4")).status).to.equal(502);
    await fetch(`${mock.url}/__admin/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ errorRate: 0, rateLimitNext: 1, retryAfterSeconds: 7 }) });
    const limited = await fetch(`${mock.baseUrl}/users?syned_user_id=fh-u4`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(limited.status).to.equal(429);
    expect(limited.headers.get("retry-after")).to.equal("7");
    expect((await call("GET", "/users?syned_user_id=fh-u4")).status).to.equal(200);
    expect((await fetch(`${mock.url}/__admin/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ errorRate: 2 }) })).status).to.equal(400);
    await admin("DELETE", "/faults");
  });
});
