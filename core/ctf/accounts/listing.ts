import type { Context } from "koa";
import { z } from "zod";
import { badRequest } from "../../kernel/errors.js";
import { parseInput } from "../../kernel/http/envelope.js";
import type { Ctf } from "../runtime.js";
import { assertAccountsVisible, readerOf } from "./access.js";
import { pageOf } from "./rows.js";
import type { ViewLevel } from "./views.js";

/**
 * Query rules for the paginated account lists (`GET /users`, `GET /teams`). Unlike CTFd, `per_page` is honoured
 * (default 50, at most 100). Unknown query keys are ignored, as clients add cache busters.
 */
const positiveInt = (max: number) => z.coerce.number().int().min(1).max(max);
const optionalText = z.string().trim().max(128).optional();

export function listQuery<F extends string>(searchFields: readonly [F, ...F[]]) {
  return z.object({
    page: positiveInt(1_000_000).default(1),
    per_page: positiveInt(100).default(50),
    q: optionalText,
    field: z.enum(searchFields).optional(),
    affiliation: optionalText,
    country: optionalText,
    bracket_id: positiveInt(2 ** 31 - 1).optional(),
    bracket: positiveInt(2 ** 31 - 1).optional(),
    view: z.string().max(16).optional(),
  });
}

export interface Pagination {
  page: number;
  next: number | null;
  prev: number | null;
  pages: number;
  per_page: number;
  total: number;
}

export function pagination(page: number, perPage: number, total: number): Pagination {
  const pages = Math.ceil(total / perPage);
  return { page, next: page < pages ? page + 1 : null, prev: page > 1 ? page - 1 : null, pages, per_page: perPage, total };
}

/** An ILIKE pattern matching `text` literally anywhere (escapes %, _ and \). */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Builds the WHERE conditions of an account list: exact filters plus the `q`/`field` substring search.
 * `columns` maps search fields to SQL columns of the list's table (aliased `a`).
 */
export function listConditions(
  query: { q?: string; field?: string; affiliation?: string; country?: string; bracket_id?: number; bracket?: number },
  columns: Record<string, string>,
  params: unknown[],
): string[] {
  const where: string[] = [];
  const add = (sql: (p: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  if (query.affiliation !== undefined) add((p) => `a.affiliation = ${p}`, query.affiliation);
  if (query.country !== undefined) add((p) => `a.country = ${p}`, query.country);
  const bracket = query.bracket_id ?? query.bracket;
  if (bracket !== undefined) add((p) => `a.bracket_id = ${p}`, bracket);
  if (query.q) add((p) => `${columns[query.field ?? "name"]} ILIKE ${p}`, containsPattern(query.q));
  return where;
}

/**
 * `GET /users` and `GET /teams`: one page of the accounts a caller may list (hidden and banned ones only for admins
 * asking `?view=admin`, who then get the admin field set), with CTFd's pagination meta.
 */
export async function answerAccountPage<Row, F extends string>(
  ctx: Context,
  ctf: Ctf,
  list: { table: "ctf_users" | "ctf_teams"; query: ReturnType<typeof listQuery<F>>; searchColumns: Record<F, string>; view(row: Row, level: ViewLevel): unknown },
): Promise<void> {
  const q = parseInput(list.query, ctx.query);
  const reader = await readerOf(ctx, ctf);
  await assertAccountsVisible(ctf, reader);
  if ((q.field as string | undefined) === "email" && !reader.admin) throw badRequest({ field: ["Emails can only be queried by admins"] });
  const adminView = reader.admin && q.view === "admin";
  const params: unknown[] = [];
  const where = listConditions(q, list.searchColumns, params);
  // The unfiltered public list is the one every player opens: its pages are kept as bytes until an account changes,
  // and its total comes from memory (listed-counts.ts). Anything filtered, or the admin view, is read each time.
  const plain = !adminView && where.length === 0;
  const cacheKey = `${list.table}|${q.page}|${q.per_page}`;
  // Rows and total both go into a page: it is good while neither moved.
  const version = `${ctf.accountRows.version}|${ctf.listedAccounts.version}`;
  const hit = plain ? ctf.publicPages.get(cacheKey) : undefined;
  if (hit && hit.version === version) {
    ctx.type = "application/json; charset=utf-8";
    ctx.body = hit.body;
    return;
  }
  const knownTotal = plain ? ctf.listedAccounts.total(list.table) : null;
  if (!adminView) where.push("NOT a.hidden", "NOT a.banned");
  const { rows, total } = await pageOf<Row>(ctf.db.query.bind(ctf.db), list.table, where, params, q.page, q.per_page, knownTotal);
  const answer = {
    success: true,
    data: rows.map((row) => list.view(row, adminView ? "admin" : "public")),
    meta: { pagination: pagination(q.page, q.per_page, total) },
  };
  if (!plain || `${ctf.accountRows.version}|${ctf.listedAccounts.version}` !== version) {
    ctx.body = answer;
    return;
  }
  const body = Buffer.from(JSON.stringify(answer));
  if (ctf.publicPages.size >= MAX_CACHED_PAGES) ctf.publicPages.clear();
  ctf.publicPages.set(cacheKey, { version, body });
  ctx.type = "application/json; charset=utf-8";
  ctx.body = body;
}

/** Public list pages kept as bytes (each at most 100 accounts); beyond this many the cache starts over. */
const MAX_CACHED_PAGES = 1_000;
