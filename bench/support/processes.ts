import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Redis } from "ioredis";

const root = resolve(import.meta.dirname, "../..");

/** Resolves with the first match of `pattern` in the child's stdout; rejects if the child exits first. */
export function waitForLine(child: ChildProcess, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  return new Promise((resolvePromise, reject) => {
    let out = "";
    const listen = (chunk: Buffer) => {
      out += chunk;
      const match = pattern.exec(out);
      if (!match) return;
      // Keep draining the pipe (a full pipe would block the child's logging), without keeping what it says.
      child.stdout!.off("data", listen);
      child.stdout!.on("data", (more: Buffer) => {
        drained += more.length;
        if (process.env.BENCH_SHOW_SERVER_OUTPUT) process.stderr.write(more);
      });
      resolvePromise(match);
    };
    let drained = 0;
    child.stdout!.on("data", listen);
    child.once("exit", () => drained > 0 && console.error(`(${what} wrote ${drained} bytes after start-up)`));
    child.once("exit", (code) => reject(new Error(`${what} exited with ${code}: ${out}`)));
  });
}

/**
 * Runs flaghost as its own process (`flaghost start`, as in production) on a free port, with `env` on top of this
 * process's environment. BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof") goes to the server process only, for profiling.
 * With `inspect`, the process also listens for the V8 inspector on a free loopback port (see heap.ts), and its
 * address is answered as `inspectorUrl`.
 */
export async function startFlaghost(env: Record<string, string>, options: { inspect?: boolean } = {}): Promise<{ child: ChildProcess; url: string; inspectorUrl: string | null }> {
  const nodeArgs = [...(process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean), ...(options.inspect ? ["--inspect=127.0.0.1:0"] : [])];
  const child = spawn(process.execPath, [...nodeArgs, resolve(root, "bin/flaghost.js"), "start"], {
    cwd: root,
    env: { ...process.env, PORT: "0", FLAGHOST_HOST: "127.0.0.1", FLAGHOST_LOG_LEVEL: "warn", NODE_ENV: "production", ...env },
    stdio: ["ignore", "pipe", options.inspect ? "pipe" : "inherit"],
  });
  // Node prints the inspector's address on stderr before anything else; the rest of stderr is passed on.
  const inspectorUrl = options.inspect
    ? new Promise<string>((resolveUrl) => {
        let seen = "";
        child.stderr!.on("data", (chunk: Buffer) => {
          // The inspector's own notices ("Debugger listening/attached/ending", "For help") are not the server's.
          const own = chunk.toString().split("\n").filter((line) => !/^(Debugger (listening|attached|ending)|For help, see)/.test(line));
          if (own.some((line) => line.trim() !== "")) process.stderr.write(own.join("\n"));
          seen += chunk;
          const match = /Debugger listening on (ws:\/\/\S+)/.exec(seen);
          if (match) resolveUrl(match[1]!);
        });
      })
    : Promise.resolve(null);
  const [, port] = await waitForLine(child, /listening on http:\/\/[^:]+:(\d+)/, "flaghost");
  return { child, url: `http://127.0.0.1:${port}`, inspectorUrl: await inspectorUrl };
}

/** A process's resident memory now and at its peak, from /proc (Linux). */
export function processMemory(pid: number): { rssMb: number; peakRssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const mb = (field: string) => +(Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024).toFixed(1);
  return { rssMb: mb("VmRSS"), peakRssMb: mb("VmHWM") };
}

/** CPU seconds (user + system, all threads) of a process so far, from /proc/<pid>/stat; null when it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
  } catch {
    return null;
  }
}

/** Runs `flaghost migrate` with `env` on top of this process's environment, and resolves when it has applied them. */
export async function migrateFlaghost(env: Record<string, string>): Promise<void> {
  const child = spawn(process.execPath, [resolve(root, "bin/flaghost.js"), "migrate"], {
    cwd: root,
    env: { ...process.env, FLAGHOST_LOG_LEVEL: "warn", NODE_ENV: "production", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout!.on("data", (chunk) => (out += chunk));
  const code = await new Promise<number | null>((done) => child.once("exit", done));
  if (code !== 0) throw new Error(`flaghost migrate exited with ${code}: ${out}`);
}

/** Deletes every Redis key under `prefix` (what a benchmark's server left: streams, caches, instance records). */
export async function dropRedisKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true });
  await redis.connect();
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}
