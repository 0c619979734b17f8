import type { Context } from "koa";
import { z } from "zod";
import { badRequest, forbidden, notFound } from "../../kernel/errors.js";
import { ok, parseInput } from "../../kernel/http/envelope.js";
import type { PluginRoutes } from "../../kernel/http/route-table.js";
import { assertAccountsVisible, assertScoresVisible } from "../accounts/access.js";
import { AttemptPipeline } from "../game/attempt.js";
import { boardAccess as checkBoardAccess, boardRefusal, prerequisitesMet } from "../game/challenge-access.js";
import { BoardAnswers, PRIVATE_JSON, privateJsonAnswer, sendWithEtag } from "../game/board-answers.js";
import type { CachedChallenge } from "../game/challenge-cache.js";
import { ChallengeDetails, challengeView, detailData, detailReader } from "../game/challenge-details.js";
import { SolverLists } from "../game/solver-lists.js";
import { typeData } from "../game/challenge-types.js";
import { dynamicValue, recomputeDynamicValues } from "../game/dynamic-value.js";
import type { Ctf } from "../runtime.js";
import { eventPhase } from "../settings.js";
import { txQuery } from "../sql.js";

const id = z.coerce.number().int().positive().max(2 ** 31 - 1);
const idParams = z.object({ id });
const text = (max: number) => z.string().max(max, `must be at most ${max} characters`);

const requirements = z
  .object({ prerequisites: z.array(id).max(100).default([]), anonymize: z.boolean().default(false) })
  .strict()
  .nullable();

const challengeFields = {
  name: text(80).trim().min(1, "must not be empty"),
  category: text(80).trim(),
  description: text(65_536),
  connection_info: text(1024).nullable(),
  attribution: text(1024).nullable(),
  next_id: id.nullable(),
  state: z.enum(["visible", "hidden", "locked"]),
  max_attempts: z.number().int().min(0).max(1_000_000),
  position: z.number().int().min(-1_000_000).max(1_000_000),
  type: text(40),
  // Never negative, and bounded so solve totals stay far inside a safe JSON integer.
  value: z.number().int().min(0, "must not be negative").max(1_000_000),
  initial: z.number().int().min(0).max(1_000_000),
  minimum: z.number().int().min(0).max(1_000_000),
  decay: z.number().int().min(1).max(1_000_000),
  function: z.enum(["linear", "logarithmic"]),
  requirements,
  type_settings: z.record(z.string(), z.unknown()),
};
const createBody = z
  .object(challengeFields)
  .partial()
  .required({ name: true })
  .strict();
const updateBody = z.object(challengeFields).partial().strict();

/** A path id written plainly (`42`), or null for anything else: the prepared route declines, the schema decides. */
const plainId = (raw: string | undefined) => (raw !== undefined && /^[1-9][0-9]{0,9}$/.test(raw) && Number(raw) <= 2 ** 31 - 1 ? Number(raw) : null);

/** The filters key of a list without a query (JSON of the parsed empty query). */
const NO_FILTERS = "{}";

const attemptBody = z
  .object({
    challenge_id: id,
    submission: z.string().max(1024, "must be at most 1024 characters"),
  })
  .strict();
const previewQuery = z.object({ preview: z.string().optional() }).loose();
const listQuery = z
  .object({
    view: z.enum(["admin"]).optional(),
    category: text(80).optional(),
    type: text(40).optional(),
    state: z.enum(["visible", "hidden", "locked"]).optional(),
    name: text(80).optional(),
    q: text(200).optional(),
    field: z.enum(["name", "description", "category", "type", "state"]).optional(),
  })
  .strict();

