import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import pg from "pg";
import { backends, uniqueName } from "../helpers/backends.js";
import { spawnInstance, whenListening, type Instance } from "../helpers/instances.js";
import { dropSchema, eventually, fixturePlugin, responseBody, TEST_ADMIN_TOKEN } from "../helpers/kernel.js";

/**
 * Process roles on real Postgres and Redis (test/run.ts runs this only when both are set): one web, two workers
 * and one scheduler share a database and a Redis prefix, with the queue-probe fixture recording in its table
 * which process (pid and instance id) ran each job and handled each delivery of each message.
 */
describe("roles: web, worker and scheduler processes", function () {
  this.timeout(180_000);
  const schema = uniqueName("roles");
  const claimStaleAfterMs = 3_000;
  const scratch = mkdtempSync(join(tmpdir(), "flaghost-roles-"));
  const instances = new Map<string, Instance>();
  let db: pg.Client;

  const start = (name: string, role: "web" | "worker" | "scheduler") => {
    const instance = spawnInstance({
      name,
      schema,
      env: {
        FLAGHOST_ROLE: role,
        FLAGHOST_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
        FLAGHOST_PLUGIN_PATHS: fixturePlugin("queue-probe"),
        FLAGHOST__queues__blockMs: "250",
        FLAGHOST__queues__claimStaleAfterMs: String(claimStaleAfterMs),
        FLAGHOST__instances__heartbeatMs: "1000",
        "FLAGHOST__plugins__queue-probe__tick": "true",
      },
    });
    instances.set(name, instance);
    return instance;
  };

  const request = async (instance: Instance, method: string, path: string, body?: unknown) => {
    const response = await fetch(instance.url + path, {
      method,
      headers: { authorization: `Token ${TEST_ADMIN_TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: await responseBody(response) };
  };

  const rows = async (sql: string, params: unknown[] = []): Promise<any[]> =>
    (await db.query(sql.replace(/\b(kernel_job_runs|queue_probe_log)\b/g, `"${schema}".$1`), params)).rows;

  const get = (name: string) => instances.get(name)!;
  const workers = () => ["worker-1", "worker-2"].map(get);

  before(async () => {
    db = new pg.Client({ connectionString: backends.databaseUrl });
    await db.connect();
    const started = [start("web", "web"), start("worker-1", "worker"), start("worker-2", "worker"), start("scheduler", "scheduler")];
    // Four processes compile and boot at once on a shared two-core machine: that can take a while.
    await whenListening(started);
  });

  after(async () => {
    for (const instance of instances.values()) instance.child.kill("SIGKILL");
    await db.end();
    await dropSchema(schema);
    rmSync(scratch, { recursive: true, force: true });
  });

  it("lists every live instance with its role and pid under /api/v1/admin/instances", async () => {
    const listed = await eventually(async () => {
      const res = await request(get("web"), "GET", "/api/v1/admin/instances");
      return res.body.data?.length === 4 ? res.body.data : null;
    }, 10_000);
    expect(listed.map((i: any) => [i.id, i.role, i.pid])).to.deep.equal([
      ["scheduler", "scheduler", get("scheduler").child.pid],
      ["web", "web", get("web").child.pid],
      ["worker-1", "worker", get("worker-1").child.pid],
      ["worker-2", "worker", get("worker-2").child.pid],
    ]);
    for (const instance of listed) expect(instance).to.include.keys("host", "version", "startedAt", "lastSeen");
  });

  it("serves players only from the web process; a worker or scheduler answers only /healthz, /readyz (and /metrics)", async () => {
    expect((await request(get("web"), "GET", "/api/queue-probe/log")).status).to.equal(200);
    for (const instance of [get("worker-1"), get("scheduler")]) {
      expect((await request(instance, "GET", "/healthz")).status, instance.name).to.equal(200);
      expect((await request(instance, "GET", "/readyz")).status, instance.name).to.equal(200);
      expect((await request(instance, "GET", "/api/queue-probe/log")).status, instance.name).to.equal(404);
      expect((await request(instance, "GET", "/api/v1/admin/instances")).status, instance.name).to.equal(404);
    }
  });

  it("runs the cluster job only on the scheduler", async () => {
    await eventually(async () => (await rows(`SELECT count(*)::int AS n FROM queue_probe_log WHERE kind = 'job' AND message = 'tick'`))[0].n >= 3, 20_000, 200);
    expect(await rows(`SELECT DISTINCT pid FROM queue_probe_log WHERE kind = 'job'`)).to.deep.equal([{ pid: get("scheduler").child.pid }]);
    expect(await rows(`SELECT DISTINCT instance FROM kernel_job_runs`)).to.deep.equal([{ instance: "scheduler" }]);
  });

  it("hands a manual run from the web process to the scheduler: 202 with the run id, then the run under /runs", async () => {
    const res = await request(get("web"), "POST", "/api/v1/admin/jobs/queue-probe.manual/run");
    expect(res.status).to.equal(202);
    expect(res.body.data).to.include({ job: "queue-probe.manual", status: "queued" });
    const { runId } = res.body.data;
    const run = await eventually(async () => {
      const runs = (await request(get("web"), "GET", "/api/v1/admin/jobs/queue-probe.manual/runs")).body.data as any[];
      return runs.find((r) => r.id === runId && r.outcome === "succeeded");
    }, 15_000, 200);
    expect(run).to.include({ instance: "scheduler", trigger: "manual" });
    expect(await rows(`SELECT pid FROM queue_probe_log WHERE kind = 'job' AND message = 'manual'`)).to.deep.equal([{ pid: get("scheduler").child.pid }]);
  });

  it("has a message enqueued on the web process handled once, by a worker", async () => {
    expect((await request(get("web"), "POST", "/api/queue-probe/messages", { text: "hello" })).status).to.equal(201);
    await eventually(async () => (await rows(`SELECT 1 FROM queue_probe_log WHERE kind = 'done' AND message = 'hello'`)).length === 1, 15_000, 100);
    const handled = await rows(`SELECT kind, pid, instance, deliveries FROM queue_probe_log WHERE message = 'hello' ORDER BY id`);
    expect(handled).to.have.length(2);
    expect(handled.map((r) => r.deliveries)).to.deep.equal([1, 1]);
    expect(workers().map((w) => w.name)).to.include(handled[0].instance);
    expect(workers().map((w) => w.child.pid)).to.include(handled[0].pid);
  });

  it("keeps a message whose worker is killed with -9 mid-message: the other worker claims and finishes it", async () => {
    const release = join(scratch, "release");
    await request(get("web"), "POST", "/api/queue-probe/messages", { text: "slow", blockUntilFile: release });
    const [first] = (await eventually(async () => {
      const r = await rows(`SELECT instance, pid FROM queue_probe_log WHERE kind = 'start' AND message = 'slow'`);
      return r.length > 0 ? r : null;
    }, 15_000, 50))!;
    const victim = get(first.instance);
    victim.child.kill("SIGKILL");
    instances.delete(victim.name);
    writeFileSync(release, "go");
    const survivor = workers().find(Boolean)!;
    const done = await eventually(async () => {
      const r = await rows(`SELECT instance, pid, deliveries FROM queue_probe_log WHERE kind = 'done' AND message = 'slow'`);
      return r.length > 0 ? r : null;
    }, claimStaleAfterMs * 4, 100);
    expect(done).to.deep.equal([{ instance: survivor.name, pid: survivor.child.pid, deliveries: 2 }]);
  });

  it("never ran a job or handled a message on the web process", async () => {
    expect(await rows(`SELECT 1 FROM queue_probe_log WHERE pid = $1`, [get("web").child.pid])).to.deep.equal([]);
    expect(await rows(`SELECT 1 FROM kernel_job_runs WHERE instance = 'web'`)).to.deep.equal([]);
    // The queue consumers never ran on the scheduler either.
    expect(await rows(`SELECT 1 FROM queue_probe_log WHERE kind <> 'job' AND pid = $1`, [get("scheduler").child.pid])).to.deep.equal([]);
  });
});
