import type { Context } from "koa";
import { z } from "zod";
import { badRequest, HttpError, notFound } from "../../kernel/errors.js";
import { ok, parseInput } from "../../kernel/http/envelope.js";
import type { PluginRoutes } from "../../kernel/http/route-table.js";
import { assertAccountsVisible, assertScoresVisible, assertTeamMode, playerOf, readerOf, scoresVisible, type Reader } from "../accounts/access.js";
import { answerActivity } from "../accounts/activity.js";
import { newSecret } from "../accounts/auth.js";
import { emitAccountUpdated, inTx, recomputeChallenges, rowChanges } from "../accounts/changes.js";
import { accountName, email, isUniqueViolation, password } from "../accounts/fields.js";
import { answerAccountPage, listQuery, preparedAccountPage } from "../accounts/listing.js";
import { assertBracket, pathId, profileText, profileWebsite, rowId, teamById, updateRow, userById } from "../accounts/rows.js";
import { standingOf } from "../accounts/standings.js";
import { addMember, insertTeam, invitedTeamId, inviteCode, inviteSignedBy, memberIds, removeMember } from "../accounts/teams.js";
import { teamView, type TeamRow } from "../accounts/views.js";
import type { AccountUpdated } from "../events.js";
import { dynamicChallengesSolvedBy } from "../game/dynamic-value.js";
import { hashPassword, verifyPassword } from "../passwords.js";
import type { Ctf } from "../runtime.js";
import { txQuery } from "../sql.js";

const teamsQuery = listQuery(["name", "website", "affiliation", "country", "email"]);
const SEARCH_COLUMNS = { name: "a.name", website: "a.website", affiliation: "a.affiliation", country: "a.country", email: "a.email" };

/** Join attempts per client address, against guessing team passwords (CTFd: 10 per 5 seconds). */
const JOIN_RATE = { capacity: 10, refillPerSecond: 2 };
/** Compared against when the team name is unknown, so timing does not reveal which names exist. */
const DUMMY_HASH = "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

const ignored = z.unknown().optional();
const customFields = z.array(z.unknown()).max(100);
const teamPassword = z.string().min(1, "must not be empty").max(128, "must be at most 128 characters");

const adminTeamPatch = z
  .object({
    name: accountName,
    password,
    email: email.nullable(),
    website: profileWebsite,
    affiliation: profileText,
    country: profileText,
    hidden: z.boolean(),
    banned: z.boolean(),
    captain_id: rowId.nullable(),
    bracket_id: rowId.nullable(),
    fields: customFields,
  })
  .partial()
  .strict();
const adminTeamCreate = adminTeamPatch.required({ name: true, password: true });

/** What a captain may change; admin-only keys are accepted and ignored, like CTFd. */
const captainPatch = z
  .object({
    name: accountName,
    password,
    confirm: z.string().max(128),
    email: email.nullable(),
    website: profileWebsite,
    affiliation: profileText,
    country: profileText,
    captain_id: rowId,
    fields: customFields,
    hidden: ignored,
    banned: ignored,
    bracket_id: ignored,
    id: ignored,
    secret: ignored,
    created: ignored,
    oauth_id: ignored,
  })
  .partial()
  .strict();

const playerTeamCreate = z
  .object({
    name: accountName,
    password,
    email: email.nullable().optional(),
    website: profileWebsite.optional(),
    affiliation: profileText.optional(),
    country: profileText.optional(),
    bracket_id: rowId.nullable().optional(),
    fields: customFields.optional(),
  })
  .strict();

const joinBody = z
  .object({ name: z.string().trim().min(1).max(128), password: teamPassword, code: z.string().min(1).max(512) })
  .partial()
  .strict()
  .superRefine((body, issues) => {
    if (body.code !== undefined) return;
    for (const key of ["name", "password"] as const) if (body[key] === undefined) issues.addIssue({ code: "custom", path: [key], message: "Missing data for required field." });
  });

const memberBody = z.object({ user_id: rowId }).strict();

