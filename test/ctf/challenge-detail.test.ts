import { expect } from "chai";
import fc from "fast-check";
import { ChallengeDetails, detailData, type DetailReader } from "../../core/ctf/game/challenge-details.js";
import type { CachedChallenge } from "../../core/ctf/game/challenge-cache.js";
import { dynamicType, standardType } from "../../core/ctf/game/challenge-types.js";
import type { ChallengeType } from "../../core/ctf/service.js";
import { startCtf, type Client, type TestCtf } from "../helpers/ctf.js";

/**
 * `GET /api/v1/challenges/:id` from the player progress read model (issue 12): after every step of a random sequence of
 * right and wrong attempts and hint unlocks, every player's view of every challenge shows the attempts and unlocked
 * hints a recomputation from the database gives, right after the step's answer (read-your-writes); the answer ahead of
 * Koa and Koa's own (forced with a query string) are the same bytes with the same ETag; If-None-Match gets 304.
 */
const STEPS = Number(process.env.CHALLENGE_DETAIL_STEPS ?? 40);
const FLAG = "flag{detail}";

/** The raw answer: bytes as sent, for comparing the two paths. */
async function raw(client: Client, path: string, headers: Record<string, string> = {}) {
  const response = await fetch(client.baseUrl + path, { headers: { ...(client.cookie ? { cookie: client.cookie } : {}), ...headers } });
  return { status: response.status, text: await response.text(), etag: response.headers.get("etag"), headers: response.headers };
}

/** Requests Koa made a context for (the rest were answered ahead of it), counted on a test kernel's app. */
function countKoaRequests(t: TestCtf): { count: number } {
  const counter = { count: 0 };
  const app = t.kernel.app as unknown as { createContext: (...args: unknown[]) => unknown };
  const createContext = app.createContext;
  app.createContext = function (this: unknown, ...args: unknown[]) {
    counter.count++;
    return createContext.apply(this, args);
  };
  return counter;
}

/** How the plain reads of `detail` went: ahead of Koa, or through it (a first read, something not loaded yet). */
const paths = { prepared: 0, koa: 0 };

/** The detail view twice, prepared (or first loaded) and through Koa: equal bytes and ETag; answers the parsed data. */
async function detail(client: Client, challengeId: number, koa: { count: number }) {
  const before = koa.count;
  const first = await raw(client, `/api/v1/challenges/${challengeId}`);
  paths[koa.count === before ? "prepared" : "koa"]++;
  const ordinary = await raw(client, `/api/v1/challenges/${challengeId}?x=1`);
  expect(koa.count, "a query string takes the Koa route").to.be.greaterThan(before);
  expect(first.status, first.text).to.equal(200);
  expect(ordinary.text).to.equal(first.text);
  expect(ordinary.etag).to.equal(first.etag).and.to.match(/^"[\w-]+"$/);
  return JSON.parse(first.text).data as { attempts: number; solved_by_me: boolean; solves: number; hints: Array<{ id: number; cost: number; title: string; content?: string }> };
}

