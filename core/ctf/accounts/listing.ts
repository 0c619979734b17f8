import type { Context } from "koa";
import { z } from "zod";
import { badRequest } from "../../kernel/errors.js";
import { parseInput } from "../../kernel/http/envelope.js";
import type { Ctf } from "../runtime.js";
import type { PreparedRequest, PreparedResponse } from "../../kernel/http/prepared.js";
import { PRIVATE_JSON, privateJsonAnswer, sendWithEtag, type PreparedAnswer } from "../game/board-answers.js";
import { accountsRefusal, assertAccountsVisible, readerOf } from "./access.js";
import { pageOf } from "./rows.js";
import type { ViewLevel } from "./views.js";

/**
 * Query rules for the paginated account lists (`GET /users`, `GET /teams`). Unlike CTFd, `per_page` is honoured
 * (default 50, at most 100). Unknown query keys are ignored, as clients add cache busters.
 */
const DEFAULT_PER_PAGE = 50;
const positiveInt = (max: number) => z.coerce.number().int().min(1).max(max);
const optionalText = z.string().trim().max(128).optional();

export function listQuery<F extends string>(searchFields: readonly [F, ...F[]]) {
  return z.object({
    page: positiveInt(1_000_000).default(1),
    per_page: positiveInt(100).default(DEFAULT_PER_PAGE),
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
  const cached = plain ? cachedPublicPage(ctf, list.table, q.page, q.per_page) : null;
  if (cached) return sendWithEtag(ctx, cached);
  const version = publicPagesVersion(ctf);
  const known = plain ? knownPage(ctf, list.table, q.page, q.per_page) : null;
  if (!adminView) where.push("NOT a.hidden", "NOT a.banned");
  const { rows, total } = await pageOf<Row>(ctf.db.query.bind(ctf.db), list.table, where, params, q.page, q.per_page, known);
  const answer = privateJsonAnswer(rows.map((row) => list.view(row, adminView ? "admin" : "public")), { pagination: pagination(q.page, q.per_page, total) });
  // Kept only if no account changed while the page was read (else the next reader reads it again).
  if (plain && publicPagesVersion(ctf) === version) {
    if (ctf.publicPages.size >= MAX_CACHED_PAGES) ctf.publicPages.clear();
    ctf.publicPages.set(pageKey(list.table, q.page, q.per_page), { version, answer });
  }
  sendWithEtag(ctx, answer);
}

/** The listed total and where the page starts, from memory (listed-counts.ts); null before their first read. */
function knownPage(ctf: Ctf, table: "ctf_users" | "ctf_teams", page: number, perPage: number) {
  const total = ctf.listedAccounts.total(table);
  const start = ctf.listedAccounts.pageStart(table, page, perPage);
  return total === null || start === null ? null : { total, start };
}

/** What a cached public page is good for: no account changed and the listed totals were not re-counted since. */
const publicPagesVersion = (ctf: Ctf) => `${ctf.accountRows.version}|${ctf.listedAccounts.version}`;
const pageKey = (table: string, page: number, perPage: number) => `${table}|${page}|${perPage}`;

/** A public page (unfiltered, non-admin) if it is cached and still good, without waiting; null otherwise. */
export function cachedPublicPage(ctf: Ctf, table: "ctf_users" | "ctf_teams", page: number, perPage: number): PreparedAnswer | null {
  const hit = ctf.publicPages.get(pageKey(table, page, perPage));
  return hit && hit.version === publicPagesVersion(ctf) ? hit.answer : null;
}

/**
 * `GET /users` and `GET /teams` as players page through them (no query, or `page=N`), answered ahead of Koa from a
 * cached page when the caller (or no caller) needs no database; anything else takes the ordinary route.
 */
export function preparedAccountPage(ctf: Ctf, table: "ctf_users" | "ctf_teams") {
  return (request: PreparedRequest): PreparedResponse | null => {
    const settings = ctf.settings.peek();
    const page = /^(?:page=([1-9]\d{0,5}))?$/.exec(request.querystring);
    if (!settings || !page) return null;
    const player = ctf.auth.cachedPlayer(request.headers, settings.mode);
    if (player === undefined || player?.admin || accountsRefusal(settings, { player, admin: false })) return null;
    const cached = cachedPublicPage(ctf, table, Number(page[1] ?? 1), DEFAULT_PER_PAGE);
    return cached ? { body: cached.body(), etag: cached.etag, headers: PRIVATE_JSON } : null;
  };
}

/** Public list pages kept as bytes (each at most 100 accounts); beyond this many the cache starts over. */
const MAX_CACHED_PAGES = 1_000;
