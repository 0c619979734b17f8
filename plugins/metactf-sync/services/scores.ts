import type { GamePlatformClient } from "../client/client.js";
import type { FlashCtf } from "../client/schemas.js";
import type { PlatformIds } from "../ids.js";
import type { RunStore } from "../store/runs.js";
import type { ScoreStore, SyncSubject } from "../store/scores.js";
import { describe } from "./platform.js";
import type { RunReport } from "./runs.js";

const ODL_CURSOR = "odl";
const DAY_SECONDS = 86_400;

export interface ScoreSyncOptions {
  batchSize: number;
  activeSlots: number;
  activeDays: number;
  totalsBatchSize: number;
  overlapSeconds: number;
  sentinelUserId?: number;
}

/** One ODL run's competitors: the next slice of the rotation, plus active ones outside it. */
export interface OdlBatch {
  rotation: SyncSubject[];
  active: SyncSubject[];
}

const nowUnix = () => Math.floor(Date.now() / 1000);

/**
 * Scores, incrementally, within a call budget (README.md, "The call budget"):
 *  - ODL (every 30 min): the next `batchSize` competitors of a rotation whose cursor is persisted, so every
 *    competitor is synced once per cycle of ceil(N / batchSize) runs, plus up to `activeSlots` competitors with a
 *    solve in the last `activeDays` days, least recently synced first. Each is asked only for solves after their
 *    marker; the marker advances only when the call succeeded; solves are unique per competitor and solve id.
 *  - Totals (hourly, no API call): flagged competitors' totals, as reported by their last ODL answer, become the
 *    shown ones, checked against the solves held (a gap schedules a full re-fetch).
 *  - Flash (daily): one call for a sentinel competitor; only when it shows a Flash CTF we do not hold in full
 *    (new, or still running when last fetched) is every competitor fetched, once.
 */
