import { expect } from "chai";
import fc from "fast-check";
import type { Client, TestCtf } from "../../helpers/ctf.js";
import { award, boardOf, patchTeam, patchUser, ranking, setConfig, settle, sleep, solve, startScoreboard, teamPlayer } from "./helpers.js";

/** Rows of the board that belong to the given accounts, in board order. */
const only = (rows: Array<Record<string, any>>, names: string[]) => rows.filter((r) => names.includes(r.name));

/** A few orders of the same operations: as written, reversed, and some shuffles (fast-check, fixed seed). */
function orders<T>(ops: T[], shuffles: number): T[][] {
  const random = fc.sample(fc.shuffledSubarray(ops.map((_, i) => i), { minLength: ops.length, maxLength: ops.length }), { numRuns: shuffles, seed: 42 });
  return [ops, [...ops].reverse(), ...random.map((idx) => idx.map((i) => ops[i]!))];
}

describe("scoreboard API, user mode", function () {
  this.timeout(180_000);
  let t: TestCtf;
  let anonymous: Client;

  before(async () => {
    t = await startScoreboard();
    anonymous = t.anonymous();
  });
  after(async () => t?.stop());

  it("the incident: hidden and banned users with solves never break the board, whatever the order (200, correct rows)", async () => {
    const challenge = await t.challenge({ value: 100 });
    type Op = "hidden solves" | "hide" | "banned scores" | "ban" | "visible solves";
    let round = 0;
    for (const order of orders<Op>(["hidden solves", "hide", "banned scores", "ban", "visible solves"], 6)) {
      round++;
      const [hidden, banned, visible] = [await t.register(`hid${round}`), await t.register(`ban${round}`), await t.register(`vis${round}`)];
      let isBanned = false;
      for (const op of order) {
        if (op === "hidden solves") await solve(hidden, challenge);
        if (op === "hide") await patchUser(t, hidden.user!.id, { hidden: true });
        if (op === "visible solves") await solve(visible, challenge);
        if (op === "ban") {
          await patchUser(t, banned.user!.id, { banned: true });
          isBanned = true;
        }
        // A banned user cannot solve any more: its points then arrive as an award.
        if (op === "banned scores") isBanned ? await award(t, { user_id: banned.user!.id }, 100) : await solve(banned, challenge);
      }
      await settle(t);
      for (const client of [anonymous, t.admin, t.bootstrap]) {
        const rows = await boardOf(client);
        const names = rows.map((r) => r.name);
        expect(names, order.join(" → ")).to.include(`vis${round}`);
        expect(names, order.join(" → ")).not.to.include.members([`hid${round}`, `ban${round}`]);
        expect(rows.map((r) => r.pos)).to.deep.equal(rows.map((_, i) => i + 1));
      }
      const top = await anonymous.get("/api/v1/scoreboard/top/50");
      expect(top.status).to.equal(200);
      expect(Object.values(top.body.data).map((e: any) => e.name)).not.to.include.members([`hid${round}`, `ban${round}`]);
    }
    // A rebuild from the database agrees with what the events built.
    const before = await boardOf(t.admin);
    expect((await t.bootstrap.post("/api/v1/scoreboard/rebuild")).status).to.equal(200);
    expect(await boardOf(t.admin)).to.deep.equal(before);
  });

  it("serves CTFd's row shape", async () => {
    const player = await t.register("shape_player");
    await solve(player, await t.challenge({ value: 10 }));
    await settle(t);
    const [row] = only(await boardOf(anonymous), ["shape_player"]);
    expect(row).to.have.all.keys("pos", "account_id", "account_url", "account_type", "oauth_id", "name", "score", "bracket_id", "bracket_name");
    expect(row).to.include({ account_id: player.user!.id, account_url: `/users/${player.user!.id}`, account_type: "user", oauth_id: null, score: 10, bracket_id: null, bracket_name: null });
  });

  it("breaks ties by the time the score was reached", async () => {
    const [c1, c2] = [await t.challenge({ value: 1000 }), await t.challenge({ value: 1000 })];
    const [early, late] = [await t.register("tie_early"), await t.register("tie_late")];
    await solve(late, c1);
    await solve(early, c1);
    await settle(t);
    expect(ranking(only(await boardOf(anonymous), ["tie_early", "tie_late"]))).to.deep.equal([
      ["tie_late", 1000],
      ["tie_early", 1000],
    ]);
    await solve(early, c2);
    await award(t, { user_id: late.user!.id }, 1000);
    await settle(t);
    // Both at 2000: tie_early got there first.
    expect(ranking(only(await boardOf(anonymous), ["tie_early", "tie_late"]))).to.deep.equal([
      ["tie_early", 2000],
      ["tie_late", 2000],
    ]);
  });

  it("counts awards and hint costs, lists an account with only a negative award, and skips accounts with nothing", async () => {
    const challenge = await t.challenge({ value: 100 });
    const hint = await t.admin.post("/api/v1/hints", { challenge_id: challenge, content: "look closer", cost: 30 });
    expect(hint.status, JSON.stringify(hint.body)).to.equal(200);
    const [solver, penalised, idle] = [await t.register("hint_solver"), await t.register("penalised"), await t.register("idle")];
    await solve(solver, challenge);
    const unlock = await solver.post("/api/v1/unlocks", { target: hint.body.data.id, type: "hints" });
    expect(unlock.status, JSON.stringify(unlock.body)).to.equal(200);
    await award(t, { user_id: penalised.user!.id }, -50);
    await settle(t);
    const rows = only(await boardOf(anonymous), ["hint_solver", "penalised", "idle"]);
    expect(ranking(rows)).to.deep.equal([
      ["hint_solver", 70],
      ["penalised", -50],
    ]);
    expect(idle.user).to.not.equal(null);
    const top = await anonymous.get("/api/v1/scoreboard/top/50");
    const entry = Object.values(top.body.data).find((e: any) => e.name === "hint_solver") as Record<string, any>;
    expect(entry.solves.map((s: any) => [s.challenge_id, s.value])).to.deep.equal([
      [challenge, 100],
      [null, -30],
    ]);
    expect(entry.solves[0]).to.have.all.keys("challenge_id", "account_id", "team_id", "user_id", "value", "date");
    expect(entry.solves[0].date).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it("shows a zero-point award in the top/N graph at once, and drops it when it is deleted (no score moves, the bytes do)", async () => {
    const player = await t.register("zero_award");
    await solve(player, await t.challenge({ value: 40 }));
    const graphOf = async () => (Object.values((await anonymous.get("/api/v1/scoreboard/top/50")).body.data).find((e: any) => e.name === "zero_award") as any).solves.map((s: any) => s.value);
    expect(await graphOf()).to.deep.equal([40]);
    const awardId = await award(t, { user_id: player.user!.id }, 0);
    await settle(t);
    expect(await graphOf()).to.deep.equal([40, 0]);
    // A later solve: the award is no longer the account's latest item, so deleting it moves neither time nor tie-breaker.
    await solve(player, await t.challenge({ value: 2 }));
    expect(await graphOf()).to.deep.equal([40, 0, 2]);
    expect((await t.admin.delete(`/api/v1/awards/${awardId}`)).status).to.equal(200);
    await settle(t);
    expect(await graphOf()).to.deep.equal([40, 2]);
  });

  it("moves every solver of a dynamic challenge when its value decays", async () => {
    const challenge = await t.challenge({ type: "dynamic", initial: 500, minimum: 100, decay: 100, function: "linear" });
    const players = [await t.register("dyn_a"), await t.register("dyn_b"), await t.register("dyn_c")];
    for (const player of players) await solve(player, challenge);
    await settle(t);
    expect(ranking(only(await boardOf(anonymous), ["dyn_a", "dyn_b", "dyn_c"]))).to.deep.equal([
      ["dyn_a", 300],
      ["dyn_b", 300],
      ["dyn_c", 300],
    ]);
  });

  it("filters by bracket on both endpoints, numbering positions within the bracket", async () => {
    const [bracket] = await t.kernel.db.query<{ id: number }>(`INSERT INTO ctf_brackets (name, type) VALUES ('students', 'users') RETURNING id`);
    const challenge = await t.challenge({ value: 5 });
    const [a, b, outsider] = [await t.register("br_a"), await t.register("br_b"), await t.register("br_out")];
    for (const p of [a, b, outsider]) await solve(p, challenge);
    await patchUser(t, a.user!.id, { bracket_id: bracket!.id });
    await patchUser(t, b.user!.id, { bracket_id: bracket!.id });
    await settle(t);
    const rows = await boardOf(anonymous, `?bracket_id=${bracket!.id}`);
    expect(rows.map((r) => [r.pos, r.name, r.bracket_id, r.bracket_name])).to.deep.equal([
      [1, "br_a", bracket!.id, "students"],
      [2, "br_b", bracket!.id, "students"],
    ]);
    const top = await anonymous.get(`/api/v1/scoreboard/top/10?bracket_id=${bracket!.id}`);
    expect(Object.entries(top.body.data).map(([pos, e]: [string, any]) => [pos, e.name])).to.deep.equal([
      ["1", "br_a"],
      ["2", "br_b"],
    ]);
    expect(await boardOf(anonymous, "?bracket_id=999999")).to.deep.equal([]);
    expect((await anonymous.get("/api/v1/scoreboard/top/10?bracket_id=999999")).body.data).to.deep.equal({});
    for (const bad of ["abc", "0", "-1", "1.5", ""]) expect((await anonymous.get(`/api/v1/scoreboard?bracket_id=${bad}`)).status, bad).to.equal(400);
  });

  it("answers top/:count like CTFd: clamped to 1..50, keyed by position, 404 for a non-number", async () => {
    const one = await anonymous.get("/api/v1/scoreboard/top/0");
    expect(Object.keys(one.body.data)).to.deep.equal(["1"]);
    const many = await anonymous.get("/api/v1/scoreboard/top/100000");
    const board = await boardOf(anonymous);
    expect(Object.keys(many.body.data)).to.have.length(Math.min(50, board.length));
    const first = many.body.data["1"];
    expect(first).to.have.all.keys("id", "account_url", "name", "score", "bracket_id", "bracket_name", "solves");
    expect([first.id, first.score]).to.deep.equal([board[0]!.account_id, board[0]!.score]);
    expect(first.solves.reduce((sum: number, s: any) => sum + s.value, 0)).to.equal(first.score);
    for (const bad of ["abc", "-1", "1e3", "99999999999"]) expect((await anonymous.get(`/api/v1/scoreboard/top/${bad}`)).status, bad).to.equal(404);
  });

  it("sends an ETag, answers 304 while nothing changed, and new bytes right after a change", async () => {
    const first = await anonymous.get("/api/v1/scoreboard");
    const etag = first.headers.get("etag")!;
    expect(etag).to.match(/^"[^"]+"$/);
    expect(first.headers.get("cache-control")).to.equal("no-cache");
    const again = await anonymous.request("GET", "/api/v1/scoreboard", undefined, { "if-none-match": etag });
    expect(again.status).to.equal(304);
    const player = await t.register("etag_player");
    await solve(player, await t.challenge({ value: 7 }));
    await settle(t);
    const changed = await anonymous.request("GET", "/api/v1/scoreboard", undefined, { "if-none-match": etag });
    expect(changed.status).to.equal(200);
    expect(changed.headers.get("etag")).to.not.equal(etag);
    expect(changed.body.data.map((r: any) => r.name)).to.include("etag_player");
  });

  it("answers an anonymous read ahead of Koa with the same bytes and headers as the ordinary route", async () => {
    const [bracket] = await t.kernel.db.query<{ id: number }>(`INSERT INTO ctf_brackets (name, type) VALUES ('prepared', 'users') RETURNING id`);
    const member = await t.register("prepared_member");
    await solve(member, await t.challenge({ value: 11 }));
    await patchUser(t, member.user!.id, { bracket_id: bracket!.id });
    await settle(t);
    const shown = ["content-type", "etag", "cache-control", "vary", "x-content-type-options", "content-security-policy"];
    const headersOf = (h: Headers) => Object.fromEntries(shown.map((name) => [name, h.get(name)]));
    // Koa makes a context for every request it handles: count them to tell which way a request went.
    const app = t.kernel.app as unknown as { createContext: (...args: unknown[]) => unknown };
    const createContext = app.createContext;
    let koaRequests = 0;
    app.createContext = function (this: unknown, ...args: unknown[]) {
      koaRequests++;
      return createContext.apply(this, args);
    };
    try {
      // A cookie that names no session, or a query the prepared answer does not parse, takes the Koa route.
      for (const [prepared, ordinary] of [
        ["/api/v1/scoreboard", "/api/v1/scoreboard"],
        ["/api/v1/scoreboard/top/10", "/api/v1/scoreboard/top/10"],
        [`/api/v1/scoreboard?bracket_id=${bracket!.id}`, `/api/v1/scoreboard?bracket_id=0${bracket!.id}`],
        [`/api/v1/scoreboard/top/3?bracket_id=${bracket!.id}`, `/api/v1/scoreboard/top/03?bracket_id=${bracket!.id}&extra=1`],
      ]) {
        const koaBefore = koaRequests;
        const fast = await anonymous.get(prepared!);
        expect(koaRequests, `${prepared} went through Koa`).to.equal(koaBefore);
        const slow = await anonymous.request("GET", ordinary!, undefined, { cookie: "unrelated=1" });
        expect(koaRequests, `${ordinary} did not go through Koa`).to.equal(koaBefore + 1);
        expect(fast.status, prepared).to.equal(200);
        expect(slow.status, ordinary).to.equal(200);
        expect(fast.body, prepared).to.deep.equal(slow.body);
        expect(headersOf(fast.headers), prepared).to.deep.equal(headersOf(slow.headers));
        expect(fast.headers.get("x-request-id")).to.be.a("string");
      }
      expect((await anonymous.get(`/api/v1/scoreboard?bracket_id=${bracket!.id}`)).body.data.map((r: any) => r.name)).to.deep.equal(["prepared_member"]);
    } finally {
      app.createContext = createContext;
    }
  });

  it("answers anonymous reads without database, coordination or session work, even right after a change", async () => {
    const touched: string[] = [];
    const restore: Array<() => void> = [];
    // The kernel's own loops (queue consumers' blocking reads, instance heartbeats) call the coordination on their
    // own timers and may land inside the window; they are not work a read caused.
    const backgroundLoop = /core\/kernel\/(queues\/consumer|instances)\.ts/;
    const watch = (target: Record<string, unknown>, label: string, names: string[]) => {
      for (const name of names) {
        const original = target[name] as (...args: unknown[]) => unknown;
        target[name] = function (this: unknown, ...args: unknown[]) {
          if (!backgroundLoop.test(new Error().stack ?? "")) touched.push(`${label}.${name}`);
          return original.apply(this, args);
        };
        restore.push(() => (target[name] = original));
      }
    };
    const player = await t.register("quiet_reader");
    await solve(player, await t.challenge({ value: 9 }));
    await settle(t);
    const coordination = t.kernel.coordination as unknown as Record<string, unknown>;
    const prototype = Object.getPrototypeOf(coordination);
    const coordinationMethods = [...new Set([...Object.keys(coordination), ...(prototype === Object.prototype ? [] : Object.getOwnPropertyNames(prototype))])].filter(
      (n) => n !== "constructor" && typeof coordination[n] === "function",
    );
    watch(t.kernel.db as unknown as Record<string, unknown>, "db", ["query", "transaction"]);
    watch(coordination, "coordination", coordinationMethods);
    watch(t.kernel.auth as unknown as Record<string, unknown>, "auth", ["actor"]);
    try {
      for (let i = 0; i < 10; i++) {
        for (const path of ["/api/v1/scoreboard", "/api/v1/scoreboard/top/10", "/api/v1/scoreboard?bracket_id=1"]) expect((await anonymous.get(path)).status).to.equal(200);
      }
      expect(touched).to.deep.equal([]);
      // The same watch sees what other requests touch: a caller resolved, a query, a rate limit.
      expect((await t.admin.get("/api/v1/scoreboard")).status).to.equal(200);
      await anonymous.get("/api/v1/users");
      await anonymous.post("/api/v1/auth/login", { name: "nobody", password: "wrong-password" });
      expect(touched).to.include.members(["auth.actor", "db.query", "coordination.rateLimit"]);
    } finally {
      for (const undo of restore) undo();
    }
  });

  it("follows score and account visibility, for the board and for stream tokens", async () => {
    const player = await t.register("vis_player");
    const tokenFor = (c: Client) => c.post("/api/v1/scoreboard/stream-token", {});
    try {
      await setConfig(t, { score_visibility: "private" });
      await settle(t);
      expect((await anonymous.get("/api/v1/scoreboard")).status).to.equal(403);
      expect((await tokenFor(anonymous)).status).to.equal(403);
      expect((await player.get("/api/v1/scoreboard")).status).to.equal(200);
      expect((await tokenFor(player)).status).to.equal(200);

      await setConfig(t, { score_visibility: "hidden" });
      await settle(t);
      expect((await player.get("/api/v1/scoreboard")).status).to.equal(403);
      expect((await player.get("/api/v1/scoreboard/top/10")).status).to.equal(403);
      expect((await t.admin.get("/api/v1/scoreboard")).status).to.equal(200);
      expect((await tokenFor(t.admin)).status).to.equal(200);

      await setConfig(t, { score_visibility: "public", account_visibility: "admins" });
      await settle(t);
      expect((await anonymous.get("/api/v1/scoreboard")).status).to.equal(404);
      expect((await t.bootstrap.get("/api/v1/scoreboard")).status).to.equal(200);
    } finally {
      await setConfig(t, { score_visibility: "public", account_visibility: "public" });
      await settle(t);
    }
    expect((await anonymous.get("/api/v1/scoreboard")).status).to.equal(200);
    const token = await tokenFor(anonymous);
    expect(token.body.data).to.have.all.keys("token", "expiresAt");
  });

  it("lets only admins ask for a rebuild", async () => {
    expect((await anonymous.post("/api/v1/scoreboard/rebuild")).status).to.equal(401);
    expect((await (await t.register()).post("/api/v1/scoreboard/rebuild")).status).to.equal(403);
    const res = await t.admin.post("/api/v1/scoreboard/rebuild");
    expect(res.status).to.equal(200);
    expect(res.body.data).to.include.keys("accounts", "solves", "awards", "durationMs");
  });

  it("the consistency job finds drift (a change that never sent its event), logs it and repairs it", async () => {
    const player = await t.register("drift_player");
    // Let the engine handle the registration first, so the silent write below is not picked up by that reload.
    await settle(t);
    // Written behind the engine's back: no award.created event.
    await t.kernel.db.query(`INSERT INTO ctf_awards (user_id, name, value) VALUES ($1, 'silent', 4242)`, [player.user!.id]);
    expect((await boardOf(anonymous)).map((r) => r.name)).not.to.include("drift_player");
    const jobs = await t.bootstrap.get("/api/v1/admin/jobs");
    expect(jobs.body.data.map((j: any) => [j.id, j.scope])).to.deep.include(["scoreboard.consistency", "cluster"]);
    const run = await t.bootstrap.post("/api/v1/admin/jobs/scoreboard.consistency/run");
    expect(run.status, JSON.stringify(run.body)).to.equal(200);
    expect(run.body.data.outcome).to.equal("succeeded");
    expect(run.body.data.result).to.include({ drift: true, compared: "full load" });
    expect(ranking(only(await boardOf(anonymous), ["drift_player"]))).to.deep.equal([["drift_player", 4242]]);
    expect(t.logs.some((l) => l.level === 40 && String(l.msg).includes("scoreboard drift"))).to.equal(true);
    // Nothing differs now: a second run finds no drift.
    const warningsBefore = t.logs.filter((l) => String(l.msg).includes("scoreboard drift")).length;
    const again = await t.bootstrap.post("/api/v1/admin/jobs/scoreboard.consistency/run");
    expect(again.body.data.outcome).to.equal("succeeded");
    // ... on fingerprints alone: the repaired engine holds what the database holds.
    expect(again.body.data.result).to.include({ drift: false, compared: "fingerprints" });
    expect(t.logs.filter((l) => String(l.msg).includes("scoreboard drift")).length).to.equal(warningsBefore);
  });

  it("the consistency job repairs facts that move no standing (a hidden player's silent rename), so fingerprints match again", async () => {
    const player = await t.register("quiet_hidden");
    const userId = player.user!.id;
    expect((await t.admin.patch(`/api/v1/users/${userId}`, { hidden: true })).status).to.equal(200);
    await settle(t);
    const runCheck = async () => {
      const run = await t.bootstrap.post("/api/v1/admin/jobs/scoreboard.consistency/run");
      expect(run.body.data.outcome, JSON.stringify(run.body)).to.equal("succeeded");
      return run.body.data.result as { drift: boolean; compared: string };
    };
    expect(await runCheck()).to.include({ drift: false, compared: "fingerprints" });
    const before = await boardOf(t.admin);
    // Behind the engine's back, and invisible on the board: the player is hidden.
    await t.kernel.db.query(`UPDATE ctf_users SET name = 'quiet_renamed' WHERE id = $1`, [userId]);
    expect(await runCheck()).to.include({ drift: true, compared: "full load" });
    expect(await boardOf(t.admin)).to.deep.equal(before);
    expect(await runCheck()).to.include({ drift: false, compared: "fingerprints" });
  });

  // Last: the freeze applies to everything after it.
  it("freeze: players see the standings as of the freeze, admins see live", async () => {
    const [c1, c2] = [await t.challenge({ value: 100_000 }), await t.challenge({ value: 300_000 })];
    const [first, second] = [await t.register("fz_first"), await t.register("fz_second")];
    await solve(first, c1);
    const solvedAt = Date.now();
    // Freeze at the next whole second (CTFd's config is in epoch seconds), then act after it.
    const freeze = Math.ceil((solvedAt + 1) / 1000);
    await setConfig(t, { freeze });
    while (Date.now() < freeze * 1000 + 50) await sleep(50);
    await solve(second, c2);
    await award(t, { user_id: first.user!.id }, 1);
    await settle(t);

    const player = await t.register("fz_viewer");
    for (const viewer of [anonymous, player]) {
      expect(ranking(only(await boardOf(viewer), ["fz_first", "fz_second"]))).to.deep.equal([["fz_first", 100_000]]);
      const top = await viewer.get("/api/v1/scoreboard/top/1");
      expect(top.body.data["1"].name).to.equal("fz_first");
      expect(top.body.data["1"].solves.map((s: any) => s.value)).to.deep.equal([100_000]);
    }
    for (const admin of [t.admin, t.bootstrap]) {
      expect(ranking(only(await boardOf(admin), ["fz_first", "fz_second"]))).to.deep.equal([
        ["fz_second", 300_000],
        ["fz_first", 100_001],
      ]);
    }
    // Lifting the freeze shows everything to everyone.
    await setConfig(t, { freeze: null });
    await settle(t);
    expect(ranking(only(await boardOf(anonymous), ["fz_first", "fz_second"]))).to.deep.equal([
      ["fz_second", 300_000],
      ["fz_first", 100_001],
    ]);
  });

  it("after the freeze a dynamic challenge keeps its value at the freeze, and account pages agree with the board", async () => {
    const dynamic = await t.challenge({ type: "dynamic", initial: 900_000, minimum: 100, decay: 100_000, function: "linear" });
    const [early, late] = [await t.register("fzd_early"), await t.register("fzd_late")];
    await solve(early, dynamic);
    const freeze = Math.ceil((Date.now() + 1) / 1000);
    await setConfig(t, { freeze });
    while (Date.now() < freeze * 1000 + 50) await sleep(50);
    await solve(late, dynamic); // decays the challenge to 800,000 after the freeze
    await settle(t);
    const row = (await boardOf(anonymous)).find((r) => r.name === "fzd_early")!;
    expect(row.score).to.equal(900_000);
    const page = await anonymous.get(`/api/v1/users/${early.user!.id}`);
    expect(page.body.data.score).to.equal(row.score);
    expect(page.body.data.place).to.match(new RegExp(`^${row.pos}(st|nd|rd|th)$`));
    // Live (admin) views use the current value.
    const live = (await boardOf(t.admin)).find((r) => r.name === "fzd_early")!;
    expect(live.score).to.equal(800_000);
    expect((await t.admin.get(`/api/v1/users/${early.user!.id}`)).body.data.score).to.equal(800_000);
    await setConfig(t, { freeze: null });
  });
});

describe("scoreboard API, team mode", function () {
  this.timeout(180_000);
  let t: TestCtf;

  before(async () => {
    t = await startScoreboard({ mode: "teams" });
  });
  after(async () => t?.stop());

  it("the incident in team mode: hidden and banned teams and members, any order (200, correct rows and members)", async () => {
    const challenge = await t.challenge({ value: 100 });
    type Op = "hidden team solves" | "hide team" | "banned team scores" | "ban team" | "hidden member solves" | "hide member" | "banned member solves" | "ban member";
    const all: Op[] = ["hidden team solves", "hide team", "banned team scores", "ban team", "hidden member solves", "hide member", "banned member solves", "ban member"];
    let round = 0;
    for (const order of orders(all, 4)) {
      round++;
      // "banned member solves" must happen before "ban member" (a banned user cannot solve): keep that pair in order.
      const sequence: Op[] = order.filter((op) => op !== "banned member solves");
      sequence.splice(sequence.indexOf("ban member"), 0, "banned member solves");
      const visible = await teamPlayer(t, `V${round}`, true);
      const hiddenMember = await teamPlayer(t, `V${round}`, false);
      const bannedMember = await teamPlayer(t, `V${round}`, false);
      const hiddenTeam = await teamPlayer(t, `H${round}`, true);
      const bannedTeam = await teamPlayer(t, `B${round}`, true);
      let bannedTeamIsBanned = false;
      for (const op of sequence) {
        if (op === "hidden team solves") await solve(hiddenTeam.player, challenge);
        if (op === "hide team") await patchTeam(t, hiddenTeam.teamId, { hidden: true });
        if (op === "banned team scores") bannedTeamIsBanned ? await award(t, { team_id: bannedTeam.teamId }, 100) : await solve(bannedTeam.player, challenge);
        if (op === "ban team") {
          await patchTeam(t, bannedTeam.teamId, { banned: true });
          bannedTeamIsBanned = true;
        }
        if (op === "hidden member solves") await award(t, { user_id: hiddenMember.player.user!.id }, 7);
        if (op === "hide member") await patchUser(t, hiddenMember.player.user!.id, { hidden: true });
        if (op === "banned member solves") await solve(bannedMember.player, challenge);
        if (op === "ban member") await patchUser(t, bannedMember.player.user!.id, { banned: true });
      }
      await solve(visible.player, await t.challenge({ value: 1 }));
      await settle(t);
      for (const client of [t.anonymous(), t.admin]) {
        const rows = await boardOf(client);
        const names = rows.map((r) => r.name);
        expect(names, sequence.join(" → ")).to.include(`V${round}`);
        expect(names, sequence.join(" → ")).not.to.include.members([`H${round}`, `B${round}`]);
        const row = rows.find((r) => r.name === `V${round}`)!;
        // The team keeps its banned member's solve and hidden member's award; only the visible member is listed.
        expect(row.score, sequence.join(" → ")).to.equal(100 + 7 + 1);
        expect(row.members.map((m: any) => m.id)).to.deep.equal([visible.player.user!.id]);
        expect(row).to.include({ account_type: "team", account_url: `/teams/${visible.teamId}` });
      }
    }
  });

  it("lists members with their own points, and follows a member who leaves", async () => {
    const a = await teamPlayer(t, "members_team", true);
    const b = await teamPlayer(t, "members_team", false);
    await solve(a.player, await t.challenge({ value: 40 }));
    await solve(b.player, await t.challenge({ value: 2 }));
    await award(t, { user_id: b.player.user!.id }, 3);
    await settle(t);
    const row = (await boardOf(t.anonymous())).find((r) => r.name === "members_team")!;
    expect(row.score).to.equal(45);
    expect(row.members.map((m: any) => [m.id, m.score])).to.deep.equal([
      [a.player.user!.id, 40],
      [b.player.user!.id, 5],
    ]);
    expect(row.members[0]).to.have.all.keys("id", "oauth_id", "name", "score", "bracket_id", "bracket_name");
    const left = await b.player.post("/api/v1/teams/me/leave", {});
    expect(left.status, JSON.stringify(left.body)).to.equal(200);
    await settle(t);
    const after = (await boardOf(t.anonymous())).find((r) => r.name === "members_team")!;
    expect(after.members.map((m: any) => m.id)).to.deep.equal([a.player.user!.id]);
    // A rebuild agrees with the incremental result.
    const before = await boardOf(t.admin);
    expect((await t.bootstrap.post("/api/v1/scoreboard/rebuild")).status).to.equal(200);
    expect(await boardOf(t.admin)).to.deep.equal(before);
  });
});
