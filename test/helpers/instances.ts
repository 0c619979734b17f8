import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { eventually, projectRoot } from "./kernel.js";

/** A flaghost process started by a test (`core/cli.ts start`), with its output and, once listening, its URL. */
export interface Instance {
  name: string;
  child: ChildProcess;
  output(): string;
  url: string;
}

/**
 * Starts a flaghost process on real Postgres and Redis (from the test's environment) as `flaghost start` would,
 * with a schema and Redis prefix shared by the cluster under test, and the environment given (roles, plugin paths,
 * FLAGHOST__* config). The process listens on a free port; wait for it with `whenListening`.
 */
export function spawnInstance(options: { name: string; schema: string; env: Record<string, string> }): Instance {
  const child = spawn(process.execPath, ["--import", "tsx", resolve(projectRoot, "core/cli.ts"), "start"], {
    cwd: projectRoot,
    env: {
      ...process.env,
      PORT: "0",
      FLAGHOST_HOST: "127.0.0.1",
      FLAGHOST_DB_SCHEMA: options.schema,
      FLAGHOST_REDIS_PREFIX: `${options.schema}:`,
      FLAGHOST_INSTANCE_ID: options.name,
      FLAGHOST_LOG_LEVEL: "warn",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (c) => (output += c));
  child.stderr!.on("data", (c) => (output += c));
  child.on("exit", (code) => {
    if (code && code !== 0) console.error(`instance ${options.name} exited with ${code}:\n${output}`);
  });
  return { name: options.name, child, output: () => output, url: "" };
}

/** Waits until every instance listens (processes compile and boot at once on a shared machine: allow minutes). */
export async function whenListening(instances: Instance[], timeoutMs = 170_000): Promise<void> {
  await eventually(() => instances.every((i) => i.output().includes("listening on")), timeoutMs, 200);
  for (const instance of instances) instance.url = `http://127.0.0.1:${/listening on http:\/\/[^:]+:(\d+)/.exec(instance.output())![1]}`;
}
