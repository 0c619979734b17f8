import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/**
 * A whole flaghost cluster on one machine: `web`, `worker` and `scheduler` processes (`core/cli.ts start` with
 * FLAGHOST_ROLE) on one Postgres and one Redis, and nginx in front of the web processes, using the same nginx
 * config as deploy/ (deploy/nginx/flaghost.conf). Used by `flaghost cluster` (npm run cluster), its test and the
 * event benchmark.
 */

export interface ClusterOptions {
  /** Where nginx listens (on every address); the processes listen on 127.0.0.1 at port+101.., +201.., +301... */
  port: number;
  web: number;
  workers: number;
  schedulers: number;
  databaseUrl: string;
  redisUrl: string;
  /** Extra environment for every process (FLAGHOST__..., DOCKER_HOST, FLAGHOST_DB_SCHEMA, FLAGHOST_REDIS_PREFIX). */
  env?: Record<string, string>;
  /** Every output line of every process, nginx and the migration included ("nginx", "migrate", "web-1", ...). */
  onLine?: (process: string, line: string) => void;
  /** How long the processes may take to compile and boot (default 5 minutes: a busy two-core machine is slow). */
  startTimeoutMs?: number;
}

export interface ClusterProcess {
  name: string;
  role: "web" | "worker" | "scheduler";
  pid: number;
  port: number;
  child: ChildProcess;
}

export interface RunningCluster {
  /** nginx's URL, http://127.0.0.1:port. */
  url: string;
  processes(): ClusterProcess[];
  nginxPid: number;
  /** Signals one process (SIGKILL by default); resolves when it has exited. */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a process again with the same role and port; resolves when it listens. */
  restart(name: string): Promise<ClusterProcess>;
  /** Stops every process and nginx; idempotent. */
  stop(): Promise<void>;
}

type Role = ClusterProcess["role"];

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const NGINX_TEMPLATE = resolve(projectRoot, "deploy/nginx/flaghost.conf");
const NGINX_BINARY = process.env.FLAGHOST_NGINX ?? "/usr/sbin/nginx";

/**
 * Connections per pool, by role. Each process has two pools (TypeORM's and the raw one), so it may open twice
 * this many: web 2×6 = 12, worker 2×4 = 8, scheduler 2×3 = 6. The default cluster (3 web, 2 workers, 1 scheduler)
 * opens at most 36 + 16 + 6 = 58 of Postgres's default 100 (3 of which are reserved for superusers), leaving 39
 * for migrations, backups and psql. docs/deploy.md has the arithmetic for other shapes.
 */
export const POOL_SIZE_BY_ROLE: Record<Role, number> = { web: 6, worker: 4, scheduler: 3 };
/** The one-off migration before the processes start needs few connections. */
const MIGRATE_POOL_SIZE = 2;
/** Port offsets of each role's processes from nginx's port: web-1 on port+101, worker-1 on port+201, ... */
const PORT_OFFSET: Record<Role, number> = { web: 100, worker: 200, scheduler: 300 };
/** How long stop() waits for a process after SIGTERM before SIGKILL (flaghost waits for its handlers up to 10 s). */
const STOP_GRACE_MS = 15_000;

/** The nginx.conf for the launcher: its own pid, logs and temp folders under `dir`, in the foreground, including the template. */
export function launcherNginxConf(options: { dir: string; include: string; asRoot: boolean }): string {
  const d = options.dir;
  return [
    "daemon off;",
    "worker_processes 1;",
    `pid ${join(d, "nginx.pid")};`,
    "error_log stderr warn;",
    // As root, nginx drops its workers to `nobody` unless told otherwise; the temp folders are the launcher's.
    options.asRoot ? "user root;" : "",
    "events { worker_connections 4096; }",
    "http {",
    "  access_log off;",
    `  client_body_temp_path ${join(d, "client_body")};`,
    `  proxy_temp_path ${join(d, "proxy")};`,
    `  fastcgi_temp_path ${join(d, "fastcgi")};`,
    `  uwsgi_temp_path ${join(d, "uwsgi")};`,
    `  scgi_temp_path ${join(d, "scgi")};`,
    `  include ${options.include};`,
    "}",
    "",
  ]
    .filter((line) => line !== "")
    .join("\n");
}

