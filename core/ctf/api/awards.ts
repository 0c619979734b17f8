import { z } from "zod";
import { badRequest, notFound } from "../../kernel/errors.js";
import { ok, parseInput } from "../../kernel/http/envelope.js";
import type { PluginRoutes } from "../../kernel/http/route-table.js";
import { awardView, type AwardRow } from "../accounts/activity.js";
import { pathId, rowId } from "../accounts/rows.js";
import type { UserRow } from "../accounts/views.js";
import { lockAccountPoints } from "../game/score.js";
import type { Ctf } from "../runtime.js";
import { isoDate, preciseMs, txQuery } from "../sql.js";

const text = (max: number) => z.string().trim().max(max).nullable().optional();

/** Unlike CTFd, an award needs a name, an integer value and an existing user or team. */
const awardBody = z
  .object({
    user_id: rowId.nullable().optional(),
    team_id: rowId.nullable().optional(),
    name: z.string().trim().min(1, "must not be empty").max(80),
    value: z.number().int().min(-1_000_000_000).max(1_000_000_000),
    description: text(4096),
    category: text(80),
    icon: text(80),
    // CTFd's award form sends these; only "standard" awards exist.
    type: z.literal("standard").optional(),
    requirements: z.null().optional(),
  })
  .strict()
  .superRefine((body, issues) => {
    if (body.user_id == null && body.team_id == null) issues.addIssue({ code: "custom", path: ["user_id"], message: "An award needs a user_id or a team_id" });
  });

/**
 * An account's awards stay within this total, so with challenge values bounded (at most 1,000,000 each, one solve per
 * challenge) no score can leave the safe JSON integer range (±2^53) the API answers in.
 */
const AWARDS_TOTAL_LIMIT = 10_000_000_000;

const awardsQuery = z.object({
  user_id: z.coerce.number().int().min(1).max(2 ** 31 - 1).optional(),
  team_id: z.coerce.number().int().min(1).max(2 ** 31 - 1).optional(),
});

/**
 * Admin awards (CTFd shapes). Awards count toward score, negative ones too. In team mode an award given to a
 * user also belongs to the user's team, which is the account that scores.
 */
export function awardsRoutes(routes: PluginRoutes, ctf: Ctf): void {
  const query = ctf.db.query.bind(ctf.db);

  routes.get("/api/v1/awards", { query: awardsQuery }, ctf.requireAdmin, async (ctx) => {
    const q = parseInput(awardsQuery, ctx.query);
    const rows = await query<AwardRow>(
      `SELECT * FROM ctf_awards WHERE ($1::int IS NULL OR user_id = $1) AND ($2::int IS NULL OR team_id = $2) ORDER BY id`,
      [q.user_id ?? null, q.team_id ?? null],
    );
    ok(ctx, rows.map(awardView));
  });

  routes.post("/api/v1/awards", { body: awardBody }, ctf.requireAdmin, async (ctx) => {
    const body = parseInput(awardBody, ctx.request.body ?? {});
    const { mode } = await ctf.settings.get();
    const award = await ctf.db.transaction(async (tx) => {
      let teamId = body.team_id ?? null;
      const userId = body.user_id ?? null;
      if (userId !== null) {
        const [user] = await txQuery<UserRow>(tx, `SELECT * FROM ctf_users WHERE id = $1`, [userId]);
        if (!user) throw badRequest({ user_id: ["User does not exist"] });
        if (mode === "teams") {
          if (teamId !== null && user.team_id !== teamId) throw badRequest({ team_id: ["The user is not a member of this team"] });
          if (user.team_id === null) throw badRequest({ user_id: ["In team mode an award needs a team: this user is not on one"] });
          teamId = user.team_id;
        }
      }
      if (teamId !== null) {
        const [team] = await txQuery(tx, `SELECT id FROM ctf_teams WHERE id = $1`, [teamId]);
        if (!team) throw badRequest({ team_id: ["Team does not exist"] });
      }
      const owner = teamId !== null ? { type: "team" as const, id: teamId } : { type: "user" as const, id: userId! };
      await lockAccountPoints(tx, owner);
      const [{ total }] = (await txQuery<{ total: string }>(tx, `SELECT coalesce(sum(value), 0)::bigint AS total FROM ctf_awards WHERE ${owner.type}_id = $1`, [owner.id])) as [{ total: string }];
      if (Math.abs(Number(total) + body.value) > AWARDS_TOTAL_LIMIT) {
        throw badRequest({ value: [`would take the ${owner.type}'s awards past ±${AWARDS_TOTAL_LIMIT.toLocaleString("en")} in total (now ${Number(total)})`] });
      }
      const [row] = (await txQuery<AwardRow>(
        tx,
        `INSERT INTO ctf_awards (user_id, team_id, name, description, value, category, icon) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *, ${preciseMs("created_at")} AS at_ms`,
        [userId, teamId, body.name, body.description ?? null, body.value, body.category ?? null, body.icon ?? null],
      )) as [AwardRow & { at_ms: string }];
      ctf.emit("award.created", {
        awardId: row.id,
        userId: row.user_id,
        teamId: row.team_id,
        value: row.value,
        category: row.category,
        hintId: null,
        date: isoDate(row.created_at)!,
        at: Number(row.at_ms),
      });
      return row;
    });
    ok(ctx, awardView(award));
  });

  routes.get("/api/v1/awards/:id", ctf.requireAdmin, async (ctx) => {
    const [row] = await query<AwardRow>(`SELECT * FROM ctf_awards WHERE id = $1`, [pathId(ctx.params.id)]);
    if (!row) throw notFound();
    ok(ctx, awardView(row));
  });

  routes.delete("/api/v1/awards/:id", ctf.requireAdmin, async (ctx) => {
    const id = pathId(ctx.params.id);
    await ctf.db.transaction(async (tx) => {
      const [row] = await txQuery<AwardRow>(tx, `DELETE FROM ctf_awards WHERE id = $1 RETURNING *`, [id]);
      if (!row) throw notFound();
      ctf.emit("award.deleted", { awardId: row.id, userId: row.user_id, teamId: row.team_id });
    });
    ctx.body = { success: true };
  });
}