describe("challenge detail answers: joined strings equal the JSON of the whole object", () => {
  const types = new Map<string, ChallengeType>([standardType, dynamicType].map((t) => [t.id, t]));
  const challenge = (fields: Partial<CachedChallenge> = {}): CachedChallenge => ({
    id: 7, name: 'a "name" \u2028 with \\ odd </script> bytes', category: "web", description: "line\nnext \u00e9 \ud83d\ude00", connectionInfo: null, attribution: "by <b>", nextId: null,
    state: "visible", maxAttempts: 3, position: 2, type: "standard", value: 100, initial: null, minimum: null, decay: null, decayFunction: null,
    prerequisites: [], anonymize: false, typeSettings: {}, flags: [], ...fields,
  });
  const hints = [{ id: 1, cost: 0, title: "t\"1", content: "c\u0001" }, { id: 5, cost: 30, title: "", content: "" }, { id: 9, cost: 1, title: "\u00fc", content: "x" }];
  const readers: DetailReader[] = [
    { solved: false, attempts: 0, unlocked: new Set(), ended: false },
    { solved: true, attempts: 12, unlocked: new Set([5, 42]), ended: false },
    { solved: false, attempts: 1, unlocked: new Set([1, 9]), ended: false },
    { solved: false, attempts: 1, unlocked: new Set(), ended: true },
  ];

  it("for plain, dynamic, prerequisite and unknown-type challenges, with and without hints, and across changes", () => {
    const details = new ChallengeDetails(types);
    const cases = [
      challenge(),
      challenge({ type: "dynamic", initial: 500, minimum: 100, decay: 10, decayFunction: "linear", prerequisites: [1, 2], anonymize: true }),
      challenge({ type: "gone-plugin-type" }),
      challenge({ name: "renamed" }),
    ];
    for (const c of cases) {
      for (const h of [hints, []]) {
        for (const reader of readers) {
          const answer = details.answer(c, 42, h, reader);
          expect(answer.body.toString()).to.equal(JSON.stringify({ success: true, data: detailData(c, types, 42, h, reader) }));
          expect(details.answer(c, 42, h, reader)).to.equal(answer); // the same object for the same inputs
        }
      }
    }
  });

  it("keeps answers (and ETags) when the challenge cache reloads equal content, and moves them when a solve changes the count", () => {
    const details = new ChallengeDetails(types);
    const reader = readers[1]!;
    const first = details.answer(challenge(), 3, hints, reader);
    expect(details.answer(challenge(), 3, [...hints], reader)).to.equal(first);
    const solved = details.answer(challenge(), 4, hints, reader);
    expect(solved.etag).to.not.equal(first.etag);
    expect(JSON.parse(solved.body.toString()).data.solves).to.equal(4);
  });
});

type Step = { kind: "wrong" | "right"; seat: number; challenge: number } | { kind: "unlock"; seat: number; hint: number };

