import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import Router from "@koa/router";
import Koa, { type Context, type Next } from "koa";
import { z } from "zod";
import { createTeamRequest, createUserRequest } from "../client/schemas.js";
import { DATASETS, odlSolve } from "./datasets.js";
import { MockPlatform, PlatformRefusal } from "./platform.js";

/**
 * A mock of the MetaCTF platform's `/integrations/syned/v1` API for development, tests and benchmarks: the same
 * calls, validation and status codes, a Bearer token, two datasets, counts of calls, and injected faults.
 * Admin routes live under `/__admin` (no token).
 */
export const API_PREFIX = "/integrations/syned/v1";

export interface MockServerOptions {
  port?: number;
  host?: string;
  /** The Bearer token the API accepts. */
  token?: string;
  /** A dataset to load at start (`baseline`, `large`), else empty. */
  dataset?: string;
  idPrefix?: string;
  firstUserId?: number;
  firstTeamId?: number;
}

/** Faults applied to API calls (never to `/__admin`). Counters count down per call. */
export interface Faults {
  /** Added before every answer. */
  latencyMs: number;
  /** Share (0..1) of calls answered with `errorStatus`. */
  errorRate: number;
  errorStatus: number;
  /** The next N calls answer `failStatus`. */
  failNext: number;
  failStatus: number;
  /** The next N calls answer 429 with `Retry-After: retryAfterSeconds`. */
  rateLimitNext: number;
  retryAfterSeconds: number;
  /** The next N successful answers lose their first field. */
  malformedNext: number;
}

const NO_FAULTS: Faults = { latencyMs: 0, errorRate: 0, errorStatus: 503, failNext: 0, failStatus: 500, rateLimitNext: 0, retryAfterSeconds: 1, malformedNext: 0 };

const faultsBody = z.strictObject({
  latencyMs: z.number().int().min(0).max(60_000).optional(),
  errorRate: z.number().min(0).max(1).optional(),
  errorStatus: z.number().int().min(500).max(599).optional(),
  failNext: z.number().int().min(0).optional(),
  failStatus: z.number().int().min(400).max(599).optional(),
  rateLimitNext: z.number().int().min(0).optional(),
  retryAfterSeconds: z.number().int().min(0).max(3600).optional(),
  malformedNext: z.number().int().min(0).optional(),
});

const solveBody = z.strictObject({
  syned_user_id: z.string().min(1),
  challenge: z.number().int().min(0).default(0),
  timestamp_unix: z.number().int().optional(),
});

const flashBody = z.strictObject({
  name: z.string().min(1),
  start_unix: z.number().int(),
  end_unix: z.number().int(),
  results: z.array(z.strictObject({ syned_user_id: z.string(), rank: z.number().int().min(1), solved: z.number().int().min(0).max(20) })).default([]),
});

const userQuery = z.object({ syned_user_id: z.string().min(1) });
const teamQuery = z.object({ syned_team_id: z.string().min(1) });
const odlQuery = z.object({ syned_user_id: z.string().min(1), after_time_unix: z.coerce.number().int().min(0).optional() });
const teamBody = teamQuery.strict();
const assignBody = z.strictObject({ syned_team_id: z.string().min(1), syned_user_id: z.string().min(1) });
const userBody = userQuery.strict();

export interface MockServer {
  url: string;
  /** `url` + the API prefix: what the plugin's `baseUrl` is set to. */
  baseUrl: string;
  token: string;
  platform(): MockPlatform;
  stop(): Promise<void>;
}

export interface CallLog {
  /** `METHOD /path` -> requests. */
  counts: Record<string, number>;
  /** syned_user_id -> `METHOD /path` -> requests (calls that name one user). */
  byUser: Record<string, Record<string, number>>;
  total: number;
}

