import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");

/** Resolves with the first match of `pattern` in the child's stdout; rejects if the child exits first. */
export function waitForLine(child: ChildProcess, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  return new Promise((resolvePromise, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk) => {
      out += chunk;
      const match = pattern.exec(out);
      if (match) resolvePromise(match);
    });
    child.once("exit", (code) => reject(new Error(`${what} exited with ${code}: ${out}`)));
  });
}

/**
 * Runs flaghost as its own process (`flaghost start`, as in production) on a free port, with `env` on top of this
 * process's environment. BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof") goes to the server process only, for profiling.
 */
export async function startFlaghost(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, resolve(root, "bin/flaghost.js"), "start"], {
    cwd: root,
    env: { ...process.env, PORT: "0", FLAGHOST_HOST: "127.0.0.1", FLAGHOST_LOG_LEVEL: "warn", NODE_ENV: "production", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [, port] = await waitForLine(child, /listening on http:\/\/[^:]+:(\d+)/, "flaghost");
  return { child, url: `http://127.0.0.1:${port}` };
}
