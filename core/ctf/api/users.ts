import type { Context } from "koa";
import type { EntityManager } from "typeorm";
import { z } from "zod";
import { badRequest, notFound } from "../../kernel/errors.js";
import { ok, parseInput } from "../../kernel/http/envelope.js";
import type { PluginRoutes } from "../../kernel/http/route-table.js";
import { accountsRefusal, assertAccountsVisible, assertScoresVisible, playerOf, readerOf, scoresVisible, scoresVisibleIn, type Reader } from "../accounts/access.js";
import { answerActivity } from "../accounts/activity.js";
import { sha256, SESSION_COOKIE } from "../accounts/auth.js";
import { emitAccountUpdated, recomputeChallenges, rowChanges } from "../accounts/changes.js";
import { email, isUniqueViolation, password, userName } from "../accounts/fields.js";
import { answerAccountPage, listQuery, preparedAccountPage } from "../accounts/listing.js";
import { assertBracket, pathId, profileText, profileWebsite, rowId, updateRow, userById } from "../accounts/rows.js";
import { standingFrom, standingOf, type ScoringAccount, type Standing } from "../accounts/standings.js";
import { userView, type UserRow } from "../accounts/views.js";
import type { AccountUpdated } from "../events.js";
import { AnswerMemo, privateJsonAnswer, sendWithEtag } from "../game/board-answers.js";
import { dynamicChallengesSolvedBy } from "../game/dynamic-value.js";
import { hashPassword, verifyPassword } from "../passwords.js";
import type { Ctf } from "../runtime.js";
import { txQuery } from "../sql.js";

const usersQuery = listQuery(["name", "website", "affiliation", "country", "email"]);
const SEARCH_COLUMNS = { name: "a.name", website: "a.website", affiliation: "a.affiliation", country: "a.country", email: "a.email" };

/** Keys CTFd's profile form may send that a player cannot change: accepted and ignored, like CTFd. */
const ignored = z.unknown().optional();
const ADMIN_ONLY_KEYS = ["banned", "hidden", "score", "type", "verified", "id", "team_id", "bracket_id", "oauth_id", "secret", "created", "change_password"] as const;

const profilePatch = z
  .object({
    name: userName,
    email,
    password,
    confirm: z.string().max(128),
    website: profileWebsite,
    affiliation: profileText,
    country: profileText,
    language: profileText,
    // CTFd's custom fields: flaghost has none, so any sent are ignored.
    fields: z.array(z.unknown()).max(100),
  })
  .partial()
  .extend(Object.fromEntries(ADMIN_ONLY_KEYS.map((key) => [key, ignored])) as Record<(typeof ADMIN_ONLY_KEYS)[number], typeof ignored>)
  .strict();

const adminUserFields = {
  email: email.nullable(),
  type: z.enum(["user", "admin"]),
  verified: z.boolean(),
  hidden: z.boolean(),
  banned: z.boolean(),
  website: profileWebsite,
  affiliation: profileText,
  country: profileText,
  language: profileText,
  bracket_id: rowId.nullable(),
  fields: z.array(z.unknown()).max(100),
};
const adminUserPatch = z.object({ name: userName, password, ...adminUserFields }).partial().strict();
const adminUserCreate = adminUserPatch.required({ name: true, password: true });

/** Body columns of ctf_users an admin may write (password is hashed first). */
function userColumns(body: z.infer<typeof adminUserPatch>, passwordHash: string | undefined): Record<string, unknown> {
  return {
    name: body.name,
    email: body.email,
    password_hash: passwordHash,
    role: body.type,
    verified: body.verified,
    hidden: body.hidden,
    banned: body.banned,
    website: body.website,
    affiliation: body.affiliation,
    country: body.country,
    language: body.language,
    bracket_id: body.bracket_id,
  };
}

function uniqueUserError(error: unknown): never {
  if (isUniqueViolation(error, "ctf_users_name")) throw badRequest({ name: ["User name has already been taken"] });
  if (isUniqueViolation(error, "ctf_users_email")) throw badRequest({ email: ["Email address has already been used"] });
  throw error;
}

