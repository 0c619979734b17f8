/**
 * A worker killed with SIGKILL in the middle of a start: the start queue's message stays pending, another worker
 * claims it (after claimStaleAfterS) and the start completes. Real Postgres, Redis and Docker engine; one web and two
 * worker processes share them. Ports 32400-32499.
 */
import { expect } from "chai";
import pg from "pg";
import { backends, uniqueName } from "../../helpers/backends.js";
import { Client } from "../../helpers/ctf.js";
import { spawnInstance, whenListening, type Instance } from "../../helpers/instances.js";
import { dropSchema, eventually, TEST_ADMIN_TOKEN } from "../../helpers/kernel.js";
import { containersInRange, FLAG_IMAGE, readService, removeContainersInRange, WHALE_PLUGIN } from "./helpers.js";
import { CTF_PLUGIN } from "../../helpers/ctf.js";

const PORTS: [number, number] = [32400, 32499];
/** Short, so the test does not wait a minute; long enough for the survivor to finish within it (see start-worker.ts). */
const CLAIM_STALE_S = 15;
/** The container runs (initialized) but answers only after this long: the window in which a worker dies. */
const SLOW_START_S = 6;

/**
 * The flag a ready container serves. This challenge's `nc -l` serves one connection and is started again by its
 * loop, so right after the readiness probe (or another read) the port can refuse for a moment: retry briefly.
 */
async function flagFrom(port: number): Promise<string> {
  return eventually(() => readService(port).catch(() => ""), 10_000, 200);
}

