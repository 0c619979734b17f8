import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { accepts } from "../helpers/tcp.js";
import { expect } from "chai";
import { Redis } from "ioredis";
import { backends, uniqueName } from "../helpers/backends.js";
import { dropSchema, eventually, projectRoot, TEST_ADMIN_TOKEN } from "../helpers/kernel.js";
import { clusterPortOffsets, freePortBlock } from "../helpers/ports.js";
import { StreamClient } from "../plugins/scoreboard/helpers.js";

/**
 * `npm run cluster`, the real CLI as a host runs it, on real Postgres and Redis (its own schema and key prefix),
 * everything checked through nginx: readiness, the instance list, a WebSocket upgrade, a web process killed with
 * -9 while requests go on, and a SIGINT that stops every process and nginx.
 */
describe("npm run cluster: six processes behind nginx", function () {
  // Six processes compile and boot at once on a shared two-core machine.
  this.timeout(360_000);
  const schema = uniqueName("cluster_cli");
  const admin = { Authorization: `Token ${TEST_ADMIN_TOKEN}` };
  let port = 0;
  let cli: ChildProcess | null = null;
  let output = "";
  let url = "";
  /** From the CLI's listing: name -> pid. */
  const pids = new Map<string, number>();
  let cliPid = 0;

  before(async function () {
    if (!existsSync("/usr/sbin/nginx")) {
      throw new Error("nginx is not installed (/usr/sbin/nginx): apt-get install -y --no-install-recommends nginx (.ci/run does)");
    }
    port = await freePortBlock(clusterPortOffsets({ web: 3, workers: 2, schedulers: 1 }));
    cli = spawn("npm", ["run", "cluster"], {
      cwd: projectRoot,
      env: {
        ...process.env,
        PORT: String(port),
        DATABASE_URL: backends.databaseUrl!,
        REDIS_URL: backends.redisUrl!,
        FLAGHOST_DB_SCHEMA: schema,
        FLAGHOST_REDIS_PREFIX: `${schema}:`,
        FLAGHOST_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
        FLAGHOST_LOG_LEVEL: "warn",
      },
      // Its own process group, so a failed test can still take down everything it started.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    cli.stdout!.on("data", (c) => (output += c));
    cli.stderr!.on("data", (c) => (output += c));
    await eventually(() => output.includes("ready on") || cli!.exitCode !== null, 330_000, 200);
    expect(output, "the CLI should print the cluster's URL").to.include("ready on");
    url = /ready on (http:\/\/\S+)/.exec(output)![1]!;
    for (const match of output.matchAll(/^ {2}(\S+)\s+(?:web|worker|scheduler|balancer)\s+pid (\d+)/gm)) pids.set(match[1]!, Number(match[2]));
    cliPid = Number(/kill -INT (\d+)/.exec(output)![1]);
  });

  after(async () => {
    if (cli && cli.exitCode === null && cli.signalCode === null) {
      try {
        process.kill(-cli.pid!, "SIGKILL");
      } catch {}
    }
    for (const pid of pids.values()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    await dropSchema(schema);
    const redis = new Redis(backends.redisUrl!);
    const keys = await redis.keys(`${schema}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it("prints every process with its pid and nginx's URL on PORT", () => {
    expect(url).to.equal(`http://127.0.0.1:${port}`);
    expect([...pids.keys()].sort()).to.deep.equal(["nginx", "scheduler-1", "web-1", "web-2", "web-3", "worker-1", "worker-2"]);
  });

  it("answers /readyz through nginx", async () => {
    const response = await fetch(`${url}/readyz`);
    expect(response.status).to.equal(200);
    expect((await response.json()).data).to.include({ database: "ok", redis: "ok" });
  });

  it("lists 3 web, 2 worker and 1 scheduler processes with live pids in /api/v1/admin/instances", async () => {
    const response = await fetch(`${url}/api/v1/admin/instances`, { headers: admin });
    expect(response.status).to.equal(200);
    const instances: Array<{ id: string; role: string; pid: number }> = (await response.json()).data;
    const listed = instances.map((i) => `${i.id}:${i.role}:${i.pid}`).sort();
    const expected = [...pids].filter(([name]) => name !== "nginx").map(([name, pid]) => `${name}:${name.replace(/-\d+$/, "")}:${pid}`).sort();
    expect(listed).to.deep.equal(expected);
    for (const { pid } of instances) expect(alive(pid), `pid ${pid}`).to.equal(true);
  });

  it("upgrades the scoreboard WebSocket through nginx and sends its snapshot", async () => {
    const stream = await openStream();
    const snapshot = await stream.next((m) => m.type === "snapshot");
    expect(snapshot).to.have.property("standings").that.is.an("array");
    stream.close();
  });

  it("passes server-sent events (/events) through nginx: the stream opens and its first event arrives", async () => {
    const controller = new AbortController();
    const response = await fetch(`${url}/events`, { signal: controller.signal });
    expect(response.status).to.equal(200);
    expect(response.headers.get("content-type")).to.include("text/event-stream");
    const reader = response.body!.getReader();
    const first = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), 5_000))]);
    controller.abort();
    expect(first && new TextDecoder().decode(first.value)).to.equal(": connected\n\n");
  });

  it("rate-limits by the address nginx saw, whatever X-Forwarded-For the client sends", async () => {
    // Login allows 10 attempts per client address. Were the client's header trusted, each forged address would
    // get a bucket of its own and none of these would be refused.
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const response = await fetch(`${url}/api/v1/auth/login`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Forwarded-For": `203.0.113.${i + 1}` },
        body: JSON.stringify({ name: "nobody", password: "wrong-password" }),
      });
      statuses.push(response.status);
    }
    expect(statuses.slice(0, 10).filter((s) => s === 429)).to.deep.equal([]);
    expect(statuses.slice(10)).to.deep.equal([429, 429]);
  });

  it("keeps answering through nginx after a web process is killed with -9, and its WebSocket clients reconnect to another", async () => {
    // Round robin puts three consecutive sockets on the three web processes: one of them is on web-2.
    const streams = [await openStream(), await openStream(), await openStream()];
    for (const s of streams) await s.next((m) => m.type === "snapshot");
    const victim = pids.get("web-2")!;
    process.kill(victim, "SIGKILL");
    await eventually(() => !alive(victim), 10_000);

    await eventually(() => streams.filter((s) => s.closed).length === 1, 10_000);
    expect(streams.filter((s) => s.closed).map((s) => s.closed!.code)).to.deep.equal([1006]);

    // Every request succeeds: the one sent to web-2 is retried on another process, which then stays out of
    // rotation for fail_timeout.
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push((await fetch(`${url}/api/v1/scoreboard`)).status);
      statuses.push((await fetch(`${url}/api/v1/admin/instances`, { headers: admin })).status);
    }
    expect(statuses.filter((s) => s !== 200)).to.deep.equal([]);

    const again = await openStream();
    expect(await again.next((m) => m.type === "snapshot")).to.have.property("seq");
    for (const s of [...streams, again]) s.close();
  });

  it("stops every process and nginx on SIGINT to the CLI, and exits 0", async () => {
    const exited = new Promise<[number | null, string | null]>((r) => cli!.once("exit", (code, signal) => r([code, signal])));
    process.kill(cliPid, "SIGINT");
    expect(await exited).to.deep.equal([0, null]);
    expect(output).to.include("stopped");
    for (const [name, pid] of [...pids, ["cli", cliPid] as const]) expect(alive(pid), `${name} (pid ${pid}) should be gone`).to.equal(false);
    expect(await accepts(port)).to.equal(false);
  });

  /** A live-view stream token for the bootstrap admin, and a socket opened through nginx with it. */
  async function openStream(): Promise<StreamClient> {
    const response = await fetch(`${url}/api/v1/scoreboard/stream-token`, { method: "POST", headers: { ...admin, "Content-Type": "application/json" }, body: "{}" });
    expect(response.status).to.equal(200);
    return StreamClient.open(url, (await response.json()).data.token);
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

