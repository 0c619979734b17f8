import { expect } from "chai";
import type { Database } from "../../core/kernel/db/data-source.js";
import { PlayerProgress } from "../../core/ctf/game/player-progress.js";
import type { Player } from "../../core/ctf/service.js";

/**
 * The player progress model's bookkeeping against loads, with a database whose answers the test releases by hand: an
 * event is never lost nor counted twice, whether it meets a load in flight or arrives after one that already saw it.
 */
describe("player progress: events against loads", () => {
  type Row = { kind: string; id: number; n: number };
  /** Loads wait here until the test answers them. */
  let pending: Array<(rows: Row[]) => void>;
  let loads: number;
  const db = {
    query: () => {
      loads++;
      return new Promise<Row[]>((resolve) => pending.push(resolve));
    },
  } as unknown as Database;
  const player = (id: number): Player => ({ userId: id, name: `p${id}`, admin: false, teamId: null, accountId: id, accountType: "user" });
  /** What a load answers: 2 attempts on challenge 1, hint 7 unlocked, the database's clock at `clock`. */
  const loaded = (clock: number): Row[] => [
    { kind: "attempts", id: 1, n: 2 },
    { kind: "unlock", id: 7, n: 0 },
    { kind: "clock", id: 0, n: clock },
  ];
  const attempt = (id: number, at: number) => ({ accountType: "user" as const, accountId: id, challengeId: 1, at });
  const flush = () => new Promise((resolve) => setImmediate(resolve));

  beforeEach(() => {
    pending = [];
    loads = 0;
  });

  it("loads an account once, then counts attempts and unlocks begun after the load", async () => {
    const progress = new PlayerProgress(db);
    expect(progress.peek(player(1))).to.equal(undefined);
    const first = progress.of(player(1));
    const second = progress.of(player(1)); // shares the load
    pending.shift()!(loaded(1000));
    expect(await first).to.equal(await second);
    expect(loads).to.equal(1);
    progress.attemptCounted(attempt(1, 1001));
    progress.awardCreated({ awardId: 1, userId: 1, teamId: null, value: 0, category: "hints", hintId: 8, date: "", at: 1002 });
    progress.awardCreated({ awardId: 2, userId: 1, teamId: null, value: 5, category: null, hintId: null, date: "", at: 1003 }); // not an unlock
    const now = progress.peek(player(1))!;
    expect(now.attempts.get(1)).to.equal(3);
    expect([...now.unlocked].sort()).to.deep.equal([7, 8]);
    progress.attemptCounted(attempt(2, 1004)); // an account not loaded: its first read will load it
    expect(progress.peek(player(2))).to.equal(undefined);
  });

  it("an event during a load: the load answers its callers but is not kept; the next read loads again", async () => {
    const progress = new PlayerProgress(db);
    const early = progress.of(player(1));
    progress.attemptCounted(attempt(1, 999)); // committed while the load ran: it may or may not see it
    pending.shift()!(loaded(1000));
    await early;
    expect(progress.peek(player(1))).to.equal(undefined);
    const again = progress.of(player(1));
    expect(loads).to.equal(2);
    pending.shift()!([{ kind: "attempts", id: 1, n: 3 }, { kind: "clock", id: 0, n: 2000 }]);
    expect((await again).attempts.get(1)).to.equal(3);
    expect(progress.peek(player(1))!.attempts.get(1)).to.equal(3);
  });

  it("an event for a write begun before the load's clock drops the account instead of counting it twice", async () => {
    const progress = new PlayerProgress(db);
    const load = progress.of(player(1));
    pending.shift()!(loaded(1000));
    await load;
    progress.attemptCounted(attempt(1, 1000)); // the load may already count it
    expect(progress.peek(player(1))).to.equal(undefined);
  });

  it("forgets accounts on changes, everything on clear, and the oldest past its bound", async () => {
    const progress = new PlayerProgress(db, { accounts: 2, ageMs: 600_000 });
    for (const id of [1, 2, 3]) {
      const load = progress.of(player(id));
      await flush();
      pending.shift()!(loaded(1000));
      await load;
    }
    expect(progress.peek(player(1))).to.equal(undefined); // evicted: the oldest
    expect(progress.size().accounts).to.equal(2);
    progress.accountUpdated({ accountType: "user", id: 2, changes: ["hidden"], affectedTeamIds: [] });
    expect(progress.peek(player(2))).to.equal(undefined);
    progress.awardDeleted({ awardId: 1, userId: 3, teamId: null });
    expect(progress.peek(player(3))).to.equal(undefined);
    const load = progress.of(player(3));
    pending.shift()!(loaded(1000));
    await load;
    progress.clear();
    expect(progress.size().accounts).to.equal(0);
  });

  it("loads an account again once it is older than the maximum age (an event lost without a sign heals)", async () => {
    const progress = new PlayerProgress(db, { accounts: 10, ageMs: 20 });
    const load = progress.of(player(1));
    pending.shift()!(loaded(1000));
    await load;
    expect(progress.peek(player(1))).to.not.equal(undefined);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(progress.peek(player(1))).to.equal(undefined);
    void progress.of(player(1));
    expect(loads).to.equal(2);
    pending.shift()!(loaded(2000));
  });

  it("shows nothing, without a query, for anonymous readers and players without an account", async () => {
    const progress = new PlayerProgress(db);
    expect((await progress.of(null)).attempts.size).to.equal(0);
    expect(progress.peek({ ...player(1), accountId: null, accountType: "team" })!.unlocked.size).to.equal(0);
    expect(loads).to.equal(0);
  });
});