/** Starts the mock on a free port (or `options.port`); `stop()` closes it. */
export async function startMockServer(options: MockServerOptions = {}): Promise<MockServer> {
  const token = options.token ?? "mock-metactf-token";
  const seedDefaults = { idPrefix: options.idPrefix ?? "fh-", firstUserId: options.firstUserId ?? 2, firstTeamId: options.firstTeamId ?? 1 };
  let platform = new MockPlatform();
  let faults: Faults = { ...NO_FAULTS };
  let calls: CallLog = { counts: {}, byUser: {}, total: 0 };

  const seed = (name: string, overrides: Partial<typeof seedDefaults> = {}) => {
    const dataset = DATASETS.find((d) => d.name === name);
    if (!dataset) throw new PlatformRefusal(404, `No dataset "${name}"; known: ${DATASETS.map((d) => d.name).join(", ")}`);
    platform = new MockPlatform();
    dataset.seed(platform, { ...seedDefaults, ...overrides, nowUnix: nowUnix() });
  };
  if (options.dataset) seed(options.dataset);

  const app = new Koa();
  app.use(refusalsAsDetail);
  app.use(readJsonBody);

  const admin = new Router({ prefix: "/__admin" });
  admin.post("/reset", (ctx) => {
    platform = new MockPlatform();
    faults = { ...NO_FAULTS };
    calls = { counts: {}, byUser: {}, total: 0 };
    ctx.body = { detail: "reset" };
  });
  admin.get("/datasets", (ctx) => {
    ctx.body = { datasets: DATASETS.map(({ name, description }) => ({ name, description })) };
  });
  admin.post("/seed/:dataset", (ctx) => {
    const query = valid(z.object({ id_prefix: z.string().optional(), first_user_id: z.coerce.number().int().min(1).optional(), first_team_id: z.coerce.number().int().min(1).optional() }), ctx.query);
    seed(ctx.params.dataset!, { ...(query.id_prefix !== undefined && { idPrefix: query.id_prefix }), ...(query.first_user_id !== undefined && { firstUserId: query.first_user_id }), ...(query.first_team_id !== undefined && { firstTeamId: query.first_team_id }) });
    ctx.body = { detail: `seeded ${ctx.params.dataset}`, users: platform.users.size, teams: platform.teams.size };
  });
  admin.get("/calls", (ctx) => {
    ctx.body = calls;
  });
  admin.delete("/calls", (ctx) => {
    calls = { counts: {}, byUser: {}, total: 0 };
    ctx.body = { detail: "calls cleared" };
  });
  admin.get("/faults", (ctx) => {
    ctx.body = faults;
  });
  admin.post("/faults", (ctx) => {
    faults = { ...faults, ...valid(faultsBody, ctx.request.body) };
    ctx.body = faults;
  });
  admin.delete("/faults", (ctx) => {
    faults = { ...NO_FAULTS };
    ctx.body = faults;
  });
  admin.post("/solves", (ctx) => {
    const body = valid(solveBody, ctx.request.body);
    ctx.body = platform.addSolve(body.syned_user_id, odlSolve(body.challenge, body.timestamp_unix ?? nowUnix()));
  });
  admin.post("/flash_ctfs", (ctx) => {
    const body = valid(flashBody, ctx.request.body);
    const flash = platform.addFlashCtf(body.name, body.start_unix, body.end_unix);
    for (const r of body.results) platform.addFlashResult(flash, r.syned_user_id, r.rank, Array.from({ length: r.solved }, (_, i) => odlSolve(i, body.start_unix + 60 * (i + 1))));
    ctx.body = { detail: `added ${body.name}` };
  });
  app.use(admin.routes());

  const api = new Router({ prefix: API_PREFIX });
  // Counted, authenticated, then faults: a fault answers before the platform looks at the request.
  api.use(async (ctx, next) => {
    const call = `${ctx.method} ${ctx.path.slice(API_PREFIX.length)}`;
    calls.counts[call] = (calls.counts[call] ?? 0) + 1;
    calls.total++;
    const user = (ctx.query.syned_user_id as string | undefined) ?? (ctx.request.body as { syned_user_id?: unknown } | undefined)?.syned_user_id;
    if (typeof user === "string") {
      const mine = (calls.byUser[user] ??= {});
      mine[call] = (mine[call] ?? 0) + 1;
    }
    // The fault is chosen when the call arrives, so a call its client gave up on cannot take a later call's fault.
    const fault = chooseFault(faults, ctx);
    const malformed = faults.malformedNext > 0 && faults.malformedNext-- > 0;
    if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs));
    if (ctx.get("authorization") !== `Bearer ${token}`) throw new PlatformRefusal(401, "Invalid or missing token");
    if (fault) throw fault;
    await next();
    if (malformed && ctx.body && typeof ctx.body === "object") {
      const [first] = Object.keys(ctx.body);
      if (first) delete (ctx.body as Record<string, unknown>)[first];
    }
  });
  api.post("/users", (ctx) => {
    const user = platform.createUser(valid(createUserRequest, ctx.request.body));
    ctx.body = { metactf_user_id: user.metactf_user_id, metactf_username: user.metactf_username, syned_user_id: user.syned_user_id };
  });
  api.get("/users", (ctx) => {
    const user = platform.user(valid(userQuery, ctx.query).syned_user_id);
    ctx.body = { metactf_user_id: user.metactf_user_id, metactf_username: user.metactf_username, metactf_user_status: "active", syned_user_id: user.syned_user_id };
  });
  api.post("/teams", (ctx) => {
    const team = platform.createTeam(valid(createTeamRequest, ctx.request.body));
    const { metactf_team_id, metactf_coach_id, syned_team_id, team_name, division, affiliation } = team;
    ctx.body = { metactf_team_id, metactf_coach_id, syned_team_id, team_name, division, affiliation };
  });
  api.post("/teams/delete", (ctx) => {
    platform.deleteTeam(valid(teamBody, ctx.request.body).syned_team_id);
    ctx.body = { detail: "Team deleted" };
  });
  api.post("/users/assign_team", (ctx) => {
    const body = valid(assignBody, ctx.request.body);
    platform.assign(body.syned_team_id, body.syned_user_id);
    ctx.body = body;
  });
  api.get("/users/get_team_assignments", (ctx) => {
    const { syned_team_id } = valid(teamQuery, ctx.query);
    platform.team(syned_team_id);
    const assignments = platform.membersOf(syned_team_id).map((syned_user_id) => ({ syned_team_id, syned_user_id }));
    // The platform answers this GET with 201.
    ctx.status = 201;
    ctx.body = { assignments, total_count: assignments.length };
  });
  api.get("/scores/get_odl_scores", (ctx) => {
    const query = valid(odlQuery, ctx.query);
    ctx.body = platform.odlScores(query.syned_user_id, query.after_time_unix);
  });
  api.get("/scores/get_flash_ctf_progress", (ctx) => {
    ctx.body = platform.flashProgress(valid(userQuery, ctx.query).syned_user_id, nowUnix());
  });
  api.post("/auth/send_password_reset_email", (ctx) => {
    platform.user(valid(userBody, ctx.request.body).syned_user_id);
    ctx.body = { detail: "Password reset email sent" };
  });
  app.use(api.routes());
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = { detail: "Not Found" };
  });

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host ?? "127.0.0.1"}:${port}`;
  return {
    url,
    baseUrl: url + API_PREFIX,
    token,
    platform: () => platform,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const nowUnix = () => Math.floor(Date.now() / 1000);

/** The injected failure for this call, if any (counting down the `...Next` counters). */
function chooseFault(faults: Faults, ctx: Context): PlatformRefusal | null {
  if (faults.failNext > 0) {
    faults.failNext--;
    return new PlatformRefusal(faults.failStatus, "Injected failure");
  }
  if (faults.rateLimitNext > 0) {
    faults.rateLimitNext--;
    ctx.set("Retry-After", String(faults.retryAfterSeconds));
    return new PlatformRefusal(429, "Too many requests");
  }
  if (faults.errorRate > 0 && Math.random() < faults.errorRate) return new PlatformRefusal(faults.errorStatus, "Injected server error");
  return null;
}

/** Parses with a schema; a bad request is 400 `{detail: "<field>: <reason>"}`. */
function valid<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new PlatformRefusal(400, `${issue.path.map(String).join(".") || "body"}: ${issue.message}`);
}

async function refusalsAsDetail(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
  } catch (error) {
    if (!(error instanceof PlatformRefusal)) throw error;
    ctx.status = error.status;
    ctx.body = { detail: error.message };
  }
}

/** JSON bodies only (the platform's API takes nothing else); an unreadable one is 400. */
async function readJsonBody(ctx: Context, next: Next): Promise<void> {
  if (ctx.method === "POST") {
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    try {
      ctx.request.body = text === "" ? {} : JSON.parse(text);
    } catch {
      throw new PlatformRefusal(400, "body: not valid JSON");
    }
  }
  await next();
}