/** deploy/nginx/flaghost.conf with its placeholders filled; an unfilled placeholder is an error, not an nginx surprise. */
export function renderNginxTemplate(template: string, values: Record<string, string>): string {
  const out = template.replace(/\$\{(FLAGHOST_[A-Z_]+)\}/g, (whole, name: string) => {
    if (!(name in values)) throw new Error(`deploy/nginx/flaghost.conf: no value for ${whole}`);
    return values[name]!;
  });
  return out;
}

/** The `server` lines for web processes on the loopback: one failure takes a process out for 5 s (passive health). */
export function upstreamServers(ports: number[]): string {
  return ports.map((port) => `server 127.0.0.1:${port} max_fails=1 fail_timeout=5s;`).join("\n    ");
}

/** Whether something already listens on (or holds) this port. */
function portTaken(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once("error", () => resolvePort(true));
    server.listen(port, () => server.close(() => resolvePort(false)));
  });
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolveConnect) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolveConnect(true);
    });
    socket.once("error", () => resolveConnect(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when the child has exited (at once if it already has). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once("exit", () => r()));
}

/** Keeps the last lines of a child's output for error messages, and hands every line to onLine. */
function follow(child: ChildProcess, name: string, onLine?: (process: string, line: string) => void): () => string {
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on("line", (line) => {
      tail.push(line);
      if (tail.length > 40) tail.shift();
      onLine?.(name, line);
    });
  }
  return () => tail.join("\n");
}

