import { expect } from "chai";
import { sessionAt, startAnotherInstance, type Client, type TestCtf } from "../../helpers/ctf.js";
import { eventually, type TestKernel } from "../../helpers/kernel.js";
import { boardOf, SCOREBOARD_PLUGIN, solve, startScoreboard, StreamClient, streamToken } from "./helpers.js";

/** Two instances on one Postgres schema and one Redis prefix: each keeps its own engine, fed by broadcast events. */
describe("scoreboard across instances (Postgres + Redis)", function () {
  this.timeout(120_000);
  let a: TestCtf;
  let b: TestKernel;
  const clients: StreamClient[] = [];

  before(async () => {
    a = await startScoreboard({ config: { instanceId: "a" } });
    b = await startAnotherInstance(a, { plugins: [SCOREBOARD_PLUGIN] });
  });
  after(async () => {
    for (const client of clients) client.close();
    await b?.kernel.stop();
    await a?.stop();
  });

  it("a solve made on one instance reaches the stream and the board of the other", async () => {
    // The token comes from instance a: the signing secret is shared through the database.
    const client = await StreamClient.open(b.url, await streamToken(a.anonymous()));
    clients.push(client);
    const snapshot = await client.next();
    expect(snapshot.type).to.equal("snapshot");

    const player = await a.register("cluster_player");
    await solve(player, await a.challenge({ value: 321 }));
    const delta = await client.next((m) => m.type === "delta" && m.event === "solve");
    expect(delta).to.include({ account_id: player.user!.id, value: 321, score: 321 });
    expect(delta.seq).to.equal(snapshot.seq + 1);
    expect(delta.rows.map((r: any) => [r.name, r.score])).to.deep.include(["cluster_player", 321]);

    const onB = await eventually(async () => {
      const rows = (await b.request("GET", "/api/v1/scoreboard", { token: null })).body.data as Array<Record<string, any>>;
      return rows.some((r) => r.name === "cluster_player") ? rows : null;
    });
    expect(onB).to.deep.equal(await boardOf(a.anonymous()));
  });

  it("an admin rebuild on one instance rebuilds the other (its clients get a fresh snapshot)", async () => {
    const client = await StreamClient.open(b.url, await streamToken(a.anonymous()));
    clients.push(client);
    const first = await client.next();
    // Written behind both engines' backs, then repaired by a rebuild asked of instance a.
    const player = await a.register("cluster_silent");
    await a.kernel.db.query(`INSERT INTO ctf_awards (user_id, name, value) VALUES ($1, 'silent', 777)`, [player.user!.id]);
    expect((await a.bootstrap.post("/api/v1/scoreboard/rebuild")).status).to.equal(200);
    const snapshot = await client.next((m) => m.type === "snapshot");
    expect(snapshot.seq).to.be.greaterThan(first.seq);
    expect(snapshot.standings.map((r: any) => [r.name, r.score])).to.deep.include(["cluster_silent", 777]);
  });

  it("a dynamic challenge solved on both instances shows the database's value on both, and scores it for every solver", async () => {
    const challengeId = await a.challenge({ type: "dynamic", initial: 500, minimum: 100, decay: 10, function: "linear" });
    const players = await Promise.all(Array.from({ length: 6 }, (_, i) => a.register(`dyn_${i}`)));
    // Every other player plays through instance b with the same session (sessions live in the database).
    const throughB = (player: Client) => sessionAt(b.url, player);
    await Promise.all(players.map((player, i) => solve(i % 2 === 0 ? player : throughB(player), challengeId)));
    const [{ value }] = (await a.kernel.db.query(`SELECT value FROM ctf_challenges WHERE id = $1`, [challengeId])) as [{ value: number }];
    expect(value).to.be.lessThan(500);
    for (const client of [players[0]!, throughB(players[1]!)]) {
      // Patched from the broadcast values, then read again in the background: the last word is the database's.
      await eventually(async () => {
        const row = (await client.get("/api/v1/challenges")).body.data.find((c: { id: number }) => c.id === challengeId);
        const score = (await client.get("/api/v1/users/me")).body.data.score;
        return row?.value === value && score === value;
      }, 15_000);
    }
  });
});
