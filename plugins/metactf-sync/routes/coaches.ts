import type { Context } from "koa";
import { z } from "zod";
import { conflict, notFound } from "../../../core/kernel/errors.js";
import { ok, parseInput } from "../../../core/kernel/http/envelope.js";
import type { PluginRoutes } from "../../../core/kernel/http/route-table.js";
import type { CtfReadService } from "../../../core/ctf/service.js";
import type { PluginAuth } from "../../../core/kernel/plugin-host/api.js";
import type { Coach, CompetitorStore } from "../store/competitors.js";

const userParams = z.object({ user_id: z.coerce.number().int().min(1).max(2_147_483_647) });
const coachBody = z.strictObject({
  first_name: z.string().trim().min(1).max(100),
  last_name: z.string().trim().min(1).max(100),
  email: z.email().max(200),
  school: z.string().trim().min(1).max(200).nullable().default(null),
  region: z.string().trim().min(1).max(200).nullable().default(null),
});

const coachView = (c: Coach) => ({ user_id: c.userId, first_name: c.firstName, last_name: c.lastName, email: c.email, school: c.school, region: c.region, metactf_user_id: c.metactfUserId });

/** Admins make a flaghost user a coach (a row in metactf_coaches) or take the role back. */
export function coachRoutes(routes: PluginRoutes, deps: { auth: PluginAuth; read: CtfReadService; competitors: CompetitorStore }): void {
  const { auth, read, competitors } = deps;

  async function listCoaches(ctx: Context) {
    ok(ctx, (await competitors.coaches()).map(coachView));
  }

  async function saveCoach(ctx: Context) {
    const { user_id } = parseInput(userParams, ctx.params);
    const body = parseInput(coachBody, ctx.request.body);
    if (!(await read.user(user_id))) throw notFound(`No user ${user_id}`);
    const coach = await competitors.saveCoach({ userId: user_id, firstName: body.first_name, lastName: body.last_name, email: body.email, school: body.school, region: body.region });
    ok(ctx, coachView(coach));
  }

  async function removeCoach(ctx: Context) {
    const { user_id } = parseInput(userParams, ctx.params);
    if (!(await competitors.coach(user_id))) throw notFound(`User ${user_id} is not a coach`);
    if (!(await competitors.removeCoach(user_id))) throw conflict("The coach still has linked teams; link them to another coach first.");
    ok(ctx, null);
  }

  routes.get("/api/v1/metactf/coaches", { summary: "Coaches" }, auth.requireAdmin(), listCoaches);
  routes.put("/api/v1/metactf/coaches/:user_id", { summary: "Make a user a coach (or update the coach's details)", params: userParams, body: coachBody }, auth.requireAdmin(), saveCoach);
  routes.delete("/api/v1/metactf/coaches/:user_id", { summary: "Take the coach role back", params: userParams }, auth.requireAdmin(), removeCoach);
}
