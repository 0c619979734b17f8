import type { Context } from "koa";
import { z } from "zod";
import { forbidden } from "../../../core/kernel/errors.js";
import { ok, parseInput } from "../../../core/kernel/http/envelope.js";
import type { PluginRoutes } from "../../../core/kernel/http/route-table.js";
import type { Access } from "../access.js";
import type { Onboarding } from "../services/onboarding.js";
import type { Competitor, CompetitorStore } from "../store/competitors.js";

const userParams = z.object({ user_id: z.coerce.number().int().min(1).max(2_147_483_647) });
const text = (max: number) => z.string().trim().min(1).max(max).nullable().optional();

const competitorBody = z.strictObject({
  first_name: text(100),
  last_name: text(100),
  email: z.email().max(200).nullable().optional(),
  school: text(200),
  region: text(200),
  status: z.enum(["pending", "profile", "compliance"]).optional(),
  /** Admins only: who coaches this competitor. */
  coach_user_id: z.number().int().min(1).nullable().optional(),
});

/** A competitor as the API shows it, with the action that moves them on (or why it is disabled). */
export function competitorView(c: Competitor, blockedReason: string | null) {
  return {
    user_id: c.userId,
    coach_user_id: c.coachUserId,
    first_name: c.firstName,
    last_name: c.lastName,
    email: c.email,
    school: c.school,
    region: c.region,
    status: c.status,
    metactf_user_id: c.metactfUserId,
    metactf_username: c.metactfUsername,
    last_error: c.lastError,
    synced_at: c.syncedAt,
    onboard: { allowed: blockedReason === null, reason: blockedReason },
  };
}

/** The competitor API: list, profile and status, onboarding. Admins, and coaches for their own competitors. */
export function competitorRoutes(routes: PluginRoutes, deps: { access: Access; competitors: CompetitorStore; onboarding: Onboarding }): void {
  const { access, competitors, onboarding } = deps;
  const view = (c: Competitor) => competitorView(c, onboarding.blockedReason(c));

  async function listCompetitors(ctx: Context) {
    const caller = await access.adminOrCoach(ctx);
    ok(ctx, (await competitors.list(access.scope(caller))).map(view));
  }

  async function updateCompetitor(ctx: Context) {
    const caller = await access.adminOrCoach(ctx);
    const { user_id } = parseInput(userParams, ctx.params);
    const body = parseInput(competitorBody, ctx.request.body);
    const existing = await competitors.get(user_id);
    await access.competitor(caller, user_id, existing);
    if (body.coach_user_id !== undefined && !caller.admin) throw forbidden("Only admins choose a competitor's coach.");
    // A coach's first save of a member of their team makes them its coach.
    const coachUserId = body.coach_user_id !== undefined ? body.coach_user_id : !caller.admin && !existing ? caller.userId : undefined;
    const saved = await onboarding.update(user_id, {
      firstName: body.first_name ?? undefined,
      lastName: body.last_name ?? undefined,
      email: body.email ?? undefined,
      school: body.school,
      region: body.region,
      status: body.status,
      coachUserId,
    });
    ok(ctx, view(saved));
  }

  async function onboardCompetitor(ctx: Context) {
    const caller = await access.adminOrCoach(ctx);
    const { user_id } = parseInput(userParams, ctx.params);
    await access.competitor(caller, user_id, await competitors.get(user_id));
    ok(ctx, view(await onboarding.onboard(user_id)));
  }

  routes.get("/api/v1/metactf/competitors", { summary: "Competitors (a coach sees their own)" }, listCompetitors);
  routes.put("/api/v1/metactf/competitors/:user_id", { summary: "Create or update a competitor's profile and status", params: userParams, body: competitorBody }, updateCompetitor);
  routes.post("/api/v1/metactf/competitors/:user_id/onboard", { summary: "Add a competitor in compliance to the game platform", params: userParams }, onboardCompetitor);
}
