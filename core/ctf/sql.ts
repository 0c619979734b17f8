import type { EntityManager } from "typeorm";

/** Runs SQL inside a transaction and answers the rows (also for INSERT/UPDATE ... RETURNING). */
export async function txQuery<T = Record<string, any>>(manager: EntityManager, sql: string, params: unknown[] = []): Promise<T[]> {
  return (await manager.queryRunner!.query(sql, params, true)).records as T[];
}

/** CTFd's model-dump date format: ISO with +00:00 (e.g. "2025-03-01T14:30:00+00:00"). */
export function isoDate(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const date = value instanceof Date ? value : new Date(value);
  return date.toISOString().replace(/\.000Z$/, "Z").replace(/Z$/, "+00:00");
}

/** CTFd's "Z" format used by solves lists and the scoreboard graph (e.g. "2025-03-01T09:30:30Z"). */
export function zuluDate(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const date = value instanceof Date ? value : new Date(value);
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * A timestamptz column as ms since the epoch at the database's precision: microseconds are the fraction (node-postgres
 * turns a timestamptz into a Date, which drops them, and they decide the order of ties). Read it with Number().
 */
export const preciseMs = (column: string) => `extract(epoch FROM ${column}) * 1000`;

/** 1 -> "1st", 2 -> "2nd", 11 -> "11th", 23 -> "23rd". */
export function ordinal(n: number): string {
  const mod100 = n % 100;
  const suffix = mod100 >= 11 && mod100 <= 13 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" } as Record<number, string>)[n % 10] ?? "th";
  return `${n}${suffix}`;
}