export async function startCluster(options: ClusterOptions): Promise<RunningCluster> {
  for (const [field, value] of [["web", options.web], ["workers", options.workers], ["schedulers", options.schedulers]] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 99) throw new Error(`cluster: ${field} must be a whole number from 0 to 99, not ${value}`);
  }
  if (options.web < 1) throw new Error("cluster: at least one web process is needed behind nginx");
  if (!Number.isInteger(options.port) || options.port < 1 || options.port + PORT_OFFSET.scheduler + options.schedulers > 65535) {
    throw new Error(`cluster: port must be from 1 to ${65535 - PORT_OFFSET.scheduler - options.schedulers}, not ${options.port}`);
  }
  if (!existsSync(NGINX_BINARY)) {
    throw new Error(`cluster: nginx is not installed at ${NGINX_BINARY} (Debian: apt-get install -y --no-install-recommends nginx)`);
  }
  const timeoutMs = options.startTimeoutMs ?? 300_000;

  const plan: Array<{ name: string; role: Role; port: number }> = [];
  const counts: Record<Role, number> = { web: options.web, worker: options.workers, scheduler: options.schedulers };
  for (const role of ["web", "worker", "scheduler"] as const) {
    for (let i = 1; i <= counts[role]; i++) plan.push({ name: `${role}-${i}`, role, port: options.port + PORT_OFFSET[role] + i });
  }
  const taken = [];
  for (const port of [options.port, ...plan.map((p) => p.port)]) if (await portTaken(port)) taken.push(port);
  if (taken.length > 0) throw new Error(`cluster: port${taken.length > 1 ? "s" : ""} ${taken.join(", ")} already in use (pick another PORT)`);

  // Defaults first: a host's own FLAGHOST__database__poolSize (in the environment or options.env) wins.
  const baseEnv = (role: Role | "migrate"): NodeJS.ProcessEnv => ({
    FLAGHOST__database__poolSize: String(role === "migrate" ? MIGRATE_POOL_SIZE : POOL_SIZE_BY_ROLE[role]),
    // Web processes sit behind nginx, which sets X-Forwarded-For to the client's address.
    ...(role === "web" ? { FLAGHOST__http__trustProxy: "true" } : {}),
    ...process.env,
    ...options.env,
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
  });
  const cli = (command: string, env: NodeJS.ProcessEnv) =>
    spawn(process.execPath, ["--import", "tsx", resolve(projectRoot, "core/cli.ts"), command], { cwd: projectRoot, env, stdio: ["ignore", "pipe", "pipe"] });

  // Migrations once, before any process starts, so they don't race each other.
  const migration = cli("migrate", { ...baseEnv("migrate"), FLAGHOST_INSTANCE_ID: "migrate" });
  const migrationTail = follow(migration, "migrate", options.onLine);
  const migrationCode = await new Promise<number | null>((r) => migration.once("exit", (code) => r(code)));
  if (migrationCode !== 0) throw new Error(`cluster: migrate exited with ${migrationCode}:\n${migrationTail()}`);

  const running = new Map<string, ClusterProcess>();
  let nginx: ChildProcess | null = null;
  let nginxDir: string | null = null;
  let stopping: Promise<void> | null = null;

  const launch = async (spec: { name: string; role: Role; port: number }): Promise<ClusterProcess> => {
    const child = cli("start", { ...baseEnv(spec.role), FLAGHOST_ROLE: spec.role, FLAGHOST_INSTANCE_ID: spec.name, FLAGHOST_HOST: "127.0.0.1", PORT: String(spec.port) });
    let listening = false;
    const tail = follow(child, spec.name, (name, line) => {
      if (line.includes("listening on")) listening = true;
      options.onLine?.(name, line);
    });
    const entry: ClusterProcess = { ...spec, pid: child.pid!, child };
    running.set(spec.name, entry);
    const deadline = Date.now() + timeoutMs;
    while (!listening) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`cluster: ${spec.name} exited (${child.exitCode ?? child.signalCode}) before listening:\n${tail()}`);
      if (stopping) throw new Error(`cluster: stopped while ${spec.name} was starting`);
      if (Date.now() > deadline) throw new Error(`cluster: ${spec.name} did not listen within ${timeoutMs} ms:\n${tail()}`);
      await sleep(100);
    }
    return entry;
  };

  const stopChild = async (child: ChildProcess, signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    await exited(child);
    clearTimeout(timer);
  };

  // A host process that exits without stop() (a test run ending, an uncaught error) must not leave six
  // processes and nginx behind on the machine. Only a SIGKILL of the host escapes this.
  const killLeftovers = () => {
    for (const child of [nginx, ...[...running.values()].map((p) => p.child)]) {
      if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  };
  process.once("exit", killLeftovers);

  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      // nginx first, so no new request reaches a process that is going away.
      if (nginx) await stopChild(nginx, "SIGTERM");
      await Promise.all([...running.values()].map((p) => stopChild(p.child)));
      if (nginxDir) await rm(nginxDir, { recursive: true, force: true });
      process.removeListener("exit", killLeftovers);
    })());

  try {
    await Promise.all(plan.map(launch));

    nginxDir = await mkdtemp(join(tmpdir(), "flaghost-nginx-"));
    const asRoot = process.getuid?.() === 0;
    for (const sub of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) await mkdir(join(nginxDir, sub));
    await chmod(nginxDir, 0o755);
    const site = renderNginxTemplate(await readFile(NGINX_TEMPLATE, "utf8"), {
      FLAGHOST_LISTEN: String(options.port),
      FLAGHOST_UPSTREAM_SERVERS: upstreamServers(plan.filter((p) => p.role === "web").map((p) => p.port)),
      FLAGHOST_RESOLVER: "",
    });
    await writeFile(join(nginxDir, "flaghost.conf"), site);
    await writeFile(join(nginxDir, "nginx.conf"), launcherNginxConf({ dir: nginxDir, include: join(nginxDir, "flaghost.conf"), asRoot }));
    // -e stderr: nginx opens its compiled-in error log before reading the config otherwise (and fails without root).
    nginx = spawn(NGINX_BINARY, ["-p", nginxDir, "-e", "stderr", "-c", join(nginxDir, "nginx.conf")], { stdio: ["ignore", "pipe", "pipe"] });
    const nginxTail = follow(nginx, "nginx", options.onLine);
    const deadline = Date.now() + 30_000;
    while (!(await connects(options.port))) {
      if (nginx.exitCode !== null || nginx.signalCode !== null) throw new Error(`cluster: nginx exited (${nginx.exitCode ?? nginx.signalCode}):\n${nginxTail()}`);
      if (Date.now() > deadline) throw new Error(`cluster: nginx did not listen on ${options.port} within 30 s:\n${nginxTail()}`);
      await sleep(100);
    }
  } catch (error) {
    await stop();
    throw error;
  }

  const nginxChild = nginx!;
  return {
    url: `http://127.0.0.1:${options.port}`,
    processes: () => [...running.values()],
    nginxPid: nginxChild.pid!,
    async kill(name, signal = "SIGKILL") {
      const entry = running.get(name);
      if (!entry) throw new Error(`cluster: no process named ${name}`);
      entry.child.kill(signal);
      await exited(entry.child);
    },
    async restart(name) {
      const entry = running.get(name);
      if (!entry) throw new Error(`cluster: no process named ${name}`);
      if (stopping) throw new Error("cluster: stopped");
      await stopChild(entry.child);
      return launch({ name: entry.name, role: entry.role, port: entry.port });
    },
    stop,
  };
}
