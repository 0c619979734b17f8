import type { CompetitorStatus } from "../store/competitors.js";
import type { Drift } from "../store/teams.js";
import type { SyncRun } from "../store/runs.js";

/** Statuses, drift and run outcomes as sentences for the dashboard. */
export const STATUS_WORDS: Record<CompetitorStatus, string> = {
  pending: "Waiting for a profile",
  profile: "Profile in progress",
  compliance: "Ready to add (compliance done)",
  complete: "On the game platform",
};

export const JOB_WORDS: Record<SyncRun["job"], string> = {
  odl: "ODL scores",
  totals: "Totals",
  flash: "Flash CTF",
  roster: "Rosters",
};

export function outcomeWords(run: SyncRun): string {
  if (run.outcome === "succeeded") return "Succeeded";
  if (run.outcome === "partial") return `Partly failed (${run.errors.length} of ${run.processed})`;
  return "Failed";
}

export function driftWords(drift: Drift | null, userName: (id: number) => string): string {
  if (!drift) return "Not checked yet";
  const parts: string[] = [];
  if (drift.missing.length > 0) parts.push(`added on the platform: ${drift.missing.map(userName).join(", ")}`);
  if (drift.extra.length > 0) parts.push(`on the platform's team but not ours: ${drift.extra.join(", ")}`);
  if (drift.notOnboarded.length > 0) parts.push(`not on the platform yet: ${drift.notOnboarded.map(userName).join(", ")}`);
  return parts.length === 0 ? "In sync" : parts.join("; ");
}

/** `2026-12-01 14:58 UTC`, or a dash. */
export function when(iso: string | null): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : "—";
}
