import { expect } from "chai";
import type { Client, TestCtf } from "../../helpers/ctf.js";
import { award, patchUser, setConfig, sleep, startScoreboard } from "./helpers.js";

/**
 * Read-your-writes on the instance that took the write (issue 11, hole 9): the GET sent right after a write's
 * answer, with no sleep and no drain, sees the write. Each kind runs ROUNDS times.
 *
 * Meanwhile, as during an event, an admin keeps hiding and showing a bystander (so the scoreboard always has
 * other changes in hand) and another writer keeps the database busy with short transactions (so the consumers'
 * own reads, an account's reload, the settings, a challenge, wait their turn). On Postgres
 * every read is a round trip anyway; on the embedded database a query finishes without yielding to the event
 * loop, and only a transaction held across a turn of the loop (any real writer's) makes the wait visible.
 */
const ROUNDS = 100;

/** The anonymous board's score of one account, or null when it is not listed. */
async function scoreOf(client: Client, accountId: number): Promise<number | null> {
  const res = await client.get("/api/v1/scoreboard");
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body.data.find((row: Record<string, any>) => row.account_id === accountId)?.score ?? null;
}

describe("read-your-writes: the next GET sees the write (issue 11, hole 9)", function () {
  this.timeout(600_000);
  let t: TestCtf;
  let anonymous: Client;
  let stopNoise: () => Promise<void>;

  before(async function () {
    this.timeout(120_000);
    t = await startScoreboard();
    anonymous = t.anonymous();
    const bystander = await t.register("ryw_bystander");
    let running = true;
    let hidden = false;
    const noise = [
      (async () => {
        while (running) await patchUser(t, bystander.user!.id, { hidden: (hidden = !hidden) });
      })(),
      (async () => {
        while (running) {
          await t.kernel.db.transaction(async (tx) => {
            await tx.query(`SELECT count(*) FROM ctf_users`);
            await sleep(3);
          });
        }
      })(),
    ];
    stopNoise = async () => {
      running = false;
      await Promise.all(noise);
    };
  });
  after(async () => {
    await stopNoise?.();
    await t?.stop();
  });

  it(`a solve: ${ROUNDS} times (10 players × 10 challenges, static and dynamic)`, async () => {
    const challenges: Array<{ id: number; dynamic: boolean }> = [];
    for (let i = 0; i < 5; i++) challenges.push({ id: await t.challenge({ value: 10 }), dynamic: false });
    for (let i = 0; i < 5; i++) challenges.push({ id: await t.challenge({ type: "dynamic", initial: 500, minimum: 100, decay: 50, function: "linear" }), dynamic: true });
    for (let p = 0; p < 10; p++) {
      const player = await t.register(`ryw_solver${p}`);
      for (const challenge of challenges) {
        const res = await player.post("/api/v1/challenges/attempt", { challenge_id: challenge.id, submission: "flag{test}" });
        expect(res.body?.data?.status, JSON.stringify(res.body)).to.equal("correct");
        // What the account is worth now, from the challenge list (read from the database): the board must agree.
        const list = await player.get("/api/v1/challenges");
        const expected = list.body.data.filter((c: any) => c.solved_by_me).reduce((sum: number, c: any) => sum + c.value, 0);
        expect(await scoreOf(anonymous, player.user!.id), `player ${p}, challenge ${challenge.id}`).to.equal(expected);
      }
    }
  });

  it(`an award: ${ROUNDS} times`, async () => {
    const player = await t.register("ryw_awarded");
    for (let i = 1; i <= ROUNDS; i++) {
      await award(t, { user_id: player.user!.id }, 7);
      expect(await scoreOf(anonymous, player.user!.id), `award ${i}`).to.equal(7 * i);
    }
  });

  it(`a hide and an unhide: ${ROUNDS} times each`, async () => {
    const player = await t.register("ryw_hidden");
    await award(t, { user_id: player.user!.id }, 5);
    for (let i = 1; i <= ROUNDS; i++) {
      await patchUser(t, player.user!.id, { hidden: true });
      expect(await scoreOf(anonymous, player.user!.id), `hide ${i}`).to.equal(null);
      await patchUser(t, player.user!.id, { hidden: false });
      expect(await scoreOf(anonymous, player.user!.id), `unhide ${i}`).to.equal(5);
    }
  });

  it(`a ban (and its lifting): ${ROUNDS} times`, async () => {
    const player = await t.register("ryw_banned");
    await award(t, { user_id: player.user!.id }, 5);
    for (let i = 1; i <= ROUNDS; i++) {
      await patchUser(t, player.user!.id, { banned: true });
      expect(await scoreOf(anonymous, player.user!.id), `ban ${i}`).to.equal(null);
      await patchUser(t, player.user!.id, { banned: false });
      expect(await scoreOf(anonymous, player.user!.id), `unban ${i}`).to.equal(5);
    }
  });

  it(`score_visibility: ${ROUNDS / 2} times hidden and back`, async () => {
    for (let i = 1; i <= ROUNDS / 2; i++) {
      await setConfig(t, { score_visibility: "hidden" });
      expect((await anonymous.get("/api/v1/scoreboard")).status, `hidden ${i}`).to.equal(403);
      await setConfig(t, { score_visibility: "public" });
      expect((await anonymous.get("/api/v1/scoreboard")).status, `public ${i}`).to.equal(200);
    }
  });
});
