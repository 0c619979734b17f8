import type { AccountFacts, CtfReadService } from "../../core/ctf/service.js";

/** The account a solve or submission counts for: the team in team mode, the user in user mode; null if it has none. */
export function accountOf(mode: "users" | "teams", row: { userId: number; teamId: number | null }): number | null {
  if (mode === "teams") return row.teamId;
  return row.teamId === null ? row.userId : null;
}

/** Reads each account once per run (a run asks about the same few accounts many times). */
export function accountCache(read: CtfReadService): (id: number) => Promise<AccountFacts | null> {
  const seen = new Map<number, Promise<AccountFacts | null>>();
  return (id) => {
    let found = seen.get(id);
    if (!found) seen.set(id, (found = read.account(id)));
    return found;
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
