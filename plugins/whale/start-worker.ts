import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import type { QueueMessageContext } from "../../core/kernel/queues/types.js";
import { containerSettings, type ContainerSettings } from "./challenge-type.js";
import { accountLabel, containerSpec, LABEL } from "./container-spec.js";
import { containerEvent, type Whale } from "./context.js";
import { deriveFlag } from "./flags.js";
import type { StartRecord } from "./starts.js";

/** The start queue's message: ids only; everything else is read again when a worker takes it. */
export const startMessage = z.strictObject({ startId: z.uuid() });

const RETRY_PAUSE_MS = 2_000;
const POLL_MS = 200;
/** Time kept in hand before the queue would hand the message to another worker (a quarter of it, at most 5 s). */
const handoverMarginMs = (claimStaleAfterS: number) => Math.min(5_000, claimStaleAfterS * 250);

/** The start no longer wants its container (stopped by its player or an admin while starting). */
class StartCancelled extends Error {}

/**
 * The consumer of `whale.start`: takes a queued start to `ready` (or `failed`). Idempotent: a message delivered
 * again (its first worker died) removes whatever the earlier delivery left and starts over; a start that ended
 * meanwhile, or one another message took (a start queued twice), is acknowledged untouched.
 */
export function startWorker(whale: Whale) {
  return async function handleStart(payload: Record<string, unknown>, message: QueueMessageContext): Promise<void> {
    const handlingSince = Date.now();
    const { startId } = startMessage.parse(payload);
    // Null: ended already, or taken by another message (this one is a duplicate queued after Redis lost the first).
    const start = await whale.store.take(startId, message.instance, message.id);
    if (!start) return;
    if (start.pickedAt) whale.metrics.queueWaitSeconds.observe((start.pickedAt.getTime() - start.createdAt.getTime()) / 1000);

    const settings = await settingsFor(whale, start);
    if (typeof settings === "string") return fail(whale, start, settings);
    try {
      // An older container of this account and challenge (a start that was never cleaned up), or a leftover of an
      // earlier delivery of this very start: neither may keep the port or the player's attention.
      for (const old of await whale.engine.list({ [LABEL.account]: accountLabel(start), [LABEL.challenge]: String(start.challengeId) })) {
        await whale.engine.remove(old.id);
      }
    } catch (error) {
      whale.health.noticed(error);
      return fail(whale, start, `Could not clear older containers: ${(error as Error).message}`);
    }

    // The message is handed to another worker after claimStaleAfterS: finish (or give up) before then, so two
    // workers never start the same start at once.
    const handlerDeadline = handlingSince + whale.config.claimStaleAfterS * 1000 - handoverMarginMs(whale.config.claimStaleAfterS);
    let lastError = "no attempt was made";
    for (let attempt = 1; attempt <= start.maxAttempts; attempt++) {
      if (message.signal.aborted) throw message.signal.reason; // shutting down: another worker will take it over
      if (Date.now() >= handlerDeadline) {
        lastError = `${lastError} (no time left for attempt ${attempt}: a start must finish within ${whale.config.claimStaleAfterS} s)`;
        break;
      }
      try {
        await tryOnce(whale, start, settings, attempt, Math.min(Date.now() + whale.config.readyTimeoutS * 1000, handlerDeadline), message.signal);
        return;
      } catch (error) {
        if (error instanceof StartCancelled) return;
        whale.health.noticed(error);
        lastError = (error as Error).message;
        message.log.info({ start: start.id, attempt, reason: lastError }, "container start attempt failed");
        await removeQuietly(whale, start.id);
        if (attempt < start.maxAttempts) await sleep(RETRY_PAUSE_MS);
      }
    }
    await fail(whale, start, lastError);
  };
}

