import { expect } from "chai";
import { WebSocket } from "ws";
import { parsePrometheus, type Exposition } from "../helpers/prometheus.js";
import { eventually, fixturePlugin, startTestKernel, TEST_ADMIN_TOKEN, type TestKernel } from "../helpers/kernel.js";

const accessLines = (t: TestKernel) => t.logs.filter((line) => line.msg === "request");

describe("metrics and the access log", () => {
  let t: TestKernel;
  before(async () => {
    t = await startTestKernel({ plugins: [fixturePlugin("metrics-probe"), fixturePlugin("channels")] });
  });
  after(() => t.stop());

  const scrape = async (): Promise<Exposition> => {
    const res = await t.request("GET", "/metrics");
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/^text\/plain; version=0\.0\.4/);
    return parsePrometheus(res.body);
  };

  it("serves /metrics on the main port to admins only", async () => {
    expect((await t.request("GET", "/metrics", { token: null })).status).to.equal(401);
    expect((await t.request("GET", "/metrics", { token: "not-the-admin-token-at-all" })).status).to.equal(401);
    const metrics = await scrape();
    expect(metrics.types.get("flaghost_http_requests_total")).to.equal("counter");
    expect(metrics.types.get("flaghost_http_request_duration_seconds")).to.equal("histogram");
    expect(metrics.types.get("flaghost_process_cpu_user_seconds_total")).to.equal("counter"); // process metrics, prefixed
  });

  it("counts requests by method, route pattern and status, with latencies, never by raw path", async () => {
    const before = await scrape();
    await t.request("GET", "/probe/items/abc-123", { token: null });
    await t.request("GET", "/probe/items/def-456", { token: null });
    await t.request("GET", "/api/v1/admin/plugins");
    await t.request("GET", "/api/v1/admin/plugins", { token: null });
    await t.request("GET", "/no/such/page-789", { token: null });
    await t.request("GET", "/channels/greetings/ada", { token: null }); // a prepared answer, before Koa
    await t.request("GET", "/channels/static/hello.txt", { token: null });
    const after = await scrape();
    const moved = (labels: Record<string, string>) => after.sum("flaghost_http_requests_total", labels) - before.sum("flaghost_http_requests_total", labels);
    expect(moved({ method: "GET", route: "/probe/items/:id", status: "200" })).to.equal(2);
    expect(moved({ method: "GET", route: "/api/v1/admin/plugins", status: "200" })).to.equal(1);
    expect(moved({ method: "GET", route: "/api/v1/admin/plugins", status: "401" })).to.equal(1);
    expect(moved({ method: "GET", route: "unmatched", status: "404" })).to.equal(1);
    expect(moved({ method: "GET", route: "/channels/greetings/:name", status: "200" })).to.equal(1);
    expect(moved({ method: "GET", route: "/channels/static/*", status: "200" })).to.equal(1);
    const latencies = (m: Exposition) => m.sum("flaghost_http_request_duration_seconds_count", { method: "GET", route: "/probe/items/:id" });
    expect(latencies(after) - latencies(before)).to.equal(2);
    expect(after.find("flaghost_http_request_duration_seconds_bucket", { route: "/probe/items/:id", le: "+Inf" })).to.have.length(1);
    const routes = new Set(after.find("flaghost_http_requests_total").map((s) => s.labels.route));
    for (const raw of ["abc-123", "def-456", "page-789", "ada", "hello.txt"]) expect([...routes].join(" ")).not.to.include(raw);
  });

  it("counts job runs by job and outcome, with their durations", async () => {
    const before = await scrape();
    expect((await t.request("POST", "/api/v1/admin/jobs/metrics-probe.sweep/run")).body.data.outcome).to.equal("succeeded");
    expect((await t.request("POST", "/api/v1/admin/jobs/metrics-probe.stumble/run")).body.data.outcome).to.equal("failed");
    const after = await scrape();
    const moved = (name: string, labels: Record<string, string>) => after.sum(name, labels) - before.sum(name, labels);
    expect(moved("flaghost_job_runs_total", { job: "metrics-probe.sweep", outcome: "succeeded" })).to.equal(1);
    expect(moved("flaghost_job_runs_total", { job: "metrics-probe.stumble", outcome: "failed" })).to.equal(1);
    expect(moved("flaghost_job_run_duration_seconds_count", { job: "metrics-probe.sweep" })).to.equal(1);
    expect(moved("flaghost_job_run_duration_seconds_sum", { job: "metrics-probe.sweep" })).to.be.at.least(0.015); // the job sleeps 20 ms
  });

  it("counts a failed event handler by plugin and event", async () => {
    const before = await scrape();
    expect((await t.request("POST", "/probe/fail", { token: null })).status).to.equal(200);
    await t.kernel.events.drain();
    const after = await scrape();
    const labels = { plugin: "metrics-probe", event: "probe.poked" };
    expect(after.sum("flaghost_event_handler_failures_total", labels) - before.sum("flaghost_event_handler_failures_total", labels)).to.equal(1);
  });

  it("gauges open WebSocket connections by channel, and logs the upgrade without its token", async () => {
    const token = (await t.request("POST", "/channels/token", { body: {}, token: null })).body.data.token as string;
    const ws = new WebSocket(`${t.url.replace("http", "ws")}/channels/echo?token=${encodeURIComponent(token)}`, { origin: t.url });
    await new Promise((resolve, reject) => {
      ws.once("message", resolve);
      ws.once("error", reject);
    });
    expect((await scrape()).sum("flaghost_websocket_connections", { channel: "/channels/echo" })).to.equal(1);
    ws.close();
    await eventually(async () => (await scrape()).sum("flaghost_websocket_connections", { channel: "/channels/echo" }) === 0);
    const upgrade = accessLines(t).find((line) => line.status === 101);
    expect(upgrade).to.deep.include({ method: "GET", route: "/channels/echo" });
    expect(JSON.stringify(t.logs)).not.to.include(token);
  });

  it("reports plugin states, database connections and watched queues when scraped", async () => {
    const { coordination } = t.kernel;
    await coordination.streamEnsureGroup("probe-starts", "workers");
    await coordination.streamAdd("probe-starts", { n: "1" });
    await coordination.streamAdd("probe-starts", { n: "2" });
    await coordination.streamRead("probe-starts", "workers", "w1", { count: 1 });
    t.kernel.metrics.watchStream("probe-starts", "workers");
    await new Promise((resolve) => setTimeout(resolve, 60));
    const metrics = await scrape();
    expect(metrics.sum("flaghost_plugin_status", { plugin: "metrics-probe", status: "started" })).to.equal(1);
    expect(metrics.find("flaghost_plugin_status", { plugin: "metrics-probe" })).to.have.length(1);
    const pool = metrics.find("flaghost_db_pool_connections").map((s) => s.labels.state);
    expect(pool.sort()).to.deep.equal(["idle", "in_use", "waiting"]);
    expect(metrics.sum("flaghost_db_pool_connections", { state: "in_use" }) + metrics.sum("flaghost_db_pool_connections", { state: "idle" })).to.be.at.least(1);
    expect(metrics.sum("flaghost_queue_depth", { stream: "probe-starts" })).to.equal(2);
    expect(metrics.sum("flaghost_queue_oldest_pending_seconds", { stream: "probe-starts" })).to.be.at.least(0.05);
  });

  it("prefixes plugin metrics with flaghost_<plugin>_ and refuses a name another owner holds", async () => {
    await t.request("GET", "/probe/items/x", { token: null });
    expect((await t.request("POST", "/probe/depth", { body: { value: 7 }, token: null })).status).to.equal(200);
    const metrics = await scrape();
    expect(metrics.types.get("flaghost_metrics_probe_pokes_total")).to.equal("counter");
    expect(metrics.sum("flaghost_metrics_probe_pokes_total", { kind: "item" })).to.be.at.least(1);
    expect(metrics.sum("flaghost_metrics_probe_imaginary_depth")).to.equal(7);
    expect(metrics.find("flaghost_metrics_probe_poke_seconds_bucket").map((s) => s.labels.le)).to.deep.equal(["0.1", "1", "+Inf"]);
    // A plugin "metrics" asking for probe_pokes_total would land on the same name.
    expect(() => t.kernel.metrics.forPlugin("metrics").counter({ name: "probe_pokes_total", help: "clash" })).to.throw(
      'plugin "metrics": metric flaghost_metrics_probe_pokes_total is already registered by "metrics-probe"',
    );
    expect(() => t.kernel.metrics.forPlugin("http").counter({ name: "requests_total", help: "clash" })).to.throw(/already registered by "kernel"/);
    expect(() => t.kernel.metrics.forPlugin("metrics").gauge({ name: "Bad-Name", help: "x" })).to.throw(/must be lowercase letters, digits and underscores/);
  });

  it("writes one access-log line per request with its id, route pattern, status and duration, and no secrets", async () => {
    const res = await fetch(`${t.url}/probe/items/logged-1?token=query-secret-value&x=1`, {
      headers: { authorization: `Token ${TEST_ADMIN_TOKEN}`, cookie: "session=cookie-secret-value", "x-request-id": "trace-abcdef-123" },
    });
    expect(res.status).to.equal(200);
    await t.request("GET", "/channels/greetings/grace", { token: null, headers: { "x-request-id": "trace-prepared-1" } });
    await fetch(`${t.url}/nowhere/at-all?token=another-query-secret`, { headers: { "x-request-id": "trace-unmatched-1" } });
    const line = accessLines(t).find((l) => l.reqId === "trace-abcdef-123");
    expect(line).to.deep.include({ level: 30, method: "GET", route: "/probe/items/:id", status: 200 });
    expect(line).not.to.have.property("path"); // the pattern says where; the path's parameters could be secrets
    expect(line!.durationMs).to.be.a("number").and.at.least(0);
    expect(accessLines(t).filter((l) => l.reqId === "trace-abcdef-123")).to.have.length(1);
    expect(accessLines(t).find((l) => l.reqId === "trace-prepared-1")).to.deep.include({ route: "/channels/greetings/:name", status: 200 });
    // Without a pattern the path is logged, never its query.
    expect(accessLines(t).find((l) => l.reqId === "trace-unmatched-1")).to.deep.include({ route: "unmatched", path: "/nowhere/at-all", status: 404 });
    const everything = JSON.stringify(t.logs);
    for (const secret of ["query-secret-value", "another-query-secret", "cookie-secret-value", TEST_ADMIN_TOKEN]) expect(everything).not.to.include(secret);
  });

  it("removes a plugin's metrics when the plugin is withdrawn (a reload registers them afresh)", async () => {
    expect((await scrape()).sum("flaghost_metrics_probe_pokes_total")).to.be.at.least(1);
    await t.kernel.reload();
    const metrics = await scrape();
    expect(metrics.types.get("flaghost_metrics_probe_pokes_total")).to.equal("counter");
    expect(metrics.find("flaghost_metrics_probe_pokes_total")).to.deep.equal([]);
  });
});

