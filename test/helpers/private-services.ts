/**
 * A Postgres and a Redis of a test's own, to stop, kill and restart: the machine's shared ones serve every other
 * suite and must never go away. Both listen on the loopback on a free port and are removed by `stop()`.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, existsSync, rmSync } from "node:fs";
import { readlink } from "node:fs/promises";
import { createServer } from "node:net";
import { accepts } from "./tcp.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { eventually } from "./kernel.js";

const run = promisify(execFile);
const PG_BIN = "/usr/lib/postgresql/15/bin";

/** A port nothing listens on right now (the OS picks it; the service binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  /** Stops the server (`-m fast`: sessions are cut) and waits until it is down. */
  down(): Promise<void>;
  /** Starts it again on the same port and data; waits until it accepts connections. */
  up(): Promise<void>;
  /** down() then up(). */
  restart(): Promise<void>;
  /** SIGKILL to the postmaster: a crash, not a shutdown (its children exit when they notice). */
  kill(): Promise<void>;
  /** Stops the server for good and removes its data folder. */
  stop(): Promise<void>;
}

/**
 * A real Postgres 15 in a temporary data folder owned by the `postgres` user (initdb refuses to run as root), trust
 * authentication on 127.0.0.1, fsync off (a test's data need not survive a power cut).
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), "flaghost-pg-"));
  const data = join(dir, "data");
  chmodSync(dir, 0o755);
  chownSync(dir, ...(await postgresIds()));
  const asPostgres = (bin: string, args: string[]) => run("runuser", ["-u", "postgres", "--", join(PG_BIN, bin), ...args], { timeout: 120_000 });
  await asPostgres("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=100`;
  const up = async () => {
    await asPostgres("pg_ctl", ["-D", data, "-l", join(dir, "log"), "-o", options, "-w", "-t", "120", "start"]);
  };
  const down = async () => {
    await asPostgres("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "60", "stop"]);
  };
  await up();
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    up,
    down,
    async restart() {
      await down();
      await up();
    },
    async kill() {
      const { stdout } = await run("head", ["-1", join(data, "postmaster.pid")]);
      const pid = Number(stdout.trim());
      process.kill(pid, "SIGKILL");
      // Its children exit when they notice; a new postmaster refuses to start while any of them (or it) lives.
      await eventually(async () => !(await accepts(port)) && !alive(pid) && !(await serverProcessesIn(data)), 60_000, 100);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await asPostgres("pg_ctl", ["-D", data, "-m", "immediate", "-w", "-t", "60", "stop"]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PrivateRedis {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  /** SIGKILL to the server (it keeps nothing: every key, stream and consumer group is gone). */
  down(): Promise<void>;
  /** Starts a new, empty server on the same port; waits until it answers. */
  up(): Promise<void>;
  /** down() then up(): what a Redis restart without persistence does to the cluster. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A redis-server child without persistence on a free port. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const up = async () => {
    const server = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"], { stdio: "ignore" });
    child = server;
    await eventually(() => accepts(port), 30_000, 50);
  };
  const down = async () => {
    const server = child;
    child = null;
    if (!server || server.exitCode !== null) return;
    const exited = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGKILL");
    await exited;
  };
  await up();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    up,
    down,
    async restart() {
      await down();
      await up();
    },
    stop: down,
  };
}

/** Whether a process exists, zombies included: a new postmaster refuses to start while the old pid answers kill(0). */
function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

/** Whether any live process of the server (its backends keep running a moment after the postmaster dies) remains. */
async function serverProcessesIn(data: string): Promise<boolean> {
  const { stdout } = await run("pgrep", ["-u", "postgres", "-f", "postgres"]).catch(() => ({ stdout: "" }));
  for (const pid of stdout.split("\n").filter(Boolean).map(Number)) {
    if (!alive(pid)) continue;
    const cwd = await readlinkQuietly(`/proc/${pid}/cwd`);
    if (cwd === data) return true;
  }
  return false;
}

async function readlinkQuietly(path: string): Promise<string | null> {
  try {
    return await readlink(path);
  } catch {
    return null;
  }
}

async function postgresIds(): Promise<[number, number]> {
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([run("id", ["-u", "postgres"]), run("id", ["-g", "postgres"])]);
  return [Number(uid), Number(gid)];
}

