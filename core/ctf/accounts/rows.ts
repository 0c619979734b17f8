import type { EntityManager } from "typeorm";
import { z } from "zod";
import { badRequest, notFound } from "../../kernel/errors.js";
import { txQuery } from "../sql.js";
import { shortText, website } from "./fields.js";
import type { PageStart } from "./listed-counts.js";
import type { Query } from "./standings.js";
import type { TeamRow, UserRow } from "./views.js";

/** Profile text fields; an empty string (what HTML forms send for an empty input) clears the field. */
const emptyToNull = (v: unknown) => (v === "" ? null : v);
export const profileText = z.preprocess(emptyToNull, shortText);
export const profileWebsite = z.preprocess(emptyToNull, website);
export const rowId = z.number().int().min(1).max(2 ** 31 - 1);

/** A numeric path id, or 404 (like an unknown id) for anything else. */
export function pathId(value: string | undefined): number {
  const id = Number(value);
  if (!/^\d{1,10}$/.test(value ?? "") || !Number.isSafeInteger(id) || id < 1 || id > 2 ** 31 - 1) throw notFound();
  return id;
}

export async function userById(query: Query, id: number): Promise<UserRow | null> {
  const [row] = await query<UserRow>(`SELECT * FROM ctf_users WHERE id = $1`, [id]);
  return row ?? null;
}

export async function teamById(query: Query, id: number): Promise<TeamRow | null> {
  const [row] = await query<TeamRow>(`SELECT * FROM ctf_teams WHERE id = $1`, [id]);
  return row ?? null;
}

/** 400 on `bracket_id` unless the bracket exists (null clears it). */
export async function assertBracket(query: Query, bracketId: number | null | undefined): Promise<void> {
  if (bracketId === null || bracketId === undefined) return;
  const [row] = await query(`SELECT id FROM ctf_brackets WHERE id = $1`, [bracketId]);
  if (!row) throw badRequest({ bracket_id: ["Bracket does not exist"] });
}

/** `UPDATE <table> SET <columns> WHERE id = $1 RETURNING *` inside the caller's transaction; columns are trusted names. */
export async function updateRow<T>(tx: EntityManager, table: "ctf_users" | "ctf_teams", id: number, columns: Record<string, unknown>): Promise<T> {
  const entries = Object.entries(columns).filter(([, value]) => value !== undefined);
  const sql =
    entries.length === 0
      ? `SELECT * FROM ${table} WHERE id = $1`
      : `UPDATE ${table} SET ${entries.map(([column], i) => `${column} = $${i + 2}`).join(", ")} WHERE id = $1 RETURNING *`;
  const [row] = await txQuery<T>(tx, sql, [id, ...entries.map(([, value]) => value)]);
  if (!row) throw notFound();
  return row;
}

/**
 * One page of rows of an account table (aliased `a`) matching `where`, ordered by id, and the total. `known` (the
 * unfiltered public list only) gives both from memory, so the page is read by a primary-key range instead of OFFSET.
 */
export async function pageOf<T>(
  query: Query,
  table: "ctf_users" | "ctf_teams",
  where: string[],
  params: unknown[],
  page: number,
  perPage: number,
  known: { total: number; start: PageStart } | null = null,
): Promise<{ rows: T[]; total: number }> {
  if (known) {
    // The unfiltered public list: total and page start come from memory, the page is one primary-key range scan.
    if (known.start === "past-end") return { rows: [], total: known.total };
    const clause = [...where, `a.id >= ${known.start.firstId}`].join(" AND ");
    return { rows: await query<T>(`SELECT a.* FROM ${table} a WHERE ${clause} ORDER BY a.id LIMIT ${perPage}`, params), total: known.total };
  }
  const clause = where.length ? `WHERE ${where.join(" AND ")}` : "";
  const total = ((await query<{ total: number }>(`SELECT count(*)::int AS total FROM ${table} a ${clause}`, params)) as [{ total: number }])[0].total;
  const rows = await query<T>(`SELECT a.* FROM ${table} a ${clause} ORDER BY a.id LIMIT ${perPage} OFFSET ${(page - 1) * perPage}`, params);
  return { rows, total };
}