/** The board, the challenge view, attempts, solves and the admin challenge API (CTFd shapes). */
export function challengesRoutes(routes: PluginRoutes, ctf: Ctf): void {
  const pipeline = new AttemptPipeline(ctf);
  const board = new BoardAnswers(ctf.solves);
  const details = new ChallengeDetails(ctf.challengeTypes);
  const solverLists = new SolverLists(ctf.db, () => `${ctf.solves.version}|${ctf.accountRows.version}`);

  const boardAccess = (ctx: Context) => checkBoardAccess(ctf, ctx);

  /**
   * The list from the read models: rows serialized once per change (board-answers.ts), the caller's solved set from
   * memory, filters applied to the cached rows. No query beyond resolving the caller.
   */
  async function listChallenges(ctx: Context): Promise<void> {
    const query = parseInput(listQuery, ctx.query);
    const { player, admin } = await boardAccess(ctx);
    const adminView = admin && query.view === "admin";
    const keep = (c: CachedChallenge) => {
      if (query.category !== undefined && c.category !== query.category) return false;
      if (query.type !== undefined && c.type !== query.type) return false;
      if (query.state !== undefined && c.state !== query.state) return false;
      if (query.name !== undefined && c.name !== query.name) return false;
      if (query.q === undefined) return true;
      const haystack = { name: c.name, description: c.description, category: c.category, type: c.type, state: c.state }[query.field ?? "name"];
      return haystack.toLowerCase().includes(query.q.toLowerCase());
    };
    const filtersKey = JSON.stringify(query); // "{}" without filters, like NO_FILTERS: both paths share ETags
    const answer = board.answer(await ctf.challenges.all(), adminView ? "admin" : "player", { key: filtersKey, keep }, ctf.solves.solvedBy(player), adminView);
    sendWithEtag(ctx, answer);
  }

  routes.get("/api/v1/challenges", { summary: "The board: visible challenges with solve counts and the caller's solves", query: listQuery }, listChallenges);

  /**
   * The list as players poll it (no query; anonymous, or signed in with a credential already cached) is answered
   * ahead of Koa from memory, with the same bytes and ETag as the route above; anything else (a query, a credential
   * not cached yet, a banned account, a refusal to render) takes that route.
   */
  routes.prepared("/api/v1/challenges", (request) => {
    const settings = ctf.settings.peek();
    const challenges = ctf.challenges.peek();
    if (request.querystring !== "" || !settings || !challenges) return null;
    const player = ctf.auth.cachedPlayer(request.headers, settings.mode);
    if (player === undefined || boardRefusal(settings, player, player?.admin ?? false)) return null;
    const answer = board.answer(challenges, "player", { key: NO_FILTERS, keep: () => true }, ctf.solves.solvedBy(player), false);
    return { body: answer.body(), etag: answer.etag, headers: PRIVATE_JSON };
  });

  routes.get("/api/v1/challenges/types", ctf.requireAdmin, (ctx) => {
    ok(ctx, Object.fromEntries([...ctf.challengeTypes.values()].map((t) => [t.id, typeData(t)])));
  });

  routes.post("/api/v1/challenges/attempt", { query: previewQuery, body: attemptBody }, async (ctx) => {
    const body = parseInput(attemptBody, ctx.request.body);
    const { preview } = parseInput(previewQuery, ctx.query);
    const result = await pipeline.attempt(ctx, body.challenge_id, body.submission, { preview: preview !== undefined && preview !== "0" && preview !== "false" });
    ctx.status = result.httpStatus;
    // CTFd keeps success: true even for 403/429 attempt statuses; clients read data.status.
    ctx.body = { success: true, data: { status: result.status, message: result.message } };
    if (result.httpStatus === 429) ctx.set("Retry-After", String(ctf.config.wrongAnswerWindowSeconds));
  });

  /**
   * One challenge as its dialog shows it. The reader's attempts and unlocked hints come from the player progress read
   * model (one query the first time an account is read, none after); everything else from memory. Players get the
   * bytes the prepared route below sends; admins (every challenge, admin solve counts) and challenge types with a view
   * hook (fields of their own) get the same data with theirs merged in.
   */
  routes.get("/api/v1/challenges/:id", { params: idParams }, async (ctx) => {
    const { id: challengeId } = parseInput(idParams, ctx.params);
    const { player, admin } = await boardAccess(ctx);
    const challenge = await ctf.challenges.get(challengeId);
    if (!challenge || (!admin && challenge.state !== "visible")) throw notFound("No such challenge");
    const settings = await ctf.settings.get();
    const solved = ctf.solves.solvedBy(player);
    if (!admin && !prerequisitesMet(challenge, solved)) {
      if (challenge.anonymize) {
        return ok(ctx, { id: challenge.id, type: "hidden", name: "???", value: 0, logic: null, solves: null, solved_by_me: false, solution_id: null, category: "???", tags: [], template: "", script: "" });
      }
      throw forbidden("You have not solved the prerequisites of this challenge");
    }
    const view = ctf.challengeTypes.get(challenge.type)?.view;
    const [progress, hints, extra] = await Promise.all([
      ctf.progress.of(player),
      ctf.hints.of(challenge.id),
      view?.({ id: challenge.id, typeSettings: challenge.typeSettings }, player, { admin }) ?? {},
    ]);
    const reader = detailReader(challenge.id, solved, progress, eventPhase(settings) === "ended");
    if (admin || view) {
      sendWithEtag(ctx, privateJsonAnswer({ ...detailData(challenge, ctf.challengeTypes, ctf.solves.solveCount(challenge.id, admin ? "admin" : "public"), hints, reader), ...extra }));
      return;
    }
    const answer = details.answer(challenge, ctf.solves.solveCount(challenge.id, "public"), hints, reader);
    sendWithEtag(ctx, { etag: answer.etag, body: () => answer.body });
  });

  /**
   * A challenge as players poll it, answered ahead of Koa from memory with the same bytes and ETag as the route above
   * when everything is already at hand: a cached credential, the challenges, its hints, the reader's progress. Anything
   * unusual (a query, an admin, a refusal, unmet prerequisites, a type with a view hook, something not loaded yet, which
   * it starts loading for the next request) takes that route.
   */
  routes.prepared("/api/v1/challenges/:id", (request) => {
    const settings = ctf.settings.peek();
    const challenges = ctf.challenges.peek();
    const challengeId = plainId(request.params.id);
    if (request.querystring !== "" || !settings || !challenges || challengeId === null) return null;
    const player = ctf.auth.cachedPlayer(request.headers, settings.mode);
    if (player === undefined || player?.admin || boardRefusal(settings, player, false)) return null;
    const challenge = challenges.get(challengeId);
    if (!challenge || challenge.state !== "visible" || ctf.challengeTypes.get(challenge.type)?.view) return null;
    const solved = ctf.solves.solvedBy(player);
    if (!prerequisitesMet(challenge, solved)) return null;
    const hints = ctf.hints.peek(challenge.id);
    const progress = ctf.progress.peek(player);
    if (!hints || !progress) {
      // Loaded for the next request; a failure shows on the ordinary route, which loads again.
      if (!hints) ctf.hints.of(challenge.id).catch(() => undefined);
      if (!progress) ctf.progress.of(player).catch(() => undefined);
      return null;
    }
    return details.answer(challenge, ctf.solves.solveCount(challenge.id, "public"), hints, detailReader(challenge.id, solved, progress, eventPhase(settings) === "ended"));
  });

  routes.get("/api/v1/challenges/:id/solves", { params: idParams, query: previewQuery }, async (ctx) => {
    const { id: challengeId } = parseInput(idParams, ctx.params);
    const reader = await boardAccess(ctx);
    const { admin } = reader;
    const challenge = await ctf.challenges.get(challengeId);
    if (!challenge || (!admin && challenge.state !== "visible")) throw notFound("No such challenge");
    // Solvers are accounts with times: the same rules as /users/:id/solves.
    await assertAccountsVisible(ctf, reader);
    await assertScoresVisible(ctf, reader);
    const settings = await ctf.settings.get();
    const { preview } = parseInput(previewQuery, ctx.query);
    const until = admin && preview === undefined ? null : settings.freezeAt;
    sendWithEtag(ctx, await solverLists.answer(challengeId, settings.mode, until));
  });

  // ---- admin ----

  routes.post("/api/v1/challenges", { body: createBody }, ctf.requireAdmin, async (ctx) => {
    const body = parseInput(createBody, liftTypeFields(ctf, ctx.request.body, null));
    const type = body.type ?? "standard";
    const fields = validateTypeFields(ctf, type, body, null);
    const row = await ctf.db.transaction(async (tx) => {
      const [created] = await txQuery<{ id: number; value: number; state: CachedChallenge["state"] }>(
        tx,
        `INSERT INTO ctf_challenges (name, category, description, connection_info, attribution, next_id, state, max_attempts, position, type, value,
                                     initial, minimum, decay, decay_function, requirements, type_settings)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id, value, state`,
        [
          body.name,
          body.category ?? "",
          body.description ?? "",
          body.connection_info ?? null,
          body.attribution ?? null,
          body.next_id ?? null,
          body.state ?? "visible",
          body.max_attempts ?? 0,
          body.position ?? 0,
          type,
          fields.value,
          fields.initial,
          fields.minimum,
          fields.decay,
          fields.function,
          body.requirements ? JSON.stringify(body.requirements) : null,
          JSON.stringify(fields.typeSettings),
        ],
      );
      ctf.emit("challenge.updated", { id: created!.id, value: created!.value, previousValue: created!.value, valueChanged: false, state: created!.state, deleted: false, created: true });
      return created!;
    });
    ctf.challenges.invalidate();
    ok(ctx, challengeView((await ctf.challenges.get(row.id))!, ctf.challengeTypes));
  });

  routes.patch("/api/v1/challenges/:id", { params: idParams, body: updateBody }, ctf.requireAdmin, async (ctx) => {
    const { id: challengeId } = parseInput(idParams, ctx.params);
    const current = await ctf.challenges.get(challengeId);
    if (!current) throw notFound("No such challenge");
    const body = parseInput(updateBody, liftTypeFields(ctf, ctx.request.body ?? {}, current));
    const type = body.type ?? current.type;
    const fields = validateTypeFields(ctf, type, body, current);
    await ctf.db.transaction(async (tx) => {
      const [before] = await txQuery<{ value: number }>(tx, `SELECT value FROM ctf_challenges WHERE id = $1 FOR UPDATE`, [challengeId]);
      if (!before) throw notFound("No such challenge");
      const columns: Record<string, unknown> = {
        name: body.name,
        category: body.category,
        description: body.description,
        connection_info: body.connection_info,
        attribution: body.attribution,
        next_id: body.next_id,
        state: body.state,
        max_attempts: body.max_attempts,
        position: body.position,
        requirements: body.requirements === undefined ? undefined : body.requirements === null ? null : JSON.stringify(body.requirements),
        type,
        value: fields.value,
        initial: fields.initial,
        minimum: fields.minimum,
        decay: fields.decay,
        decay_function: fields.function,
        type_settings: JSON.stringify(fields.typeSettings),
      };
      const entries = Object.entries(columns).filter(([, v]) => v !== undefined);
      const [after] = await txQuery<{ value: number; state: CachedChallenge["state"] }>(
        tx,
        `UPDATE ctf_challenges SET ${entries.map(([k], i) => `${k} = $${i + 2}`).join(", ")} WHERE id = $1 RETURNING value, state`,
        [challengeId, ...entries.map(([, v]) => v)],
      );
      let value = after!.value;
      // A dynamic challenge's value follows its solves, whatever the body said.
      if (type === "dynamic") for (const change of await recomputeDynamicValues(tx, [challengeId])) value = change.value;
      ctf.emit("challenge.updated", { id: challengeId, value, previousValue: before.value, valueChanged: value !== before.value, state: after!.state, deleted: false, created: false });
    });
    ctf.challenges.invalidate();
    ok(ctx, challengeView((await ctf.challenges.get(challengeId))!, ctf.challengeTypes));
  });

  routes.delete("/api/v1/challenges/:id", { params: idParams }, ctf.requireAdmin, async (ctx) => {
    const { id: challengeId } = parseInput(idParams, ctx.params);
    await ctf.db.transaction(async (tx) => {
      const [gone] = await txQuery<{ value: number; state: CachedChallenge["state"] }>(tx, `DELETE FROM ctf_challenges WHERE id = $1 RETURNING value, state`, [challengeId]);
      if (!gone) throw notFound("No such challenge");
      ctf.emit("challenge.updated", { id: challengeId, value: gone.value, previousValue: gone.value, valueChanged: true, state: gone.state, deleted: true, created: false });
    });
    ctf.challenges.invalidate();
    ctx.body = { success: true };
  });

  routes.get("/api/v1/challenges/:id/flags", { params: idParams }, ctf.requireAdmin, async (ctx) => {
    const { id: challengeId } = parseInput(idParams, ctx.params);
    const rows = await ctf.db.query(`SELECT id, type, content, data, challenge_id, challenge_id AS challenge FROM ctf_flags WHERE challenge_id = $1 ORDER BY id`, [challengeId]);
    ok(ctx, rows);
  });

  routes.get("/api/v1/challenges/:id/hints", { params: idParams }, ctf.requireAdmin, async (ctx) => {
    const { id: challengeId } = parseInput(idParams, ctx.params);
    const rows = await ctf.db.query(`SELECT id, title, content, cost, prerequisites, challenge_id, challenge_id AS challenge FROM ctf_hints WHERE challenge_id = $1 ORDER BY id`, [challengeId]);
    ok(ctx, rows);
  });

  routes.get("/api/v1/challenges/:id/requirements", { params: idParams }, ctf.requireAdmin, async (ctx) => {
    const { id: challengeId } = parseInput(idParams, ctx.params);
    const challenge = await ctf.challenges.get(challengeId);
    if (!challenge) throw notFound("No such challenge");
    ok(ctx, { prerequisites: challenge.prerequisites, anonymize: challenge.anonymize });
  });
}

