/**
 * Redis restarts mid-event (issue 16, the Redis fault): web and worker processes with core/ctf, the scoreboard and
 * whale, on the shared Postgres and a private Redis (test/helpers/private-services.ts; the machine's shared one is
 * never restarted) without persistence, so a restart loses every key, stream and consumer group. Every process
 * reconnects by itself and nothing acknowledged is lost: solves made while Redis was away reach the other
 * instance's scoreboard, a container start answered 202 whose queue message vanished still reaches `ready`,
 * heartbeats come back, and a worker that lived through the restart takes new starts. Host ports 33800-33849.
 */
import { expect } from "chai";
import { Redis } from "ioredis";
import { resolve } from "node:path";
import { uniqueName } from "../helpers/backends.js";
import { Client, CTF_PLUGIN, sessionAt } from "../helpers/ctf.js";
import { spawnInstance, whenListening, type Instance } from "../helpers/instances.js";
import { dropSchema, eventually, projectRoot, responseBody, TEST_ADMIN_TOKEN } from "../helpers/kernel.js";
import { startPrivateRedis, type PrivateRedis } from "../helpers/private-services.js";
import { StreamClient, streamToken } from "../plugins/scoreboard/helpers.js";
import { containersInRange, FLAG_IMAGE, readService, removeContainersInRange, settled, WHALE_PLUGIN } from "../plugins/whale/helpers.js";

const PORTS: [number, number] = [33800, 33849];
const SCOREBOARD_PLUGIN = resolve(projectRoot, "plugins/scoreboard");
/** How soon after Redis is back the other instance must show what it missed (the consistency job alone: 5 min). */
const RESYNC_BOUND_MS = 20_000;

