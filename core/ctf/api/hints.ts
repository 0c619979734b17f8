import { z } from "zod";
import { badRequest, HttpError, notFound } from "../../kernel/errors.js";
import { ok, parseInput } from "../../kernel/http/envelope.js";
import type { PluginRoutes } from "../../kernel/http/route-table.js";
import { isUniqueViolation } from "../accounts/fields.js";
import { accountCondition } from "../game/attempt.js";
import { assertChallengeOpen, boardAccess } from "../game/challenge-access.js";
import { accountScore, lockAccountPoints } from "../game/score.js";
import type { Ctf } from "../runtime.js";
import type { Player } from "../service.js";
import { eventPhase } from "../settings.js";
import { isoDate, preciseMs, txQuery } from "../sql.js";

const id = z.coerce.number().int().positive().max(2 ** 31 - 1);
const idParams = z.object({ id });
const hintFields = {
  challenge_id: id,
  title: z.string().trim().max(200),
  content: z.string().max(65_536),
  cost: z.number().int().min(0).max(1_000_000),
  prerequisites: z.array(id).max(50),
};
const createBody = z.object(hintFields).partial().required({ challenge_id: true, content: true }).strict();
const updateBody = z.object(hintFields).partial().strict();
const unlockBody = z.object({ target: id, type: z.literal("hints", { error: 'must be "hints"' }) }).strict();

interface HintRow {
  id: number;
  challenge_id: number;
  title: string;
  content: string;
  cost: number;
  prerequisites: number[];
}

/** Hint ids the player's account has unlocked. */
async function unlockedBy(ctf: Ctf, player: Player | null): Promise<Set<number>> {
  if (!player || player.accountId === null) return new Set();
  const rows = await ctf.db.query<{ hint_id: number }>(`SELECT hint_id FROM ctf_unlocks WHERE ${accountCondition(player, 1)}`, [player.accountId]);
  return new Set(rows.map((r) => r.hint_id));
}

const hintView = (h: HintRow, withContent: boolean) => ({
  id: h.id,
  type: "standard",
  title: h.title,
  cost: h.cost,
  challenge_id: h.challenge_id,
  challenge: h.challenge_id,
  ...(withContent ? { content: h.content } : {}),
});

