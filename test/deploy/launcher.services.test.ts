import { createServer, type Server } from "node:net";
import { expect } from "chai";
import { Redis } from "ioredis";
import { startCluster, type RunningCluster } from "../../core/cluster/launcher.js";
import { backends, uniqueName } from "../helpers/backends.js";
import { dropSchema, eventually, TEST_ADMIN_TOKEN } from "../helpers/kernel.js";
import { clusterPortOffsets, freePortBlock } from "../helpers/ports.js";

/**
 * The launcher's API as the event benchmark and the fault tests use it (startCluster, kill, restart, stop), on
 * real Postgres and Redis with a small cluster: two web processes and one worker behind nginx.
 */
describe("core/cluster/launcher: kill, restart and stop one process of a running cluster", function () {
  this.timeout(300_000);
  const schema = uniqueName("launcher");
  const admin = { Authorization: `Token ${TEST_ADMIN_TOKEN}` };
  let cluster: RunningCluster;
  const lines: string[] = [];

  const options = (port: number) => ({
    port,
    web: 2,
    workers: 1,
    schedulers: 0,
    databaseUrl: backends.databaseUrl!,
    redisUrl: backends.redisUrl!,
    env: { FLAGHOST_DB_SCHEMA: schema, FLAGHOST_REDIS_PREFIX: `${schema}:`, FLAGHOST_ADMIN_TOKEN: TEST_ADMIN_TOKEN, FLAGHOST_LOG_LEVEL: "warn" },
    onLine: (name: string, line: string) => lines.push(`${name}: ${line}`),
  });

  before(async () => {
    cluster = await startCluster(options(await freePortBlock(clusterPortOffsets({ web: 2, workers: 1, schedulers: 0 }))));
  });

  after(async () => {
    await cluster?.stop();
    await dropSchema(schema);
    const redis = new Redis(backends.redisUrl!);
    const keys = await redis.keys(`${schema}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  const instances = async (): Promise<Array<{ id: string; role: string; pid: number }>> => {
    const response = await fetch(`${cluster.url}/api/v1/admin/instances`, { headers: admin });
    expect(response.status).to.equal(200);
    return (await response.json()).data;
  };

  it("starts the processes it was asked for, each listening on its own port, and hands every output line to onLine", async () => {
    expect(cluster.processes().map((p) => `${p.name}:${p.role}`)).to.deep.equal(["web-1:web", "web-2:web", "worker-1:worker"]);
    for (const p of cluster.processes()) expect((await fetch(`http://127.0.0.1:${p.port}/healthz`)).status, p.name).to.equal(200);
    expect(lines.some((l) => l.startsWith("migrate: "))).to.equal(true);
    expect(lines.some((l) => l.startsWith("web-2: ") && l.includes("listening on"))).to.equal(true);
  });

  it("kill resolves once the process has exited; restart starts it again on the same port with a new pid", async () => {
    const before = cluster.processes().find((p) => p.name === "web-1")!;
    await cluster.kill("web-1");
    expect(before.child.signalCode).to.equal("SIGKILL");
    expect((await fetch(`${cluster.url}/readyz`)).status, "nginx retries on web-2").to.equal(200);

    const after = await cluster.restart("web-1");
    expect(after.port).to.equal(before.port);
    expect(after.pid).to.not.equal(before.pid);
    expect((await fetch(`http://127.0.0.1:${after.port}/healthz`)).status).to.equal(200);
    expect(cluster.processes().find((p) => p.name === "web-1")!.pid).to.equal(after.pid);
    // Its heartbeat under the same instance id now carries the new pid.
    await eventually(async () => (await instances()).find((i) => i.id === "web-1")?.pid === after.pid, 20_000, 250);
  });

  it("refuses an unknown process name", async () => {
    let error: Error | null = null;
    await cluster.kill("web-9").catch((e: Error) => (error = e));
    expect(error!.message).to.equal("cluster: no process named web-9");
  });

  it("refuses to start on a port that is taken, naming it", async () => {
    // Only nginx's port is taken: the web process's port is free, so the message names exactly one.
    const port = await freePortBlock(clusterPortOffsets({ web: 1, workers: 0, schedulers: 0 }));
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, resolve));
    try {
      let error: Error | null = null;
      await startCluster({ ...options(port), web: 1, workers: 0 }).catch((e: Error) => (error = e));
      expect(error!.message).to.equal(`cluster: port ${port} already in use (pick another PORT)`);
    } finally {
      blocker.close();
    }
  });

  it("stop ends every process and nginx, and may be called again", async () => {
    const children = cluster.processes().map((p) => p.child);
    await cluster.stop();
    await cluster.stop();
    for (const child of children) expect(child.exitCode !== null || child.signalCode !== null).to.equal(true);
    expect(() => process.kill(cluster.nginxPid, 0)).to.throw();
    const refused = await fetch(`${cluster.url}/readyz`).then(
      () => false,
      () => true,
    );
    expect(refused).to.equal(true);
  });
});
