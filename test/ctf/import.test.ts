import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { expect } from "chai";
import { cliOnOwnDatabase } from "../helpers/cli.js";
import { Client, startCtf, type TestCtf } from "../helpers/ctf.js";
import { eventually, fixturePlugin, projectRoot } from "../helpers/kernel.js";
import { zip } from "../helpers/zip.js";

/** The CTFd-written sample in shared/, which sits beside the project (in CI as on a developer's machine). */
const SAMPLE = resolve(projectRoot, "../shared/samples/ctfd-export-sample-teams.zip");
const sample = () => readFileSync(SAMPLE);

/** A CTFd export as CTFd writes it: db/<table>.json with {count, results, meta}, empty tables as empty files. */
function ctfdExport(tables: Record<string, unknown[] | string | null>, extra: Record<string, string> = {}): Buffer {
  const all: Record<string, unknown[] | string | null> = {
    alembic_version: [{ version_num: "8275865e5992" }],
    config: [],
    users: [],
    teams: [],
    challenges: [],
    dynamic_challenge: [],
    flags: [],
    hints: [],
    unlocks: [],
    awards: [],
    submissions: [],
    solves: [],
    pages: [],
    ...tables,
  };
  const entries: Record<string, string> = {};
  for (const [table, rows] of Object.entries(all)) {
    if (rows === null) continue; // the file is absent
    entries[`db/${table}.json`] = typeof rows === "string" ? rows : rows.length === 0 ? "" : JSON.stringify({ count: rows.length, results: rows, meta: {} });
  }
  return zip({ ...entries, ...extra });
}

const user = (id: number, name: string, fields: Record<string, unknown> = {}) => ({
  id,
  oauth_id: null,
  name,
  password: "$bcrypt-sha256$v=2,t=2b,r=12$notusable",
  email: `${name}@ctfd.test`,
  type: "user",
  secret: null,
  website: null,
  affiliation: null,
  country: null,
  bracket_id: null,
  hidden: false,
  banned: false,
  verified: false,
  language: null,
  change_password: false,
  team_id: null,
  created: "2025-03-01T04:00:00",
  ...fields,
});
const challenge = (id: number, name: string, value: number, fields: Record<string, unknown> = {}) => ({
  id,
  name,
  description: `about ${name}`,
  attribution: null,
  connection_info: null,
  next_id: null,
  max_attempts: 0,
  value,
  category: "misc",
  type: "standard",
  state: "visible",
  logic: "any",
  initial: null,
  minimum: null,
  decay: null,
  position: 0,
  function: "static",
  requirements: null,
  ...fields,
});
const submission = (id: number, challengeId: number, userId: number, type: string, provided: string, date: string) => ({
  id,
  challenge_id: challengeId,
  user_id: userId,
  team_id: null,
  ip: "10.0.0.1",
  provided,
  type,
  date,
});

