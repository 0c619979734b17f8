import type { Context } from "koa";
import { z } from "zod";
import { forbidden, notFound } from "../../../core/kernel/errors.js";
import { ok, parseInput } from "../../../core/kernel/http/envelope.js";
import type { PluginRoutes } from "../../../core/kernel/http/route-table.js";
import type { Access, Caller } from "../access.js";
import type { TeamSync } from "../services/teams.js";
import type { LinkedTeam, TeamStore } from "../store/teams.js";

const teamParams = z.object({ team_id: z.coerce.number().int().min(1).max(2_147_483_647) });
const linkBody = z.strictObject({
  team_id: z.number().int().min(1).max(2_147_483_647),
  coach_user_id: z.number().int().min(1).max(2_147_483_647),
  division: z.enum(["high_school", "middle_school", "college"]),
  affiliation: z.string().trim().min(1).max(200).optional(),
});

export const teamView = (t: LinkedTeam) => ({
  team_id: t.teamId,
  coach_user_id: t.coachUserId,
  division: t.division,
  affiliation: t.affiliation,
  metactf_team_id: t.metactfTeamId,
  on_platform: t.remoteExists,
  drift: t.drift,
  last_synced_at: t.lastSyncedAt,
  last_error: t.lastError,
});

/** Linked teams: link, sync now, unlink. Admins, and coaches for their own teams. */
export function teamRoutes(routes: PluginRoutes, deps: { access: Access; teams: TeamStore; teamSync: TeamSync }): void {
  const { access, teams, teamSync } = deps;

  /** The linked team the caller manages, else 404/403. */
  async function ownedTeam(ctx: Context, caller: Caller): Promise<LinkedTeam> {
    const { team_id } = parseInput(teamParams, ctx.params);
    const team = await teams.get(team_id);
    if (!team) throw notFound(`Team ${team_id} is not linked to the game platform`);
    access.team(caller, team.coachUserId);
    return team;
  }

  async function listTeams(ctx: Context) {
    const caller = await access.adminOrCoach(ctx);
    ok(ctx, (await teams.list(access.scope(caller))).map(teamView));
  }

  async function linkTeam(ctx: Context) {
    const caller = await access.adminOrCoach(ctx);
    const body = parseInput(linkBody, ctx.request.body);
    access.team(caller, body.coach_user_id);
    const existing = await teams.get(body.team_id);
    if (existing && !caller.admin && existing.coachUserId !== caller.userId) throw forbidden("The team is linked to another coach.");
    ok(ctx, teamView(await teamSync.link({ teamId: body.team_id, coachUserId: body.coach_user_id, division: body.division, affiliation: body.affiliation })));
  }

  async function syncTeam(ctx: Context) {
    const team = await ownedTeam(ctx, await access.adminOrCoach(ctx));
    const result = await teamSync.syncNow(team);
    ok(ctx, { ...teamView((await teams.get(team.teamId))!), created: result.created, assigned: result.assigned });
  }

  async function unlinkTeam(ctx: Context) {
    const team = await ownedTeam(ctx, await access.adminOrCoach(ctx));
    ok(ctx, await teamSync.remove(team));
  }

  routes.get("/api/v1/metactf/teams", { summary: "Teams linked to the game platform (a coach sees their own)" }, listTeams);
  routes.post("/api/v1/metactf/teams", { summary: "Link a flaghost team to a coach and division", body: linkBody }, linkTeam);
  routes.post("/api/v1/metactf/teams/:team_id/sync", { summary: "Create the team on the platform if missing and reconcile its roster", params: teamParams }, syncTeam);
  routes.delete("/api/v1/metactf/teams/:team_id", { summary: "Unlink a team without members (deleted on the platform too)", params: teamParams }, unlinkTeam);
}
