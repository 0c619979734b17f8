import { z } from "zod";
import { notFound } from "../../../core/kernel/errors.js";
import { ok, parseInput } from "../../../core/kernel/http/envelope.js";
import type { PluginRoutes } from "../../../core/kernel/http/route-table.js";
import type { PluginAuth } from "../../../core/kernel/plugin-host/api.js";
import type { Findings } from "../suspicion/findings.js";

const id = z.coerce.number().int().min(1).max(2 ** 31 - 1);
export const idParams = z.object({ id });
const VERDICTS = ["innocent", "suspicious", "confirmed"] as const;

const listQuery = z.object({
  risk: z.enum(["LOW", "MEDIUM", "HIGH"]).optional(),
  verdict: z.enum([...VERDICTS, "none"]).optional(),
  challenge_id: id.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

const reviewBody = z.strictObject({
  verdict: z.enum(VERDICTS),
  notes: z.string().trim().max(10_000).default(""),
});

/** The admin review of findings: list, review (insert-only history), history, delete. */
export function reviewRoutes(routes: PluginRoutes, auth: PluginAuth, findings: Findings): void {
  const admin = auth.requireAdmin();

  routes.get("/api/v1/phase2/suspicious_activity", { summary: "Flag-sharing findings (admin)", query: listQuery }, admin, async function listFindings(ctx) {
    const q = parseInput(listQuery, ctx.query);
    ok(ctx, await findings.list({ risk: q.risk, verdict: q.verdict, challengeId: q.challenge_id, limit: q.limit }));
  });

  routes.get("/api/v1/phase2/suspicious_activity/:id", { summary: "One finding (admin)", params: idParams }, admin, async function showFinding(ctx) {
    const finding = await findings.get(parseInput(idParams, ctx.params).id);
    if (!finding) throw notFound("No such suspicion");
    ok(ctx, finding);
  });

  routes.post("/api/v1/phase2/suspicious_activity/:id/review", { summary: "Record a verdict (admin); appends to the history", params: idParams, body: reviewBody }, admin, async function reviewFinding(ctx) {
    const { id: findingId } = parseInput(idParams, ctx.params);
    const body = parseInput(reviewBody, ctx.request.body ?? {});
    const actor = await auth.actor(ctx);
    const reviewer = actor ? `${actor.name} (${actor.kind} ${actor.id})` : "unknown";
    const review = await findings.review(findingId, body.verdict, body.notes, reviewer);
    if (!review) throw notFound("No such suspicion");
    ok(ctx, review);
  });

  routes.get("/api/v1/phase2/suspicious_activity/:id/history", { summary: "Every verdict given, oldest first (admin)", params: idParams }, admin, async function findingHistory(ctx) {
    const { id: findingId } = parseInput(idParams, ctx.params);
    const history = await findings.history(findingId);
    if (history.length === 0 && !(await findings.get(findingId))) throw notFound("No such suspicion");
    ok(ctx, history);
  });

  routes.delete("/api/v1/phase2/suspicious_activity/:id", { summary: "Delete a finding (admin); its history stays", params: idParams }, admin, async function deleteFinding(ctx) {
    if (!(await findings.remove(parseInput(idParams, ctx.params).id))) throw notFound("No such suspicion");
    ok(ctx, null);
  });
}