describe("metrics on a separate port (metrics.port)", () => {
  let t: TestKernel;
  before(async () => {
    // A second kernel in the same process: its registry must not clash with the first one's.
    t = await startTestKernel({ plugins: [fixturePlugin("metrics-probe")], config: { metrics: { port: 0 }, log: { level: "info", accessLog: false } } });
  });
  after(() => t.stop());

  it("answers GET /metrics there without a token, and nothing else", async () => {
    await t.request("GET", "/probe/items/1", { token: null });
    const url = t.kernel.metricsUrl!;
    expect(url).to.be.a("string");
    const res = await fetch(url);
    expect(res.status).to.equal(200);
    const metrics = parsePrometheus(await res.text());
    expect(metrics.sum("flaghost_http_requests_total", { route: "/probe/items/:id", status: "200" })).to.equal(1);
    expect((await fetch(url.replace("/metrics", "/api/v1/admin/plugins"))).status).to.equal(404);
    expect((await fetch(url, { method: "POST" })).status).to.equal(404);
    expect((await t.request("GET", "/metrics", { token: null })).status).to.equal(401); // the main port still wants the token
  });

  it("writes no access-log lines when log.accessLog is off", () => {
    expect(accessLines(t)).to.deep.equal([]);
  });

  it("closes the metrics port when the kernel stops", async () => {
    const url = t.kernel.metricsUrl!;
    await t.stop();
    let refused = false;
    await fetch(url).catch(() => (refused = true));
    expect(refused).to.equal(true);
  });
});