export function createScoreSync(deps: { scores: ScoreStore; runs: RunStore; ids: PlatformIds; options: ScoreSyncOptions }) {
  const { scores, runs, ids, options } = deps;

  async function odlBatch(): Promise<OdlBatch> {
    const subjects = await scores.subjects();
    if (subjects.length === 0) return { rotation: [], active: [] };
    // The next slice after the cursor; a cycle ends with a short slice rather than wrapping, so each cycle of
    // ceil(N / batchSize) runs syncs every competitor exactly once.
    const after = await runs.cursor(ODL_CURSOR);
    const next = subjects.filter((s) => s.userId > after).slice(0, options.batchSize);
    const rotation = next.length > 0 ? next : subjects.slice(0, options.batchSize);
    const inRotation = new Set(rotation.map((s) => s.userId));
    const activeSince = nowUnix() - options.activeDays * DAY_SECONDS;
    const active = subjects
      .filter((s) => !inRotation.has(s.userId) && s.lastNewSolveUnix !== null && s.lastNewSolveUnix >= activeSince)
      .sort((a, b) => Date.parse(a.lastAttemptAt ?? "1970-01-01") - Date.parse(b.lastAttemptAt ?? "1970-01-01") || a.userId - b.userId)
      .slice(0, options.activeSlots);
    return { rotation, active };
  }

  /** What the ODL call for a competitor asks: solves after their marker, less the overlap for late-recorded solves. */
  const afterOf = (s: SyncSubject) => (s.odlSyncedUntil === null ? undefined : Math.max(0, s.odlSyncedUntil - options.overlapSeconds));

  async function syncOdl(client: GamePlatformClient, subject: SyncSubject, signal: AbortSignal): Promise<number> {
    const marker = nowUnix();
    const answer = await client.odlScores(ids.user(subject.userId), afterOf(subject), signal);
    const { added, newestUnix } = await scores.addSolves(subject.userId, answer.challenge_solves);
    const reported = { totalPoints: answer.total_points, totalSolved: answer.total_challenges_solved, categoryPoints: answer.category_points, lastAccessedUnix: answer.last_accessed_unix_timestamp };
    await scores.odlSucceeded(subject.userId, { markerUnix: marker, added, newestUnix, reported });
    return added;
  }

  /** Runs `work` for each id, collecting errors per id (recorded on the competitor as well). */
  async function each(ids: number[], signal: AbortSignal, work: (userId: number) => Promise<boolean>): Promise<RunReport> {
    const report: RunReport = { batch: ids, processed: 0, withNewData: 0, errors: [] };
    for (const userId of ids) {
      if (signal.aborted) break;
      report.processed++;
      try {
        if (await work(userId)) report.withNewData++;
      } catch (error) {
        const message = describe(error);
        report.errors.push({ id: userId, message });
        await scores.failed(userId, message);
      }
    }
    return report;
  }

  async function sentinel(): Promise<number | null> {
    const subjects = await scores.subjects();
    if (options.sentinelUserId !== undefined && subjects.some((s) => s.userId === options.sentinelUserId)) return options.sentinelUserId;
    return subjects[0]?.userId ?? null;
  }

  return {
    odlBatch,

    async odlRun(client: GamePlatformClient, signal: AbortSignal): Promise<RunReport> {
      const { rotation, active } = await odlBatch();
      const subjects = new Map([...rotation, ...active].map((s) => [s.userId, s]));
      const report = await each([...subjects.keys()], signal, async (userId) => (await syncOdl(client, subjects.get(userId)!, signal)) > 0);
      // The rotation moves on whatever happened: a failed competitor keeps its marker and is asked again next cycle.
      if (rotation.length > 0) await runs.moveCursor(ODL_CURSOR, rotation[rotation.length - 1]!.userId);
      return report;
    },

    /**
     * The totals job makes no API call: every ODL answer already carries whole totals. For each flagged competitor
     * it makes the reported totals the shown ones, and checks them against the solves we hold: fewer here than the
     * platform counts (a solve recorded late, behind the marker and the overlap) schedules a full re-fetch.
     */
    async totalsRun(_client: GamePlatformClient, signal: AbortSignal): Promise<RunReport> {
      const flagged = await scores.flagged(options.totalsBatchSize);
      const byId = new Map(flagged.map((f) => [f.userId, f]));
      return each([...byId.keys()], signal, async (userId) => {
        const { reported, solvesHeld } = byId.get(userId)!;
        await scores.applyTotals(userId, reported);
        if (reported && solvesHeld < reported.totalSolved) {
          await scores.scheduleFullResync(userId, `${reported.totalSolved - solvesHeld} solve(s) missing here: full re-fetch scheduled`);
        }
        return true;
      });
    },

    async flashRun(client: GamePlatformClient, signal: AbortSignal): Promise<RunReport> {
      const sentinelId = await sentinel();
      if (sentinelId === null) return { batch: [], processed: 0, withNewData: 0, errors: [] };
      const held = await scores.settledFlashNames();
      let sentinelAnswer: FlashCtf[];
      try {
        sentinelAnswer = (await client.flashProgress(ids.user(sentinelId), signal)).flash_ctfs;
      } catch (error) {
        return { batch: [sentinelId], processed: 1, withNewData: 0, errors: [{ id: sentinelId, message: describe(error) }] };
      }
      const fresh = sentinelAnswer.filter((f) => !held.has(f.flash_ctf_name));
      if (fresh.length === 0) return { batch: [sentinelId], processed: 1, withNewData: 0, errors: [] };
      // A new (or unfinished) Flash CTF: every competitor's progress, once; the sentinel's answer is reused.
      const everyone = (await scores.subjects()).map((s) => s.userId);
      const report = await each(everyone, signal, async (userId) => {
        const ctfs = userId === sentinelId ? sentinelAnswer : (await client.flashProgress(ids.user(userId), signal)).flash_ctfs;
        return (await scores.saveFlashResults(userId, ctfs.filter((f) => fresh.some((n) => n.flash_ctf_name === f.flash_ctf_name)))) > 0;
      });
      // Held in full only when nobody failed: otherwise tomorrow's run fetches everyone again.
      if (report.errors.length === 0 && !signal.aborted) await scores.flashFetched(fresh);
      return report;
    },

    /** What each job would call now (dry run), without calling. */
    async plans() {
      const { rotation, active } = await odlBatch();
      const odlCall = (s: SyncSubject) => {
        const after = afterOf(s);
        return `GET /scores/get_odl_scores?syned_user_id=${ids.user(s.userId)}${after === undefined ? "" : `&after_time_unix=${after}`}`;
      };
      const flagged = (await scores.flagged(options.totalsBatchSize)).map((f) => f.userId);
      const sentinelId = await sentinel();
      const population = (await scores.subjects()).length;
      return {
        odl: { batch: [...rotation, ...active].map((s) => s.userId), active: active.map((s) => s.userId), calls: [...rotation, ...active].map(odlCall) },
        totals: { batch: flagged, calls: [] as string[] },
        flash: {
          batch: sentinelId === null ? [] : [sentinelId],
          calls: sentinelId === null ? [] : [`GET /scores/get_flash_ctf_progress?syned_user_id=${ids.user(sentinelId)}`],
          ifNewFlashCtf: Math.max(0, population - 1),
        },
      };
    },
  };
}

export type ScoreSync = ReturnType<typeof createScoreSync>;