/**
 * Ends a user's sessions after a change that must sign them in again (a new password, a ban, a role change),
 * except the request's own session (a user or admin changing their own account stays signed in). The caller adds
 * `credentials` to the emitted changes, so every instance drops its cached callers, API tokens' included.
 */
function endSessions(tx: EntityManager, ctx: Context, userId: number): Promise<unknown> {
  return txQuery(tx, `DELETE FROM ctf_sessions WHERE user_id = $1 AND id_hash <> $2`, [userId, sha256(ctx.cookies.get(SESSION_COOKIE) ?? "")]);
}

/** `GET /api/v1/users/me`'s data: the row as its owner sees it, with score and place. */
const ownProfile = (user: UserRow, standing: Standing) => ({ ...userView(user, "self"), ...standing });

/** `GET /api/v1/users/:id`'s data: the row at the reader's level, with score and place (null when scores are hidden). */
const profileFor = (user: UserRow, level: "public" | "admin", standing: Standing | { score: null; place: null }) => ({ ...userView(user, level), ...standing });

/**
 * /api/v1/users: lists and profiles (CTFd shapes), the caller's own profile, solves/fails/awards lists, and
 * admin account management. Hidden and banned users are invisible to non-admins everywhere here.
 */
export function usersRoutes(routes: PluginRoutes, ctf: Ctf): void {
  const query = ctf.db.query.bind(ctf.db);

  /** The scoring account behind a user: itself in user mode, its team (or none) in team mode. */
  const scoringAccountOf = async (user: UserRow): Promise<ScoringAccount | null> => {
    const { mode } = await ctf.settings.get();
    if (mode === "users") return { mode, id: user.id };
    return user.team_id === null ? null : { mode, id: user.team_id };
  };

  /** A user a non-admin may see (404 for hidden, banned or unknown ones). */
  const visibleUser = async (ctx: Context, reader: Reader): Promise<UserRow> => {
    await assertAccountsVisible(ctf, reader);
    const user = await ctf.accountRows.user(pathId(ctx.params.id));
    if (!user || (!reader.admin && (user.hidden || user.banned))) throw notFound();
    return user;
  };

  const me = async (reader: Reader): Promise<UserRow> => {
    const user = await userById(query, playerOf(reader).userId);
    if (!user) throw notFound();
    return user;
  };

  routes.get("/api/v1/users", { query: usersQuery }, (ctx) => answerAccountPage<UserRow, string>(ctx, ctf, { table: "ctf_users", query: usersQuery, searchColumns: SEARCH_COLUMNS, view: userView }));
  routes.prepared("/api/v1/users", preparedAccountPage(ctf, "ctf_users"));

  // --- the caller's own account (registered before /users/:id) ---

  /** Profiles as the prepared routes below send them, kept while the row and the standing are the same. */
  const answers = new AnswerMemo();

  routes.get("/api/v1/users/me", ctf.requirePlayer, async (ctx) => {
    const user = await ctf.accountRows.user(playerOf(await readerOf(ctx, ctf)).userId);
    if (!user) throw notFound();
    const { freezeAt } = await ctf.settings.get();
    const standing = await standingOf(query, await scoringAccountOf(user), { freezeAt, view: "self", source: ctf.standings });
    sendWithEtag(ctx, privateJsonAnswer(ownProfile(user, standing)));
  });

  /**
   * The own profile as players poll it, answered ahead of Koa when everything it needs is in memory (a cached
   * credential and row, the scoreboard's standings): the same bytes as the route above, with an ETag. Anything
   * else takes that route.
   */
  routes.prepared("/api/v1/users/me", (request) => {
    const settings = ctf.settings.peek();
    const source = ctf.standings;
    if (request.querystring !== "" || !settings || source?.mode !== settings.mode) return null;
    const player = ctf.auth.cachedPlayer(request.headers, settings.mode);
    const user = player ? ctf.accountRows.peekUser(player.userId) : undefined;
    if (!user) return null;
    const accountId = settings.mode === "users" ? user.id : user.team_id;
    const standing = accountId === null ? { score: 0, place: null } : standingFrom(source, accountId, "self");
    return answers.answer(`me:${user.id}`, [user, standing.score, standing.place], () => ownProfile(user, standing));
  });

  routes.patch("/api/v1/users/me", { body: profilePatch }, ctf.requirePlayer, async (ctx) => {
    const body = parseInput(profilePatch, ctx.request.body ?? {});
    const user = await me(await readerOf(ctx, ctf));
    const emailChanges = body.email !== undefined && body.email.toLowerCase() !== (user.email ?? "").toLowerCase();
    if (body.password !== undefined || emailChanges) {
      if (!body.confirm) throw badRequest({ confirm: ["Please confirm your current password"] });
      if (!(await verifyPassword(body.confirm, user.password_hash))) throw badRequest({ confirm: ["Your previous password is incorrect"] });
    }
    const passwordHash = body.password === undefined ? undefined : await hashPassword(body.password);
    const columns = {
      name: body.name,
      email: emailChanges ? body.email : undefined,
      password_hash: passwordHash,
      website: body.website,
      affiliation: body.affiliation,
      country: body.country,
      language: body.language,
    };
    const updated = await ctf.db.transaction(async (tx) => {
      let after: UserRow;
      try {
        after = await updateRow<UserRow>(tx, "ctf_users", user.id, columns);
      } catch (error) {
        uniqueUserError(error);
      }
      const changes = rowChanges(user, after);
      // A new password ends every other session of the account; this one stays logged in.
      if (passwordHash) {
        await endSessions(tx, ctx, user.id);
        changes.push("credentials");
      }
      emitAccountUpdated(ctf, { accountType: "user", id: user.id, changes, affectedTeamIds: user.team_id ? [user.team_id] : [] });
      return after;
    });
    if (passwordHash) ctf.auth.invalidate();
    ok(ctx, userView(updated, "self"));
  });

  const ownList = (kind: "solves" | "fails" | "awards") =>
    routes.get(`/api/v1/users/me/${kind}`, ctf.requirePlayer, async (ctx) => {
      const reader = await readerOf(ctx, ctf);
      await answerActivity(ctx, query, kind, { column: "user_id", id: playerOf(reader).userId }, { cutoff: null, admin: reader.admin });
    });
  ownList("solves");
  ownList("fails");
  ownList("awards");

  // --- any user ---

  routes.get("/api/v1/users/:id", async (ctx) => {
    const reader = await readerOf(ctx, ctf);
    const user = await visibleUser(ctx, reader);
    const { freezeAt } = await ctf.settings.get();
    const standing = (await scoresVisible(ctf, reader))
      ? await standingOf(query, await scoringAccountOf(user), { freezeAt, view: reader.admin ? "admin" : "public", source: ctf.standings })
      : { score: null, place: null };
    sendWithEtag(ctx, privateJsonAnswer(profileFor(user, reader.admin ? "admin" : "public", standing)));
  });

  /**
   * Another player's profile as non-admins read it, answered ahead of Koa when the caller (or no caller), the row
   * and the standings are in memory: the same bytes and ETag as the route above. Anything else takes that route.
   */
  routes.prepared("/api/v1/users/:id", (request) => {
    const settings = ctf.settings.peek();
    const source = ctf.standings;
    const id = /^[1-9]\d{0,9}$/.test(request.params.id ?? "") ? Number(request.params.id) : NaN;
    if (request.querystring !== "" || !settings || source?.mode !== settings.mode || !(id <= 2 ** 31 - 1)) return null;
    const player = ctf.auth.cachedPlayer(request.headers, settings.mode);
    if (player === undefined || player?.admin) return null;
    const reader = { player, admin: false };
    const user = ctf.accountRows.peekUser(id);
    if (!user || user.hidden || user.banned || accountsRefusal(settings, reader)) return null;
    const accountId = settings.mode === "users" ? user.id : user.team_id;
    const standing = !scoresVisibleIn(settings, reader) ? { score: null, place: null } : accountId === null ? { score: 0, place: null } : standingFrom(source, accountId, "public");
    return answers.answer(`public:${user.id}`, [user, standing.score, standing.place], () => profileFor(user, "public", standing));
  });

  const publicList = (kind: "solves" | "fails" | "awards") =>
    routes.get(`/api/v1/users/:id/${kind}`, async (ctx) => {
      const reader = await readerOf(ctx, ctf);
      const user = await visibleUser(ctx, reader);
      await assertScoresVisible(ctf, reader);
      const { freezeAt } = await ctf.settings.get();
      await answerActivity(ctx, query, kind, { column: "user_id", id: user.id }, { cutoff: reader.admin ? null : freezeAt, admin: reader.admin });
    });
  publicList("solves");
  publicList("fails");
  publicList("awards");

  // --- admin ---

  routes.post("/api/v1/users", { body: adminUserCreate }, ctf.requireAdmin, async (ctx) => {
    const body = parseInput(adminUserCreate, ctx.request.body ?? {});
    await assertBracket(query, body.bracket_id);
    const columns = Object.entries(userColumns(body, await hashPassword(body.password))).filter(([, value]) => value !== undefined);
    const user = await ctf.db.transaction(async (tx) => {
      let row: UserRow;
      try {
        [row] = (await txQuery<UserRow>(
          tx,
          `INSERT INTO ctf_users (${columns.map(([c]) => c).join(", ")}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(", ")}) RETURNING *`,
          columns.map(([, v]) => v),
        )) as [UserRow];
      } catch (error) {
        uniqueUserError(error);
      }
      emitAccountUpdated(ctf, { accountType: "user", id: row.id, changes: ["created"], affectedTeamIds: [] });
      return row;
    });
    ok(ctx, userView(user, "admin"));
  });

  routes.patch("/api/v1/users/:id", { body: adminUserPatch }, ctf.requireAdmin, async (ctx) => {
    const id = pathId(ctx.params.id);
    const body = parseInput(adminUserPatch, ctx.request.body ?? {});
    const caller = await ctf.player(ctx);
    if (body.banned === true && caller?.userId === id) throw badRequest({ id: ["You cannot ban yourself"] });
    await assertBracket(query, body.bracket_id);
    const passwordHash = body.password === undefined ? undefined : await hashPassword(body.password);
    const updated = await ctf.db.transaction(async (tx) => {
      const [before] = await txQuery<UserRow>(tx, `SELECT * FROM ctf_users WHERE id = $1 FOR UPDATE`, [id]);
      if (!before) throw notFound();
      let after: UserRow;
      try {
        after = await updateRow<UserRow>(tx, "ctf_users", id, userColumns(body, passwordHash));
      } catch (error) {
        uniqueUserError(error);
      }
      const changes = rowChanges(before, after);
      if (passwordHash || changes.includes("banned") || changes.includes("role")) {
        await endSessions(tx, ctx, id);
        changes.push("credentials");
      }
      // Hiding or banning a solver changes how many solves count toward dynamic values.
      if (changes.includes("hidden") || changes.includes("banned")) await recomputeChallenges(tx, ctf, await dynamicChallengesSolvedBy(tx, { userId: id }));
      emitAccountUpdated(ctf, { accountType: "user", id, changes, affectedTeamIds: after.team_id ? [after.team_id] : [] });
      return after;
    });
    ctf.auth.invalidate();
    ok(ctx, userView(updated, "admin"));
  });

  routes.delete("/api/v1/users/:id", ctf.requireAdmin, async (ctx) => {
    const id = pathId(ctx.params.id);
    if ((await ctf.player(ctx))?.userId === id) throw badRequest({ id: ["You cannot delete yourself"] });
    await ctf.db.transaction(async (tx) => {
      const [user] = await txQuery<UserRow>(tx, `SELECT * FROM ctf_users WHERE id = $1 FOR UPDATE`, [id]);
      if (!user) throw notFound();
      const touched = await dynamicChallengesSolvedBy(tx, { userId: id });
      // Foreign keys cascade: submissions, solves, awards, unlocks, tokens, sessions and notifications go with the user.
      await txQuery(tx, `DELETE FROM ctf_users WHERE id = $1`, [id]);
      await recomputeChallenges(tx, ctf, touched);
      emitAccountUpdated(ctf, { accountType: "user", id, changes: ["deleted"], affectedTeamIds: user.team_id ? [user.team_id] : [] });
    });
    ctf.auth.invalidate();
    ctx.body = { success: true };
  });
}
