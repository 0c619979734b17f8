import type { ContainerSettings } from "./challenge-type.js";
import type { ContainerSpec } from "./engine/index.js";
import type { StartRecord } from "./starts.js";

/** The labels whale puts on every container: what reconcile and stop find them by. */
export const LABEL = {
  account: "flaghost.whale.account",
  challenge: "flaghost.whale.challenge",
  start: "flaghost.whale.start",
  expires: "flaghost.whale.expires",
  /** The install that started it (a stable id kept in its database): every listing is filtered by it (install.ts). */
  install: "flaghost.whale.install",
} as const;

export const accountLabel = (start: Pick<StartRecord, "accountType" | "accountId">) => `${start.accountType}:${start.accountId}`;

/**
 * What to run for one try of a start. PORT is the port the service must listen on: inside the container in bridge
 * mode, the allocated host port in host mode. FLAG only in dynamic mode (a static image carries its own).
 */
export function containerSpec(options: {
  start: StartRecord;
  attempt: number;
  settings: ContainerSettings;
  network: "host" | "bridge";
  flag: string | null;
}): ContainerSpec {
  const { start, attempt, settings, network, flag } = options;
  const hostPort = start.hostPort!;
  const listenPort = network === "host" ? hostPort : settings.port;
  const expires = new Date(Date.now() + start.lifetimeS * 1000).toISOString();
  return {
    name: `flaghost-whale-${start.id}-${attempt}`,
    image: settings.image,
    ...(settings.command ? { command: settings.command } : {}),
    env: { PORT: String(listenPort), ...(flag === null ? {} : { FLAG: flag }) },
    labels: {
      [LABEL.account]: accountLabel(start),
      [LABEL.challenge]: String(start.challengeId),
      [LABEL.start]: start.id,
      [LABEL.expires]: expires,
    },
    memoryMb: settings.memory_mb,
    cpus: settings.cpus,
    network,
    containerPort: listenPort,
    hostPort,
  };
}
