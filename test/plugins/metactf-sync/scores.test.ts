import { expect } from "chai";
import { startMetactf, type MetactfTest } from "./helpers.js";

/** Incremental ODL scores, totals, the Flash CTF sentinel and the rotation, against the mock over HTTP. */
describe("metactf-sync scores", function () {
  this.timeout(120_000);
  let m: MetactfTest;
  let ids: number[];
  const BATCH = 3;

  before(async () => {
    // Seven competitors in batches of three: a cycle is three runs (3 + 3 + 1).
    m = await startMetactf({ config: { batchSize: BATCH, activeSlots: 1, activeDays: 3 } });
    ids = [];
    for (let i = 0; i < 7; i++) {
      const { id } = await m.player();
      await m.onboarded(id);
      ids.push(id);
    }
    ids.sort((a, b) => a - b);
  });
  after(() => m?.stop());

  const odlCallsByUser = async () => {
    const { byUser } = await m.calls();
    return Object.fromEntries(ids.map((id) => [id, byUser[`fh-u${id}`]?.["GET /scores/get_odl_scores"] ?? 0]));
  };
  const competitor = async (id: number) => (await m.t.admin.get("/api/v1/metactf/competitors")).body.data.find((c: any) => c.user_id === id);
  const cycle = async () => {
    const runs = [];
    for (let i = 0; i < Math.ceil(ids.length / BATCH); i++) runs.push((await m.runJob("odl")).result);
    return runs;
  };
  const solveNow = (id: number, challenge = 1) => fetch(`${m.mock.url}/__admin/solves`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ syned_user_id: `fh-u${id}`, challenge }) });

  it("rotation: over one cycle every competitor is synced exactly once; no activity reports 0 with new data", async () => {
    await m.resetCalls();
    const runs = await cycle();
    expect(runs.map((r) => r.batch)).to.deep.equal([ids.slice(0, 3), ids.slice(3, 6), ids.slice(6)]);
    expect(runs.map((r) => r.withNewData)).to.deep.equal([0, 0, 0]);
    expect(runs.map((r) => r.outcome)).to.deep.equal(["succeeded", "succeeded", "succeeded"]);
    expect(Object.values(await odlCallsByUser())).to.deep.equal(ids.map(() => 1));
    expect((await m.calls()).total).to.equal(ids.length);
    // The next cycle starts over.
    expect((await m.runJob("odl")).result.batch).to.deep.equal(ids.slice(0, 3));
    await cycle(); // ids[3..5], ids[6], ids[0..2]: the next run takes ids[3..5]
    // The first answers' totals are shown once the totals job has run (it makes no call: ODL answers carry them).
    const totals = (await m.runJob("totals")).result;
    expect(totals).to.include({ processed: ids.length, apiCalls: 0, outcome: "succeeded" });
  });

  it("one new solve: exactly that competitor has new data and is flagged, and the totals job refreshes only them", async () => {
    const target = ids[4]!;
    await solveNow(target, 7);
    await m.resetCalls();
    const runs = await cycle();
    expect(runs.reduce((sum, r) => sum + r.withNewData, 0)).to.equal(1);
    expect(runs.find((r) => r.withNewData === 1).batch).to.include(target);
    const flagged = (await m.t.admin.get("/api/v1/metactf/competitors")).body.data.filter((c: any) => c.sync?.needs_totals_refresh).map((c: any) => c.user_id);
    expect(flagged).to.deep.equal([target]);
    // Incremental: every call after the first sync named the competitor's marker.
    const odlCalls = (await m.calls()).counts["GET /scores/get_odl_scores"];
    expect(odlCalls).to.be.at.least(ids.length);

    await m.resetCalls();
    const totals = (await m.runJob("totals")).result;
    expect(totals).to.include({ processed: 1, withNewData: 1, apiCalls: 0, outcome: "succeeded" });
    expect(totals.batch).to.deep.equal([target]);
    const mine = await competitor(target);
    const remote = m.mock.platform().odlScores(`fh-u${target}`, undefined);
    expect(mine.sync).to.include({ needs_totals_refresh: false, total_points: remote.total_points, total_solved: remote.total_challenges_solved });
    expect((await m.runJob("totals")).result).to.include({ processed: 0, apiCalls: 0 });
  });

  it("an active competitor is synced in every run through the active slot; no solve is stored twice", async () => {
    const target = ids[4]!; // solved just now: active for activeDays
    await m.resetCalls();
    const runs = await cycle();
    for (const run of runs) expect(run.batch).to.include(target);
    expect((await odlCallsByUser())[target]).to.equal(3);
    const solves = await m.t.admin.get(`/api/v1/metactf/competitors/${target}/solves`);
    expect(solves.status).to.equal(200);
    // The overlap window asks for the last solve again; it is stored once.
    expect(solves.body.data).to.have.length(1);
    expect(solves.body.data[0]).to.include({ challenge_id: 107 });
  });

  it("a failed sync does not advance the competitor's marker, and the solve arrives on the next success", async () => {
    const target = ids[3]!; // first of the next rotation slice (every cycle so far ended after ids[0..2])
    const before = (await competitor(target)).sync.odl_synced_until;
    // Markers are unix seconds: let one pass, so a marker that moved would show it.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await solveNow(target, 3);
    await m.faults({ failNext: 3, failStatus: 503 }); // every attempt of the first call of the run
    const failed = (await m.runJob("odl")).result;
    expect(failed.batch[0]).to.equal(target);
    expect(failed.outcome).to.equal("partial");
    expect(failed.errors).to.have.length(1);
    expect(failed.errors[0]).to.include({ id: target });
    expect(failed.errors[0].message).to.contain("503");
    const after = (await competitor(target)).sync;
    expect(after.odl_synced_until).to.equal(before);
    expect(after.last_error).to.contain("503");
    expect(after.needs_totals_refresh).to.equal(false);

    const runs = await cycle(); // the next cycle reaches the target again
    expect(runs.find((r) => r.batch.includes(target)).withNewData).to.be.at.least(1);
    const now = (await competitor(target)).sync;
    expect(now.odl_synced_until).to.be.greaterThan(before);
    expect(now).to.include({ last_error: null, needs_totals_refresh: true });
    expect((await m.t.admin.get(`/api/v1/metactf/competitors/${target}/solves`)).body.data).to.have.length(1);
  });

  it("totals check: a solve the platform recorded behind the marker is noticed and fetched with the whole history", async () => {
    const target = ids[6]!; // alone in the next-but-one slice
    const old = Math.floor(Date.now() / 1000) - 7 * 86_400;
    await fetch(`${m.mock.url}/__admin/solves`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ syned_user_id: `fh-u${target}`, challenge: 9, timestamp_unix: old }) });
    let runs = await cycle();
    // Not in the incremental answer (too old), but the whole totals count it: flagged.
    expect(runs.find((r) => r.batch.includes(target)).withNewData).to.equal(0);
    expect((await competitor(target)).sync.needs_totals_refresh).to.equal(true);
    await m.runJob("totals");
    const state = (await competitor(target)).sync;
    expect(state).to.include({ odl_synced_until: null, last_result: "1 solve(s) missing here: full re-fetch scheduled" });
    runs = await cycle();
    expect(runs.find((r) => r.batch.includes(target)).withNewData).to.equal(1);
    expect((await m.t.admin.get(`/api/v1/metactf/competitors/${target}/solves`)).body.data.map((s: any) => s.timestamp_unix)).to.deep.equal([old]);
  });

  it("sentinel: no new Flash CTF costs one call per run; a new one fetches every competitor once", async () => {
    await m.resetCalls();
    let run = (await m.runJob("flash")).result;
    expect(run).to.include({ apiCalls: 1, processed: 1, withNewData: 0 });
    run = (await m.runJob("flash")).result;
    expect(run.apiCalls).to.equal(1);
    expect(run.batch).to.deep.equal([ids[0]]);

    const now = Math.floor(Date.now() / 1000);
    const results = [
      { syned_user_id: `fh-u${ids[1]}`, rank: 1, solved: 3 },
      { syned_user_id: `fh-u${ids[2]}`, rank: 2, solved: 1 },
    ];
    await fetch(`${m.mock.url}/__admin/flash_ctfs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "Flash CTF test", start_unix: now - 86_400 * 3, end_unix: now - 86_400, results }) });
    await m.resetCalls();
    run = (await m.runJob("flash")).result;
    expect(run).to.include({ apiCalls: ids.length, processed: ids.length, withNewData: 2, outcome: "succeeded" });
    const { byUser } = await m.calls();
    for (const id of ids) expect(byUser[`fh-u${id}`]?.["GET /scores/get_flash_ctf_progress"], `user ${id}`).to.equal(1);

    await m.resetCalls();
    run = (await m.runJob("flash")).result;
    expect(run).to.include({ apiCalls: 1, withNewData: 0 });
    m.expectNoTokenLeak();
  });

  it("dry run reports what each job would call without calling; runs are listed", async () => {
    await m.resetCalls();
    const res = await m.t.admin.post("/api/v1/metactf/sync", { dryRun: true });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const { plans } = res.body.data;
    expect(plans.odl.calls.length).to.equal(plans.odl.batch.length);
    expect(plans.odl.calls[0]).to.match(/^GET \/scores\/get_odl_scores\?syned_user_id=fh-u\d+&after_time_unix=\d+$/);
    expect(plans.flash.calls).to.have.length(1);
    expect(plans.flash.ifNewFlashCtf).to.equal(ids.length - 1);
    expect(plans).to.have.keys("odl", "totals", "flash", "roster");
    expect((await m.calls()).total).to.equal(0);

    const only = await m.t.admin.post("/api/v1/metactf/sync", { dryRun: true, job: "totals" });
    expect(only.body.data.plans).to.have.keys("totals");
    expect((await m.t.admin.post("/api/v1/metactf/sync", { dryRun: false })).status).to.equal(400);
    const ran = await m.t.admin.post("/api/v1/metactf/sync", { dryRun: false, job: "totals" });
    expect(ran.status, JSON.stringify(ran.body)).to.equal(200);

    const runs = await m.t.admin.get("/api/v1/metactf/runs?limit=5");
    expect(runs.body.data).to.have.length(5);
    expect(runs.body.data[0]).to.include({ job: "totals" });
    expect(runs.body.data[0]).to.have.keys("id", "job", "trigger", "dryRun", "startedAt", "durationMs", "batch", "processed", "withNewData", "apiCalls", "errors", "outcome");
    expect((await m.t.admin.get("/api/v1/metactf/runs?job=bogus")).status).to.equal(400);
  });
});