describe("faults: Redis restarts mid-event", function () {
  this.timeout(400_000);
  const schema = uniqueName("redisfault");
  let redis: PrivateRedis;
  const instances = new Map<string, Instance>();
  let challengeId: number;
  let boxId: number;
  const players: Client[] = [];
  const flag = "flag{redis-fault}";

  const start = (name: string, role: "web" | "worker") => {
    const instance = spawnInstance({
      name,
      schema,
      env: {
        REDIS_URL: redis.url,
        FLAGHOST_ROLE: role,
        FLAGHOST_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
        FLAGHOST_PLUGIN_PATHS: `${CTF_PLUGIN},${SCOREBOARD_PLUGIN},${WHALE_PLUGIN}`,
        FLAGHOST__queues__blockMs: "250",
        FLAGHOST__instances__heartbeatMs: "1000",
        FLAGHOST__plugins__whale__network: "host",
        FLAGHOST__plugins__whale__portRange: JSON.stringify(PORTS),
        FLAGHOST__plugins__whale__publicHost: "127.0.0.1",
        FLAGHOST__plugins__whale__consumers: "2",
      },
    });
    instances.set(name, instance);
    return instance;
  };
  const get = (name: string) => instances.get(name)!;
  const admin = async (instance: Instance, path: string) => {
    const res = await fetch(instance.url + path, { headers: { authorization: `Token ${TEST_ADMIN_TOKEN}` }, signal: AbortSignal.timeout(30_000) });
    return { status: res.status, body: await responseBody(res) };
  };
  /** The scoreboard of an instance as account id -> score (the bootstrap token sees live standings). */
  const board = async (instance: Instance): Promise<Map<number, number>> => {
    const res = await admin(instance, "/api/v1/scoreboard");
    expect(res.status).to.equal(200);
    return new Map((res.body.data as Array<{ account_id: number; score: number }>).map((r) => [r.account_id, r.score]));
  };
  const on = (instance: Instance, player: Client) => sessionAt(instance.url, player);
  const ready = async (instance: Instance) => (await admin(instance, "/readyz")).status === 200;
  const instanceIds = async (instance: Instance) => ((await admin(instance, "/api/v1/admin/instances")).body.data as Array<{ id: string }>).map((i) => i.id);

  before(async () => {
    await removeContainersInRange(PORTS);
    redis = await startPrivateRedis();
    await whenListening([start("web-a", "web"), start("web-b", "web")]);
    const owner = new Client(get("web-a").url);
    const setupBody = { ctf_name: "Redis fault", user_mode: "users", name: "admin", email: "admin@example.test", password: "admin-password-123" };
    expect(owner.adopt(await owner.request("POST", "/api/v1/setup", setupBody, { authorization: `Token ${TEST_ADMIN_TOKEN}` })).status).to.equal(200);
    const made = await owner.post("/api/v1/challenges", { name: "static", category: "misc", description: "d", value: 100, state: "visible" });
    challengeId = made.body.data.id;
    expect((await owner.post("/api/v1/flags", { challenge_id: challengeId, type: "static", content: flag })).status).to.equal(200);
    const box = await owner.post("/api/v1/challenges", { name: "box", category: "pwn", value: 100, type: "container", image: FLAG_IMAGE, port: 8000, state: "visible" });
    expect(box.status).to.equal(200);
    boxId = box.body.data.id;
    for (let i = 0; i < 6; i++) {
      const player = new Client(get(i % 2 ? "web-b" : "web-a").url);
      const name = `r${i}_${Math.random().toString(36).slice(2, 6)}`;
      expect(player.adopt(await player.post("/api/v1/auth/register", { name, email: `${name}@example.test`, password: "player-password-1" })).status).to.equal(200);
      players.push(player);
    }
  });

  after(async () => {
    for (const instance of instances.values()) instance.child.kill("SIGKILL");
    await redis?.stop();
    await dropSchema(schema);
    await removeContainersInRange(PORTS);
  });

  it("shows solves made while Redis was away on the other instance's scoreboard and stream (a fresh snapshot) once it is back, and heartbeats return", async () => {
    const [webA, webB] = [get("web-a"), get("web-b")];
    const solve = async (player: Client) => {
      const res = await on(webA, player).post("/api/v1/challenges/attempt", { challenge_id: challengeId, submission: flag });
      expect(res.status).to.equal(200);
      expect(res.body.data.status).to.equal("correct");
      return player.user!.id;
    };
    await eventually(async () => (await instanceIds(webB)).join() === "web-a,web-b", 15_000, 200);
    // A live scoreboard stream on B, open across the outage (the socket is to B, not through Redis).
    const stream = await StreamClient.open(webB.url, await streamToken(new Client(webA.url)));
    expect((await stream.next()).type).to.equal("snapshot");
    // Before: a solve on A reaches B's board and stream through the broadcast.
    const first = await solve(players[0]!);
    await eventually(async () => (await board(webB)).get(first) === 100, 10_000, 100);
    expect(await stream.next((m) => m.type === "delta" && m.account_id === first)).to.include({ score: 100 });

    await redis.down();
    const missed: number[] = [];
    for (const player of players.slice(1, 4)) missed.push(await solve(player)); // attempts need only Postgres
    const onA = await board(webA);
    for (const id of missed) expect(onA.get(id), "A applies its own solves at once").to.equal(100);
    const onB = await board(webB);
    for (const id of missed) expect(onB.has(id), "B cannot have heard of them: Redis is down").to.equal(false);
    expect(await ready(webA)).to.equal(false);

    await redis.up();
    const backAt = performance.now();
    await eventually(async () => {
      const now = await board(webB);
      return [first, ...missed].every((id) => now.get(id) === 100);
    }, RESYNC_BOUND_MS, 100);
    const resyncMs = performance.now() - backAt;
    // B's stream clients get the repaired standings as a fresh snapshot: no delta of the missed solves ever came.
    const repaired = await stream.next((m) => m.type === "snapshot", 10_000);
    const streamed = new Map((repaired.standings as Array<{ account_id: number; score: number }>).map((r) => [r.account_id, r.score]));
    for (const id of [first, ...missed]) expect(streamed.get(id), `account ${id} in the snapshot`).to.equal(100);
    stream.close();
    await eventually(async () => (await instanceIds(webB)).join() === "web-a,web-b", 15_000, 100);
    const heartbeatsMs = performance.now() - backAt;
    await eventually(async () => (await ready(webA)) && (await ready(webB)), 15_000, 100);
    // After: the broadcast works again too (both connections are back, B's subscription included).
    const after = await solve(players[4]!);
    await eventually(async () => (await board(webB)).get(after) === 100, 10_000, 100);
    console.log(`      after Redis came back: B's board had the missed solves in ${Math.round(resyncMs)} ms, both heartbeats listed in ${Math.round(heartbeatsMs)} ms`);
  });

  it("still starts a container answered 202 whose queue message was lost with Redis; a start asked while Redis is down answers 503", async () => {
    const [webA] = [get("web-a")];
    const player = on(webA, players[0]!);
    const res = await player.post("/api/v1/containers", { challenge_id: boxId });
    expect(res.status).to.equal(202);
    const startId = res.body.data.start_id as string;
    // No worker runs yet, so the message sits in the stream: the restart takes it away.
    await redis.down();
    const refused = await on(webA, players[1]!).post("/api/v1/containers", { challenge_id: boxId });
    expect(refused.status, JSON.stringify(refused.body)).to.equal(503);
    expect(refused.headers.get("retry-after")).to.match(/^\d+$/);
    expect(refused.body.errors.redis[0]).to.match(/Redis/);
    await redis.up();
    await eventually(() => ready(webA), 15_000, 100);

    const worker = start("worker", "worker");
    await whenListening([worker]);
    const final = await settled(player, startId, 120_000);
    expect(final.status, final.error).to.equal("ready");
    expect(await readService(final.connection.port)).to.match(/^flag\{u\d+_[0-9a-f]{32}\}$/);
    const containers = await containersInRange(PORTS);
    expect(containers.map((c) => c.Labels["flaghost.whale.start"])).to.deep.equal([startId]);
    // The refused start holds nothing: its player has no live start and may ask again.
    expect((await on(webA, players[1]!).get("/api/v1/containers")).body.data).to.deep.equal([]);
  });

  it("keeps a worker that lived through a restart taking new starts (its consumer group is made again)", async () => {
    const [webA, worker] = [get("web-a"), get("worker")];
    await redis.restart();
    await eventually(async () => (await ready(webA)) && (await ready(worker)), 20_000, 100);
    const player = on(webA, players[1]!);
    const res = await player.post("/api/v1/containers", { challenge_id: boxId });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    const final = await settled(player, res.body.data.start_id, 120_000);
    expect(final.status, final.error).to.equal("ready");
    expect(await readService(final.connection.port)).to.match(/^flag\{u\d+_[0-9a-f]{32}\}$/);
    // The stream was re-created by the enqueue and the group by the worker after the restart.
    const client = new Redis(redis.url);
    try {
      expect(await client.xlen(`${schema}:stream:whale.start`)).to.be.at.least(1);
    } finally {
      client.disconnect();
    }
    await eventually(async () => (await instanceIds(webA)).join() === "web-a,web-b,worker", 15_000, 100);
    for (const p of players.slice(0, 2)) await on(webA, p).request("DELETE", "/api/v1/containers", { challenge_id: boxId });
  });
});
