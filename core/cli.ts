import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "./kernel/config.js";
import { StartupError } from "./kernel/errors.js";
import { createKernel, KERNEL_VERSION, Kernel } from "./kernel/kernel.js";
import { discoverPlugins, planLoadOrder } from "./kernel/plugin-host/manifest.js";

const USAGE = `flaghost ${KERNEL_VERSION}: a capture-the-flag platform

Usage: flaghost <command>

  start                 run the platform (HTTP, WebSocket, scheduler) on the configured backends
  cluster [--web N] [--workers N] [--schedulers N]
                        run N web (3), worker (2) and scheduler (1) processes on DATABASE_URL and REDIS_URL behind
                        nginx on PORT (8000), until Ctrl-C; see docs/deploy.md
  migrate               apply the kernel's and every enabled plugin's migrations, then exit
  plugins               check every plugin manifest and show the load order, without starting anything
  jobs [--url URL]      list the jobs of a running instance (needs FLAGHOST_ADMIN_TOKEN)
  run-job <id> [--url URL]   run a job once now, through the cluster claim, and print the run
  import ctfd <export.zip>   load a CTFd export into the configured database (it must hold no event yet)
  help                  this text

Configuration: config/default.json, config/<NODE_ENV>.json and environment variables (see README.md).`;

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case "start":
      return start();
    case "migrate":
      return migrate();
    case "cluster":
      return cluster(args);
    case "plugins":
      return plugins();
    case "jobs":
      return adminRequest("GET", "/api/v1/admin/jobs", args);
    case "run-job": {
      const id = args.find((a) => !a.startsWith("--") && !a.startsWith("http"));
      if (!id) return fail("usage: flaghost run-job <job id>");
      return adminRequest("POST", `/api/v1/admin/jobs/${encodeURIComponent(id)}/run`, args);
    }
    case "import": {
      const [kind, file] = args;
      if (kind !== "ctfd" || !file) return fail("usage: flaghost import ctfd <export.zip>");
      return importCtfd(file);
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return 0;
    default:
      return fail(`unknown command "${command}"\n\n${USAGE}`);
  }
}

async function start(): Promise<number> {
  const kernel = await createKernel({ root: projectRoot });
  const shutdown = async (signal: string) => {
    kernel.log.info(`received ${signal}, shutting down`);
    await kernel.stop();
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown("SIGINT"));
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  const port = await kernel.listen();
  const states = kernel.plugins.pluginStates();
  const database = kernel.config.databaseUrl ? "Postgres" : `embedded PGlite in ${kernel.config.dataDir}`;
  const coordination = kernel.coordination.kind === "redis" ? "Redis" : "in-process (single instance)";
  console.log(
    [
      `flaghost ${KERNEL_VERSION} listening on http://${kernel.config.host === "0.0.0.0" ? "localhost" : kernel.config.host}:${port} (role ${kernel.config.role}, instance ${kernel.instanceId})`,
      `  database: ${database}; coordination: ${coordination}`,
      ...states.map((p) => `  plugin ${p.id}: ${p.status}${p.error ? ` (${p.error})` : ""}`),
      kernel.config.adminToken ? "" : "  no FLAGHOST_ADMIN_TOKEN set: admin endpoints answer 401 until accounts exist",
    ]
      .filter(Boolean)
      .join("\n"),
  );
  return -1; // keep running
}

/** `flaghost cluster`: the whole cluster on this machine (core/cluster/launcher.ts), stopped by Ctrl-C. */
async function cluster(args: string[]): Promise<number> {
  const counts = { web: 3, workers: 2, schedulers: 1 };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const name = flag.replace(/^--/, "");
    if (!flag.startsWith("--") || !(name in counts)) return fail(`flaghost cluster: unknown argument "${flag}" (use --web N, --workers N, --schedulers N)`);
    const value = args[++i];
    if (value === undefined || !/^\d{1,2}$/.test(value)) return fail(`flaghost cluster: ${flag} needs a whole number from 0 to 99, not ${value === undefined ? "nothing" : `"${value}"`}`);
    counts[name as keyof typeof counts] = Number(value);
  }
  const databaseUrl = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  const missing = [!databaseUrl && "DATABASE_URL (postgres://...)", !redisUrl && "REDIS_URL (redis://...)"].filter(Boolean);
  // Without them every process would run on its own embedded database and in-process coordination: no cluster.
  if (missing.length > 0) return fail(`flaghost cluster: set ${missing.join(" and ")}; the processes share one Postgres and one Redis`);
  const portText = process.env.PORT ?? "8000";
  if (!/^\d{1,5}$/.test(portText)) return fail(`flaghost cluster: PORT must be a port number, not "${portText}"`);

  const { startCluster } = await import("./cluster/launcher.js");
  console.log(`flaghost cluster: starting ${counts.web} web, ${counts.workers} worker and ${counts.schedulers} scheduler processes, then nginx on port ${portText}`);
  let started: Awaited<ReturnType<typeof startCluster>> | null = null;
  let stopping = false;
  const stopAll = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`flaghost cluster: ${signal}, stopping every process and nginx`);
    await started?.stop();
    console.log("flaghost cluster: stopped");
    process.exit(0);
  };
  // A Ctrl-C while processes still boot is honoured once start-up gives up (startCluster stops what it started).
  process.on("SIGINT", () => void (started ? stopAll("SIGINT") : (stopping = true)));
  process.on("SIGTERM", () => void (started ? stopAll("SIGTERM") : (stopping = true)));
  try {
    started = await startCluster({
      port: Number(portText),
      ...counts,
      databaseUrl: databaseUrl!,
      redisUrl: redisUrl!,
      // Each process prints its own start-up lines; warnings and errors (JSON logs) are shown with its name.
      onLine: (name, line) => console.log(`[${name}] ${line}`),
    });
  } catch (error) {
    return fail(`flaghost ${(error as Error).message}`);
  }
  if (stopping) {
    await stopAll("interrupted during start-up");
    return 0;
  }
  const running = started;
  for (const p of running.processes()) {
    console.log(`  ${p.name.padEnd(12)} ${p.role.padEnd(9)} pid ${String(p.pid).padEnd(7)} http://127.0.0.1:${p.port}`);
    // A process that dies is reported; it is not restarted (a supervisor's job: see docs/deploy.md).
    p.child.once("exit", (code, signal) => {
      if (!stopping) console.error(`flaghost cluster: ${p.name} (pid ${p.pid}) exited (${code ?? signal})`);
    });
  }
  console.log(`  ${"nginx".padEnd(12)} ${"balancer".padEnd(9)} pid ${String(running.nginxPid).padEnd(7)} ${running.url}`);
  // Its own pid too: `kill -INT` on it stops the cluster as Ctrl-C does (npm and sh in between do not pass signals on).
  console.log(`flaghost cluster ready on ${running.url} (Ctrl-C or kill -INT ${process.pid} stops everything)`);
  return -1; // keep running until a signal
}