type ChallengeInput = Partial<z.infer<typeof updateBody>>;

/**
 * Lets a plugin type's settings be sent flat, beside CTFd's fields (`{type: "container", image: "...", port: 8000}`),
 * as CTFd's own plugin types take them: keys of the type's settings schema found at the top level move into
 * `type_settings` (over the stored ones on an update, so one field can change alone). Everything else is left for
 * the strict body schema, which still refuses unknown keys.
 */
function liftTypeFields(ctf: Ctf, raw: unknown, current: CachedChallenge | null): unknown {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return raw;
  const body = raw as Record<string, unknown>;
  const typeId = typeof body.type === "string" ? body.type : (current?.type ?? "standard");
  const settings = ctf.challengeTypes.get(typeId)?.settings;
  if (!(settings instanceof z.ZodObject)) return raw;
  const typeKeys = new Set(Object.keys(settings.shape));
  const lifted = Object.entries(body).filter(([key]) => typeKeys.has(key) && !(key in challengeFields));
  if (lifted.length === 0) return raw;
  const rest = Object.fromEntries(Object.entries(body).filter(([key]) => !typeKeys.has(key) || key in challengeFields));
  const base = rest.type_settings ?? (current && current.type === typeId ? current.typeSettings : {});
  if (typeof base !== "object" || base === null || Array.isArray(base)) return raw; // the schema names type_settings
  return { ...rest, type_settings: { ...base, ...Object.fromEntries(lifted) } };
}