/** Hints (view, admin CRUD) and unlocks, which pay for a hint with a negative award. */
export function hintsRoutes(routes: PluginRoutes, ctf: Ctf): void {
  /** Every instance's hint cache (the detail view) reloads; this one before the admin's answer. */
  const hintsChanged = (hintId: number, challengeIds: number[]) => {
    ctf.hints.invalidate();
    ctf.emit("hint.updated", { hintId, challengeIds });
  };

  routes.get("/api/v1/hints/:id", { params: idParams }, async (ctx) => {
    const { id: hintId } = parseInput(idParams, ctx.params);
    const [player, admin] = await Promise.all([ctf.player(ctx), ctf.isAdmin(ctx)]);
    if (!player && !admin) throw new HttpError(403, "You must login to unlock this hint", { cost: ["You must login to unlock this hint"] });
    // A hint is part of its challenge: the board's event window, the challenge's visibility and prerequisites.
    const access = await boardAccess(ctf, ctx);
    const [hint] = await ctf.db.query<HintRow>(`SELECT * FROM ctf_hints WHERE id = $1`, [hintId]);
    if (!hint) throw notFound("No such hint");
    await assertChallengeOpen(ctf, access, await ctf.challenges.get(hint.challenge_id), "No such hint");
    if (admin && ctx.query.preview !== undefined) return ok(ctx, { ...hintView(hint, true), prerequisites: hint.prerequisites });
    const unlocked = await unlockedBy(ctf, player);
    if (!admin && hint.prerequisites.some((p) => !unlocked.has(p))) {
      throw new HttpError(403, "You must unlock other hints before accessing this hint", { requirements: ["You must unlock other hints before accessing this hint"] });
    }
    ok(ctx, hintView(hint, unlocked.has(hint.id)));
  });

  routes.get("/api/v1/unlocks", ctf.requirePlayer, async (ctx) => {
    const player = (await ctf.player(ctx))!;
    const rows = await ctf.db.query<{ id: number; hint_id: number; user_id: number; team_id: number | null; created_at: Date }>(
      `SELECT * FROM ctf_unlocks WHERE ${accountCondition(player, 1)} ORDER BY id`,
      [player.accountId],
    );
    ok(ctx, rows.map((u) => ({ id: u.id, type: "hints", target: u.hint_id, user_id: u.user_id, team_id: u.team_id, date: isoDate(u.created_at) })));
  });

  routes.post("/api/v1/unlocks", { body: unlockBody }, ctf.requirePlayer, async (ctx) => {
    const body = parseInput(unlockBody, ctx.request.body);
    const player = (await ctf.player(ctx))!;
    const settings = await ctf.settings.get();
    if (!player.admin && eventPhase(settings) !== "running") throw new HttpError(403, `${settings.name} is not running`);
    if (player.accountId === null) throw new HttpError(403, "You must join or create a team first");
    const [hint] = await ctf.db.query<HintRow>(`SELECT * FROM ctf_hints WHERE id = $1`, [body.target]);
    if (!hint) throw notFound("No such hint");
    const challenge = await assertChallengeOpen(ctf, { player, admin: player.admin }, await ctf.challenges.get(hint.challenge_id), "No such hint");
    const teamId = player.accountType === "team" ? player.teamId : null;
    const unlock = await ctf.db.transaction(async (tx) => {
      // The score check and the award that pays must not interleave with another unlock of the account.
      await lockAccountPoints(tx, { type: player.accountType, id: player.accountId! });
      const unlocked = new Set((await txQuery<{ hint_id: number }>(tx, `SELECT hint_id FROM ctf_unlocks WHERE ${accountCondition(player, 1)}`, [player.accountId])).map((r) => r.hint_id));
      if (unlocked.has(hint.id)) throw badRequest({ target: ["You've already unlocked this target"] });
      if (hint.prerequisites.some((p) => !unlocked.has(p))) {
        throw new HttpError(403, "You must unlock other hints before accessing this hint", { requirements: ["You must unlock other hints before accessing this hint"] });
      }
      if (hint.cost > 0 && (await accountScore(tx, player)) < hint.cost) throw badRequest({ score: ["You do not have enough points to unlock this hint"] });
      const [award] = await txQuery<{ id: number; created_at: Date; at_ms: string }>(
        tx,
        `INSERT INTO ctf_awards (user_id, team_id, name, description, value, category, hint_id) VALUES ($1, $2, $3, $4, $5, 'hints', $6) RETURNING id, created_at, ${preciseMs("created_at")} AS at_ms`,
        [player.userId, teamId, `Hint ${hint.id}`, `Hint for ${challenge.name}`, -hint.cost, hint.id],
      );
      let row;
      try {
        [row] = await txQuery<{ id: number; created_at: Date }>(tx, `INSERT INTO ctf_unlocks (user_id, team_id, hint_id, award_id) VALUES ($1, $2, $3, $4) RETURNING id, created_at`, [
          player.userId,
          teamId,
          hint.id,
          award!.id,
        ]);
      } catch (error) {
        if (isUniqueViolation(error)) throw badRequest({ target: ["You've already unlocked this target"] });
        throw error;
      }
      ctf.emit("award.created", { awardId: award!.id, userId: player.userId, teamId, value: -hint.cost, category: "hints", hintId: hint.id, date: award!.created_at.toISOString(), at: Number(award!.at_ms) });
      return row!;
    });
    ok(ctx, { id: unlock.id, type: "hints", target: hint.id, user_id: player.userId, team_id: teamId, date: isoDate(unlock.created_at) });
  });

  // ---- admin ----

  routes.post("/api/v1/hints", { body: createBody }, ctf.requireAdmin, async (ctx) => {
    const body = parseInput(createBody, ctx.request.body);
    if (!(await ctf.challenges.get(body.challenge_id))) throw badRequest({ challenge_id: ["no such challenge"] });
    const [hint] = await ctf.db.query<HintRow>(
      `INSERT INTO ctf_hints (challenge_id, title, content, cost, prerequisites) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
      [body.challenge_id, body.title ?? "", body.content, body.cost ?? 0, body.prerequisites ?? []],
    );
    hintsChanged(hint!.id, [hint!.challenge_id]);
    ok(ctx, { ...hintView(hint!, true), prerequisites: hint!.prerequisites });
  });

  routes.get("/api/v1/hints", ctf.requireAdmin, async (ctx) => {
    const rows = await ctf.db.query<HintRow>(`SELECT * FROM ctf_hints ORDER BY id`);
    ok(ctx, rows.map((h) => ({ ...hintView(h, true), prerequisites: h.prerequisites })));
  });

  routes.patch("/api/v1/hints/:id", { params: idParams, body: updateBody }, ctf.requireAdmin, async (ctx) => {
    const { id: hintId } = parseInput(idParams, ctx.params);
    const body = parseInput(updateBody, ctx.request.body ?? {});
    if (body.challenge_id !== undefined && !(await ctf.challenges.get(body.challenge_id))) throw badRequest({ challenge_id: ["no such challenge"] });
    const entries = Object.entries(body);
    // The challenge it leaves, should it move (both detail views change).
    const [before] = body.challenge_id === undefined ? [] : await ctf.db.query<{ challenge_id: number }>(`SELECT challenge_id FROM ctf_hints WHERE id = $1`, [hintId]);
    const sets = entries.map(([k], i) => `${k} = $${i + 2}`).join(", ");
    const [hint] = await ctf.db.query<HintRow>(
      entries.length ? `UPDATE ctf_hints SET ${sets} WHERE id = $1 RETURNING *` : `SELECT * FROM ctf_hints WHERE id = $1`,
      [hintId, ...entries.map(([, v]) => v)],
    );
    if (!hint) throw notFound("No such hint");
    if (entries.length) hintsChanged(hint.id, [...new Set([before?.challenge_id ?? hint.challenge_id, hint.challenge_id])]);
    ok(ctx, { ...hintView(hint, true), prerequisites: hint.prerequisites });
  });

  routes.delete("/api/v1/hints/:id", { params: idParams }, ctf.requireAdmin, async (ctx) => {
    const { id: hintId } = parseInput(idParams, ctx.params);
    const gone = await ctf.db.query<{ challenge_id: number }>(`DELETE FROM ctf_hints WHERE id = $1 RETURNING challenge_id`, [hintId]);
    if (gone.length === 0) throw notFound("No such hint");
    hintsChanged(hintId, [gone[0]!.challenge_id]);
    ctx.body = { success: true };
  });
}
