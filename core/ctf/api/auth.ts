import type { Context } from "koa";
import { z } from "zod";
import { badRequest, HttpError } from "../../kernel/errors.js";
import { ok, parseInput } from "../../kernel/http/envelope.js";
import type { PluginRoutes } from "../../kernel/http/route-table.js";
import { PlayerAuth } from "../accounts/auth.js";
import { email, isUniqueViolation, looksLikeEmail, password, userName } from "../accounts/fields.js";
import { userView, type UserRow } from "../accounts/views.js";
import { hashPassword, verifyPassword } from "../passwords.js";
import type { Ctf } from "../runtime.js";
import { eventSettingsPatch, settingsView, SettingsStore } from "../settings.js";
import { txQuery } from "../sql.js";

const registerBody = z.object({ name: userName, email, password }).strict();
const loginBody = z.object({ name: z.string().trim().min(1).max(254), password: z.string().min(1).max(128) }).strict();
const setupBody = z
  .object({
    ctf_name: z.string().trim().min(1).max(128),
    user_mode: z.enum(["users", "teams"]).default("users"),
    name: userName,
    email,
    password,
  })
  .strict();

/** Login attempts per client address: a small bucket that refills slowly, against password guessing. */
const LOGIN_RATE = { capacity: 10, refillPerSecond: 10 / 60 };

/**
 * Register, login, logout and first-time setup as JSON endpoints (the pages call these), and the event
 * settings for admins (`/api/v1/configs`, epoch seconds like CTFd).
 */