/**
 * Checks the type and its fields: a registered type, dynamic decay settings complete and coherent, plugin type
 * settings valid against the type's own schema. Answers the columns to write.
 */
function validateTypeFields(ctf: Ctf, type: string, body: ChallengeInput, current: CachedChallenge | null) {
  const definition = ctf.challengeTypes.get(type);
  if (!definition) throw badRequest({ type: [`unknown challenge type "${type}"; known: ${[...ctf.challengeTypes.keys()].join(", ")}`] });
  const settings = definition.settings.safeParse(body.type_settings ?? current?.typeSettings ?? {});
  if (!settings.success) {
    const errors: Record<string, string[]> = {};
    for (const issue of settings.error.issues) (errors[["type_settings", ...issue.path.map(String)].join(".")] ??= []).push(issue.message);
    throw badRequest(errors);
  }
  const typeSettings = settings.data as Record<string, unknown>;
  if (type !== "dynamic") {
    const value = body.value ?? current?.value;
    if (value === undefined) throw badRequest({ value: ["is required for a challenge of type " + type] });
    return { value, initial: null, minimum: null, decay: null, function: null, typeSettings };
  }
  const initial = body.initial ?? current?.initial ?? undefined;
  const minimum = body.minimum ?? current?.minimum ?? undefined;
  const decay = body.decay ?? current?.decay ?? undefined;
  const decayFunction = body.function ?? current?.decayFunction ?? "logarithmic";
  const errors: Record<string, string[]> = {};
  if (initial === undefined) errors.initial = ["is required for a dynamic challenge"];
  if (minimum === undefined) errors.minimum = ["is required for a dynamic challenge"];
  if (decay === undefined) errors.decay = ["is required for a dynamic challenge"];
  if (initial !== undefined && minimum !== undefined && minimum > initial) errors.minimum = ["must not be above initial"];
  if (Object.keys(errors).length > 0) throw badRequest(errors);
  return {
    // Recomputed from solves after the write; a new challenge starts at its initial value.
    value: dynamicValue({ initial: initial!, minimum: minimum!, decay: decay!, function: decayFunction }, 0),
    initial: initial!,
    minimum: minimum!,
    decay: decay!,
    function: decayFunction,
    typeSettings,
  };
}
