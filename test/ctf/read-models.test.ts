import { expect } from "chai";
import type { Client, TestCtf } from "../helpers/ctf.js";
import { startScoreboard } from "../plugins/scoreboard/helpers.js";

/**
 * Player reads answered from the read models (issue 12): cached answers with ETags, and read-your-writes under a
 * burst of solves while many clients poll the challenge list.
 */
describe("core/ctf read models: the challenge list and account pages from memory", function () {
  this.timeout(240_000);
  let t: TestCtf;
  let challengeId: number;
  before(async () => {
    t = await startScoreboard();
    challengeId = await t.challenge({ name: "read-model target", value: 100 }, "flag{rm}");
  });
  after(async () => t?.stop());

  it("answers the list with an ETag, 304 for If-None-Match, and a new ETag once the player solves", async () => {
    const player = await t.register();
    const first = await player.get("/api/v1/challenges");
    expect(first.status).to.equal(200);
    const etag = first.headers.get("etag");
    expect(etag).to.match(/^"[A-Za-z0-9_-]+"$/);
    expect(first.headers.get("cache-control")).to.equal("private, no-cache");
    const again = await player.request("GET", "/api/v1/challenges", undefined, { "if-none-match": etag! });
    expect(again.status).to.equal(304);
    expect(again.body).to.equal("");

    expect((await player.post("/api/v1/challenges/attempt", { challenge_id: challengeId, submission: "flag{rm}" })).body.data.status).to.equal("correct");
    const after = await player.request("GET", "/api/v1/challenges", undefined, { "if-none-match": etag! });
    expect(after.status).to.equal(200);
    expect(after.headers.get("etag")).to.not.equal(etag);
    expect(after.body.data.find((c: { id: number }) => c.id === challengeId)).to.include({ solves: 1, solved_by_me: true });
    // Another player sees the count, not the solve as theirs, under their own ETag.
    const other = await (await t.register()).get("/api/v1/challenges");
    expect(other.body.data.find((c: { id: number }) => c.id === challengeId)).to.include({ solves: 1, solved_by_me: false });
    expect(other.headers.get("etag")).to.not.equal(after.headers.get("etag"));
  });

  it("answers a challenge's solver list from bytes kept per change: a solve, a rename and a hide show on the next read", async () => {
    const target = await t.challenge({ name: "solver list", value: 10 }, "flag{sl}");
    const [first, second] = [await t.register(), await t.register()];
    const firstId = (await first.get("/api/v1/users/me")).body.data.id;
    const listOf = async (etag?: string) => first.request("GET", `/api/v1/challenges/${target}/solves`, undefined, etag ? { "if-none-match": etag } : {});
    expect((await first.post("/api/v1/challenges/attempt", { challenge_id: target, submission: "flag{sl}" })).body.data.status).to.equal("correct");
    const one = await listOf();
    expect(one.body.data.map((r: { account_id: number }) => r.account_id)).to.deep.equal([firstId]);
    expect((await listOf(one.headers.get("etag")!)).status).to.equal(304);

    expect((await second.post("/api/v1/challenges/attempt", { challenge_id: target, submission: "flag{sl}" })).body.data.status).to.equal("correct");
    const two = await listOf(one.headers.get("etag")!);
    expect(two.status).to.equal(200);
    expect(two.body.data).to.have.length(2);

    expect((await first.patch("/api/v1/users/me", { name: "renamed-solver" })).status).to.equal(200);
    expect((await listOf()).body.data[0]).to.include({ account_id: firstId, name: "renamed-solver" });
    expect((await t.admin.patch(`/api/v1/users/${firstId}`, { hidden: true })).status).to.equal(200);
    expect((await listOf()).body.data.map((r: { account_id: number }) => r.account_id)).to.not.include(firstId);
  });

  it("keeps the filters of the list and refuses a bad one with the field named", async () => {
    const second = await t.challenge({ name: "filtered", category: "crypto", value: 50 }, "flag{f}");
    const player = await t.register();
    const crypto = await player.get("/api/v1/challenges?category=crypto");
    expect(crypto.body.data.map((c: { id: number }) => c.id)).to.deep.equal([second]);
    const bad = await player.get("/api/v1/challenges?view=everything");
    expect(bad.status).to.equal(400);
    expect(bad.body.errors).to.have.property("view");
  });

  it("a burst of 100 correct submissions while 50 clients poll: no 5xx, and no read older than an answer already given", async () => {
    // Dynamic: every correct answer recomputes its value under the challenge's row lock (concurrent solvers once deadlocked there).
    const target = await t.challenge({ name: "burst target", type: "dynamic", initial: 500, minimum: 100, decay: 50, function: "linear" }, "flag{burst}");
    const solvers = await Promise.all(Array.from({ length: 100 }, () => t.register()));
    const pollers = await Promise.all(Array.from({ length: 50 }, () => t.register()));
    const countOf = (body: { data: Array<{ id: number; solves: number }> }) => body.data.find((c) => c.id === target)!.solves;

    let answered = 0; // correct answers received so far: a read started after k of them must count at least k
    let solving = true;
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const seen = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);

    const poll = async (client: Client) => {
      while (solving) {
        const floor = answered;
        const res = await client.get("/api/v1/challenges");
        seen(res.status);
        if (res.status === 200 && countOf(res.body) < floor) failures.push(`a poll saw ${countOf(res.body)} solves after ${floor} correct answers`);
      }
    };
    const solve = async (client: Client) => {
      const res = await client.post("/api/v1/challenges/attempt", { challenge_id: target, submission: "flag{burst}" });
      seen(res.status);
      if (res.body?.data?.status !== "correct") return failures.push(`attempt answered ${res.status} ${JSON.stringify(res.body)}`);
      answered++;
      // The writer reads its own write at once, on the same instance.
      const own = await client.get("/api/v1/challenges");
      seen(own.status);
      const row = own.body.data.find((c: { id: number }) => c.id === target);
      if (!row.solved_by_me) failures.push("a writer did not see its own solve");
    };

    const polling = Promise.all(pollers.map(poll));
    await Promise.all(solvers.map(solve));
    solving = false;
    await polling;

    expect(failures).to.deep.equal([]);
    expect([...statuses.keys()].filter((s) => s >= 500)).to.deep.equal([]);
    expect(countOf((await t.admin.get("/api/v1/challenges")).body)).to.equal(100);
  });

  it("answers the list and the own profile with the same bytes and ETag whether the caller is cached yet or not", async () => {
    const player = await t.register();
    const other = (await (await t.register()).get("/api/v1/users/me")).body.data.id;
    // The first request resolves the session through the ordinary route; later ones are answered ahead of Koa.
    for (const path of ["/api/v1/challenges", "/api/v1/users/me", `/api/v1/users/${other}`, "/api/v1/users", "/api/v1/users?page=1"]) {
      const answers = [await player.get(path), await player.get(path), await player.get(path)];
      expect(answers.map((a) => a.status)).to.deep.equal([200, 200, 200]);
      expect(new Set(answers.map((a) => JSON.stringify(a.body))).size, path).to.equal(1);
      expect(new Set(answers.map((a) => a.headers.get("etag"))).size, path).to.equal(1);
      expect(answers[2]!.headers.get("cache-control")).to.equal("private, no-cache");
      expect((await player.request("GET", path, undefined, { "if-none-match": answers[2]!.headers.get("etag")! })).status).to.equal(304);
    }
  });

  it("shows a profile change on the next read, through the session and through an API token", async () => {
    const player = await t.register();
    const token = (await player.post("/api/v1/tokens", { description: "reader" })).body.data.value as string;
    const reader = t.anonymous();
    reader.apiToken = token;
    for (const client of [player, reader]) await client.get("/api/v1/users/me"); // cached now
    expect((await player.patch("/api/v1/users/me", { affiliation: "Read Model U" })).status).to.equal(200);
    for (const client of [player, reader, player, reader]) expect((await client.get("/api/v1/users/me")).body.data.affiliation).to.equal("Read Model U");
    const id = (await player.get("/api/v1/users/me")).body.data.id;
    expect((await t.anonymous().get(`/api/v1/users/${id}`)).body.data.affiliation).to.equal("Read Model U");
  });

  it("refuses a banned player on the cached paths too", async () => {
    const player = await t.register();
    for (let i = 0; i < 2; i++) expect((await player.get("/api/v1/challenges")).status).to.equal(200);
    const id = (await player.get("/api/v1/users/me")).body.data.id;
    expect((await t.admin.patch(`/api/v1/users/${id}`, { banned: true })).status).to.equal(200);
    // The ban ended the session (401 from then on, or 403 where the ban itself is named): never the cached answer.
    for (const path of ["/api/v1/challenges", "/api/v1/users/me"]) expect((await player.get(path)).status, path).to.be.oneOf([401, 403]);
  });

  it("the read-models job compares fingerprints, finds a solve that never sent its event, and repairs the count", async () => {
    const target = await t.challenge({ name: "silent solve", value: 5 }, "flag{silent}");
    const player = await t.register();
    const userId = (await player.get("/api/v1/users/me")).body.data.id;
    const runJob = async () => {
      const run = await t.bootstrap.post("/api/v1/admin/jobs/ctf.read-models/run");
      expect(run.status, JSON.stringify(run.body)).to.equal(200);
      expect(run.body.data.outcome).to.equal("succeeded");
      return run.body.data.result.solveIndex as { drift: boolean; compared: string };
    };
    const solvesOf = async () => (await player.get("/api/v1/challenges")).body.data.find((c: { id: number }) => c.id === target);
    // The job's first run on this instance has the index from its start-up load: fingerprints suffice.
    expect(await runJob()).to.include({ drift: false, compared: "fingerprints" });

    // Written behind the read models' back: no solve.created event.
    const [submission] = await t.kernel.db.query<{ id: number }>(
      `INSERT INTO ctf_submissions (challenge_id, user_id, type, provided, ip) VALUES ($1, $2, 'correct', 'flag{silent}', '127.0.0.1') RETURNING id`,
      [target, userId],
    );
    await t.kernel.db.query(`INSERT INTO ctf_solves (submission_id, challenge_id, user_id) VALUES ($1, $2, $3)`, [submission!.id, target, userId]);
    expect(await solvesOf()).to.include({ solves: 0, solved_by_me: false });

    expect(await runJob()).to.include({ drift: true, compared: "full load" });
    expect(await solvesOf()).to.include({ solves: 1, solved_by_me: true });
    expect(t.logs.some((l) => l.level === 40 && String(l.msg).includes("solve index drift"))).to.equal(true);
    // Repaired: the next run matches on fingerprints again.
    expect(await runJob()).to.include({ drift: false, compared: "fingerprints" });
  });

  it("the read-models job repairs facts that move no count (a player without solves hidden silently), so fingerprints match again", async () => {
    const player = await t.register();
    const userId = (await player.get("/api/v1/users/me")).body.data.id;
    const runJob = async () => {
      const run = await t.bootstrap.post("/api/v1/admin/jobs/ctf.read-models/run");
      expect(run.body.data.outcome, JSON.stringify(run.body)).to.equal("succeeded");
      return run.body.data.result.solveIndex as { drift: boolean; compared: string };
    };
    expect(await runJob()).to.include({ drift: false, compared: "fingerprints" });
    await t.kernel.db.query(`UPDATE ctf_users SET hidden = true WHERE id = $1`, [userId]);
    expect(await runJob()).to.include({ drift: true, compared: "full load" });
    expect(await runJob()).to.include({ drift: false, compared: "fingerprints" });
  });

  it("the read-models job settles a dynamic value left behind by a process that died between a solve and its settling", async () => {
    const target = await t.challenge({ name: "left behind", type: "dynamic", initial: 400, minimum: 100, decay: 2, function: "linear" }, "flag{behind}");
    const [first, second] = [await t.register(), await t.register()];
    expect((await first.post("/api/v1/challenges/attempt", { challenge_id: target, submission: "flag{behind}" })).body.data.status).to.equal("correct");
    expect((await first.get(`/api/v1/challenges/${target}`)).body.data.value).to.equal(400);
    // The second solve commits, and its process dies before settling the value: the row still says 400.
    const userId = (await second.get("/api/v1/users/me")).body.data.id;
    const [submission] = await t.kernel.db.query<{ id: number }>(
      `INSERT INTO ctf_submissions (challenge_id, user_id, type, provided, ip) VALUES ($1, $2, 'correct', 'flag{behind}', '127.0.0.1') RETURNING id`,
      [target, userId],
    );
    await t.kernel.db.query(`INSERT INTO ctf_solves (submission_id, challenge_id, user_id) VALUES ($1, $2, $3)`, [submission!.id, target, userId]);
    const run = await t.bootstrap.post("/api/v1/admin/jobs/ctf.read-models/run");
    expect(run.body.data.outcome, JSON.stringify(run.body)).to.equal("succeeded");
    expect(run.body.data.result.dynamicValuesSettled).to.deep.equal([{ id: target, previousValue: 400, value: 398 }]);
    expect((await first.get(`/api/v1/challenges/${target}`)).body.data.value).to.equal(398);
    // Settled: the next run finds nothing left behind.
    expect((await t.bootstrap.post("/api/v1/admin/jobs/ctf.read-models/run")).body.data.result.dynamicValuesSettled).to.deep.equal([]);
  });

  it("shows the same score and place on the account pages as on the scoreboard", async () => {
    const [a, b] = [await t.register(), await t.register()];
    await t.admin.post("/api/v1/awards", { user_id: (await b.get("/api/v1/users/me")).body.data.id, name: "bonus", value: 1000 });
    expect((await a.post("/api/v1/challenges/attempt", { challenge_id: challengeId, submission: "flag{rm}" })).body.data.status).to.equal("correct");
    const board = (await t.anonymous().get("/api/v1/scoreboard")).body.data as Array<{ account_id: number; pos: number; score: number }>;
    for (const client of [a, b]) {
      const me = (await client.get("/api/v1/users/me")).body.data;
      const row = board.find((r) => r.account_id === me.id)!;
      expect({ score: me.score, place: me.place }).to.deep.equal({ score: row.score, place: ordinal(row.pos) });
      const page = (await t.anonymous().get(`/api/v1/users/${me.id}`)).body.data;
      expect({ score: page.score, place: page.place }).to.deep.equal({ score: row.score, place: ordinal(row.pos) });
    }
  });
});

function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" } as Record<number, string>)[n % 10] ?? "th";
  return `${n}${suffix}`;
}
