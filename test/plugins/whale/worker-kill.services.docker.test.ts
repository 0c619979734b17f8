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

describe("whale: a worker killed with SIGKILL mid-start", function () {
  this.timeout(300_000);
  const schema = uniqueName("whalekill");
  const instances = new Map<string, Instance>();
  let db: pg.Client;

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
  });
  after(async () => {
    for (const instance of instances.values()) instance.child.kill("SIGKILL");
    await db?.end();
    await dropSchema(schema);
    await removeContainersInRange(PORTS);
  });

  it("another worker claims the message and the start completes, with one container serving the player's flag", async () => {
    const web = instances.get("web")!;
    const admin = new Client(web.url);
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
    const player = new Client(web.url);
    expect(player.adopt(await player.post("/api/v1/auth/register", { name: "victim", email: "victim@example.test", password: "player-password-1" })).status).to.equal(200);

    const res = await player.post("/api/v1/containers", { challenge_id: made.body.data.id });
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
    expect(await readService(final.connection.port)).to.match(/^flag\{u\d+_[0-9a-f]{32}\}$/);
    await player.request("DELETE", "/api/v1/containers", { challenge_id: made.body.data.id });
  });
});