/** One try: create and start, wait until it runs (`initialized`), then until its port answers (`ready`). */
async function tryOnce(whale: Whale, start: StartRecord, settings: ContainerSettings, attempt: number, deadline: number, signal: AbortSignal): Promise<void> {
  if (!(await whale.store.advance(start.id, "starting", { attempt, containerId: null }))) throw new StartCancelled();
  const flag = settings.flag_mode === "dynamic" ? deriveFlag(whale.secret(), settings.flag_prefix, start.challengeId, start) : null;
  const spec = containerSpec({ start, attempt, settings, network: whale.config.network, flag });
  const { id } = await whale.engine.start(spec);
  await waitRunning(whale, id, deadline, signal);
  if (!(await whale.store.advance(start.id, "initialized", { containerId: id }))) return cancelled(whale, id);
  await waitForPort(probeHost(whale), spec.hostPort, deadline, signal);
  const ready = await whale.store.ready(start.id, id);
  if (!ready) return cancelled(whale, id);
  whale.metrics.starts.inc({ outcome: "ready" });
  whale.metrics.startSeconds.observe((ready.readyAt!.getTime() - ready.createdAt.getTime()) / 1000);
  whale.events.emit("container.ready", containerEvent(ready), { broadcast: true });
}

/** Stopped while starting: the stop removed what it knew of; this removes the container it could not know yet. */
async function cancelled(whale: Whale, containerId: string): Promise<never> {
  await whale.engine.remove(containerId).catch(() => undefined);
  throw new StartCancelled();
}

async function waitRunning(whale: Whale, id: string, deadline: number, signal: AbortSignal): Promise<void> {
  for (;;) {
    const info = await whale.engine.inspect(id);
    if (info.state === "running") return;
    if (info.state === "exited") throw new Error(`the container exited: ${info.error ?? "no reason given"}`);
    if (info.state === "missing") throw new Error("the container disappeared while starting");
    if (Date.now() > deadline) throw new Error(`the container did not run in time`);
    await sleep(POLL_MS, undefined, { signal });
  }
}

/** Waits until a TCP connection to host:port succeeds. */
async function waitForPort(host: string, port: number, deadline: number, signal: AbortSignal): Promise<void> {
  for (;;) {
    if (await accepts(host, port)) return;
    if (Date.now() > deadline) throw new Error(`nothing answered on port ${port} in time`);
    await sleep(POLL_MS, undefined, { signal });
  }
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1_000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.once("timeout", () => done(false));
  });
}

/** Where the workers reach the containers: the engine's host for a tcp:// engine, this host otherwise. */
function probeHost(whale: Whale): string {
  const dockerHost = whale.config.dockerHost ?? process.env.DOCKER_HOST ?? "";
  const tcp = /^tcp:\/\/([^:/]+):\d+$/.exec(dockerHost);
  return tcp ? tcp[1]! : "127.0.0.1";
}

/** The challenge's settings as they are now, or why the start cannot go on. */
async function settingsFor(whale: Whale, start: StartRecord): Promise<ContainerSettings | string> {
  const [account, challenge] = await Promise.all([whale.read.account(start.accountId), whale.read.challengeDefinition(start.challengeId)]);
  if (!account || account.accountType !== start.accountType) return "The account no longer exists";
  if (account.banned) return "The account is banned";
  if (!challenge || challenge.type !== "container") return "The challenge no longer exists or is no longer a container challenge";
  const settings = containerSettings.safeParse(challenge.typeSettings);
  return settings.success ? settings.data : `The challenge's container settings are invalid: ${settings.error.issues[0]?.message}`;
}

async function fail(whale: Whale, start: StartRecord, reason: string): Promise<void> {
  await removeQuietly(whale, start.id);
  const failed = await whale.store.end(start.id, "failed", reason);
  if (!failed) return;
  whale.metrics.starts.inc({ outcome: "failed" });
  whale.events.emit("container.failed", containerEvent(failed, reason), { broadcast: true });
}

async function removeQuietly(whale: Whale, startId: string): Promise<void> {
  try {
    for (const container of await whale.engine.list({ [LABEL.start]: startId })) await whale.engine.remove(container.id);
  } catch (error) {
    whale.health.noticed(error);
  }
}
