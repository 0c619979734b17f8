import type { JobDefinition } from "../kernel/scheduler/scheduler.js";
import type { PluginEvents } from "../kernel/plugin-host/api.js";
import type { Ctf } from "./runtime.js";
import { emitValueChanges } from "./accounts/changes.js";
import { settleEveryDynamicValue } from "./game/dynamic-value.js";

/** Asks every other instance to compare its read models with the database (the check job's broadcast). */
declare module "../kernel/events.js" {
  interface EventMap {
    "ctf.read-models.check": Record<string, never>;
  }
}

/**
 * Keeps core/ctf's in-memory read models (the solve index, the listed account totals, the profile rows, the detail
 * view's hints and player progress) current. The handlers serve reads: a write's answer waits
 * until its change is applied here (read-your-writes on the writing instance). A failed apply is logged and repaired
 * by the index itself (it rebuilds), so the handlers swallow it.
 */
export function readModelHandlers(ctf: Ctf, events: PluginEvents): void {
  const servesReads = { servesReads: true };
  const quietly = (work: Promise<unknown>): Promise<void> => work.then(
    () => undefined,
    () => undefined,
  );
  events.on("solve.created", (p) => quietly(ctf.solves.solveCreated(p)), servesReads);
  events.on("account.updated", (p) => quietly(ctf.solves.accountUpdated(p)), servesReads);
  events.on("challenge.updated", (p) => quietly(ctf.solves.challengeUpdated(p)), servesReads);
  events.on("event.updated", (p) => quietly(ctf.solves.eventUpdated(p)), servesReads);
  events.on("account.updated", (p) => quietly(ctf.listedAccounts.accountUpdated(p)), servesReads);
  events.on("account.updated", (p) => ctf.accountRows.accountUpdated(p), servesReads);
  events.on("event.updated", () => ctf.accountRows.clear(), servesReads);
  events.on("event.updated", () => quietly(ctf.listedAccounts.refresh()), servesReads); // an import replaces every account
  // The challenge detail view's hints and per-account progress (attempts, unlocks).
  events.on("attempt.counted", (p) => ctf.progress.attemptCounted(p), servesReads);
  events.on("award.created", (p) => ctf.progress.awardCreated(p), servesReads);
  events.on("award.deleted", (p) => ctf.progress.awardDeleted(p), servesReads);
  events.on("account.updated", (p) => ctf.progress.accountUpdated(p), servesReads);
  events.on("hint.updated", () => ctf.hints.invalidate(), servesReads);
  const forgetDetails = () => {
    ctf.progress.clear();
    ctf.hints.invalidate();
  };
  events.on("event.updated", forgetDetails, servesReads); // an import replaces every submission and hint
  events.on("challenge.updated", (p) => (p.deleted ? forgetDetails() : undefined), servesReads); // its submissions and hints went with it
  // Sent by the instance that ran the job (it already checked itself).
  events.on("ctf.read-models.check", (_p, meta) => (meta.local ? undefined : quietly(Promise.all([ctf.solves.check(), ctf.listedAccounts.refresh()]))));
  // Broadcasts were missed (an instance died between a commit and its broadcast, or this instance's Redis connection
  // was away): check now rather than at the next job run.
  const recheck = () => {
    ctf.accountRows.clear();
    forgetDetails();
    return quietly(Promise.all([ctf.solves.check(), ctf.listedAccounts.refresh()]));
  };
  events.on("kernel.instances.lost", recheck);
  events.on("kernel.coordination.restored", recheck);
}

/**
 * `ctf.read-models`, every 5 minutes on the cluster's scheduler: this instance compares its read models with a fresh
 * load from the database and repairs any drift (an event lost on the way), then asks every other instance to do the same.
 */
export function readModelCheckJob(ctf: Ctf, events: PluginEvents): JobDefinition {
  return {
    id: "read-models",
    cron: "*/5 * * * *",
    run: async () => {
      // First the stored values, so that the models compared next see them settled.
      const settled = await settleEveryDynamicValue((sql, params) => ctf.db.query(sql, params));
      emitValueChanges(ctf, settled);
      const [solves] = await Promise.all([ctf.solves.check(), ctf.listedAccounts.refresh()]);
      events.emit("ctf.read-models.check", {}, { broadcast: true });
      // Recorded with the run: what the detail view's per-account model holds on this instance (accounts, ~bytes),
      // and the dynamic values that had been left behind.
      return { solveIndex: solves, playerProgress: ctf.progress.size(), dynamicValuesSettled: settled.map(({ id, previousValue, value }) => ({ id, previousValue, value })) };
    },
  };
}