/** A user-mode event: an admin, players (one hidden, one banned), five challenges, an unlock paid by an award. */
function userModeExport(): Buffer {
  return ctfdExport({
    config: [
      { id: 1, key: "ctf_version", value: "3.8.7" },
      { id: 2, key: "ctf_name", value: "Roundtrip CTF" },
      { id: 3, key: "user_mode", value: "users" },
      { id: 4, key: "start", value: "1740805200" },
      { id: 5, key: "end", value: "1740891600" },
      { id: 6, key: "freeze", value: null },
      { id: 7, key: "registration_visibility", value: "private" },
      { id: 8, key: "challenge_visibility", value: "private" },
      { id: 9, key: "score_visibility", value: "public" },
      { id: 10, key: "account_visibility", value: "public" },
      { id: 11, key: "team_size", value: null },
      { id: 12, key: "paused", value: null },
    ],
    users: [
      user(1, "admin", { type: "admin", hidden: true, created: "2025-03-01T03:00:00" }),
      user(2, "alice", { verified: true, country: "FR" }),
      user(3, "bob", { hidden: true }),
      user(4, "carol", { banned: true }),
      user(5, "dave", { affiliation: "Uni", created: "2025-03-01T04:30:00.500000" }),
      user(6, "erin"),
      user(7, "judge", { type: "admin" }),
    ],
    challenges: [
      challenge(1, "warmup", 100),
      challenge(2, "web-1", 200, { category: "web", requirements: { prerequisites: [1] } }),
      // CTFd's stored value is stale on purpose: the import recomputes it from the solves.
      challenge(3, "dyn-linear", 500, { type: "dynamic" }),
      challenge(4, "secret", 300, { state: "hidden" }),
      challenge(5, "docker-pwn", 400, { type: "docker", category: "pwn" }),
    ],
    dynamic_challenge: [{ id: 3, dynamic_initial: 500, dynamic_minimum: 100, dynamic_decay: 50, dynamic_function: "linear" }],
    flags: [
      { id: 1, challenge_id: 1, type: "static", content: "flag{warmup}", data: "case_insensitive" },
      { id: 2, challenge_id: 2, type: "regex", content: "flag\\{web-[0-9]+\\}", data: "" },
      { id: 3, challenge_id: 3, type: "static", content: "flag{dyn}", data: null },
      { id: 4, challenge_id: 4, type: "static", content: "flag{secret}", data: null },
      { id: 5, challenge_id: 5, type: "static", content: "flag{pwn}", data: null },
      { id: 6, challenge_id: 5, type: "oracle", content: "x", data: null },
    ],
    hints: [
      { id: 1, title: "web hint", type: "standard", challenge_id: 2, content: "look at the cookie", cost: 50, requirements: null },
      { id: 2, title: "free", type: "standard", challenge_id: 1, content: "read it", cost: 0, requirements: { prerequisites: [1] } },
    ],
    unlocks: [{ id: 1, user_id: 2, team_id: null, target: 1, date: "2025-03-01T06:30:00", type: "hints" }],
    awards: [
      { id: 1, user_id: 2, team_id: null, type: "standard", name: "Hint 1", description: "Hint for web-1", date: "2025-03-01T06:30:00", value: -50, category: "hints", icon: null, requirements: null },
      { id: 2, user_id: 5, team_id: null, type: "standard", name: "bonus", description: "nice writeup", date: "2025-03-01T08:00:00.250000", value: 25, category: "bonus", icon: null, requirements: null },
    ],
    submissions: [
      submission(1, 1, 2, "correct", "flag{warmup}", "2025-03-01T06:00:00"),
      submission(2, 2, 2, "incorrect", "flag{nope}", "2025-03-01T06:10:00"),
      submission(3, 2, 2, "correct", "flag{web-1}", "2025-03-01T06:45:30.123456"),
      submission(4, 1, 3, "correct", "flag{warmup}", "2025-03-01T07:00:00"),
      submission(5, 1, 4, "correct", "flag{warmup}", "2025-03-01T07:05:00"),
      submission(6, 3, 2, "correct", "flag{dyn}", "2025-03-01T07:30:00"),
      submission(7, 3, 5, "correct", "flag{dyn}", "2025-03-01T07:40:00"),
      submission(8, 3, 3, "correct", "flag{dyn}", "2025-03-01T07:50:00"),
      submission(9, 1, 5, "correct", "flag{warmup}", "2025-03-01T08:00:00"),
      submission(10, 5, 5, "incorrect", "flag{guess}", "2025-03-01T08:05:00"),
    ],
    // [solve id = its submission id, challenge, user]
    solves: [
      [1, 1, 2],
      [3, 2, 2],
      [4, 1, 3],
      [5, 1, 4],
      [6, 3, 2],
      [7, 3, 5],
      [8, 3, 3],
      [9, 1, 5],
    ].map(([id, challengeId, userId]) => ({ id, challenge_id: challengeId, user_id: userId, team_id: null })),
  });
}

