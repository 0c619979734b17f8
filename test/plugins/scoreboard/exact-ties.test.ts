import { expect } from "chai";
import type { TestCtf } from "../../helpers/ctf.js";
import { boardOf, settle, startScoreboard } from "./helpers.js";

/**
 * Ties at the same instant (issue 11, hole 10). CTFd orders equal scores by the latest scoring time, then by the
 * latest scoring row's id (max(id) over the account's solves and awards), and its database keeps microseconds.
 * An event imported from CTFd brings exactly such rows; here they are written as the import writes them (rows
 * with their ids and times) and the board is rebuilt, then new rows arrive through the API's own events.
 *
 * Each pair is registered in the opposite order to the one CTFd shows, so a board that falls back to the
 * account id (or that rounds times to milliseconds) lists it the wrong way round.
 */
describe("scoreboard: ties at the same instant break like CTFd (issue 11, hole 10)", function () {
  this.timeout(120_000);
  let t: TestCtf;

  before(async () => {
    t = await startScoreboard();
  });
  after(async () => t?.stop());

  const user = async (name: string) => (await t.kernel.db.query<{ id: number }>(`INSERT INTO ctf_users (name) VALUES ($1) RETURNING id`, [name]))[0]!.id;
  const solveAt = async (id: number, userId: number, challengeId: number, at: string) => {
    await t.kernel.db.query(`INSERT INTO ctf_submissions (id, challenge_id, user_id, provided, type, created_at) VALUES ($1, $2, $3, 'x', 'correct', $4)`, [id, challengeId, userId, at]);
    await t.kernel.db.query(`INSERT INTO ctf_solves (id, submission_id, challenge_id, user_id, created_at) VALUES ($1, $1, $2, $3, $4)`, [id, challengeId, userId, at]);
  };
  const awardAt = (id: number, userId: number, value: number, at: string) =>
    t.kernel.db.query(`INSERT INTO ctf_awards (id, user_id, name, value, created_at) VALUES ($1, $2, 'imported', $3, $4)`, [id, userId, value, at]);

  /** Names of the board's rows among `names`, in board order, for an anonymous reader and an admin. */
  const order = async (names: string[]) => {
    const pick = (rows: Array<Record<string, any>>) => rows.filter((r) => names.includes(r.name)).map((r) => r.name);
    const shown = pick(await boardOf(t.anonymous()));
    expect(pick(await boardOf(t.admin)), "the admin's live board").to.deep.equal(shown);
    return shown;
  };

  /** The place each account page shows, in the order of `names`; they must agree with the board. */
  const places = async (names: string[]) => {
    const rows = await boardOf(t.anonymous());
    for (const name of names) {
      const row = rows.find((r) => r.name === name)!;
      const page = await t.anonymous().get(`/api/v1/users/${row.account_id}`);
      expect(page.body.data.place, `${name}'s page`).to.equal(ordinal(row.pos));
      expect(page.body.data.score, `${name}'s page`).to.equal(row.score);
    }
  };

  it("same instant: the account whose latest scoring row has the lower id ranks first; same millisecond: microseconds decide", async () => {
    const challenge = (await t.kernel.db.query<{ id: number }>(`INSERT INTO ctf_challenges (name, value) VALUES ('imported', 100) RETURNING id`))[0]!.id;
    // Pair A: both last scored at exactly 12:00:00.250000. a_second's rows (award 9402, solve 9002) all have lower
    // ids than a_first's latest (award 9501): max(id) 9402 < 9501, so CTFd lists a_second first although it
    // registered second.
    const [aFirst, aSecond] = [await user("a_first"), await user("a_second")];
    await solveAt(9001, aFirst, challenge, "2020-01-01T11:00:00.000000Z");
    await awardAt(9501, aFirst, 50, "2020-01-01T12:00:00.250000Z");
    await awardAt(9402, aSecond, 50, "2020-01-01T10:00:00Z");
    await solveAt(9002, aSecond, challenge, "2020-01-01T12:00:00.250000Z");
    // Pair B: the same millisecond, b_second 2 µs earlier (and with the higher ids): the time decides.
    const [bFirst, bSecond] = [await user("b_first"), await user("b_second")];
    await awardAt(9511, bFirst, 150, "2020-01-01T12:00:00.500003Z");
    await awardAt(9512, bSecond, 150, "2020-01-01T12:00:00.500001Z");

    expect((await t.bootstrap.post("/api/v1/scoreboard/rebuild")).status).to.equal(200);
    expect(await order(["a_first", "a_second"])).to.deep.equal(["a_second", "a_first"]);
    expect(await order(["b_first", "b_second"])).to.deep.equal(["b_second", "b_first"]);
    await places(["a_first", "a_second", "b_first", "b_second"]);

    // A live change through the API keeps the same rules: both get 10 points at once (one award each, written
    // in that order), so a_first's latest row now has the lower id and a time a little earlier.
    for (const id of [aFirst, aSecond]) {
      expect((await t.admin.post("/api/v1/awards", { user_id: id, name: "live", value: 10 })).status).to.equal(200);
    }
    await settle(t);
    expect(await order(["a_first", "a_second"])).to.deep.equal(["a_first", "a_second"]);
    // A rebuild from the database agrees with what the events built (times kept at the same precision).
    const live = await boardOf(t.admin);
    expect((await t.bootstrap.post("/api/v1/scoreboard/rebuild")).status).to.equal(200);
    expect(await boardOf(t.admin)).to.deep.equal(live);
    await places(["a_first", "a_second"]);
  });
});

const ordinal = (n: number) => `${n}${n % 100 >= 11 && n % 100 <= 13 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" } as Record<number, string>)[n % 10] ?? "th"}`;