async function migrate(): Promise<number> {
  const kernel: Kernel = await createKernel({ root: projectRoot });
  try {
    await kernel.plugins.migrateOnly();
    const failed = kernel.plugins.pluginStates().filter((p) => p.status === "failed");
    for (const p of failed) console.error(`plugin ${p.id}: ${p.error}`);
    console.log(failed.length === 0 ? "migrations applied" : `${failed.length} plugin(s) failed`);
    return failed.length === 0 ? 0 : 1;
  } finally {
    await kernel.stop();
  }
}

async function importCtfd(file: string): Promise<number> {
  const { readCtfdExport } = await import("./ctf/import/ctfd-export.js");
  const { describeImport, importCtfdExport, refuseUnlessEventEmpty } = await import("./ctf/import/ctfd-import.js");
  const { isImportError } = await import("./ctf/import/errors.js");
  const kernel: Kernel = await createKernel({ root: projectRoot });
  try {
    await kernel.plugins.migrateOnly();
    const ctf = kernel.plugins.pluginStates().find((p) => p.id === "ctf");
    if (!ctf || ctf.status === "disabled") return fail("flaghost: the ctf plugin is not enabled in this configuration");
    if (ctf.status === "failed" || ctf.status === "blocked") return fail(`flaghost: the ctf plugin cannot load: ${ctf.error}`);
    // An event that is not empty refuses any file: check it before reading one (an export can be large).
    await refuseUnlessEventEmpty(kernel.plugins.db!);
    const data = await readCtfdExport(resolve(file), file);
    const summary = await importCtfdExport(kernel.plugins.db!, data, {
      // Running instances (with Redis) rebuild their standings and settings from this.
      emit: (name, payload) => kernel.events.emit(name, payload, { broadcast: true }),
    });
    console.log(describeImport(summary));
    return 0;
  } catch (error) {
    if (isImportError(error)) return fail(`flaghost: ${error.message}`);
    throw error;
  } finally {
    await kernel.stop();
  }
}

function plugins(): number {
  const config = loadConfig({ root: projectRoot });
  const discovered = discoverPlugins(config.pluginPaths, projectRoot);
  const { order, problems } = planLoadOrder(discovered, KERNEL_VERSION);
  let broken = 0;
  order.forEach((m, i) => {
    const enabled = config.plugins[m.id]?.enabled !== false;
    console.log(`${String(i + 1).padStart(2)}. ${m.id}@${m.version} ${enabled ? "enabled" : "disabled"}${m.dependsOn?.length ? ` (after ${m.dependsOn.map((d) => d.id).join(", ")})` : ""}`);
  });
  for (const [id, problem] of problems) {
    broken++;
    console.log(`    ${id}: ${problem.status}: ${problem.error}`);
  }
  return broken === 0 ? 0 : 1;
}

async function adminRequest(method: string, path: string, args: string[]): Promise<number> {
  const urlFlag = args.indexOf("--url");
  const base = urlFlag >= 0 ? args[urlFlag + 1] : process.env.FLAGHOST_URL ?? `http://127.0.0.1:${process.env.PORT ?? 8000}`;
  const token = process.env.FLAGHOST_ADMIN_TOKEN;
  if (!token) return fail("set FLAGHOST_ADMIN_TOKEN to the instance's bootstrap admin token");
  let response: Response;
  try {
    response = await fetch(new URL(path, base), { method, headers: { Authorization: `Token ${token}` } });
  } catch (error) {
    return fail(`cannot reach ${base}: ${(error as Error).message} (is flaghost running? pass --url)`);
  }
  const body = (await response.json().catch(() => null)) as { success?: boolean; data?: unknown; errors?: unknown } | null;
  if (!response.ok || !body?.success) return fail(`${response.status}: ${JSON.stringify(body?.errors ?? body)}`);
  console.log(JSON.stringify(body.data, null, 2));
  return 0;
}

function fail(message: string): number {
  console.error(message);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    // Start-up problems an event host must fix are printed plainly; anything else with its stack.
    console.error(error instanceof StartupError || (error as Error)?.name === "StartupError" ? `flaghost: ${(error as Error).message}` : error);
    process.exit(1);
  },
);
