import type { CtfReadService } from "../../core/ctf/service.js";
import type { Logger } from "../../core/kernel/log.js";
import { accountOf } from "./accounts.js";
import { summarize, type AnalyticsStore } from "./analytics.js";
import type { Phase2Config } from "./config.js";
import type { Consent } from "./consent.js";
import type { AddressHasher } from "./suspicion/address.js";
import { sameAddressSolves, sharedWrongAnswers, type AccountSubmission, type DetectorContext } from "./suspicion/detectors.js";
import type { Findings } from "./suspicion/findings.js";
import { readWindow } from "./window.js";

/** Findings one run writes at most (the strongest); the detectors' own bounds keep it far below in practice. */
const MAX_FINDINGS_PER_RUN = 10_000;

export interface AnalyticsDeps {
  read: CtfReadService;
  findings: Findings;
  store: AnalyticsStore;
  consent: Consent;
  addresses: AddressHasher;
  config: Phase2Config;
  /** Recomputes the bloods of challenges solved in the window that lack some (see reconcileBloods). */
  reconcileBloods(challengeIds: number[]): Promise<number>;
}

/** What one run did (recorded by the scheduler as the run's result). */
export interface AnalyticsResult {
  submissions: number;
  capped: boolean;
  findings: { created: number; updated: number } | null;
  bloodsRepaired: number;
  analytics: boolean;
  ms: number;
}

/**
 * `phase2.analytics`: reads the sliding window once (bounded: the newest `maxSubmissionsPerRun`, a warning when
 * there were more), runs the flag-sharing detectors over it and stores an analytics snapshot.
 */
export async function runAnalytics(deps: AnalyticsDeps, run: { signal?: AbortSignal; log: Logger }): Promise<AnalyticsResult> {
  const { read, config } = deps;
  const started = Date.now();
  if (!config.suspicion && !config.analytics && !config.bloods) return { submissions: 0, capped: false, findings: null, bloodsRepaired: 0, analytics: false, ms: 0 };

  const since = new Date(started - config.windowSeconds * 1000);
  const window = await readWindow(read, since, config.maxSubmissionsPerRun, run.signal);
  if (window.capped) {
    run.log.warn({ cap: config.maxSubmissionsPerRun, windowSeconds: config.windowSeconds }, `phase2.analytics analysed only the newest ${config.maxSubmissionsPerRun} submissions of the window (plugins.phase2.maxSubmissionsPerRun)`);
  }
  const { mode } = await read.scoringSettings();
  const rows: AccountSubmission[] = [];
  for (const s of window.submissions) {
    const accountId = accountOf(mode, s);
    if (accountId !== null) rows.push({ ...s, accountId });
  }

  let findings: AnalyticsResult["findings"] = null;
  if (config.suspicion) {
    const consented = await deps.consent.users();
    const ctx: DetectorContext = { config, hashAddress: (a) => deps.addresses.hash(a), consented: (userId) => consented.has(userId) };
    let drafts = [...sharedWrongAnswers(rows, ctx), ...sameAddressSolves(rows, ctx)];
    if (drafts.length > MAX_FINDINGS_PER_RUN) {
      run.log.warn({ found: drafts.length, kept: MAX_FINDINGS_PER_RUN }, "phase2.analytics kept only the strongest findings of this run");
      drafts = drafts.sort((a, b) => b.confidence - a.confidence).slice(0, MAX_FINDINGS_PER_RUN);
    }
    findings = await deps.findings.record(mode === "teams" ? "team" : "user", drafts);
  }
  run.signal?.throwIfAborted();
  const solved = [...new Set(rows.filter((s) => s.type === "correct").map((s) => s.challengeId))];
  const bloodsRepaired = config.bloods ? await deps.reconcileBloods(solved) : 0;
  if (bloodsRepaired > 0) run.log.warn({ bloodsRepaired }, "phase2.analytics found bloods the solve handlers had missed");
  if (config.analytics) await deps.store.save(await summarize(read, rows, config.windowSeconds, window.capped, started));
  return { submissions: rows.length, capped: window.capped, findings, bloodsRepaired, analytics: config.analytics, ms: Date.now() - started };
}
