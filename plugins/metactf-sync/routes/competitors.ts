import type { Context } from "koa";
import { z } from "zod";
import { forbidden, notFound } from "../../../core/kernel/errors.js";
import { ok, parseInput } from "../../../core/kernel/http/envelope.js";
import type { PluginRoutes } from "../../../core/kernel/http/route-table.js";
import type { Access } from "../access.js";
import type { Onboarding } from "../services/onboarding.js";
import type { Competitor, CompetitorStore } from "../store/competitors.js";
import type { ScoreStore, SyncState } from "../store/scores.js";

const userParams = z.object({ user_id: z.coerce.number().int().min(1).max(2_147_483_647) });
const solvesQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(200) });
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
export function competitorView(c: Competitor, blockedReason: string | null, sync: SyncState | null) {
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
    sync: sync && {
      odl_synced_until: sync.odlSyncedUntil,
      last_attempt_at: sync.lastAttemptAt,
      last_result: sync.lastResult,
      last_error: sync.lastError,
      needs_totals_refresh: sync.needsTotalsRefresh,
      total_points: sync.totalPoints,
      total_solved: sync.totalSolved,
      totals_at: sync.totalsAt,
    },
  };
}

/** The competitor API: list, profile and status, onboarding. Admins, and coaches for their own competitors. */
export function competitorRoutes(routes: PluginRoutes, deps: { access: Access; competitors: CompetitorStore; onboarding: Onboarding; scores: ScoreStore }): void {
  const { access, competitors, onboarding, scores } = deps;
  const view = async (c: Competitor) => competitorView(c, onboarding.blockedReason(c), await scores.syncState(c.userId));

  async function listCompetitors(ctx: Context) {
    const caller = await access.adminOrCoach(ctx);
    const states = await scores.states();
    ok(ctx, (await competitors.list(access.scope(caller))).map((c) => competitorView(c, onboarding.blockedReason(c), states.get(c.userId) ?? null)));
  }

  async function listSolves(ctx: Context) {
    const caller = await access.adminOrCoach(ctx);
    const { user_id } = parseInput(userParams, ctx.params);
    const { limit } = parseInput(solvesQuery, ctx.query);
    const existing = await competitors.get(user_id);
    await access.competitor(caller, user_id, existing);
    if (!existing) throw notFound(`No competitor profile for user ${user_id}`);
    ok(ctx, (await scores.solves(user_id, limit)).map((s) => ({ challenge_solve_id: s.challengeSolveId, challenge_id: s.challengeId, title: s.title, category: s.category, points: s.points, timestamp_unix: s.solvedUnix })));
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
    ok(ctx, await view(saved));
  }

  async function onboardCompetitor(ctx: Context) {
    const caller = await access.adminOrCoach(ctx);
    const { user_id } = parseInput(userParams, ctx.params);
    await access.competitor(caller, user_id, await competitors.get(user_id));
    ok(ctx, await view(await onboarding.onboard(user_id)));
  }

  routes.get("/api/v1/metactf/competitors", { summary: "Competitors (a coach sees their own)" }, listCompetitors);
  routes.get("/api/v1/metactf/competitors/:user_id/solves", { summary: "A competitor's synced ODL solves, newest first", params: userParams, query: solvesQuery }, listSolves);
  routes.put("/api/v1/metactf/competitors/:user_id", { summary: "Create or update a competitor's profile and status", params: userParams, body: competitorBody }, updateCompetitor);
  routes.post("/api/v1/metactf/competitors/:user_id/onboard", { summary: "Add a competitor in compliance to the game platform", params: userParams }, onboardCompetitor);
}