describe("whale: a worker killed with SIGKILL mid-start", function () {
  this.timeout(300_000);
  const schema = uniqueName("whalekill");
  const instances = new Map<string, Instance>();
  let db: pg.Client;
  let admin: Client;
  let challengeId: number;

  const start = (name: string, role: "web" | "worker") => {
    const instance = spawnInstance({
      name,
      schema,
      env: {
        FLAGHOST_ROLE: role,
        FLAGHOST_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
        FLAGHOST_PLUGIN_PATHS: `${CTF_PLUGIN},${WHALE_PLUGIN}`,
        FLAGHOST__queues__blockMs: "250",
        FLAGHOST__plugins__whale__network: "host",
        FLAGHOST__plugins__whale__portRange: JSON.stringify(PORTS),
        FLAGHOST__plugins__whale__publicHost: "127.0.0.1",
        FLAGHOST__plugins__whale__claimStaleAfterS: String(CLAIM_STALE_S),
        FLAGHOST__plugins__whale__readyTimeoutS: String(SLOW_START_S + 4),
        FLAGHOST__plugins__whale__consumers: "1",
      },
    });
    instances.set(name, instance);
    return instance;
  };
  const rows = async (sql: string, params: unknown[] = []): Promise<any[]> => (await db.query(sql.replace(/\bwhale_starts\b/g, `"${schema}".whale_starts`), params)).rows;

  before(async () => {
    await removeContainersInRange(PORTS);
    db = new pg.Client({ connectionString: backends.databaseUrl });
    await db.connect();
    await whenListening([start("web", "web"), start("worker-1", "worker"), start("worker-2", "worker")]);
    const web = instances.get("web")!;
    admin = new Client(web.url);
    const setup = admin.adopt(
      await admin.request("POST", "/api/v1/setup", { ctf_name: "Kill", user_mode: "users", name: "admin", email: "admin@example.test", password: "admin-password-123" }, { authorization: `Token ${TEST_ADMIN_TOKEN}` }),
    );
    expect(setup.status).to.equal(200);
    const made = await admin.post("/api/v1/challenges", {
      name: "slow box",
      value: 100,
      type: "container",
      image: FLAG_IMAGE,
      port: 8000,
      command: ["/bin/sh", "-c", `sleep ${SLOW_START_S}; while true; do echo "$FLAG" | nc -l -p "$PORT"; done`],
    });
    expect(made.status).to.equal(200);
    challengeId = made.body.data.id;
  });
  after(async () => {
    for (const instance of instances.values()) instance.child.kill("SIGKILL");
    await db?.end();
    await dropSchema(schema);
    await removeContainersInRange(PORTS);
  });

  it("another worker claims the message and the start completes, with one container serving the player's flag", async () => {
    const web = instances.get("web")!;
    const player = new Client(web.url);
    expect(player.adopt(await player.post("/api/v1/auth/register", { name: "victim", email: "victim@example.test", password: "player-password-1" })).status).to.equal(200);

    const res = await player.post("/api/v1/containers", { challenge_id: challengeId });
    expect(res.status).to.equal(202);
    const startId = res.body.data.start_id as string;

    // Wait until a worker runs the container (initialized) and has not seen it answer yet; kill that worker.
    const { worker, containerId } = (await eventually(async () => {
      const [c] = await containersInRange(PORTS);
      const [row] = await rows(`SELECT status, worker FROM whale_starts WHERE id = $1`, [startId]);
      return c && row?.status === "initialized" ? { worker: row.worker as string, containerId: c.Id } : null;
    }, 60_000, 100))!;
    const victim = instances.get(worker)!;
    expect(victim, `worker ${worker}`).to.exist;
    victim.child.kill("SIGKILL");
    instances.delete(victim.name);

    const final = await eventually(async () => {
      const status = await player.get(`/api/v1/containers/status?id=${startId}`);
      return ["ready", "failed"].includes(status.body.data?.status) ? status.body.data : null;
    }, 120_000, 250);
    expect(final.status, final.error).to.equal("ready");
    const [row] = await rows(`SELECT worker FROM whale_starts WHERE id = $1`, [startId]);
    expect(row.worker).to.match(/^worker-/);
    expect(row.worker).not.to.equal(worker);
    const containers = await containersInRange(PORTS);
    expect(containers).to.have.length(1);
    expect(containers[0]!.Id).not.to.equal(containerId); // the survivor removed the dead worker's container and started anew
    expect(containers[0]!.Labels["flaghost.whale.start"]).to.equal(startId);
    expect(await flagFrom(final.connection.port)).to.match(/^flag\{u\d+_[0-9a-f]{32}\}$/);
    await player.request("DELETE", "/api/v1/containers", { challenge_id: challengeId });
  });

  it("six starts in flight over two workers, one killed while it is starting some: every start ends, and the engine has exactly the containers the records say", async () => {
    // The previous case killed a worker: a replacement makes two again.
    await whenListening([start("worker-3", "worker")]);
    const web = instances.get("web")!;
    // A shorter wait than the single case's, so that six starts on a loaded two-core machine keep a margin within
    // readyTimeoutS; still long enough for the kill to land while a start is under way.
    const herd = await admin.post("/api/v1/challenges", {
      name: "herd box",
      value: 100,
      type: "container",
      image: FLAG_IMAGE,
      port: 8000,
      command: ["/bin/sh", "-c", `sleep 3; while true; do echo "$FLAG" | nc -l -p "$PORT"; done`],
    });
    expect(herd.status).to.equal(200);
    const herdId = herd.body.data.id as number;
    const players = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const player = new Client(web.url);
        const name = `herd${i}`;
        expect(player.adopt(await player.post("/api/v1/auth/register", { name, email: `${name}@example.test`, password: "player-password-1" })).status).to.equal(200);
        return player;
      }),
    );
    const startIds = await Promise.all(
      players.map(async (player) => {
        const res = await player.post("/api/v1/containers", { challenge_id: herdId });
        expect(res.status, JSON.stringify(res.body)).to.equal(202);
        return res.body.data.start_id as string;
      }),
    );

    // Kill a worker while it is in the middle of a start (container created, not yet answering) and others wait.
    const victimName = (await eventually(async () => {
      const r = await rows(`SELECT status, worker FROM whale_starts WHERE id = ANY($1)`, [startIds]);
      const busy = r.find((row) => ["starting", "initialized"].includes(row.status) && instances.has(row.worker));
      return busy && r.some((row) => row.status === "queued") ? (busy.worker as string) : null;
    }, 60_000, 50))!;
    const inFlight = await rows(`SELECT id, status, worker FROM whale_starts WHERE id = ANY($1) AND status <> 'ready'`, [startIds]);
    expect(inFlight.length, "starts not yet ready when the worker died").to.be.at.least(2);
    const held = inFlight.filter((r) => r.worker === victimName && ["starting", "initialized"].includes(r.status)).map((r) => r.id);
    instances.get(victimName)!.child.kill("SIGKILL");
    instances.delete(victimName);
    const killedAt = Date.now();

    const finals = await Promise.all(
      players.map((player, i) =>
        eventually(async () => {
          const status = await player.get(`/api/v1/containers/status?id=${startIds[i]}`);
          return ["ready", "failed"].includes(status.body.data?.status) ? status.body.data : null;
        }, 180_000, 250),
      ),
    );
    // Every start ends: ready, or failed with the reason (on a loaded machine an attempt can run out of time).
    for (const final of finals) if (final.status === "failed") expect(final.error, "a failed start says why").to.be.a("string").and.not.empty;
    expect(await rows(`SELECT id, status FROM whale_starts WHERE id = ANY($1) AND status IN ('queued', 'starting', 'initialized')`, [startIds])).to.deep.equal([]);
    const ready = startIds.filter((_, i) => finals[i].status === "ready");
    const timeline = await rows(
      `SELECT host_port, status, worker, attempt, id = ANY($2) AS held, round(extract(epoch FROM picked_at - created_at) * 1000) AS picked_ms,
              round(extract(epoch FROM coalesce(ready_at, ended_at) - created_at) * 1000) AS ended_ms, error
         FROM whale_starts WHERE id = ANY($1) ORDER BY created_at`,
      [startIds, held],
    );
    expect(ready.length, `at most one start may run out of time: ${JSON.stringify(timeline)}`).to.be.at.least(5);
    // The starts the killed worker was in the middle of were claimed and ended by the surviving worker.
    const finishers = await rows(`SELECT id, worker, status FROM whale_starts WHERE id = ANY($1)`, [held]);
    expect(finishers, "the killed worker was in the middle of a start").to.not.be.empty;
    expect(finishers.map((r) => r.worker)).to.not.include(victimName);
    const [{ last }] = await rows(`SELECT max(ready_at) AS last FROM whale_starts WHERE id = ANY($1)`, [startIds]);
    console.log(`      measured: ${held.length} start(s) held by the killed worker, ${ready.length} of 6 ready, the last ${new Date(last).getTime() - killedAt} ms after the kill (claimStaleAfterS ${CLAIM_STALE_S})`);
    // The engine has exactly one container per ready start (the dead worker's leftovers and failed starts' removed).
    const containers = await containersInRange(PORTS);
    expect(containers.map((c) => c.Labels["flaghost.whale.start"]).sort()).to.deep.equal([...ready].sort());
    for (const final of finals.filter((f) => f.status === "ready")) expect(await flagFrom(final.connection.port)).to.match(/^flag\{u\d+_[0-9a-f]{32}\}$/);
    for (const player of players) await player.request("DELETE", "/api/v1/containers", { challenge_id: herdId });
    expect(await containersInRange(PORTS)).to.deep.equal([]);
  });
});
