import { Writable } from "node:stream";
import { expect } from "chai";
import { pino } from "pino";
import { GamePlatformClient, type ClientOptions } from "../../../plugins/metactf-sync/client/client.js";
import { GamePlatformError } from "../../../plugins/metactf-sync/client/errors.js";
import { startMockServer, type MockServer } from "../../../plugins/metactf-sync/mock/server.js";

/** The client against the mock over HTTP: retries, Retry-After, typed errors, the token kept out of logs. */
describe("metactf-sync client", function () {
  this.timeout(60_000);
  let mock: MockServer;
  let lines: string[];
  let waits: number[];

  const client = (overrides: Partial<ClientOptions> = {}) => {
    const log = pino({ level: "debug" }, new Writable({ write: (chunk, _e, done) => (lines.push(chunk.toString()), done()) }));
    return new GamePlatformClient({
      baseUrl: mock.baseUrl,
      token: mock.token,
      timeoutMs: 2_000,
      retryBaseMs: 10,
      attempts: 3,
      maxRetryAfterMs: 5_000,
      log,
      // Observe the waits, and still wait them.
      sleep: (ms) => (waits.push(ms), new Promise((r) => setTimeout(r, ms))),
      ...overrides,
    });
  };
  const faults = (body: Record<string, unknown>) => fetch(`${mock.url}/__admin/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const calls = async () => (await (await fetch(`${mock.url}/__admin/calls`)).json()) as { counts: Record<string, number>; total: number };
  const caught = async (work: Promise<unknown>): Promise<GamePlatformError> => {
    try {
      await work;
    } catch (error) {
      expect(error).to.be.instanceOf(GamePlatformError);
      return error as GamePlatformError;
    }
    throw new Error("expected a GamePlatformError");
  };

  before(async () => {
    mock = await startMockServer({ dataset: "baseline", token: "secret-token-XYZ-123" });
  });
  after(() => mock.stop());
  beforeEach(async () => {
    lines = [];
    waits = [];
    await fetch(`${mock.url}/__admin/faults`, { method: "DELETE" });
    await fetch(`${mock.url}/__admin/calls`, { method: "DELETE" });
  });

  it("reads a user, and answers null for one the platform does not have (404)", async () => {
    const user = await client().findUser("fh-u4");
    expect(user).to.include({ syned_user_id: "fh-u4", metactf_user_status: "active" });
    expect(await client().findUser("fh-u999")).to.equal(null);
  });

  it("takes a 201 as success (get_team_assignments)", async () => {
    const answer = await client().teamAssignments("fh-t1");
    expect(answer.total_count).to.equal(4);
  });

  it("retries a 5xx and then succeeds, with growing backoff", async () => {
    await faults({ failNext: 2, failStatus: 502 });
    const scores = await client().odlScores("fh-u4");
    expect(scores.syned_user_id).to.equal("fh-u4");
    expect((await calls()).counts["GET /scores/get_odl_scores"]).to.equal(3);
    expect(waits).to.have.length(2);
    expect(waits[0]).to.be.within(5, 10); // half to all of base
    expect(waits[1]).to.be.within(10, 20); // half to all of 2 x base
  });

  it("gives up after 3 attempts with a typed error", async () => {
    await faults({ failNext: 5, failStatus: 503 });
    const error = await caught(client().odlScores("fh-u4"));
    expect(error).to.include({ status: 503, code: "http", call: "GET /scores/get_odl_scores" });
    expect((await calls()).total).to.equal(3);
  });

  it("waits the Retry-After of a 429 before trying again", async () => {
    await faults({ rateLimitNext: 1, retryAfterSeconds: 1 });
    const started = Date.now();
    await client().findUser("fh-u4");
    expect(waits).to.deep.equal([1000]);
    expect(Date.now() - started).to.be.at.least(1000);
    expect((await calls()).total).to.equal(2);
  });

  it("does not retry a 400 and reports the platform's detail", async () => {
    const error = await caught(client().createUser({ first_name: "A", last_name: "B", email: "a@b.test", preferred_username: "ab", role: "user", syned_user_id: "fh-u4" }));
    expect(error).to.include({ status: 409, code: "http", call: "POST /users" });
    expect(error.message).to.contain("already exists");
    await faults({ failNext: 1, failStatus: 400 });
    const bad = await caught(client().findUser("fh-u4"));
    expect(bad.status).to.equal(400);
    expect((await calls()).total).to.equal(2);
    expect(waits).to.deep.equal([]);
  });

  it("turns a malformed answer into a typed error naming the field", async () => {
    await faults({ malformedNext: 1 });
    const error = await caught(client().findUser("fh-u4"));
    expect(error.code).to.equal("malformed");
    expect(error.message).to.contain("metactf_user_id");
    expect((await calls()).total).to.equal(1);
  });

  it("times out a slow call, retries it, and reports a timeout", async () => {
    await faults({ latencyMs: 400 });
    const error = await caught(client({ timeoutMs: 100 }).findUser("fh-u4"));
    expect(error).to.include({ code: "timeout", status: null });
    expect((await calls()).total).to.equal(3);
  });

  it("reports a network error when nothing listens", async () => {
    const error = await caught(client({ baseUrl: "http://127.0.0.1:9/integrations/syned/v1" }).findUser("fh-u4"));
    expect(error.code).to.equal("network");
    expect(waits).to.have.length(2);
  });

  it("stops when the caller's signal aborts", async () => {
    await faults({ latencyMs: 300 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await caught(client().findUser("fh-u4", controller.signal));
    expect(error.code).to.equal("aborted");
  });

  it("counts requests in a meter", async () => {
    await faults({ failNext: 1 });
    const meter = { calls: 0 };
    await client().metered(meter).findUser("fh-u4");
    expect(meter.calls).to.equal(2);
  });

  it("logs one line per call with status and duration, and never the token", async () => {
    await client().findUser("fh-u4");
    await faults({ failNext: 3 });
    await caught(client().findUser("fh-u4"));
    const wrong = await caught(client({ token: "wrong-token-ABC" }).findUser("fh-u4"));
    expect(wrong.status).to.equal(401);
    const parsed = lines.map((l) => JSON.parse(l));
    expect(parsed).to.have.length(3);
    expect(parsed[0]).to.include({ call: "GET /users", status: 200, attempts: 1 });
    expect(parsed[0].durationMs).to.be.a("number");
    expect(parsed[1]).to.include({ call: "GET /users", status: 500, attempts: 3 });
    expect(lines.join("\n")).not.to.contain("secret-token-XYZ-123");
    expect(lines.join("\n")).not.to.contain("wrong-token-ABC");
    expect(wrong.message).not.to.contain("wrong-token-ABC");
  });
});
