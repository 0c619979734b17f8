import { resolve } from "node:path";
import { projectRoot, responseBody, startTestKernel, TEST_ADMIN_TOKEN, type TestKernel } from "./kernel.js";

export const CTF_PLUGIN = resolve(projectRoot, "core/ctf");
export const ADMIN_PASSWORD = "admin-password-123";

export interface ApiResponse {
  status: number;
  body: any;
  headers: Headers;
}

/**
 * A browser-like client: keeps the session cookie and sends the CSRF token on writes, or uses an API token.
 */
export class Client {
  cookie: string | null = null;
  csrfToken: string | null = null;
  apiToken: string | null = null;
  user: { id: number; name: string } | null = null;

  constructor(readonly baseUrl: string) {}

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
    const unsafe = method !== "GET" && method !== "HEAD";
    const response = await fetch(this.baseUrl + path, {
      method,
      redirect: "manual",
      headers: {
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...(this.apiToken ? { authorization: `Token ${this.apiToken}` } : {}),
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...(this.cookie && unsafe && this.csrfToken ? { "csrf-token": this.csrfToken } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const setCookie = response.headers.getSetCookie?.() ?? [];
    for (const line of setCookie) {
      const [pair] = line.split(";");
      if (pair!.startsWith("session=")) this.cookie = pair!.endsWith("=") ? null : pair!;
    }
    return { status: response.status, body: await responseBody(response), headers: response.headers };
  }

  get = (path: string) => this.request("GET", path);
  post = (path: string, body: unknown = {}) => this.request("POST", path, body);
  patch = (path: string, body: unknown) => this.request("PATCH", path, body);
  delete = (path: string) => this.request("DELETE", path);

  /** Takes the session from a register/login/setup answer. */
  adopt(response: ApiResponse): ApiResponse {
    if (response.status === 200) {
      this.csrfToken = response.body.data.csrfToken;
      this.user = response.body.data.user;
    }
    return response;
  }
}

export interface TestCtf extends TestKernel {
  /** Logged-in admin (session), created by setup. */
  admin: Client;
  /** A client with no credentials. */
  anonymous(): Client;
  /** Registers a player through the API and returns its logged-in client. */
  register(name?: string, password?: string): Promise<Client>;
  /** A client using the bootstrap admin token. */
  bootstrap: Client;
  /** Creates a challenge (admin API) with a static flag; returns its id. */
  challenge(fields?: Record<string, unknown>, flag?: string | { content: string; type?: string; data?: string | null }): Promise<number>;
}

let counter = 0;

/**
 * Another instance on `first`'s database schema and Redis prefix (a multi-instance test's "b"), with core/ctf and
 * `plugins` (folders, as startCtf takes them).
 */
export function startAnotherInstance(first: TestCtf, options: { plugins?: string[]; instanceId?: string } = {}): Promise<TestKernel> {
  return startTestKernel({
    plugins: [CTF_PLUGIN, ...(options.plugins ?? [])],
    schema: first.schema!,
    config: { redisKeyPrefix: first.kernel.config.redisKeyPrefix, instanceId: options.instanceId ?? "b" },
  });
}

/** The same session (cookie, CSRF token) used through another instance: sessions live in the database. */
export const sessionAt = (baseUrl: string, client: Client): Client =>
  Object.assign(new Client(baseUrl), { cookie: client.cookie, csrfToken: client.csrfToken, user: client.user });

/**
 * Boots a kernel with core/ctf (plus any other plugin folders), runs first-time setup and returns helpers
 * that drive it through HTTP like a browser or a CTFd client would.
 */
export async function startCtf(
  options: { plugins?: string[]; mode?: "users" | "teams"; settings?: Record<string, unknown>; config?: Record<string, unknown> } = {},
): Promise<TestCtf> {
  const t = await startTestKernel({ plugins: [CTF_PLUGIN, ...(options.plugins ?? [])], config: options.config });
  const admin = new Client(t.url);
  // Setup needs the bootstrap token when one is configured (it is, unless a test unsets adminToken).
  const setupHeaders: Record<string, string> = t.kernel.config.adminToken ? { authorization: `Token ${t.kernel.config.adminToken}` } : {};
  const setupBody = { ctf_name: "Test CTF", user_mode: options.mode ?? "users", name: "admin", email: "admin@example.test", password: ADMIN_PASSWORD };
  const setup = admin.adopt(await admin.request("POST", "/api/v1/setup", setupBody, setupHeaders));
  if (setup.status !== 200) throw new Error(`setup failed: ${setup.status} ${JSON.stringify(setup.body)}`);
  if (options.settings) {
    const res = await admin.patch("/api/v1/configs", options.settings);
    if (res.status !== 200) throw new Error(`configs failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
  const bootstrap = new Client(t.url);
  bootstrap.apiToken = TEST_ADMIN_TOKEN;
  return Object.assign(t, {
    admin,
    bootstrap,
    anonymous: () => new Client(t.url),
    async register(name = `player${++counter}_${Math.random().toString(36).slice(2, 6)}`, password = "player-password-1") {
      const client = new Client(t.url);
      const res = client.adopt(await client.post("/api/v1/auth/register", { name, email: `${name}@example.test`, password }));
      if (res.status !== 200) throw new Error(`register ${name} failed: ${res.status} ${JSON.stringify(res.body)}`);
      return client;
    },
    async challenge(fields: Record<string, unknown> = {}, flag: string | { content: string; type?: string; data?: string | null } = "flag{test}") {
      const res = await admin.post("/api/v1/challenges", { name: `challenge ${++counter}`, category: "misc", description: "d", value: 100, ...fields });
      if (res.status !== 200) throw new Error(`challenge failed: ${res.status} ${JSON.stringify(res.body)}`);
      const id = res.body.data.id as number;
      const spec = typeof flag === "string" ? { content: flag } : flag;
      const flagRes = await admin.post("/api/v1/flags", { challenge_id: id, type: "static", ...spec });
      if (flagRes.status !== 200) throw new Error(`flag failed: ${flagRes.status} ${JSON.stringify(flagRes.body)}`);
      return id;
    },
  });
}
