import { z } from "zod";
import { badRequest, notFound } from "../../kernel/errors.js";
import { ok, parseInput } from "../../kernel/http/envelope.js";
import type { PluginRoutes } from "../../kernel/http/route-table.js";
import type { Ctf } from "../runtime.js";

const id = z.coerce.number().int().positive().max(2 ** 31 - 1);
const idParams = z.object({ id });
const flagFields = {
  challenge_id: id,
  challenge: id,
  type: z.string().min(1).max(40),
  content: z.string().min(1, "must not be empty").max(1024, "must be at most 1024 characters"),
  data: z.string().max(64).nullable(),
};
const createBody = z.object(flagFields).partial().required({ type: true, content: true }).strict();
const updateBody = z.object(flagFields).partial().strict();
const listQuery = z.object({ challenge_id: id.optional() }).strict();

interface FlagRow {
  id: number;
  challenge_id: number;
  type: string;
  content: string;
  data: string | null;
}

const flagView = (f: FlagRow) => ({ id: f.id, type: f.type, content: f.content, data: f.data, challenge_id: f.challenge_id, challenge: f.challenge_id });

/** Admin flag API. Unlike CTFd, a flag must name an existing challenge and a type some verifier provides. */
export function flagsRoutes(routes: PluginRoutes, ctf: Ctf): void {
  const check = (type: string, content: string, data: string | null) => {
    const verifier = ctf.flagVerifiers.get(type);
    if (!verifier) throw badRequest({ type: [`unknown flag type "${type}"; known: ${[...ctf.flagVerifiers.keys()].join(", ")}`] });
    const problem = verifier.validate?.(content, data);
    if (problem) throw badRequest({ [problem.startsWith("data") ? "data" : "content"]: [problem] });
  };

  /** Flags live in the challenge cache: every change (after it is written) is a challenge change for consumers. */
  const changed = async (challengeId: number) => {
    ctf.challenges.invalidate();
    const challenge = await ctf.challenges.get(challengeId);
    if (challenge) ctf.emit("challenge.updated", { id: challengeId, value: challenge.value, previousValue: challenge.value, valueChanged: false, state: challenge.state, deleted: false, created: false });
  };

  routes.get("/api/v1/flags/types", ctf.requireAdmin, (ctx) => {
    ok(ctx, Object.fromEntries([...ctf.flagVerifiers.keys()].map((type) => [type, { name: type, templates: {} }])));
  });

  routes.get("/api/v1/flags", { query: listQuery }, ctf.requireAdmin, async (ctx) => {
    const { challenge_id } = parseInput(listQuery, ctx.query);
    const rows = await ctf.db.query<FlagRow>(`SELECT * FROM ctf_flags WHERE ($1::int IS NULL OR challenge_id = $1) ORDER BY id`, [challenge_id ?? null]);
    ok(ctx, rows.map(flagView));
  });

  routes.post("/api/v1/flags", { body: createBody }, ctf.requireAdmin, async (ctx) => {
    const body = parseInput(createBody, ctx.request.body);
    const challengeId = body.challenge_id ?? body.challenge;
    if (challengeId === undefined) throw badRequest({ challenge_id: ["is required"] });
    if (!(await ctf.challenges.get(challengeId))) throw badRequest({ challenge_id: ["no such challenge"] });
    const data = body.data === "" ? null : (body.data ?? null);
    check(body.type, body.content, data);
    const [flag] = await ctf.db.query<FlagRow>(`INSERT INTO ctf_flags (challenge_id, type, content, data) VALUES ($1, $2, $3, $4) RETURNING *`, [challengeId, body.type, body.content, data]);
    await changed(challengeId);
    ok(ctx, flagView(flag!));
  });

  routes.get("/api/v1/flags/:id", { params: idParams }, ctf.requireAdmin, async (ctx) => {
    const { id: flagId } = parseInput(idParams, ctx.params);
    const [flag] = await ctf.db.query<FlagRow>(`SELECT * FROM ctf_flags WHERE id = $1`, [flagId]);
    if (!flag) throw notFound("No such flag");
    ok(ctx, flagView(flag));
  });

  routes.patch("/api/v1/flags/:id", { params: idParams, body: updateBody }, ctf.requireAdmin, async (ctx) => {
    const { id: flagId } = parseInput(idParams, ctx.params);
    const body = parseInput(updateBody, ctx.request.body ?? {});
    const [current] = await ctf.db.query<FlagRow>(`SELECT * FROM ctf_flags WHERE id = $1`, [flagId]);
    if (!current) throw notFound("No such flag");
    const challengeId = body.challenge_id ?? body.challenge ?? current.challenge_id;
    if (!(await ctf.challenges.get(challengeId))) throw badRequest({ challenge_id: ["no such challenge"] });
    const next = { type: body.type ?? current.type, content: body.content ?? current.content, data: body.data === undefined ? current.data : body.data === "" ? null : body.data };
    check(next.type, next.content, next.data);
    const [flag] = await ctf.db.query<FlagRow>(`UPDATE ctf_flags SET challenge_id = $2, type = $3, content = $4, data = $5 WHERE id = $1 RETURNING *`, [flagId, challengeId, next.type, next.content, next.data]);
    if (!flag) throw notFound("No such flag");
    await changed(current.challenge_id);
    if (challengeId !== current.challenge_id) await changed(challengeId);
    ok(ctx, flagView(flag));
  });

  routes.delete("/api/v1/flags/:id", { params: idParams }, ctf.requireAdmin, async (ctx) => {
    const { id: flagId } = parseInput(idParams, ctx.params);
    const [gone] = await ctf.db.query<FlagRow>(`DELETE FROM ctf_flags WHERE id = $1 RETURNING *`, [flagId]);
    if (!gone) throw notFound("No such flag");
    await changed(gone.challenge_id);
    ctx.body = { success: true };
  });
}
