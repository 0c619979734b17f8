import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { addressesPlugin, genericSettings, resolvePluginIds, unknownKernelKeys, type EnvironmentSetting } from "./config-env.js";
import { StartupError } from "./errors.js";
import { discoverPlugins } from "./plugin-host/manifest.js";

/**
 * Kernel configuration. Sources, later ones winning:
 *   config/default.json  ->  config/<NODE_ENV>.json  ->  environment variables  ->  overrides passed in code (tests).
 * Plugin slices live under `plugins.<id>` and are validated by each plugin's own schema when it registers.
 */
export const kernelConfigSchema = z.object({
  env: z.string().default("production"),
  /** Process role: `all` (single process), `web` (HTTP + WebSocket), `worker` (queue consumers), `scheduler` (claims job slots). */
  role: z.enum(["all", "web", "worker", "scheduler"]).default("all"),
  host: z.string().default("0.0.0.0"),
  port: z.number().int().min(0).max(65535).default(8000),
  /** Postgres URL; unset means embedded PGlite in `dataDir`. */
  databaseUrl: z.string().min(1).optional(),
  /** Postgres schema to use (tests give each kernel a fresh one). */
  databaseSchema: z.string().regex(/^[a-z_][a-z0-9_]*$/).default("public"),
  database: z
    .object({
      /**
       * Connections per Postgres pool. A process has two (TypeORM's, for transactions and repositories, and the
       * raw one behind Database.query), so it opens up to twice this many.
       */
      poolSize: z.number().int().min(1).max(100).default(10),
      /**
       * How long a query waits for a connection (a new one to open, or a busy pool's to free up) before it fails.
       * Bounded so that with Postgres down or unreachable a request answers 503 at once instead of hanging.
       */
      connectTimeoutMs: z.number().int().min(100).max(120_000).default(5_000),
    })
    .prefault({}),
  /** Redis URL; unset means in-process coordination (one instance only). */
  redisUrl: z.string().min(1).optional(),
  /** Prefix of every Redis key and channel, so several deployments (or tests) can share one Redis. */
  redisKeyPrefix: z.string().default("flaghost:"),
  /** Embedded database folder; `memory:` keeps it in memory (tests). */
  dataDir: z.string().default("./data"),
  /** Origins allowed to open WebSockets. Empty means same-origin only (Origin host == Host). */
  origins: z.array(z.string().url()).default([]),
  /** Bootstrap admin API token, sent as `Authorization: Token <value>`. */
  adminToken: z.string().min(16, "must be at least 16 characters").optional(),
  /** Signing secret for stream tokens and sessions; generated once and stored in the database when unset. */
  secret: z.string().min(32, "must be at least 32 characters").optional(),
  /** This process's name in job runs; defaults to hostname-pid. */
  instanceId: z.string().min(1).optional(),
  /** Where plugins are found: folders holding a plugin.json, or `dir/*` for every sub-folder of dir. */
  pluginPaths: z.array(z.string()).default(["core/ctf", "plugins/*"]),
  log: z
    .object({
      level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
      /** One `request` line per request (reqId, method, route, status, durationMs); off for benchmarks. */
      accessLog: z.boolean().default(true),
    })
    .prefault({}),
  metrics: z
    .object({
      /**
       * Also serve GET /metrics on this port, without a token, for a scraper on a private network (0: any free
       * port). Unset: /metrics is only on the main port, for admins.
       */
      port: z.number().int().min(0).max(65535).optional(),
    })
    .prefault({}),
  http: z
    .object({
      bodyLimitBytes: z.number().int().positive().default(1024 * 1024),
      /** Trust X-Forwarded-* headers (behind a reverse proxy). */
      trustProxy: z.boolean().default(false),
    })
    .prefault({}),
  websocket: z
    .object({
      heartbeatMs: z.number().int().positive().default(30_000),
      /** A client whose unsent data exceeds this is dropped instead of growing memory. */
      maxBufferedBytes: z.number().int().positive().default(1024 * 1024),
      tokenTtlMs: z.number().int().positive().default(5 * 60_000),
    })
    .prefault({}),
  /** Open streams (WebSocket channels and server-sent events such as /events): the excess is refused. */
  streams: z
    .object({
      perToken: z.number().int().min(1).default(5),
      perAddress: z.number().int().min(1).default(50),
      total: z.number().int().min(1).default(20_000),
    })
    .prefault({}),
  scheduler: z
    .object({
      /** How long a claimed run holds its job before another instance may take it; renewed while it runs. */
      leaseMs: z.number().int().min(500).default(30_000),
      timezone: z.string().default("UTC"),
      /** Runs older than this are deleted daily (kernel.job-runs-retention); the latest run of every job stays. */
      keepRunsDays: z.number().int().min(1).default(30),
    })
    .prefault({}),
  queues: z
    .object({
      /** How long one read waits for new messages before checking for stale ones. */
      blockMs: z.number().int().min(10).default(2_000),
      /** Default time after which an unacknowledged message is delivered again (a definition may set its own). */
      claimStaleAfterMs: z.number().int().min(100).default(30_000),
      /** How long stop waits for handlers in flight. */
      stopTimeoutMs: z.number().int().min(0).default(10_000),
    })
    .prefault({}),
  instances: z
    .object({
      /** Heartbeat interval of the instance registry; an instance is gone after three missed beats. */
      heartbeatMs: z.number().int().min(100).default(5_000),
    })
    .prefault({}),
  pluginInitTimeoutMs: z.number().int().positive().default(15_000),
  plugins: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
});