async function upload(t: TestCtf, body: Buffer | string, options: { client?: Client; contentType?: string } = {}) {
  const client = options.client ?? t.admin;
  const response = await fetch(`${t.url}/api/v1/import/ctfd`, {
    method: "POST",
    headers: {
      "content-type": options.contentType ?? "application/zip",
      ...(client.cookie ? { cookie: client.cookie } : {}),
      ...(client.cookie && client.csrfToken ? { "csrf-token": client.csrfToken } : {}),
    },
    body: typeof body === "string" ? body : new Uint8Array(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

/** What an admin sees of the event, to compare before and after a refused import. */
async function snapshot(t: TestCtf) {
  const [users, challenges, awards, configs] = await Promise.all([
    t.admin.get("/api/v1/users?view=admin&per_page=100"),
    t.admin.get("/api/v1/challenges?view=admin"),
    t.admin.get("/api/v1/awards"),
    t.admin.get("/api/v1/configs"),
  ]);
  return { users: users.body.data, challenges: challenges.body.data, awards: awards.body.data, configs: configs.body.data };
}

describe("core/ctf import: CTFd exports", () => {
  describe("a user-mode export built by the test", () => {
    let t: TestCtf;
    let summary: any;
    before(async () => {
      t = await startCtf();
      const res = await upload(t, userModeExport());
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      summary = res.body.data;
    });
    after(() => t.stop());

    it("reports counts per table, the merged admin, missing passwords and warnings", () => {
      expect(summary.counts).to.deep.equal({ brackets: 0, teams: 0, users: 6, challenges: 5, flags: 5, hints: 2, awards: 2, unlocks: 1, submissions: 10, solves: 8, notifications: 0 });
      expect(summary.mergedAccounts).to.deep.equal([{ ctfdId: 1, id: 1, name: "admin" }]);
      expect(summary.renumberedUsers).to.deep.equal([]);
      expect(summary.usersWithoutPassword).to.equal(6);
      expect(summary.setupByImport).to.equal(false);
      expect(summary.event).to.deep.include({ name: "Roundtrip CTF", mode: "users", start: "2025-03-01T05:00:00+00:00", end: "2025-03-02T05:00:00+00:00", freeze: null });
      const warnings = summary.warnings.join("\n");
      expect(warnings).to.include('imported as standard: "docker-pwn" (docker)');
      expect(warnings).to.include("flag 6 of challenge 5 (oracle)");
      expect(warnings).to.include('challenge "dyn-linear": value recomputed from the imported solves, 500 in CTFd, now 450');
    });

    it("keeps ids, times, hidden/banned/verified flags and roles of every account", async () => {
      const res = await t.admin.get("/api/v1/users?view=admin&per_page=100");
      expect(res.status).to.equal(200);
      const byName = Object.fromEntries(res.body.data.map((u: any) => [u.name, u]));
      expect(Object.keys(byName).sort()).to.deep.equal(["admin", "alice", "bob", "carol", "dave", "erin", "judge"]);
      expect(res.body.data.map((u: any) => u.id).sort()).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);
      const alice = (await t.admin.get("/api/v1/users/2")).body.data;
      expect(alice).to.include({ name: "alice", verified: true, hidden: false, banned: false, type: "user", country: "FR", created: "2025-03-01T04:00:00+00:00", email: "alice@ctfd.test" });
      expect((await t.admin.get("/api/v1/users/3")).body.data).to.include({ name: "bob", hidden: true, banned: false });
      expect((await t.admin.get("/api/v1/users/4")).body.data).to.include({ name: "carol", banned: true });
      expect((await t.admin.get("/api/v1/users/5")).body.data).to.include({ affiliation: "Uni", created: "2025-03-01T04:30:00.500+00:00" });
      expect((await t.admin.get("/api/v1/users/7")).body.data).to.include({ name: "judge", type: "admin" });
      // The admin setup created is kept, with its flaghost password and session.
      expect((await t.admin.get("/api/v1/users/1")).body.data).to.include({ name: "admin", type: "admin", email: "admin@example.test" });
      const publicNames = (await t.anonymous().get("/api/v1/users")).body.data.map((u: any) => u.name);
      expect(publicNames).to.include("alice").and.not.include("bob").and.not.include("carol");
    });

    it("keeps every submission with its time, and solves pointing at their submissions", async () => {
      const solves = await t.admin.get("/api/v1/users/2/solves");
      expect(solves.status).to.equal(200);
      expect(solves.body.data.map((s: any) => [s.id, s.challenge_id, s.date, s.provided])).to.deep.equal([
        [6, 3, "2025-03-01T07:30:00+00:00", "flag{dyn}"],
        [3, 2, "2025-03-01T06:45:30.123+00:00", "flag{web-1}"],
        [1, 1, "2025-03-01T06:00:00+00:00", "flag{warmup}"],
      ]);
      const fails = await t.admin.get("/api/v1/users/2/fails");
      expect(fails.body.data.map((f: any) => [f.id, f.provided, f.date])).to.deep.equal([[2, "flag{nope}", "2025-03-01T06:10:00+00:00"]]);
      const bobSolves = await t.admin.get("/api/v1/users/3/solves");
      expect(bobSolves.body.data.map((s: any) => s.id)).to.deep.equal([8, 4]);
      const warmupSolvers = await t.admin.get("/api/v1/challenges/1/solves");
      expect(warmupSolvers.body.data.map((s: any) => [s.account_id, s.date])).to.deep.include.members([[2, "2025-03-01T06:00:00Z"], [5, "2025-03-01T08:00:00Z"]]);
    });

    it("imports challenges (unknown types as standard), flags, hints and prerequisites; recomputes dynamic values", async () => {
      const list = await t.admin.get("/api/v1/challenges?view=admin");
      expect(list.status).to.equal(200);
      const byId = Object.fromEntries(list.body.data.map((c: any) => [c.id, c]));
      expect(Object.keys(byId)).to.have.members(["1", "2", "3", "4", "5"]);
      expect(byId[3]).to.include({ name: "dyn-linear", type: "dynamic", value: 450 });
      expect(byId[5]).to.include({ name: "docker-pwn", type: "standard", value: 400, category: "pwn" });
      expect((await t.admin.get("/api/v1/challenges/4")).body.data).to.include({ name: "secret", state: "hidden" });
      const dynamic = (await t.admin.get("/api/v1/challenges/3")).body.data;
      expect(dynamic).to.include({ initial: 500, minimum: 100, decay: 50, function: "linear", value: 450 });
      expect((await t.admin.get("/api/v1/challenges/2/requirements")).body.data).to.deep.include({ prerequisites: [1] });
      const flags = (await t.admin.get("/api/v1/challenges/1/flags")).body.data;
      expect(flags.map((f: any) => [f.id, f.type, f.content, f.data])).to.deep.equal([[1, "static", "flag{warmup}", "case_insensitive"]]);
      expect((await t.admin.get("/api/v1/challenges/5/flags")).body.data.map((f: any) => f.type)).to.deep.equal(["static"]);
      const hints = (await t.admin.get("/api/v1/hints")).body.data;
      expect(hints.map((h: any) => [h.id, h.challenge_id, h.cost])).to.deep.equal([
        [1, 2, 50],
        [2, 1, 0],
      ]);
    });

    it("keeps awards with their times and links the hint unlock to the award that paid for it", async () => {
      const awards = (await t.admin.get("/api/v1/awards")).body.data;
      expect(awards.map((a: any) => [a.id, a.user_id, a.name, a.value, a.category, a.date])).to.deep.equal([
        [1, 2, "Hint 1", -50, "hints", "2025-03-01T06:30:00+00:00"],
        [2, 5, "bonus", 25, "bonus", "2025-03-01T08:00:00.250+00:00"],
      ]);
      const [unlock] = await t.kernel.plugins.db!.query<{ hint_id: number; award_id: number; user_id: number; created_at: Date }>(`SELECT * FROM ctf_unlocks`);
      expect(unlock).to.include({ hint_id: 1, award_id: 1, user_id: 2 });
      expect(unlock!.created_at.toISOString()).to.equal("2025-03-01T06:30:00.000Z");
      const [award] = await t.kernel.plugins.db!.query<{ hint_id: number }>(`SELECT hint_id FROM ctf_awards WHERE id = 1`);
      expect(award!.hint_id).to.equal(1);
    });

    it("scores accounts as CTFd did: solves at the recomputed value plus awards", async () => {
      // alice: warmup 100 + web-1 200 + dyn-linear 450 - 50 for the hint; dave: 100 + 450 + 25.
      expect((await t.admin.get("/api/v1/users/2")).body.data.score).to.equal(700);
      expect((await t.admin.get("/api/v1/users/5")).body.data.score).to.equal(575);
    });

    it("applies the event settings from CTFd's config table", async () => {
      const configs = (await t.admin.get("/api/v1/configs")).body.data;
      expect(configs).to.include({ name: "Roundtrip CTF", user_mode: "users", start: 1740805200, end: 1740891600, freeze: null, registration_open: false, setup_done: true });
    });

    it("imports players without a password, and new rows continue after the imported ids", async () => {
      const login = await t.anonymous().post("/api/v1/auth/login", { name: "alice", password: "anything-at-all" });
      expect(login.status).to.equal(403);
      // What the summary tells admins to do: set a new password, after which the player logs in.
      expect((await t.admin.patch("/api/v1/users/2", { password: "alice-new-password" })).status).to.equal(200);
      expect((await t.anonymous().post("/api/v1/auth/login", { name: "alice", password: "alice-new-password" })).status).to.equal(200);
      const created = await t.admin.post("/api/v1/users", { name: "frank", email: "frank@example.test", password: "frank-password-1" });
      expect(created.status, JSON.stringify(created.body)).to.equal(200);
      expect(created.body.data.id).to.equal(8);
      const challengeId = await t.challenge({ name: "after import" });
      expect(challengeId).to.equal(6);
      const flags = (await t.admin.get(`/api/v1/challenges/${challengeId}/flags`)).body.data;
      expect(flags[0].id).to.equal(6); // flag 6 (type "oracle") was not imported, so 6 is free again
    });
  });

  describe("the shared sample (CTFd 3.8.7, team mode)", () => {
    let t: TestCtf;
    let summary: any;
    before(async () => {
      t = await startCtf({ plugins: [fixturePlugin("ctf-recorder")] });
      await t.bootstrap.delete("/test/ctf-events"); // setup's own event.updated
      const res = await upload(t, sample());
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      summary = res.body.data;
    });
    after(() => t.stop());

    it("imports teams, members and the event in team mode with its freeze", async () => {
      expect(summary.counts).to.include({ teams: 4, users: 8, challenges: 4, flags: 4, hints: 1, unlocks: 1, awards: 2, submissions: 9, solves: 9 });
      expect(summary.notImported).to.deep.equal({ pages: 1 });
      const configs = (await t.admin.get("/api/v1/configs")).body.data;
      expect(configs).to.include({ name: "sample-teams", user_mode: "teams", freeze: 1740823200, start: null, end: null });
      const teams = (await t.admin.get("/api/v1/teams?view=admin")).body.data;
      expect(teams.map((team: any) => [team.id, team.name, team.hidden])).to.deep.equal([
        [1, "crew-1", false],
        [2, "crew-2", false],
        [3, "crew-3", false],
        [4, "crew-4", true],
      ]);
      expect(teams[0].created).to.equal("2025-03-01T06:01:00+00:00");
      const publicTeams = (await t.anonymous().get("/api/v1/teams")).body.data.map((team: any) => team.name);
      expect(publicTeams).to.deep.equal(["crew-1", "crew-2", "crew-3"]);
      expect((await t.admin.get("/api/v1/teams/3/members")).body.data).to.have.members([6, 7]);
    });

    it("keeps the dynamic (logarithmic) value CTFd had, from the solves of visible teams", async () => {
      const heap = (await t.admin.get("/api/v1/challenges/4")).body.data;
      expect(heap).to.include({ type: "dynamic", value: 438, initial: 450, minimum: 150, decay: 5, function: "logarithmic" });
      expect(summary.warnings.join("\n")).not.to.include("recomputed");
    });

    it("links the hint unlock to its award and hides the solve after the freeze from the public", async () => {
      const [unlock] = await t.kernel.plugins.db!.query<{ team_id: number; award_id: number; hint_id: number }>(`SELECT * FROM ctf_unlocks`);
      expect(unlock).to.include({ team_id: 3, award_id: 1, hint_id: 1 });
      const admin = (await t.admin.get("/api/v1/teams/3/solves")).body.data.map((s: any) => s.id);
      expect(admin).to.have.members([3, 6, 9]);
      const anonymous = (await t.anonymous().get("/api/v1/teams/3/solves")).body.data.map((s: any) => s.id);
      expect(anonymous).to.have.members([3, 6]);
    });

    it("tells consumers once, with event.updated, that the event was replaced", async () => {
      const events = await eventually(async () => {
        const seen = (await t.bootstrap.get("/test/ctf-events")).body.data as Array<{ name: string; payload: unknown }>;
        return seen.length > 0 && seen;
      });
      expect(events).to.deep.equal([{ name: "event.updated", payload: { changes: ["import"] } }]);
    });

    it("refuses a second import with a message saying what is there, and changes nothing", async () => {
      await t.bootstrap.delete("/test/ctf-events");
      const before = await snapshot(t);
      const again = await upload(t, sample());
      expect(again.status).to.equal(409);
      const message = again.body.errors.database[0] as string;
      expect(message).to.include("already holds an event (4 challenges, 4 teams, 8 players, 9 submissions, 2 awards)");
      expect(message).to.include("To start fresh, import into an empty database");
      expect(await snapshot(t)).to.deep.equal(before);
      await t.kernel.events.drain();
      expect((await t.bootstrap.get("/test/ctf-events")).body.data).to.deep.equal([]);
    });
  });

  describe("refusals and bad files", () => {
    let t: TestCtf;
    before(async () => {
      t = await startCtf({ config: { http: { bodyLimitBytes: 64 * 1024 } } });
    });
    after(() => t.stop());

    const expectNothingImported = async () => {
      expect((await t.admin.get("/api/v1/challenges?view=admin")).body.data).to.deep.equal([]);
      expect((await t.admin.get("/api/v1/users?view=admin")).body.data.map((u: any) => u.name)).to.deep.equal(["admin"]);
    };

    it("answers 400 naming the file and the problem, and imports nothing", async () => {
      const cases: Array<[string, Buffer | string, string]> = [
        ["not a zip", "this is not a zip file", "the uploaded export: not a readable zip file"],
        ["a truncated zip", sample().subarray(0, 4000), "the uploaded export: not a readable zip file"],
        ["a zip without db/", zip({ "README.txt": "hello" }), "db/config.json, db/users.json, db/teams.json, db/challenges.json, db/flags.json, db/hints.json, db/unlocks.json, db/awards.json, db/submissions.json, db/solves.json are missing (it has no db/ folder)"],
        ["a missing table", ctfdExport({ users: null }), "db/users.json is missing"],
        ["bad JSON", ctfdExport({ users: "{not json" }), "db/users.json is not valid JSON"],
        ["no results list", ctfdExport({ challenges: '{"count": 1}' }), 'db/challenges.json: expected an object with a "results" list'],
        ["a missing column", ctfdExport({ submissions: [{ id: 1, challenge_id: 1, user_id: 2, type: "correct", provided: "x" }] }), 'db/submissions.json, row 1 (id 1): the required column "date" is missing'],
        ["a bad date", ctfdExport({ users: [user(2, "zed", { created: "yesterday" })] }), 'db/users.json, row 1 (id 2): column "created" must be a date'],
        ["a path outside the folder", zip({ "../evil.json": "{}" }), "unsafe entry name"],
        ["an absolute path", zip({ "/etc/evil.json": "{}" }), "unsafe entry name"],
      ];
      for (const [what, body, message] of cases) {
        const res = await upload(t, body);
        expect(res.status, `${what}: ${JSON.stringify(res.body)}`).to.equal(400);
        expect(res.body.success).to.equal(false);
        expect(res.body.errors.file[0], what).to.include(message);
        expect(JSON.stringify(res.body), what).not.to.match(/\n\s+at /);
      }
      await expectNothingImported();
    });

    it("rolls everything back when a row cannot be stored halfway through", async () => {
      const res = await upload(
        t,
        ctfdExport({
          users: [user(2, "early")],
          challenges: [challenge(1, "huge", 10_000_000_000)],
        }),
      );
      expect(res.status).to.equal(400);
      expect(res.body.errors.file[0]).to.include("the export could not be stored").and.include("nothing was imported");
      await expectNothingImported();
    });

    it("lets only admins import, and only zip bodies", async () => {
      const anonymous = await upload(t, userModeExport(), { client: t.anonymous() });
      expect(anonymous.status).to.be.oneOf([401, 403]);
      const player = await t.register();
      expect((await upload(t, userModeExport(), { client: player })).status).to.equal(403);
      const json = await upload(t, JSON.stringify({ file: "x" }), { contentType: "application/json" });
      expect(json.status).to.equal(415);
      expect(json.body.errors.file[0]).to.include("Content-Type: application/zip");
      await t.admin.delete(`/api/v1/users/${player.user!.id}`);
    });

    it("answers 413 for an export above http.bodyLimitBytes", async () => {
      const big = ctfdExport({ pages: [{ id: 1, title: "x", content: "x".repeat(100 * 1024) }] });
      const res = await upload(t, big);
      expect(res.status).to.equal(413);
      await expectNothingImported();
    });

    it("refuses an event that already has players or challenges", async () => {
      const player = await t.register("early_bird");
      const res = await upload(t, userModeExport());
      expect(res.status).to.equal(409);
      expect(res.body.errors.database[0]).to.include("already holds an event (1 player)");
      await t.admin.delete(`/api/v1/users/${player.user!.id}`);
    });

    it("refuses a CTFd player who has the name of the existing admin", async () => {
      const res = await upload(t, ctfdExport({ users: [user(5, "Admin")] }));
      expect(res.status).to.equal(409);
      expect(res.body.errors.database[0]).to.include('CTFd player "Admin" (id 5) has the same name or email as the admin account "admin" (id 1)');
      await expectNothingImported();
    });
  });

  describe("flaghost import ctfd (CLI)", function () {
    this.timeout(180_000);

    const cli = cliOnOwnDatabase("import-cli");
    const { flaghost, scratch } = cli;
    after(() => cli.remove());

    it("imports the sample, prints a summary, then refuses a second import; bad files exit 1 with a message", () => {
      const first = flaghost(["import", "ctfd", SAMPLE]);
      expect(first.code, first.stderr).to.equal(0);
      expect(first.stdout).to.include('Imported the CTFd event "sample-teams" (teams mode)');
      expect(first.stdout).to.match(/teams\s+4\n/).and.match(/solves\s+9\n/).and.match(/users\s+9\n/);
      expect(first.stdout).to.include("9 imported accounts have no password");
      expect(first.stdout).to.include("The database had not been set up; the import did it");

      const second = flaghost(["import", "ctfd", SAMPLE]);
      expect(second.code).to.equal(1);
      expect(second.stderr).to.include("already holds an event (4 challenges, 4 teams, 8 players, 9 submissions, 2 awards)");

      const bad = join(scratch, "export.zip");
      writeFileSync(bad, ctfdExport({ solves: "[{" }));
      // The event is not empty: that is said before the file is read (import-bounds.test.ts reads bad files).
      const invalid = flaghost(["import", "ctfd", bad]);
      expect(invalid.code).to.equal(1);
      expect(invalid.stderr).to.include("already holds an event");
      expect(invalid.stderr).not.to.include("    at ");

      const usage = flaghost(["import", "ctfd"]);
      expect(usage.code).to.equal(1);
      expect(usage.stderr).to.include("usage: flaghost import ctfd <export.zip>");
    });
  });
});