/** Team columns from a validated body (password already hashed). */
function teamColumns(body: z.infer<typeof adminTeamPatch>, passwordHash: string | undefined): Record<string, unknown> {
  return {
    name: body.name,
    password_hash: passwordHash,
    email: body.email,
    website: body.website,
    affiliation: body.affiliation,
    country: body.country,
    hidden: body.hidden,
    banned: body.banned,
    captain_id: body.captain_id,
    bracket_id: body.bracket_id,
  };
}


const onlyCaptains = (what: string) => new HttpError(403, `Only team captains can ${what}`, { "": [`Only team captains can ${what}`] });

/**
 * /api/v1/teams (CTFd shapes) plus flaghost's JSON endpoints for what CTFd does with HTML forms:
 *  - POST /api/v1/teams/new {name, password, ...}: create a team; the creator joins it and becomes captain.
 *  - POST /api/v1/teams/join {name, password} or {code}: join with the team password or a captain's invite code
 *    (rate-limited per address; a full team, by the event's team_size, is refused).
 *  - POST /api/v1/teams/me/leave: leave your team (a captain with teammates must hand captaincy over first).
 */
export function teamsRoutes(routes: PluginRoutes, ctf: Ctf): void {
  const query = ctf.db.query.bind(ctf.db);

  const visibleTeam = async (ctx: Context, reader: Reader): Promise<TeamRow> => {
    await assertAccountsVisible(ctf, reader);
    const team = await ctf.accountRows.team(pathId(ctx.params.id));
    if (!team || (!reader.admin && (team.hidden || team.banned))) throw notFound();
    return team;
  };

  /** The caller's team; 403 without one (admins included, like CTFd). */
  const myTeam = async (reader: Reader): Promise<TeamRow> => {
    const user = await userById(query, playerOf(reader).userId);
    const team = user?.team_id ? await teamById(query, user.team_id) : null;
    if (!team) throw new HttpError(403, "You are not on a team", { team: ["You are not on a team"] });
    return team;
  };

  const captainOf = async (ctx: Context, what: string): Promise<{ team: TeamRow; userId: number }> => {
    await assertTeamMode(ctf);
    const reader = await readerOf(ctx, ctf);
    const team = await myTeam(reader);
    const userId = playerOf(reader).userId;
    if (team.captain_id !== userId) throw onlyCaptains(what);
    return { team, userId };
  };

  /** Applies a validated patch; a new captain must be a member. Emits `account.updated`, recomputes on hide/ban. */
  const patchTeam = (id: number, body: z.infer<typeof adminTeamPatch>, passwordHash: string | undefined) =>
    ctf.db.transaction(async (tx) => {
      const [before] = await txQuery<TeamRow>(tx, `SELECT * FROM ctf_teams WHERE id = $1 FOR UPDATE`, [id]);
      if (!before) throw notFound();
      if (body.captain_id != null && !(await memberIds(inTx(tx), id)).includes(body.captain_id)) {
        throw badRequest({ captain_id: ["The captain must be a member of the team"] });
      }
      let after: TeamRow;
      try {
        // A new password also revokes every outstanding invite code (they are signed with invite_secret).
        after = await updateRow<TeamRow>(tx, "ctf_teams", id, { ...teamColumns(body, passwordHash), invite_secret: passwordHash ? newSecret() : undefined });
      } catch (error) {
        if (isUniqueViolation(error, "ctf_teams_name")) throw badRequest({ name: ["Team name has already been taken"] });
        throw error;
      }
      const changes = rowChanges(before, after);
      if (changes.includes("hidden") || changes.includes("banned")) await recomputeChallenges(tx, ctf, await dynamicChallengesSolvedBy(tx, { teamId: id }));
      emitAccountUpdated(ctf, { accountType: "team", id, changes, affectedTeamIds: [id] });
      return after;
    });

  routes.get("/api/v1/teams", { query: teamsQuery }, (ctx) => answerAccountPage<TeamRow, string>(ctx, ctf, { table: "ctf_teams", query: teamsQuery, searchColumns: SEARCH_COLUMNS, view: teamView }));
  routes.prepared("/api/v1/teams", preparedAccountPage(ctf, "ctf_teams"));

  // --- players: create, join, leave ---

  routes.post("/api/v1/teams/new", { body: playerTeamCreate }, ctf.requirePlayer, async (ctx) => {
    await assertTeamMode(ctf);
    const body = parseInput(playerTeamCreate, ctx.request.body ?? {});
    const reader = await readerOf(ctx, ctf);
    const player = playerOf(reader);
    if (player.teamId !== null) throw badRequest({ team: ["You are already in a team. You cannot join another."] });
    await assertBracket(query, body.bracket_id);
    const passwordHash = await hashPassword(body.password);
    const team = await ctf.db.transaction(async (tx) => {
      const created = await insertTeam(tx, ctf, {
        ...body,
        passwordHash,
        bracketId: body.bracket_id,
        // An admin making a team for themselves keeps it off the public board, as in CTFd.
        hidden: reader.admin,
      });
      return addMember(tx, ctf, { teamId: created.id, userId: player.userId, teamSize: null });
    });
    ctf.auth.invalidate();
    ok(ctx, { ...teamView(team, "self"), members: [player.userId] });
  });

  routes.post("/api/v1/teams/join", { body: joinBody }, ctf.requirePlayer, async (ctx) => {
    const limit = await ctf.coordination.rateLimit(`ctf:team-join:${ctx.ip}`, JOIN_RATE);
    if (!limit.allowed) {
      ctx.set("Retry-After", String(Math.ceil(limit.retryAfterMs / 1000)));
      throw new HttpError(429, "Too many requests. Limit is 10 requests in 5 seconds", { "": ["Too many requests. Limit is 10 requests in 5 seconds"] });
    }
    await assertTeamMode(ctf);
    const body = parseInput(joinBody, ctx.request.body ?? {});
    const player = playerOf(await readerOf(ctx, ctf));
    if (player.teamId !== null) throw badRequest({ team: ["You are already in a team. You cannot join another."] });
    let team: TeamRow | null;
    if (body.code !== undefined) {
      const teamId = invitedTeamId(body.code);
      team = teamId === null ? null : await teamById(query, teamId);
      if (!team || !inviteSignedBy(body.code, team) || team.banned) throw new HttpError(403, "That invite code is invalid or has expired", { code: ["That invite code is invalid or has expired"] });
    } else {
      [team = null] = await query<TeamRow>(`SELECT * FROM ctf_teams WHERE lower(name) = lower($1)`, [body.name]);
      const valid = await verifyPassword(body.password!, team?.password_hash ?? DUMMY_HASH);
      if (!team || !valid || team.banned) throw new HttpError(403, "That information is incorrect", { password: ["That information is incorrect"] });
    }
    const { teamSize } = await ctf.settings.get();
    const teamId = team.id;
    const joined = await ctf.db.transaction((tx) => addMember(tx, ctf, { teamId, userId: player.userId, teamSize }));
    ctf.auth.invalidate();
    ok(ctx, { ...teamView(joined, "self"), members: await memberIds(query, joined.id) });
  });

  routes.post("/api/v1/teams/me/leave", ctf.requirePlayer, async (ctx) => {
    await assertTeamMode(ctf);
    const reader = await readerOf(ctx, ctf);
    const team = await myTeam(reader);
    const userId = playerOf(reader).userId;
    if (team.captain_id === userId && (await memberIds(query, team.id)).length > 1) {
      throw new HttpError(403, "The captain must hand over captaincy first", { "": ["Make another member captain (PATCH /api/v1/teams/me {captain_id}) before leaving"] });
    }
    await ctf.db.transaction((tx) => removeMember(tx, ctf, { teamId: team.id, userId, purge: false }));
    ctf.auth.invalidate();
    ctx.body = { success: true };
  });

  // --- the caller's team (registered before /teams/:id) ---

  routes.get("/api/v1/teams/me", ctf.requirePlayer, async (ctx) => {
    // From the profile cache (views only): the caller's row, their team's row and its members.
    const user = await ctf.accountRows.user(playerOf(await readerOf(ctx, ctf)).userId);
    const team = user?.team_id ? await ctf.accountRows.team(user.team_id) : null;
    if (!team) throw new HttpError(403, "You are not on a team", { team: ["You are not on a team"] });
    const { freezeAt } = await ctf.settings.get();
    const standing = await standingOf(query, { mode: "teams", id: team.id }, { freezeAt, view: "self", source: ctf.standings });
    ok(ctx, { ...teamView(team, "self"), members: await ctf.accountRows.memberIds(team.id, false), ...standing });
  });

  routes.patch("/api/v1/teams/me", { body: captainPatch }, ctf.requirePlayer, async (ctx) => {
    const body = parseInput(captainPatch, ctx.request.body ?? {});
    const { team, userId } = await captainOf(ctx, "edit team information");
    if (body.password !== undefined) {
      // The captain proves it with the current team password or their own account password.
      const captain = await userById(query, userId);
      const confirmed = body.confirm !== undefined && ((await verifyPassword(body.confirm, team.password_hash)) || (await verifyPassword(body.confirm, captain?.password_hash ?? null)));
      if (!body.confirm) throw badRequest({ confirm: ["Please confirm your current password"] });
      if (!confirmed) throw badRequest({ confirm: ["Your previous password is incorrect"] });
    }
    const passwordHash = body.password === undefined ? undefined : await hashPassword(body.password);
    const updated = await patchTeam(team.id, { ...body, hidden: undefined, banned: undefined, bracket_id: undefined }, passwordHash);
    ok(ctx, { ...teamView(updated, "self"), members: await memberIds(query, updated.id) });
  });

  routes.post("/api/v1/teams/me/members", ctf.requirePlayer, async (ctx) => {
    const { team } = await captainOf(ctx, "generate invite codes");
    ok(ctx, { code: inviteCode(team) });
  });

  /** Revokes every outstanding invite code of the caller's team (a new signing secret); the password stays. */
  routes.delete("/api/v1/teams/me/invites", ctf.requirePlayer, async (ctx) => {
    const { team } = await captainOf(ctx, "revoke invite codes");
    await query(`UPDATE ctf_teams SET invite_secret = $2 WHERE id = $1`, [team.id, newSecret()]);
    ctx.body = { success: true };
  });

  const ownList = (kind: "solves" | "fails" | "awards") =>
    routes.get(`/api/v1/teams/me/${kind}`, ctf.requirePlayer, async (ctx) => {
      const reader = await readerOf(ctx, ctf);
      const team = await myTeam(reader);
      await answerActivity(ctx, query, kind, { column: "team_id", id: team.id }, { cutoff: null, admin: reader.admin });
    });
  ownList("solves");
  ownList("fails");
  ownList("awards");

  // --- any team ---

  routes.get("/api/v1/teams/:id", async (ctx) => {
    const reader = await readerOf(ctx, ctf);
    const team = await visibleTeam(ctx, reader);
    const { freezeAt } = await ctf.settings.get();
    const standing = (await scoresVisible(ctf, reader))
      ? await standingOf(query, { mode: "teams", id: team.id }, { freezeAt, view: reader.admin ? "admin" : "public", source: ctf.standings })
      : { score: null, place: null };
    // Hidden and banned members stay out of public views (CTFd lists them).
    const members = await ctf.accountRows.memberIds(team.id, !reader.admin);
    ok(ctx, { ...teamView(team, reader.admin ? "admin" : "public"), members, ...standing });
  });

  const publicList = (kind: "solves" | "fails" | "awards") =>
    routes.get(`/api/v1/teams/:id/${kind}`, async (ctx) => {
      const reader = await readerOf(ctx, ctf);
      const team = await visibleTeam(ctx, reader);
      await assertScoresVisible(ctf, reader);
      const { freezeAt } = await ctf.settings.get();
      await answerActivity(ctx, query, kind, { column: "team_id", id: team.id }, { cutoff: reader.admin ? null : freezeAt, admin: reader.admin });
    });
  publicList("solves");
  publicList("fails");
  publicList("awards");

  // --- admin ---

  routes.post("/api/v1/teams", { body: adminTeamCreate }, ctf.requireAdmin, async (ctx) => {
    const body = parseInput(adminTeamCreate, ctx.request.body ?? {});
    await assertBracket(query, body.bracket_id);
    const passwordHash = await hashPassword(body.password);
    const team = await ctf.db.transaction(async (tx) => {
      const created = await insertTeam(tx, ctf, { ...body, passwordHash, bracketId: body.bracket_id });
      // A captain named at creation joins the team (CTFd would leave a captain outside their own team).
      if (body.captain_id != null) return addMember(tx, ctf, { teamId: created.id, userId: body.captain_id, teamSize: null });
      return created;
    });
    ctf.auth.invalidate();
    ok(ctx, { ...teamView(team, "admin"), members: await memberIds(query, team.id) });
  });

  routes.patch("/api/v1/teams/:id", { body: adminTeamPatch }, ctf.requireAdmin, async (ctx) => {
    const id = pathId(ctx.params.id);
    const body = parseInput(adminTeamPatch, ctx.request.body ?? {});
    await assertBracket(query, body.bracket_id);
    const updated = await patchTeam(id, body, body.password === undefined ? undefined : await hashPassword(body.password));
    ctf.auth.invalidate();
    ok(ctx, { ...teamView(updated, "admin"), members: await memberIds(query, id) });
  });

  routes.delete("/api/v1/teams/:id", ctf.requireAdmin, async (ctx) => {
    const id = pathId(ctx.params.id);
    await ctf.db.transaction(async (tx) => {
      const [team] = await txQuery<TeamRow>(tx, `SELECT id FROM ctf_teams WHERE id = $1 FOR UPDATE`, [id]);
      if (!team) throw notFound();
      const touched = await dynamicChallengesSolvedBy(tx, { teamId: id });
      // Foreign keys cascade: the team's submissions, solves, awards and unlocks go; members become team-less.
      await txQuery(tx, `DELETE FROM ctf_teams WHERE id = $1`, [id]);
      await recomputeChallenges(tx, ctf, touched);
      emitAccountUpdated(ctf, { accountType: "team", id, changes: ["deleted"], affectedTeamIds: [id] });
    });
    ctf.auth.invalidate();
    ctx.body = { success: true };
  });

  routes.get("/api/v1/teams/:id/members", ctf.requireAdmin, async (ctx) => {
    const team = await teamById(query, pathId(ctx.params.id));
    if (!team) throw notFound();
    ok(ctx, await memberIds(query, team.id));
  });

  routes.post("/api/v1/teams/:id/members", ctf.requireAdmin, async (ctx) => {
    const team = await teamById(query, pathId(ctx.params.id));
    if (!team) throw notFound();
    const raw = ctx.request.body ?? {};
    // An empty body asks for an invite code, as in CTFd.
    if (typeof raw === "object" && raw !== null && !Array.isArray(raw) && Object.keys(raw).length === 0) return ok(ctx, { code: inviteCode(team) });
    const body = parseInput(memberBody, raw);
    await ctf.db.transaction((tx) => addMember(tx, ctf, { teamId: team.id, userId: body.user_id, teamSize: null }));
    ctf.auth.invalidate();
    ok(ctx, await memberIds(query, team.id));
  });

  routes.delete("/api/v1/teams/:id/members", { body: memberBody }, ctf.requireAdmin, async (ctx) => {
    const teamId = pathId(ctx.params.id);
    const body = parseInput(memberBody, ctx.request.body ?? {});
    await ctf.db.transaction((tx) => removeMember(tx, ctf, { teamId, userId: body.user_id, purge: true }));
    ctf.auth.invalidate();
    ok(ctx, await memberIds(query, teamId));
  });
}
