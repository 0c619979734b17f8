import { resolve } from "node:path";
import { expect } from "chai";
import { startCtf, type Client, type TestCtf } from "../../helpers/ctf.js";
import { projectRoot } from "../../helpers/kernel.js";
import { startMockServer, type CallLog, type Faults, type MockServer } from "../../../plugins/metactf-sync/mock/server.js";

export const METACTF_PLUGIN = resolve(projectRoot, "plugins/metactf-sync");
/** Jobs run only when a test asks (a cron that would fire mid-test would change the call counts). */
const NEVER = "0 0 1 1 *";
export const MANUAL_JOBS = { odlCron: NEVER, totalsCron: NEVER, flashCron: NEVER, rosterCron: NEVER };

/** The token the mock accepts; every test that can scans logs and answers for it. */
export const SECRET_TOKEN = "metactf-secret-token-7f3a9c";

export interface MetactfTest {
  t: TestCtf;
  mock: MockServer;
  /** Calls the mock received since the last `resetCalls()`. */
  calls(): Promise<CallLog>;
  resetCalls(): Promise<void>;
  faults(faults: Partial<Faults>): Promise<void>;
  /** A registered player (id, client). */
  player(name?: string): Promise<{ id: number; client: Client }>;
  /** A registered player made a coach by the admin. */
  coach(): Promise<{ id: number; client: Client }>;
  /** A competitor in `status` with a complete profile (admin API). */
  competitor(userId: number, status?: "pending" | "profile" | "compliance"): Promise<void>;
  /** Puts the competitor through compliance and onboarding. */
  onboarded(userId: number): Promise<void>;
  /** Runs a job now through the kernel's admin route and answers its recorded run. */
  runJob(job: "odl" | "totals" | "flash" | "roster"): Promise<any>;
  /** Every log line and answer body seen so far holds no token. */
  expectNoTokenLeak(extra?: unknown[]): void;
  stop(): Promise<void>;
}

/**
 * core/ctf with metactf-sync against a fresh mock platform. The token is put in METACTF_API_TOKEN only while the
 * kernel starts (the plugin reads it in its register phase).
 */
export async function startMetactf(options: { config?: Record<string, unknown>; mode?: "users" | "teams"; dataset?: string; token?: string | null; baseUrl?: string | null } = {}): Promise<MetactfTest> {
  const mock = await startMockServer({ token: SECRET_TOKEN, dataset: options.dataset });
  const token = options.token === undefined ? SECRET_TOKEN : options.token;
  const previous = process.env.METACTF_API_TOKEN;
  if (token === null) delete process.env.METACTF_API_TOKEN;
  else process.env.METACTF_API_TOKEN = token;
  const baseUrl = options.baseUrl === undefined ? mock.baseUrl : options.baseUrl;
  let t: TestCtf;
  try {
    t = await startCtf({
      mode: options.mode,
      plugins: [METACTF_PLUGIN],
      config: { plugins: { "metactf-sync": { enabled: true, ...(baseUrl !== null && { baseUrl }), retryBaseMs: 5, timeoutMs: 5_000, ...MANUAL_JOBS, ...options.config } } },
    });
  } catch (error) {
    await mock.stop();
    throw error;
  } finally {
    if (previous === undefined) delete process.env.METACTF_API_TOKEN;
    else process.env.METACTF_API_TOKEN = previous;
  }
  const answers: unknown[] = [];
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await t.admin.request(method, path, body);
    answers.push(res.body);
    return res;
  };
  let players = 0;
  const helper: MetactfTest = {
    t,
    mock,
    calls: async () => (await (await fetch(`${mock.url}/__admin/calls`)).json()) as CallLog,
    resetCalls: async () => void (await fetch(`${mock.url}/__admin/calls`, { method: "DELETE" })),
    faults: async (faults) => void (await fetch(`${mock.url}/__admin/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(faults) })),
    async player(name = `competitor${++players}`) {
      const client = await t.register(`${name}_${Math.random().toString(36).slice(2, 6)}`);
      return { id: client.user!.id, client };
    },
    async coach() {
      const coach = await helper.player("coach");
      const res = await admin("PUT", `/api/v1/metactf/coaches/${coach.id}`, { first_name: "Casey", last_name: "Coach", email: `coach${coach.id}@school.test`, school: "Central High" });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      return coach;
    },
    async competitor(userId, status = "compliance") {
      const res = await admin("PUT", `/api/v1/metactf/competitors/${userId}`, { first_name: "Ada", last_name: `Player${userId}`, email: `player${userId}@school.test`, school: "Central High", region: "North", status });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
    },
    async onboarded(userId) {
      await helper.competitor(userId, "compliance");
      const res = await admin("POST", `/api/v1/metactf/competitors/${userId}/onboard`);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
    },
    async runJob(job) {
      const res = await admin("POST", `/api/v1/admin/jobs/metactf-sync.${job}/run`);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      return res.body.data;
    },
    expectNoTokenLeak(extra = []) {
      const seen = JSON.stringify([t.logs, answers, extra]);
      expect(seen).not.to.contain(SECRET_TOKEN);
    },
    async stop() {
      await t.stop();
      await mock.stop();
    },
  };
  return helper;
}
