import { expect } from "chai";
import { uniqueName } from "../helpers/backends.js";
import { spawnInstance, whenListening, type Instance } from "../helpers/instances.js";
import { eventually, fixturePlugin, startTestKernel, type TestKernel } from "../helpers/kernel.js";
import type { InstancesLost } from "../../core/kernel/instances.js";

/**
 * `kernel.instances.lost` (core/kernel/instances.ts): every instance watches the heartbeat list and tells its
 * plugins when others vanished without a clean stop, so read models fed by broadcast events can reconcile. Real
 * Postgres and Redis: an in-process kernel watches two processes of the same cluster; one is killed with SIGKILL,
 * the other stopped cleanly with SIGTERM.
 */
describe("kernel: instances lost without a clean stop", function () {
  this.timeout(240_000);
  const schema = uniqueName("lost");
  const heartbeatMs = 300;
  const processes: Instance[] = [];
  const reported: Array<{ at: number; ids: string[] }> = [];
  let watcher: TestKernel;

  before(async () => {
    watcher = await startTestKernel({ plugins: [], schema, config: { redisKeyPrefix: `${schema}:`, instanceId: "watcher", instances: { heartbeatMs } } });
    watcher.kernel.events.on("test", "kernel.instances.lost", (payload: InstancesLost) => void reported.push({ at: Date.now(), ids: payload.instances.map((i) => i.id) }));
    for (const name of ["victim", "leaver"]) {
      processes.push(spawnInstance({ name, schema, env: { FLAGHOST_PLUGIN_PATHS: fixturePlugin("greeter"), FLAGHOST__instances__heartbeatMs: String(heartbeatMs) } }));
    }
    await whenListening(processes);
    // The watcher has seen both beat.
    await eventually(async () => (await watcher.kernel.instances.list()).length === 3, 10_000, 100);
    await new Promise((r) => setTimeout(r, 2 * heartbeatMs));
  });

  after(async () => {
    for (const instance of processes) instance.child.kill("SIGKILL");
    await watcher?.stop();
  });

  it("reports a process killed with SIGKILL once, within a few heartbeats, and a cleanly stopped one never", async () => {
    const [victim, leaver] = processes;
    const leaverExit = new Promise((r) => leaver!.child.once("exit", r));
    leaver!.child.kill("SIGTERM");
    await leaverExit;
    victim!.child.kill("SIGKILL");
    const killedAt = Date.now();
    await eventually(() => reported.length > 0, 10_000, 50);
    // Long enough for a second report, had there been one.
    await new Promise((r) => setTimeout(r, 6 * heartbeatMs));
    expect(reported.map((r) => r.ids)).to.deep.equal([["victim"]]);
    // Its heartbeat lives three beats; the watcher looks once per beat.
    expect(reported[0]!.at - killedAt).to.be.at.most(5 * heartbeatMs + 1_000);
    expect((await watcher.kernel.instances.list()).map((i) => i.id)).to.deep.equal(["watcher"]);
  });

  it("reports a process killed and restarted under the same id before its heartbeat expired", async () => {
    // A long heartbeat (its key lives a minute), so the restart beats before the dead one's key expires.
    const env = { FLAGHOST_PLUGIN_PATHS: fixturePlugin("greeter"), FLAGHOST__instances__heartbeatMs: "20000" };
    const first = spawnInstance({ name: "phoenix", schema, env });
    processes.push(first);
    await whenListening([first]);
    await eventually(async () => (await watcher.kernel.instances.list()).some((i) => i.id === "phoenix"), 10_000, 100);
    await new Promise((r) => setTimeout(r, 2 * heartbeatMs));
    reported.length = 0;
    first.child.kill("SIGKILL");
    const second = spawnInstance({ name: "phoenix", schema, env });
    processes.push(second);
    await whenListening([second]);
    await eventually(() => reported.length > 0, 10_000, 50);
    expect(reported.map((r) => r.ids)).to.deep.equal([["phoenix"]]);
    const [listed] = (await watcher.kernel.instances.list()).filter((i) => i.id === "phoenix");
    expect(listed!.pid).to.equal(second.child.pid);
  });
});
