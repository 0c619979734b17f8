import { expect } from "chai";
import { fixturePlugin, eventually, startTestKernel, TEST_ADMIN_TOKEN, type TestKernel } from "../helpers/kernel.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ProbeRow {
  kind: string;
  pid: number;
  instance: string | null;
  message: string;
  deliveries: number | null;
}

const probeLog = async (t: TestKernel): Promise<ProbeRow[]> => (await t.request("GET", "/api/queue-probe/log")).body.data;
const rowsOf = async (t: TestKernel, text: string) => (await probeLog(t)).filter((r) => r.message === text);

/** Queues and roles inside one process (role `all` unless a test says otherwise); the multi-process side is roles.services.test.ts. */
describe("queues and roles in one process", function () {
  this.timeout(120_000); // each test boots a kernel; on a loaded shared machine that alone can take half a minute
  const probe = (config: Record<string, unknown> = {}, kernel: Record<string, unknown> = {}) =>
    startTestKernel({
      plugins: [fixturePlugin("queue-probe")],
      config: { queues: { blockMs: 100 }, plugins: { "queue-probe": { claimStaleAfterMs: 200, maxDeliveries: 3, ...config } }, ...kernel },
    });

  describe("role all", () => {
    let t: TestKernel;
    before(async () => {
      t = await probe();
    });
    after(() => t.stop());

    it("consumes a message added through the plugin's queue once, on this instance, and acknowledges it", async () => {
      const added = await t.request("POST", "/api/queue-probe/messages", { body: { text: "hello" } });
      expect(added.status).to.equal(201);
      expect(added.body.data.id).to.match(/^\d+-\d+$/);
      await eventually(async () => (await rowsOf(t, "hello")).some((r) => r.kind === "done"));
      expect(await rowsOf(t, "hello")).to.deep.equal([
        { kind: "start", pid: process.pid, instance: t.kernel.instanceId, message: "hello", deliveries: 1 },
        { kind: "done", pid: process.pid, instance: t.kernel.instanceId, message: "hello", deliveries: 1 },
      ]);
      await eventually(async () => (await t.kernel.coordination.streamPending("queue-probe.probe", "flaghost")).count === 0);
      expect(t.kernel.queues.streams()).to.include.members(["queue-probe.probe", "kernel.job-triggers"]);
    });

    it("delivers a message again after its handler fails, until it succeeds", async () => {
      await t.request("POST", "/api/queue-probe/messages", { body: { text: "flaky", failUntil: 1 } });
      await eventually(async () => (await rowsOf(t, "flaky")).some((r) => r.kind === "done"));
      const rows = await rowsOf(t, "flaky");
      expect(rows.map((r) => [r.kind, r.deliveries])).to.deep.equal([
        ["start", 1],
        ["start", 2],
        ["done", 2],
      ]);
      expect(await t.kernel.coordination.streamLength("queue-probe.probe.dead")).to.equal(0);
    });

    it("moves a message that fails maxDeliveries times to <stream>.dead, logged, and stops delivering it", async () => {
      const added = await t.request("POST", "/api/queue-probe/messages", { body: { text: "doomed", failUntil: 99 } });
      await eventually(async () => (await t.kernel.coordination.streamLength("queue-probe.probe.dead")) === 1, 10_000);
      await sleep(600); // three more claim periods: no fourth delivery
      expect((await rowsOf(t, "doomed")).map((r) => [r.kind, r.deliveries])).to.deep.equal([
        ["start", 1],
        ["start", 2],
        ["start", 3],
      ]);
      await t.kernel.coordination.streamEnsureGroup("queue-probe.probe.dead", "inspect");
      const [dead] = await t.kernel.coordination.streamRead("queue-probe.probe.dead", "inspect", "test");
      expect(dead!.fields).to.include({ originalId: added.body.data.id, deliveries: "3", error: "probe failure on delivery 3" });
      expect(JSON.parse(dead!.fields.payload!)).to.deep.include({ text: "doomed" });
      const line = t.logs.find((l) => l.msg.includes("moved to queue-probe.probe.dead"));
      expect(line, "a dead-letter log line").to.not.equal(undefined);
      expect(line!.level).to.equal(50);
      expect((await t.kernel.coordination.streamPending("queue-probe.probe", "flaghost")).count).to.equal(0);
    });

    it("refuses a message with a bad body naming the field, and a queue the plugin did not define", async () => {
      const bad = await t.request("POST", "/api/queue-probe/messages", { body: { failUntil: 1 } });
      expect(bad.status).to.equal(400);
      expect(bad.body.errors).to.have.property("text");
      let error: unknown;
      await t.kernel.queues.add("queue-probe", "nope", {}).catch((e) => (error = e));
      expect(String(error)).to.include(`"queue-probe" has no queue "nope"`);
    });

    it("lists this one instance under /api/v1/admin/instances, for admins only", async () => {
      const res = await t.request("GET", "/api/v1/admin/instances");
      expect(res.status).to.equal(200);
      expect(res.body.data).to.have.length(1);
      const [self] = res.body.data;
      expect(self).to.include({ id: t.kernel.instanceId, role: "all", pid: process.pid, version: "0.1.0" });
      expect(Object.keys(self).sort()).to.deep.equal(["host", "id", "lastSeen", "pid", "role", "startedAt", "version"]);
      expect(Date.parse(self.lastSeen)).to.be.at.least(Date.parse(self.startedAt));
      expect((await t.request("GET", "/api/v1/admin/instances", { token: null })).status).to.equal(401);
    });

    it("runs a manual trigger itself and answers with the finished run", async () => {
      const res = await t.request("POST", "/api/v1/admin/jobs/queue-probe.manual/run");
      expect(res.status).to.equal(200);
      expect(res.body.data).to.include({ job: "queue-probe.manual", instance: t.kernel.instanceId, outcome: "succeeded" });
    });

    it("removes the instance from the registry when it stops (last: the instance is gone after it)", async () => {
      expect((await t.kernel.instances.list()).map((i) => i.id)).to.deep.equal([t.kernel.instanceId]);
      await t.kernel.instances.stop();
      expect(await t.kernel.instances.list()).to.deep.equal([]);
    });
  });

  it("withdraws the queues of a plugin that fails: its consumer no longer handles messages", async () => {
    const t = await probe({ failInit: true });
    try {
      const state = (await t.request("GET", "/api/v1/admin/plugins")).body.data.find((p: { id: string }) => p.id === "queue-probe");
      expect(state.status).to.equal("failed");
      expect(t.kernel.queues.streams()).to.deep.equal(["kernel.job-triggers"]);
      await t.kernel.coordination.streamAdd("queue-probe.probe", { payload: JSON.stringify({ text: "orphan" }) });
      await sleep(500);
      expect(await t.kernel.db.query(`SELECT * FROM queue_probe_log`)).to.deep.equal([]);
    } finally {
      await t.stop();
    }
  });

  it("role worker: consumes queues, but answers only /healthz, /readyz and /metrics over HTTP", async () => {
    const t = await probe({}, { role: "worker" });
    try {
      expect((await t.request("GET", "/healthz")).status).to.equal(200);
      expect((await t.request("GET", "/readyz")).status).to.equal(200);
      for (const [method, path] of [
        ["GET", "/api/queue-probe/log"],
        ["POST", "/api/queue-probe/messages"],
        ["GET", "/api/v1/admin/instances"],
        ["POST", "/api/v1/admin/jobs/queue-probe.manual/run"],
      ] as const) {
        expect((await t.request(method, path, { body: method === "POST" ? { text: "x" } : undefined })).status, `${method} ${path}`).to.equal(404);
      }
      expect(t.kernel.queues.consumedStreams()).to.deep.equal(["queue-probe.probe"]);
      await t.kernel.queues.add("queue-probe", "probe", { text: "on a worker" });
      await eventually(async () => (await t.kernel.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM queue_probe_log WHERE kind = 'done'`))[0]!.n === 1);
    } finally {
      await t.stop();
    }
  });

  it("role web: serves players, consumes nothing, and queues a manual run for a scheduler (202 with its run id)", async () => {
    const t = await probe({}, { role: "web" });
    try {
      expect((await t.request("GET", "/api/queue-probe/log")).status).to.equal(200);
      expect(t.kernel.queues.consumedStreams()).to.deep.equal([]);
      await t.request("POST", "/api/queue-probe/messages", { body: { text: "waits for a worker" } });
      const res = await t.request("POST", "/api/v1/admin/jobs/queue-probe.manual/run");
      expect(res.status).to.equal(202);
      expect(res.body).to.deep.equal({ success: true, data: { runId: res.body.data.runId, job: "queue-probe.manual", status: "queued" } });
      expect(res.body.data.runId).to.match(/^\d+$/);
      expect(await t.kernel.coordination.streamLength("kernel.job-triggers")).to.equal(1);
      await sleep(300);
      expect(await probeLog(t)).to.deep.equal([]); // neither the message nor the job ran here
      expect((await t.request("GET", "/api/v1/admin/jobs/queue-probe.manual/runs")).body.data).to.deep.equal([]);
      expect((await t.request("POST", "/api/v1/admin/jobs/queue-probe.manual/run", { token: `${TEST_ADMIN_TOKEN}x` })).status).to.equal(401);
    } finally {
      await t.stop();
    }
  });
});
