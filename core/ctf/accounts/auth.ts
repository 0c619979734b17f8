import { hash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { Context, Next } from "koa";
import type { Actor } from "../../kernel/auth.js";
import { tokenFromHeader } from "../../kernel/auth.js";
import type { Database } from "../../kernel/db/data-source.js";
import { HttpError, unauthorized } from "../../kernel/errors.js";
import type { Player } from "../service.js";
import type { SettingsStore } from "../settings.js";

export const SESSION_COOKIE = "session";
const SESSION_TTL_MS = 7 * 24 * 3600_000;
/**
 * How long a resolved caller is reused without asking the database. Every change that matters (ban, hide, team,
 * role, revoked token or session) emits account.updated, which clears the cache on every instance at once, and a
 * cached credential is still refused once its own expiry passes; the age limit only bounds the damage of a lost
 * pub/sub message. (At 30 s, an event with 20,000 active players re-read hundreds of callers a second.)
 */
const ACTOR_CACHE_MS = 300_000;
const ACTOR_CACHE_MAX = 50_000;
const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export const sha256 = (value: string) => hash("sha256", value, "hex");
export const newSecret = (bytes = 32) => randomBytes(bytes).toString("hex");

interface AccountRow {
  user_id: number;
  name: string;
  role: "user" | "admin";
  banned: boolean;
  team_id: number | null;
  team_banned: boolean | null;
  csrf_token?: string;
  /** When the credential (token or session) stops being valid. */
  expires_at: Date;
}

/** A session cookie or API token as presented. */
export interface Credential {
  kind: "token" | "session";
  secret: string;
}

/** Credentials per lookup statement (a bound on one statement's parameter and answer). */
const LOAD_BATCH_MAX = 500;
/**
 * Lookup statements in flight at once per process. Under a burst, lookups asked for meanwhile queue up and go out
 * as one statement when one comes back, so the burst costs a handful of round trips (each is dear: a statement's
 * write to the database costs more here than answering the request); alone, a lookup goes out on the next turn.
 */
const LOADS_IN_FLIGHT = 2;

interface PendingLoad {
  resolve(rows: AccountRow[]): void;
  reject(error: unknown): void;
}

interface CachedActor {
  row: AccountRow | null;
  at: number;
}

declare module "koa" {
  interface DefaultState {
    player?: Player | null;
  }
}

/**
 * Recognises players by session cookie or API token (`Authorization: Token ctfd_...`), for every route of every
 * plugin (it is added to the kernel's resolver chain). Banned users and members of banned teams are refused on
 * both paths. A cookie-authenticated write must carry the session's CSRF token in the `CSRF-Token` header.
 */
export class PlayerAuth {
  private readonly cache = new Map<string, CachedActor>();

  constructor(
    private readonly db: Database,
    private readonly settings: SettingsStore,
  ) {}

  /** Forget every cached caller (an account was banned, hidden, moved to a team...). */
  invalidate(): void {
    this.cache.clear();
  }

  resolver = async (ctx: Context): Promise<Actor | null> => {
    const token = tokenFromHeader(ctx);
    if (token) {
      if (!token.startsWith("ctfd_")) return null; // not ours: leave it to the kernel's bootstrap token
      const row = await this.lookup(`t:${sha256(token)}`, () => this.load({ kind: "token", secret: token }));
      if (!row) throw unauthorized("Your access token is invalid or has expired");
      return this.actorFor(row, "token");
    }
    const cookie = ctx.cookies.get(SESSION_COOKIE);
    if (!cookie || cookie.length > 128) return null;
    const row = await this.lookup(`s:${sha256(cookie)}`, () => this.load({ kind: "session", secret: cookie }));
    if (!row) return null; // an expired session is simply anonymous
    if (UNSAFE_METHODS.has(ctx.method) && !sameSecret(ctx.get("csrf-token"), row.csrf_token!)) {
      throw new HttpError(403, "CSRF token missing or invalid: send the session's token in the CSRF-Token header", { csrf: ["missing or invalid CSRF-Token header"] });
    }
    return this.actorFor(row, "session");
  };

  /** The player behind a request (null for anonymous callers and the bootstrap admin token). */
  async player(ctx: Context, actor: Actor | null): Promise<Player | null> {
    if (ctx.state.player !== undefined) return ctx.state.player;
    const player = actor && actor.kind === "user" ? await this.playerOf(Number(actor.id), actor.name, actor.admin, (actor.details?.teamId as number | null) ?? null) : null;
    ctx.state.player = player;
    return player;
  }

  /**
   * The player behind a request's raw headers when the answer is already cached, without waiting (the prepared fast
   * paths): null for a request without credentials, undefined whenever the ordinary route must decide (nothing cached,
   * an expired or unknown credential, a banned account, the bootstrap token, a cookie too long to be ours).
   */
  cachedPlayer(headers: IncomingHttpHeaders, mode: "users" | "teams"): Player | null | undefined {
    const authorization = headers.authorization;
    let key: string;
    if (authorization !== undefined) {
      const token = /^Token\s+(ctfd_\S+)$/i.exec(authorization)?.[1];
      if (!token) return undefined;
      key = `t:${sha256(token)}`;
    } else {
      const cookie = sessionCookieOf(headers.cookie);
      if (cookie === null) return headers.cookie === undefined ? null : undefined;
      key = `s:${sha256(cookie)}`;
    }
    const hit = this.cache.get(key);
    const now = Date.now();
    if (!hit?.row || now - hit.at >= ACTOR_CACHE_MS || hit.row.expires_at.getTime() <= now || hit.row.banned || hit.row.team_banned) return undefined;
    return playerIn(mode, hit.row.user_id, hit.row.name, hit.row.role === "admin", hit.row.team_id);
  }

  /** The player's credential, for a long-lived stream that must re-check its holder later (never logged). */
  credentialOf(ctx: Context): Credential | null {
    const token = tokenFromHeader(ctx);
    if (token) return token.startsWith("ctfd_") ? { kind: "token", secret: token } : null;
    const cookie = ctx.cookies.get(SESSION_COOKIE);
    return cookie && cookie.length <= 128 ? { kind: "session", secret: cookie } : null;
  }

  /**
   * The player behind a credential as the database says now (no cache, so a change just made is seen), with
   * when the credential expires; null when it was revoked, expired, or its account or team is banned or gone.
   */
  async recheck(credential: Credential): Promise<{ player: Player; expiresAt: Date } | null> {
    const [row] = await this.load(credential);
    if (!row || row.banned || row.team_banned) return null;
    return { player: await this.playerOf(row.user_id, row.name, row.role === "admin", row.team_id), expiresAt: row.expires_at };
  }

  private async playerOf(userId: number, name: string, admin: boolean, teamId: number | null): Promise<Player> {
    return playerIn((await this.settings.get()).mode, userId, name, admin, teamId);
  }

  /**
   * The account behind a credential as the database says now. Lookups asked for in the same turn of the event loop
   * (a burst of requests from callers not cached yet: a class pressing Start at once) go out as one statement per
   * kind, so a burst costs one round trip instead of one per caller; each caller still gets only its own row.
   */
  private load(credential: Credential): Promise<AccountRow[]> {
    const hash = sha256(credential.secret);
    return new Promise((resolve, reject) => {
      const waiting = this.pendingLoads[credential.kind];
      waiting.set(hash, [...(waiting.get(hash) ?? []), { resolve, reject }]);
      this.scheduleLoads();
    });
  }

  private pendingLoads = { token: new Map<string, PendingLoad[]>(), session: new Map<string, PendingLoad[]>() };
  private loadsScheduled = false;
  /** Lookup statements in flight; while LOADS_IN_FLIGHT are, new lookups wait and go out together with the next. */
  private loadsInFlight = 0;

  private scheduleLoads(): void {
    if (this.loadsScheduled || this.loadsInFlight >= LOADS_IN_FLIGHT) return;
    if (this.pendingLoads.token.size === 0 && this.pendingLoads.session.size === 0) return;
    this.loadsScheduled = true;
    setImmediate(() => this.sendLoads());
  }

  private sendLoads(): void {
    this.loadsScheduled = false;
    for (const kind of ["token", "session"] as const) {
      const waiting = this.pendingLoads[kind];
      if (waiting.size === 0) continue;
      this.pendingLoads[kind] = new Map();
      const hashes = [...waiting.keys()];
      for (let i = 0; i < hashes.length; i += LOAD_BATCH_MAX) {
        const batch = hashes.slice(i, i + LOAD_BATCH_MAX);
        this.loadsInFlight++;
        this.loadMany(kind, batch).finally(() => {
          this.loadsInFlight--;
          this.scheduleLoads();
        }).then(
          (rows) => {
            const byHash = new Map<string, AccountRow>();
            for (const { credential_hash, ...row } of rows) if (!byHash.has(credential_hash)) byHash.set(credential_hash, row);
            for (const hash of batch) {
              const row = byHash.get(hash);
              for (const pending of waiting.get(hash)!) pending.resolve(row ? [row] : []);
            }
          },
          (error: unknown) => batch.forEach((hash) => waiting.get(hash)!.forEach((pending) => pending.reject(error))),
        );
      }
    }
  }

  private loadMany(kind: Credential["kind"], hashes: string[]): Promise<Array<AccountRow & { credential_hash: string }>> {
    if (kind === "token") {
      return this.db.query(
        `SELECT k.token_hash AS credential_hash, u.id AS user_id, u.name, u.role, u.banned, u.team_id, t.banned AS team_banned, k.expires_at
           FROM ctf_tokens k JOIN ctf_users u ON u.id = k.user_id LEFT JOIN ctf_teams t ON t.id = u.team_id
          WHERE k.token_hash = ANY($1) AND k.expires_at > now()`,
        [hashes],
        { name: "ctf-token-callers" },
      );
    }
    return this.db.query(
      `SELECT s.id_hash AS credential_hash, u.id AS user_id, u.name, u.role, u.banned, u.team_id, t.banned AS team_banned, s.csrf_token, s.expires_at
         FROM ctf_sessions s JOIN ctf_users u ON u.id = s.user_id LEFT JOIN ctf_teams t ON t.id = u.team_id
        WHERE s.id_hash = ANY($1) AND s.expires_at > now()`,
      [hashes],
      { name: "ctf-session-callers" },
    );
  }

  async createSession(userId: number): Promise<{ cookie: string; csrfToken: string; expiresAt: Date }> {
    const cookie = newSecret();
    const csrfToken = newSecret();
    const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
    await this.db.query(`INSERT INTO ctf_sessions (id_hash, user_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4)`, [sha256(cookie), userId, csrfToken, expiresAt]);
    return { cookie, csrfToken, expiresAt };
  }

  /** Sets the session cookie on the response: httpOnly, SameSite=Lax, Secure behind HTTPS. */
  static setCookie(ctx: Context, value: string, expires: Date): void {
    ctx.cookies.set(SESSION_COOKIE, value, { httpOnly: true, sameSite: "lax", secure: ctx.secure, expires, overwrite: true, path: "/" });
  }

  async destroySession(ctx: Context): Promise<void> {
    const cookie = ctx.cookies.get(SESSION_COOKIE);
    if (cookie) {
      await this.db.query(`DELETE FROM ctf_sessions WHERE id_hash = $1`, [sha256(cookie)]);
      this.cache.delete(`s:${sha256(cookie)}`);
    }
    ctx.cookies.set(SESSION_COOKIE, "", { httpOnly: true, sameSite: "lax", expires: new Date(0), overwrite: true, path: "/" });
  }

  /** The CSRF token of the request's session, for pages that embed it. */
  async csrfTokenOf(ctx: Context): Promise<string | null> {
    const cookie = ctx.cookies.get(SESSION_COOKIE);
    if (!cookie || cookie.length > 128) return null;
    const [row] = await this.db.query<{ csrf_token: string }>(`SELECT csrf_token FROM ctf_sessions WHERE id_hash = $1 AND expires_at > now()`, [sha256(cookie)]);
    return row?.csrf_token ?? null;
  }

  private async lookup(key: string, load: () => Promise<AccountRow[]>): Promise<AccountRow | null> {
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < ACTOR_CACHE_MS) return hit.row && hit.row.expires_at.getTime() > Date.now() ? hit.row : null;
    const [row] = await load();
    if (this.cache.size >= ACTOR_CACHE_MAX) this.cache.clear();
    this.cache.set(key, { row: row ?? null, at: Date.now() });
    return row ?? null;
  }

  private actorFor(row: AccountRow, via: "session" | "token"): Actor {
    if (row.banned) throw new HttpError(403, "You have been banned from this CTF");
    if (row.team_banned) throw new HttpError(403, "Your team has been banned from this CTF");
    return { kind: "user", id: row.user_id, name: row.name, admin: row.role === "admin", details: { teamId: row.team_id, via } };
  }
}

/** A user as a player of the event's mode: the account that scores is the team in team mode. */
function playerIn(mode: "users" | "teams", userId: number, name: string, admin: boolean, teamId: number | null): Player {
  return { userId, name, admin, teamId, accountType: mode === "teams" ? "team" : "user", accountId: mode === "teams" ? teamId : userId };
}

/** The session cookie's value from a raw Cookie header, or null (none, or longer than ours can be). */
function sessionCookieOf(header: string | undefined): string | null {
  if (header === undefined) return null;
  for (const part of header.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === SESSION_COOKIE) {
      const cookie = value.join("=");
      return cookie.length > 0 && cookie.length <= 128 ? cookie : null;
    }
  }
  return null;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Middleware factory: the route needs a logged-in player (401 otherwise); the player is on ctx.state.player. */
export function requirePlayer(resolve: (ctx: Context) => Promise<Player | null>) {
  return async (ctx: Context, next: Next) => {
    const player = await resolve(ctx);
    if (!player) throw unauthorized();
    await next();
  };
}