for (const mode of ["users", "teams"] as const) {
  describe(`challenge detail view from the player progress model (${mode} mode)`, function () {
    this.timeout(300_000);
    let t: TestCtf;
    let koa: { count: number };
    /** Players; in team mode seats 0 and 1 share a team (one account seen by two clients). */
    const seats: Array<{ client: Client; userId: number; teamId: number | null }> = [];
    const challengeIds: number[] = [];
    const hintIds: number[] = [];

    before(async () => {
      t = await startCtf({ mode, settings: { incorrect_submissions_per_minute: 10_000 } });
      koa = countKoaRequests(t);
      for (let i = 0; i < 3; i++) challengeIds.push(await t.challenge({ value: 100 }, FLAG));
      for (const [i, c] of challengeIds.entries()) {
        for (const cost of [0, i === 2 ? 1000 : 10]) {
          const res = await t.admin.post("/api/v1/hints", { challenge_id: c, title: `hint ${c}/${cost}`, content: `content of ${c}/${cost} "quoted" \u00e9`, cost });
          expect(res.status).to.equal(200);
          hintIds.push(res.body.data.id);
        }
      }
      let teamId: number | null = null;
      for (let i = 0; i < 3; i++) {
        const client = await t.register();
        if (mode === "teams") {
          const res = i === 1 ? await t.admin.post(`/api/v1/teams/${teamId}/members`, { user_id: client.user!.id }) : await client.post("/api/v1/teams/new", { name: `team ${i} ${Math.random()}`, password: "team-password-1" });
          expect(res.status, JSON.stringify(res.body)).to.equal(200);
          if (i !== 1) teamId = (await client.get("/api/v1/teams/me")).body.data.id;
        }
        seats.push({ client, userId: client.user!.id, teamId: mode === "teams" ? teamId : null });
      }
    });
    after(() => t?.stop());

    /** What the database says the seat's account has done on each challenge. */
    async function oracle(seat: (typeof seats)[number]) {
      const [column, id] = mode === "teams" ? ["team_id", seat.teamId] : ["user_id", seat.userId];
      const only = mode === "teams" ? "" : " AND team_id IS NULL";
      const attempts = await t.kernel.db.query<{ challenge_id: number; n: number }>(
        `SELECT challenge_id, count(*)::int AS n FROM ctf_submissions WHERE ${column} = $1${only} AND type IN ('correct', 'incorrect') GROUP BY challenge_id`,
        [id],
      );
      const unlocks = await t.kernel.db.query<{ hint_id: number }>(`SELECT hint_id FROM ctf_unlocks WHERE ${column} = $1${only}`, [id]);
      return { attempts: new Map(attempts.map((r) => [r.challenge_id, r.n])), unlocked: new Set(unlocks.map((r) => r.hint_id)) };
    }

    async function checkAll(): Promise<void> {
      for (const seat of seats) {
        const expected = await oracle(seat);
        for (const c of challengeIds) {
          const view = await detail(seat.client, c, koa);
          expect(view.attempts, `attempts of user ${seat.userId} on ${c}`).to.equal(expected.attempts.get(c) ?? 0);
          for (const hint of view.hints) expect("content" in hint, `hint ${hint.id} of user ${seat.userId}`).to.equal(expected.unlocked.has(hint.id));
        }
      }
    }

    it("attempts and unlocked hints equal a recomputation from the database after every step, on the writer's next read", async () => {
      const seat = fc.integer({ min: 0, max: 2 });
      const step: fc.Arbitrary<Step> = fc.oneof(
        { weight: 5, arbitrary: fc.record({ kind: fc.constant("wrong" as const), seat, challenge: fc.integer({ min: 0, max: 2 }) }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant("right" as const), seat, challenge: fc.integer({ min: 0, max: 2 }) }) },
        { weight: 3, arbitrary: fc.record({ kind: fc.constant("unlock" as const), seat, hint: fc.integer({ min: 0, max: 5 }) }) },
      );
      await checkAll(); // every account loaded: from here on, events keep the model current
      paths.prepared = paths.koa = 0;
      const steps = fc.sample(step, { numRuns: STEPS, seed: 12 });
      for (const s of steps) {
        const { client } = seats[s.seat]!;
        if (s.kind === "unlock") {
          const res = await client.post("/api/v1/unlocks", { target: hintIds[s.hint], type: "hints" });
          expect(res.status, JSON.stringify(res.body)).to.be.oneOf([200, 400]); // 400: unlocked already, or too dear
        } else {
          const res = await client.post("/api/v1/challenges/attempt", { challenge_id: challengeIds[s.challenge], submission: s.kind === "right" ? FLAG : "wrong" });
          expect(res.status, JSON.stringify(res.body)).to.equal(200);
        }
        await checkAll();
      }
      // Reads right after writes were answered from the model ahead of Koa, not by reloading it.
      expect(paths.prepared, JSON.stringify(paths)).to.be.greaterThan(paths.koa * 5);
    });

    it("right after a wrong attempt's answer the same instance shows attempts + 1, and right after an unlock the hint's content", async () => {
      const { client } = seats[2]!;
      const c = challengeIds[1]!;
      const before = await detail(client, c, koa);
      expect((await client.post("/api/v1/challenges/attempt", { challenge_id: c, submission: "nope" })).status).to.equal(200);
      expect((await detail(client, c, koa)).attempts).to.equal(before.attempts + 1);
      const locked = before.hints.find((h) => !("content" in h) && h.cost === 0);
      if (locked) {
        expect((await client.post("/api/v1/unlocks", { target: locked.id, type: "hints" })).status).to.equal(200);
        expect((await detail(client, c, koa)).hints.find((h) => h.id === locked.id)!.content).to.match(/^content of/);
      }
    });

    it("If-None-Match of the current ETag gets 304 on both paths, and a stale one the new body", async () => {
      const { client } = seats[0]!;
      const c = await t.challenge({ value: 10 }, FLAG); // unsolved: a wrong attempt counts
      const first = await raw(client, `/api/v1/challenges/${c}`);
      for (const path of [`/api/v1/challenges/${c}`, `/api/v1/challenges/${c}?x=1`]) {
        const again = await raw(client, path, { "if-none-match": first.etag! });
        expect(again.status, path).to.equal(304);
        expect(again.text).to.equal("");
        expect(again.headers.get("etag")).to.equal(first.etag);
      }
      expect((await client.post("/api/v1/challenges/attempt", { challenge_id: c, submission: "nope" })).status).to.equal(200);
      const moved = await raw(client, `/api/v1/challenges/${c}`, { "if-none-match": first.etag! });
      expect(moved.status).to.equal(200);
      expect(moved.etag).to.not.equal(first.etag);
    });

    it("a hint created, edited or deleted by an admin shows on the next read", async () => {
      const { client } = seats[0]!;
      const c = challengeIds[0]!;
      const created = await t.admin.post("/api/v1/hints", { challenge_id: c, title: "fresh", content: "fresh content", cost: 0 });
      const hintId = created.body.data.id as number;
      expect((await detail(client, c, koa)).hints.find((h) => h.id === hintId)).to.deep.equal({ id: hintId, cost: 0, title: "fresh" });
      expect((await t.admin.patch(`/api/v1/hints/${hintId}`, { title: "edited", cost: 5 })).status).to.equal(200);
      expect((await detail(client, c, koa)).hints.find((h) => h.id === hintId)).to.deep.equal({ id: hintId, cost: 5, title: "edited" });
      expect((await t.admin.patch(`/api/v1/hints/${hintId}`, { challenge_id: challengeIds[1] })).status).to.equal(200);
      expect((await detail(client, c, koa)).hints.find((h) => h.id === hintId)).to.equal(undefined);
      expect((await detail(client, challengeIds[1]!, koa)).hints.find((h) => h.id === hintId)).to.deep.equal({ id: hintId, cost: 5, title: "edited" });
      expect((await t.admin.delete(`/api/v1/hints/${hintId}`)).status).to.equal(200);
      expect((await detail(client, challengeIds[1]!, koa)).hints.find((h) => h.id === hintId)).to.equal(undefined);
    });

    it("a first read before anything is loaded (Koa) and the next ones (ahead of Koa) are the same bytes", async () => {
      const player = await t.register();
      if (mode === "teams") expect((await player.post("/api/v1/teams/new", { name: `late ${Math.random()}`, password: "team-password-1" })).status).to.equal(200);
      const c = challengeIds[2]!;
      const before = koa.count;
      const cold = await raw(player, `/api/v1/challenges/${c}`);
      expect(koa.count).to.equal(before + 1);
      const warm = await raw(player, `/api/v1/challenges/${c}`);
      expect(koa.count, "the second read is answered ahead of Koa").to.equal(before + 1);
      expect(cold.status).to.equal(200);
      expect(warm.text).to.equal(cold.text);
      expect(warm.etag).to.equal(cold.etag);
    });

    it("admins keep their own answer (hidden challenges, admin counts) with an ETag; odd ids are 404, never 500", async () => {
      const hidden = await t.challenge({ state: "hidden" }, FLAG);
      const admin = await raw(t.admin, `/api/v1/challenges/${hidden}`);
      expect(admin.status).to.equal(200);
      expect(admin.etag).to.match(/^"[\w-]+"$/);
      expect(JSON.parse(admin.text).data).to.include({ id: hidden, state: "hidden", attempts: 0 });
      expect((await raw(seats[0]!.client, `/api/v1/challenges/${hidden}`)).status).to.equal(404);
      for (const id of ["0", "99999", "2147483648", "1e3", "-1", "abc", "%00"]) {
        expect((await raw(seats[0]!.client, `/api/v1/challenges/${id}`)).status, id).to.be.oneOf([400, 404]);
      }
    });
  });
}
