import type { ChildProcess } from "node:child_process";
import { expect } from "chai";
import pg from "pg";
import { backends, uniqueName } from "../helpers/backends.js";
import { spawnInstance, whenListening } from "../helpers/instances.js";
import { dropSchema, eventually, fixturePlugin } from "../helpers/kernel.js";

/**
 * Three real kernel processes against one Postgres and one Redis (this suite needs both; test/run.ts runs it
 * only when DATABASE_URL and REDIS_URL are set, and says so when they are not).
 */
describe("cluster: three kernel processes share one scheduler", function () {
  this.timeout(120_000);
  const schema = uniqueName("cluster");
  const leaseMs = 2_000;
  const processes = new Map<string, ChildProcess>();
  let db: pg.Client;

  const startInstance = (name: string) => {
    const instance = spawnInstance({
      name,
      schema,
      env: { FLAGHOST_PLUGIN_PATHS: fixturePlugin("ticker"), FLAGHOST__scheduler__leaseMs: String(leaseMs), FLAGHOST__plugins__ticker__long: "true" },
    });
    processes.set(name, instance.child);
    return instance;
  };

  before(async () => {
    db = new pg.Client({ connectionString: backends.databaseUrl });
    await db.connect();
    // Three processes compile and boot at once on two cores; on a busy machine that can take a while.
    await whenListening(["a", "b", "c"].map((name) => startInstance(`instance-${name}`)), 110_000);
  });

  after(async () => {
    for (const child of processes.values()) child.kill("SIGKILL");
    await db.end();
    await dropSchema(schema);
  });

  const rows = async (sql: string, params: unknown[] = []): Promise<any[]> => (await db.query(sql.replaceAll("kernel_job_runs", `"${schema}".kernel_job_runs`), params)).rows;

  it("runs every slot of a per-second job exactly once across the three instances, for at least 20 slots", async () => {
    await eventually(async () => (await rows(`SELECT count(*)::int AS n FROM kernel_job_runs WHERE job = 'ticker.every-second' AND outcome = 'succeeded'`))[0].n >= 22, 60_000, 500);
    const perSlot = await rows(`SELECT slot, count(*)::int AS n FROM kernel_job_runs WHERE job = 'ticker.every-second' GROUP BY slot`);
    expect(perSlot.length).to.be.at.least(20);
    expect(perSlot.filter((r) => r.n !== 1)).to.deep.equal([]);
    // No slot was lost either: consecutive recorded slots are one second apart.
    const slots = perSlot.map((r) => new Date(r.slot).getTime()).sort((a, b) => a - b);
    const gaps = slots.slice(1).filter((slot, i) => slot - slots[i]! !== 1000).map((slot) => new Date(slot).toISOString());
    expect(gaps).to.deep.equal([]);
    const instances = await rows(`SELECT DISTINCT instance FROM kernel_job_runs WHERE job = 'ticker.every-second'`);
    expect(instances.length).to.be.at.least(2, "claims should be spread over the instances, not pinned to one");
  });

  it("hands a long job to another instance within one lease period after its instance is killed with -9", async () => {
    const [running] = await eventually<any[]>(async () => {
      const r = await rows(`SELECT instance, started_at FROM kernel_job_runs WHERE job = 'ticker.long' AND outcome = 'running'`);
      return r.length === 1 ? r : (null as unknown as any[]);
    }, 10_000);
    // While it runs, the other instances' slots are recorded as skipped: nobody overlaps it.
    await eventually(async () => (await rows(`SELECT 1 FROM kernel_job_runs WHERE job = 'ticker.long' AND outcome = 'skipped'`)).length >= 2, 10_000);
    const victim = processes.get(running.instance)!;
    const killedAt = new Date((await rows(`SELECT now() AS now`))[0].now);
    victim.kill("SIGKILL");
    processes.delete(running.instance);

    const [takeover] = await eventually<any[]>(async () => {
      const r = await rows(`SELECT instance, started_at FROM kernel_job_runs WHERE job = 'ticker.long' AND outcome = 'running' AND instance <> $1`, [running.instance]);
      return r.length === 1 ? r : (null as unknown as any[]);
    }, 20_000);
    const delayMs = new Date(takeover.started_at).getTime() - killedAt.getTime();
    // The lease had at most leaseMs left when the process died, and the next slot comes within a second after.
    expect(delayMs).to.be.at.most(leaseMs + 1_000 + 250);
    const abandoned = await rows(`SELECT error FROM kernel_job_runs WHERE job = 'ticker.long' AND outcome = 'abandoned' AND instance = $1`, [running.instance]);
    expect(abandoned).to.have.length(1);
    expect(abandoned[0].error).to.include("stopped renewing its lease");
  });
});
