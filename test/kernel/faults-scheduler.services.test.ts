import { expect } from "chai";
import pg from "pg";
import { backends, uniqueName } from "../helpers/backends.js";
import { spawnInstance, whenListening, type Instance } from "../helpers/instances.js";
import { dropSchema, eventually, fixturePlugin } from "../helpers/kernel.js";

/**
 * Issue 16, part 4: the `scheduler` process killed with SIGKILL. Unlike cluster.services.test.ts (three processes
 * of role `all`), here only processes of role `scheduler` claim slots; a `web` and a `worker` process with the same
 * plugins run beside them and must never claim one, not even while no scheduler is up. The ticker fixture has a
 * per-second job and a long one that runs until aborted.
 */
describe("faults: the scheduler process killed with SIGKILL", function () {
  this.timeout(420_000);
  const schema = uniqueName("faultssched");
  const leaseMs = 2_000;
  /** A slot is one second; allow a little for claim round trips on a busy machine. */
  const slack = 1_000 + 500;
  const instances = new Map<string, Instance>();
  let db: pg.Client;

  const start = (name: string, role: "web" | "worker" | "scheduler") => {
    const instance = spawnInstance({
      name,
      schema,
      env: {
        FLAGHOST_ROLE: role,
        FLAGHOST_PLUGIN_PATHS: fixturePlugin("ticker"),
        FLAGHOST__scheduler__leaseMs: String(leaseMs),
        FLAGHOST__plugins__ticker__long: "true",
      },
    });
    instances.set(name, instance);
    return instance;
  };
  const kill = (name: string) => {
    instances.get(name)!.child.kill("SIGKILL");
    instances.delete(name);
  };
  const rows = async (sql: string, params: unknown[] = []): Promise<any[]> => (await db.query(sql.replaceAll("kernel_job_runs", `"${schema}".kernel_job_runs`), params)).rows;
  const dbNow = async () => new Date((await rows(`SELECT now() AS now`))[0].now).getTime();
  /** The long job's running row; `besides` excludes a run that may still say running until a claim abandons it. */
  const runningLong = (besides?: string) =>
    eventually<{ id: string; instance: string; started_at: Date }>(async () => {
      const [row] = await rows(`SELECT id, instance, started_at FROM kernel_job_runs WHERE job = 'ticker.long' AND outcome = 'running' AND id IS DISTINCT FROM $1`, [
        besides ?? null,
      ]);
      return row ?? null;
    }, 20_000, 100);

  before(async () => {
    db = new pg.Client({ connectionString: backends.databaseUrl });
    await db.connect();
    await whenListening([start("web", "web"), start("worker", "worker"), start("scheduler-1", "scheduler")]);
  });

  after(async () => {
    for (const instance of instances.values()) instance.child.kill("SIGKILL");
    await db?.end();
    await dropSchema(schema);
  });

  it("runs the per-second job and the long job on the scheduler only", async () => {
    await eventually(async () => (await rows(`SELECT count(*)::int AS n FROM kernel_job_runs WHERE job = 'ticker.every-second' AND outcome = 'succeeded'`))[0].n >= 3, 30_000, 200);
    expect((await runningLong()).instance).to.equal("scheduler-1");
    expect(await rows(`SELECT DISTINCT instance FROM kernel_job_runs`)).to.deep.equal([{ instance: "scheduler-1" }]);
  });

  it("runs no slot while no scheduler is up; a new one resumes the slots and re-runs the abandoned long job within one lease and one slot", async () => {
    const abandonedRun = await runningLong();
    kill("scheduler-1");
    const killedAt = await dbNow();
    // Three leases with only web and worker up: they load the same jobs but must not claim a slot.
    await new Promise((r) => setTimeout(r, 3 * leaseMs));
    expect(await rows(`SELECT instance, job, slot FROM kernel_job_runs WHERE started_at > $1`, [new Date(killedAt)])).to.deep.equal([]);
    // The dead scheduler's long run still says running: only a claim (by a scheduler) may declare it abandoned.
    expect((await rows(`SELECT outcome FROM kernel_job_runs WHERE id = $1`, [abandonedRun.id]))[0].outcome).to.equal("running");

    const replacement = start("scheduler-2", "scheduler");
    await whenListening([replacement]);
    const upAt = Date.now();
    const firstTick = await eventually(async () => {
      const [row] = await rows(`SELECT started_at FROM kernel_job_runs WHERE job = 'ticker.every-second' AND instance = 'scheduler-2' ORDER BY started_at LIMIT 1`);
      return row ?? null;
    }, 10_000, 100);
    expect(new Date(firstTick.started_at).getTime() - upAt).to.be.at.most(leaseMs + slack);

    // The killed scheduler's row says running until the replacement claims the long job's next slot, which may
    // come after the first per-second slot: wait for the new run, not for any running row.
    const rerun = await runningLong(abandonedRun.id);
    expect(rerun.instance).to.equal("scheduler-2");
    expect(new Date(rerun.started_at).getTime() - upAt).to.be.at.most(leaseMs + slack);
    const [abandoned] = await rows(`SELECT outcome, error FROM kernel_job_runs WHERE id = $1`, [abandonedRun.id]);
    expect(abandoned.outcome).to.equal("abandoned");
    expect(abandoned.error).to.include("stopped renewing its lease");
    console.log(
      `      measured: relative to the replacement listening, first slot ${new Date(firstTick.started_at).getTime() - upAt} ms, long job re-run ${new Date(rerun.started_at).getTime() - upAt} ms (lease ${leaseMs} ms)`,
    );
  });

  it("with two schedulers, killing the one running the long job hands it to the other within one lease", async () => {
    await whenListening([start("scheduler-3", "scheduler")]);
    // Both claim slots now (wait until the newcomer has won one, so it is really running).
    await eventually(async () => (await rows(`SELECT 1 FROM kernel_job_runs WHERE instance = 'scheduler-3'`)).length > 0, 20_000, 200);
    const running = await runningLong();
    const survivor = running.instance === "scheduler-2" ? "scheduler-3" : "scheduler-2";
    const killedAt = await dbNow();
    kill(running.instance);

    const takeover = await eventually(async () => {
      const [row] = await rows(`SELECT instance, started_at FROM kernel_job_runs WHERE job = 'ticker.long' AND outcome = 'running' AND id <> $1`, [running.id]);
      return row ?? null;
    }, 20_000, 100);
    expect(takeover.instance).to.equal(survivor);
    expect(new Date(takeover.started_at).getTime() - killedAt).to.be.at.most(leaseMs + slack);
    const [abandoned] = await rows(`SELECT outcome, error FROM kernel_job_runs WHERE id = $1`, [running.id]);
    expect(abandoned).to.deep.include({ outcome: "abandoned" });
    console.log(`      measured: long job taken over ${new Date(takeover.started_at).getTime() - killedAt} ms after the kill (lease ${leaseMs} ms)`);

    // The per-second job did not miss a slot: the survivor was claiming every slot alongside the victim.
    await new Promise((r) => setTimeout(r, 3_000));
    const slots = (await rows(`SELECT slot FROM kernel_job_runs WHERE job = 'ticker.every-second' AND slot > $1 ORDER BY slot`, [new Date(killedAt - 3_000)])).map((r) =>
      new Date(r.slot).getTime(),
    );
    expect(slots.length).to.be.at.least(5);
    expect(slots.slice(1).filter((slot, i) => slot - slots[i]! !== 1_000).map((s) => new Date(s).toISOString())).to.deep.equal([]);
  });

  it("ran every slot at most once, never on the web or worker process, and at most one long run at a time", async () => {
    expect(await rows(`SELECT job, slot, count(*)::int AS n FROM kernel_job_runs GROUP BY job, slot HAVING count(*) > 1`)).to.deep.equal([]);
    expect((await rows(`SELECT DISTINCT instance FROM kernel_job_runs ORDER BY instance`)).map((r) => r.instance)).to.deep.equal(["scheduler-1", "scheduler-2", "scheduler-3"]);
    expect(await rows(`SELECT id FROM kernel_job_runs WHERE job = 'ticker.long' AND outcome = 'running'`)).to.have.length(1);
    // Successive long runs never overlap: each starts after the previous one ended (abandoned at its lease's end).
    const long = await rows(`SELECT started_at, finished_at FROM kernel_job_runs WHERE job = 'ticker.long' AND outcome <> 'skipped' ORDER BY started_at`);
    expect(long.length).to.equal(3);
    for (let i = 1; i < long.length; i++) expect(new Date(long[i].started_at).getTime()).to.be.at.least(new Date(long[i - 1].finished_at).getTime());
  });
});
