import { expect } from "chai";
import { sessionAt, startAnotherInstance, startCtf, type Client, type TestCtf } from "../helpers/ctf.js";
import { eventually, type TestKernel } from "../helpers/kernel.js";

/**
 * The challenge detail view's read models across instances (issue 12): attempts, hint unlocks and hint edits made
 * through instance a reach instance b's player progress and hint cache through Redis, so b's answer converges to
 * a's (same bytes, same ETag) without b asking the database again.
 */
describe("challenge detail view converges on every instance (Postgres + Redis)", function () {
  this.timeout(120_000);
  let a: TestCtf;
  let b: TestKernel;

  before(async () => {
    a = await startCtf({ config: { instanceId: "a" } });
    b = await startAnotherInstance(a);
  });
  after(async () => {
    await b?.kernel.stop();
    await a?.stop();
  });

  /** The same session, used through instance b. */
  const onB = (client: Client) => sessionAt(b.url, client);
  const detailOf = async (client: Client, id: number) => {
    const response = await client.get(`/api/v1/challenges/${id}`);
    expect(response.status).to.equal(200);
    return { data: response.body.data, etag: response.headers.get("etag") };
  };
  const converged = (client: Client, id: number, check: (data: any) => boolean) => eventually(async () => check((await detailOf(client, id)).data), 10_000);

  it("a wrong attempt, an unlock and a hint edit made on a show on b, which had the account loaded already", async () => {
    const challenge = await a.challenge({ value: 100 });
    const hint = (await a.admin.post("/api/v1/hints", { challenge_id: challenge, title: "first", content: "secret", cost: 0 })).body.data.id as number;
    const player = await a.register();
    const onb = onB(player);
    const start = await detailOf(onb, challenge); // b loads the account (and its hints) now
    expect(start.data).to.include({ attempts: 0, solved_by_me: false });
    expect(start.data.hints).to.deep.equal([{ id: hint, cost: 0, title: "first" }]);

    expect((await player.post("/api/v1/challenges/attempt", { challenge_id: challenge, submission: "wrong" })).status).to.equal(200);
    expect((await detailOf(player, challenge)).data.attempts).to.equal(1); // read-your-writes on a
    await converged(onb, challenge, (data) => data.attempts === 1);

    expect((await player.post("/api/v1/unlocks", { target: hint, type: "hints" })).status).to.equal(200);
    await converged(onb, challenge, (data) => data.hints[0].content === "secret");

    expect((await a.admin.patch(`/api/v1/hints/${hint}`, { title: "renamed", content: "new secret" })).status).to.equal(200);
    await converged(onb, challenge, (data) => data.hints[0].title === "renamed" && data.hints[0].content === "new secret");

    expect((await player.post("/api/v1/challenges/attempt", { challenge_id: challenge, submission: "flag{test}" })).status).to.equal(200);
    await converged(onb, challenge, (data) => data.attempts === 2 && data.solved_by_me === true && data.solves === 1);

    // Both instances now answer the same bytes.
    const [onA, onb2] = [await detailOf(player, challenge), await detailOf(onb, challenge)];
    expect(onb2.data).to.deep.equal(onA.data);
    expect(onb2.etag).to.equal(onA.etag);
  });

  it("b counts every attempt of a burst on a exactly once", async () => {
    const challenge = await a.challenge({ value: 100 });
    const player = await a.register();
    const onb = onB(player);
    expect((await detailOf(onb, challenge)).data.attempts).to.equal(0);
    const burst = await Promise.all(Array.from({ length: 8 }, () => player.post("/api/v1/challenges/attempt", { challenge_id: challenge, submission: "wrong" })));
    const counted = burst.filter((r) => r.body.data?.status === "incorrect").length; // the rest were rate limited
    expect(counted).to.be.greaterThan(0);
    await converged(onb, challenge, (data) => data.attempts === counted);
    // Settled: still exactly that many a moment later (no late double count).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await detailOf(onb, challenge)).data.attempts).to.equal(counted);
  });
});
