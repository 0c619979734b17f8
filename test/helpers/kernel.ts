import { Writable } from "node:stream";
import { resolve } from "node:path";
import pg from "pg";
import { Kernel } from "../../core/kernel/kernel.js";
import { loadConfig } from "../../core/kernel/config.js";
import { backends, uniqueName } from "./backends.js";

export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789abcdef";
export const projectRoot = resolve(import.meta.dirname, "../..");
export const fixturePlugin = (name: string) => resolve(projectRoot, "test/fixtures/plugins", name);

export interface TestKernel {
  kernel: Kernel;
  url: string;
  /** Every log line the kernel wrote, parsed. */
  logs: Array<Record<string, unknown> & { level: number; msg: string }>;
  /** The Postgres schema this kernel uses (real Postgres only). */
  schema: string | null;
  request(method: string, path: string, options?: { body?: unknown; token?: string | null; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers }>;
  stop(): Promise<void>;
}

/**
 * Boots a kernel with the given plugin folders on a fresh database (a new Postgres schema when DATABASE_URL is set,
 * else in-memory PGlite) and its own Redis key prefix, listening on a free port.
 */
export async function startTestKernel(options: { plugins: string[]; config?: Record<string, unknown>; schema?: string; listen?: boolean } = { plugins: [] }): Promise<TestKernel> {
  const schema = backends.databaseUrl ? (options.schema ?? uniqueName("t")) : null;
  const logs: TestKernel["logs"] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) logs.push(JSON.parse(line));
      done();
    },
  });
  const config = loadConfig({
    root: projectRoot,
    env: {},
    overrides: {
      env: "test",
      host: "127.0.0.1",
      port: 0,
      databaseUrl: backends.databaseUrl,
      databaseSchema: schema ?? "public",
      redisUrl: backends.redisUrl,
      redisKeyPrefix: `${uniqueName("flaghost-test")}:`,
      dataDir: "memory:",
      adminToken: TEST_ADMIN_TOKEN,
      log: { level: process.env.FLAGHOST_TEST_LOG ?? "info" },
      pluginPaths: options.plugins,
      ...options.config,
    },
  });
  const kernel = new Kernel(config, { logDestination: destination });
  if (options.listen === false) await kernel.start();
  else await kernel.listen();
  const url = options.listen === false ? "" : kernel.url;
  return {
    kernel,
    url,
    logs,
    schema,
    async request(method, path, { body, token = TEST_ADMIN_TOKEN, headers = {} } = {}) {
      const response = await fetch(url + path, {
        method,
        headers: {
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...(token ? { authorization: `Token ${token}` } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
      return { status: response.status, body: await responseBody(response), headers: response.headers };
    },
    async stop() {
      await kernel.stop();
      if (schema) await dropSchema(schema);
    },
  };
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: backends.databaseUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** A response's body: parsed when it is JSON, else the text. */
export async function responseBody(response: Response): Promise<any> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Polls until check() returns a truthy value (or throws after timeoutMs, with the last value in the message). */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 10_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms (last value: ${JSON.stringify(last)})`);
}

export const errorLogs = (t: TestKernel) => t.logs.filter((line) => line.level >= 50);
