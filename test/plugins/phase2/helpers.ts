import { expect } from "chai";
import { resolve } from "node:path";
import { startCtf, type Client, type TestCtf } from "../../helpers/ctf.js";
import { fixturePlugin, projectRoot } from "../../helpers/kernel.js";

export const PHASE2_PLUGIN = resolve(projectRoot, "plugins/phase2");
export const SCOREBOARD_PLUGIN = resolve(projectRoot, "plugins/scoreboard");
export const WHALE_STAND_IN = fixturePlugin("phase2-whale-stand-in");

/** core/ctf, the scoreboard, phase2 and whale's stand-in, set up, on a fresh database. */
export function startPhase2(options: { mode?: "users" | "teams"; phase2?: Record<string, unknown>; settings?: Record<string, unknown> } = {}): Promise<TestCtf> {
  return startCtf({
    mode: options.mode,
    settings: options.settings,
    plugins: [SCOREBOARD_PLUGIN, WHALE_STAND_IN, PHASE2_PLUGIN],
    // Addresses come from X-Forwarded-For, so tests can send from several (documentation-range) addresses.
    config: { http: { trustProxy: true }, plugins: { phase2: { analyticsCron: "0 0 1 1 *", healthCron: "0 0 1 1 *", cleanupCron: "0 0 1 1 *", ...options.phase2 } } },
  });
}

/** The request headers of a client at `address` (TEST-NET addresses only), with an optional user agent. */
export const from = (address: string, userAgent?: string): Record<string, string> => ({ "x-forwarded-for": address, ...(userAgent ? { "user-agent": userAgent } : {}) });

/** The admin's findings, filtered by a query string. */
export async function findings(t: TestCtf, query = ""): Promise<Array<Record<string, any>>> {
  const res = await t.admin.get(`/api/v1/phase2/suspicious_activity${query}`);
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body.data;
}

/** Waits until every event emitted so far has been handled. */
export const settle = (t: TestCtf) => t.kernel.events.drain();

export async function attempt(player: Client, challengeId: number, submission: string, headers: Record<string, string> = {}) {
  return player.request("POST", "/api/v1/challenges/attempt", { challenge_id: challengeId, submission }, headers);
}

export async function solve(player: Client, challengeId: number, flag = "flag{test}", headers: Record<string, string> = {}): Promise<void> {
  const res = await attempt(player, challengeId, flag, headers);
  expect(res.body?.data?.status, JSON.stringify(res.body)).to.equal("correct");
}

/** The first-blood board entry of one challenge (or undefined). */
export async function bloodsOf(t: TestCtf, challengeId: number) {
  const res = await t.anonymous().get("/api/v1/phase2/first_blood_leaderboard");
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return (res.body.data as Array<{ challenge_id: number; challenge_name: string; bloods: Array<Record<string, any>> }>).find((e) => e.challenge_id === challengeId);
}

/** Runs a phase2 job now through the kernel's admin API and returns the run's answer. */
export async function runJob(t: TestCtf, job: "analytics" | "health" | "cleanup") {
  const res = await t.request("POST", `/api/v1/admin/jobs/phase2.${job}/run`);
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  expect(res.body.data.outcome, JSON.stringify(res.body.data)).to.equal("succeeded");
  await settle(t);
  return res.body.data;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