export type KernelConfig = z.infer<typeof kernelConfigSchema>;

type Json = Record<string, unknown>;

/** The environment variables the kernel reads, and where they land in the config. */
const ENV_KEYS: Array<[name: string, path: string[], parse: (v: string) => unknown]> = [
  ["NODE_ENV", ["env"], String],
  ["PORT", ["port"], Number],
  ["FLAGHOST_HOST", ["host"], String],
  ["FLAGHOST_ROLE", ["role"], String],
  ["DATABASE_URL", ["databaseUrl"], String],
  ["FLAGHOST_DB_SCHEMA", ["databaseSchema"], String],
  ["REDIS_URL", ["redisUrl"], String],
  ["FLAGHOST_REDIS_PREFIX", ["redisKeyPrefix"], String],
  ["FLAGHOST_DATA_DIR", ["dataDir"], String],
  ["FLAGHOST_ORIGINS", ["origins"], (v) => v.split(",").map((s) => s.trim()).filter(Boolean)],
  ["FLAGHOST_ADMIN_TOKEN", ["adminToken"], String],
  ["FLAGHOST_SECRET", ["secret"], String],
  ["FLAGHOST_INSTANCE_ID", ["instanceId"], String],
  ["FLAGHOST_LOG_LEVEL", ["log", "level"], String],
  ["FLAGHOST_METRICS_PORT", ["metrics", "port"], Number],
  ["FLAGHOST_PLUGIN_PATHS", ["pluginPaths"], (v) => v.split(",").map((s) => s.trim()).filter(Boolean)],
];

/** The names of those variables (deploy/ files are checked against them: a misspelt name would be ignored). */
export const KERNEL_ENV_NAMES: readonly string[] = ENV_KEYS.map(([name]) => name);

/**
 * Loads the configuration. `FLAGHOST__a__b` variables (config-env.ts) may name a plugin id with `_` for `-`;
 * the ids are those of the plugins found in `pluginPaths`, so discovery runs first when such a variable is set.
 * A variable that names no config key stops start-up, like an invalid value.
 */
export function loadConfig(options: { root: string; env?: NodeJS.ProcessEnv; overrides?: Json }): KernelConfig {
  const env = options.env ?? process.env;
  const configDir = env.FLAGHOST_CONFIG_DIR ?? join(options.root, "config");
  let files: Json = readJsonFile(join(configDir, "default.json"));
  if (env.NODE_ENV) files = deepMerge(files, readJsonFile(join(configDir, `${env.NODE_ENV}.json`)));
  const overrides = options.overrides ?? {};

  let generic = genericSettings(env);
  const problems = unknownKernelKeys(generic, kernelConfigSchema);
  if (generic.some(addressesPlugin)) {
    // Where plugins are found may itself come from any source; plugin slices play no part in it.
    const kernelOnly = deepMerge(deepMerge(deepMerge(files, namedEnvConfig(env)), settingsTree(generic.filter((s) => !addressesPlugin(s)))), overrides);
    const pluginPaths = kernelConfigSchema.shape.pluginPaths.safeParse(kernelOnly.pluginPaths);
    if (pluginPaths.success) {
      const resolved = resolvePluginIds(generic, discoverPlugins(pluginPaths.data).map((p) => p.id));
      generic = resolved.settings;
      problems.push(...resolved.problems);
    } // else the schema check below reports pluginPaths itself
  }
  if (problems.length > 0) throw new StartupError(`invalid configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`);

  const merged = deepMerge(deepMerge(deepMerge(files, namedEnvConfig(env)), settingsTree(generic)), overrides);
  const parsed = kernelConfigSchema.safeParse(merged);
  if (!parsed.success) throw new StartupError(`invalid configuration:\n${formatIssues(parsed.error)}`);
  return parsed.data;
}

/** The single-underscore variables (PORT, FLAGHOST_ROLE, ...) as a config tree. */
function namedEnvConfig(env: NodeJS.ProcessEnv): Json {
  let out: Json = {};
  for (const [name, path, parse] of ENV_KEYS) {
    const raw = env[name];
    if (raw !== undefined && raw !== "") out = deepMerge(out, nest(path, parse(raw)));
  }
  return out;
}

function settingsTree(settings: EnvironmentSetting[]): Json {
  return settings.reduce<Json>((out, { path, value }) => (path.length > 0 ? deepMerge(out, nest(path, value)) : out), {});
}

/** One line per problem: `plugins.whale.port: Expected number, received string`. */
export function formatIssues(error: z.ZodError, prefix: string[] = []): string {
  return error.issues
    .map((issue) => {
      const path = [...prefix, ...issue.path.map(String)].join(".") || "(root)";
      return `  ${path}: ${issue.message}`;
    })
    .join("\n");
}

function readJsonFile(path: string): Json {
  if (!existsSync(path)) return {};
  try {
    const value: unknown = JSON.parse(readFileSync(path, "utf8"));
    if (!isPlainObject(value)) throw new Error("the top level must be an object");
    return value;
  } catch (error) {
    throw new StartupError(`invalid configuration file ${path}: ${(error as Error).message}`);
  }
}

function nest(path: string[], value: unknown): Json {
  return path.reduceRight<unknown>((acc, key) => ({ [key]: acc }), value) as Json;
}

export function isPlainObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function deepMerge(base: Json, extra: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}
