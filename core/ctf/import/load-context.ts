import type { EntityManager } from "typeorm";
import type { CtfdExport } from "./ctfd-export.js";

/** What the loading steps share inside the one import transaction. */
export interface LoadContext {
  tx: EntityManager;
  data: CtfdExport;
  mode: "users" | "teams";
  warnings: string[];
  /** CTFd user id -> flaghost user id (the same, unless merged into an existing admin or renumbered). */
  userIds: Map<number, number>;
  /** flaghost user id -> its team (for rows CTFd left without a team in team mode). */
  userTeams: Map<number, number | null>;
  teamIds: Set<number>;
  bracketIds: Set<number>;
  /** Flag types accepted besides static and regex (verifiers plugins added). */
  flagTypes: Set<string>;
  counts: Record<CountedTable, number>;
}

export type CountedTable =
  | "brackets"
  | "teams"
  | "users"
  | "challenges"
  | "flags"
  | "hints"
  | "awards"
  | "unlocks"
  | "submissions"
  | "solves"
  | "notifications";

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Lists at most a few examples, so one warning stays one readable line. */
export function examples(items: string[], max = 5): string {
  return items.length <= max ? items.join(", ") : `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}

/** The account a row belongs to in team mode: its own team_id, else the user's team at export time. */
export function teamOf(ctx: LoadContext, userId: number | null, ctfdTeamId: number | null): number | null {
  if (ctx.mode === "users") return null;
  if (ctfdTeamId !== null && ctx.teamIds.has(ctfdTeamId)) return ctfdTeamId;
  return userId === null ? null : (ctx.userTeams.get(userId) ?? null);
}