export function authRoutes(routes: PluginRoutes, ctf: Ctf): void {
  const startSession = async (ctx: Context, user: UserRow) => {
    const session = await ctf.auth.createSession(user.id);
    PlayerAuth.setCookie(ctx, session.cookie, session.expiresAt);
    ok(ctx, { user: userView(user, "self"), csrfToken: session.csrfToken });
  };

  routes.post("/api/v1/auth/register", { body: registerBody }, async (ctx) => {
    const body = parseInput(registerBody, ctx.request.body);
    const settings = await ctf.settings.get();
    if (!settings.setupDone) throw new HttpError(403, "The event is not set up yet: an admin must finish setup first", { setup: ["not done"] });
    if (!settings.registrationOpen) throw new HttpError(403, "Registration is closed", { registration: ["Registration is closed"] });
    const passwordHash = await hashPassword(body.password);
    let user: UserRow;
    try {
      [user] = (await ctf.db.query<UserRow>(`INSERT INTO ctf_users (name, email, password_hash) VALUES ($1, $2, $3) RETURNING *`, [body.name, body.email, passwordHash])) as [UserRow];
    } catch (error) {
      if (isUniqueViolation(error, "ctf_users_name")) throw badRequest({ name: ["User name has already been taken"] });
      if (isUniqueViolation(error, "ctf_users_email")) throw badRequest({ email: ["Email address has already been used"] });
      throw error;
    }
    ctf.emit("account.updated", { accountType: "user", id: user.id, changes: ["created"], affectedTeamIds: [] });
    await startSession(ctx, user);
  });

  routes.post("/api/v1/auth/login", { body: loginBody }, async (ctx) => {
    const body = parseInput(loginBody, ctx.request.body);
    const limit = await ctf.coordination.rateLimit(`ctf:login:${ctx.ip}`, LOGIN_RATE);
    if (!limit.allowed) {
      ctx.set("Retry-After", String(Math.ceil(limit.retryAfterMs / 1000)));
      throw new HttpError(429, `Too many login attempts. Try again in ${Math.ceil(limit.retryAfterMs / 1000)} seconds`);
    }
    // An email-shaped login means that email first: a name imported in that shape must not shadow its owner.
    const byEmailFirst = looksLikeEmail(body.name);
    const [user] = await ctf.db.query<UserRow>(
      `SELECT * FROM ctf_users WHERE lower(name) = lower($1) OR lower(email) = lower($1)
        ORDER BY (CASE WHEN $2 THEN lower(email) = lower($1) ELSE lower(name) = lower($1) END) DESC LIMIT 1`,
      [body.name, byEmailFirst],
    );
    // Hash even for unknown names so response time does not reveal which names exist.
    const valid = await verifyPassword(body.password, user?.password_hash ?? "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    if (!user || !valid) throw new HttpError(403, "Your username or password is incorrect", { password: ["Your username or password is incorrect"] });
    if (user.banned) throw new HttpError(403, "You have been banned from this CTF");
    await startSession(ctx, user);
  });

  routes.post("/api/v1/auth/logout", async (ctx) => {
    const player = await ctf.player(ctx);
    await ctf.auth.destroySession(ctx);
    // Other instances may hold this session in their caller cache.
    if (player) ctf.emit("account.updated", { accountType: "user", id: player.userId, changes: ["credentials"], affectedTeamIds: [] });
    ctx.body = { success: true };
  });

  /** Who the session belongs to and its CSRF token (pages call this; anonymous gets nulls). */
  routes.get("/api/v1/auth/session", async (ctx) => {
    const player = await ctf.player(ctx);
    const settings = await ctf.settings.get();
    ok(ctx, {
      user: player ? { id: player.userId, name: player.name, admin: player.admin, team_id: player.teamId } : null,
      csrfToken: player ? await ctf.auth.csrfTokenOf(ctx) : null,
      event: { name: settings.name, mode: settings.mode, setup_done: settings.setupDone, registration_open: settings.registrationOpen },
    });
  });

  /**
   * First-time setup: names the event, picks the mode and creates the first admin. Only once. With a bootstrap
   * token configured only its holder may do it; without one, whoever comes first (as in CTFd; start-up warns).
   */
  routes.post("/api/v1/setup", { body: setupBody }, async (ctx) => {
    const body = parseInput(setupBody, ctx.request.body);
    if ((await ctf.settings.get()).setupDone) throw new HttpError(403, "Setup has already been done", { setup: ["already done"] });
    if (ctf.host.adminTokenSet && !(await ctf.isBootstrap(ctx))) {
      throw new HttpError(401, "Setup needs the bootstrap token", { token: ["Send the setup token (FLAGHOST_ADMIN_TOKEN) as Authorization: Token <value>"] });
    }
    const passwordHash = await hashPassword(body.password);
    const admin = await ctf.db.transaction(async (tx) => {
      const [claimed] = await txQuery(tx, `UPDATE ctf_event SET setup_done = true, name = $1, mode = $2, updated_at = now() WHERE id = 1 AND NOT setup_done RETURNING id`, [body.ctf_name, body.user_mode]);
      if (!claimed) throw new HttpError(403, "Setup has already been done", { setup: ["already done"] });
      try {
        const [user] = await txQuery<UserRow>(tx, `INSERT INTO ctf_users (name, email, password_hash, role, verified, hidden) VALUES ($1, $2, $3, 'admin', true, true) RETURNING *`, [body.name, body.email, passwordHash]);
        return user!;
      } catch (error) {
        if (isUniqueViolation(error)) throw badRequest({ name: ["User name or email has already been taken"] });
        throw error;
      }
    });
    ctf.emit("event.updated", { changes: ["setup", "name", "mode"] });
    ctf.settings.invalidate();
    await startSession(ctx, admin);
  });

  routes.get("/api/v1/configs", ctf.requireAdmin, async (ctx) => ok(ctx, settingsView(await ctf.settings.get())));

  routes.patch("/api/v1/configs", { body: eventSettingsPatch }, ctf.requireAdmin, async (ctx) => {
    const patch = parseInput(eventSettingsPatch, ctx.request.body ?? {});
    const columns = SettingsStore.columnsFor(patch);
    if (columns.length > 0) {
      await ctf.db.transaction(async (tx) => {
        const sets = columns.map(([column], i) => `${column} = $${i + 1}`).join(", ");
        await txQuery(tx, `UPDATE ctf_event SET ${sets}, updated_at = now() WHERE id = 1`, columns.map(([, value]) => value));
        ctf.emit("event.updated", { changes: columns.map(([, , key]) => key) });
      });
      ctf.settings.invalidate();
    }
    ok(ctx, settingsView(await ctf.settings.get()));
  });
}

/**
 * Warns, once this process listens, that setup is open to whoever comes first: no bootstrap token is configured and
 * the event is not set up yet. The warning carries the URL that finishes setup.
 */
export async function warnIfSetupIsOpen(ctf: Ctf): Promise<void> {
  if (ctf.host.adminTokenSet || (await ctf.settings.get()).setupDone) return;
  void ctf.host.listening.then((url) =>
    ctf.log.warn({ setupUrl: `${url}/setup` }, "setup is open to whoever comes first: finish it now, or set FLAGHOST_ADMIN_TOKEN so it needs that token"),
  );
}
