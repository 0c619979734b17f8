import type { CtfReadService, SubmissionFact } from "../../core/ctf/service.js";
import { yieldToRequests } from "../../core/kernel/turns.js";

/** core/ctf answers at most this many rows per read. */
const PAGE = 1000;
/** A capped read goes on through at most this many times `cap` rows, keeping the newest `cap`. */
const READ_BEYOND_CAP = 2;

export interface WindowRead {
  /** The newest `cap` submissions of the window (all of them when not capped), oldest first. */
  submissions: SubmissionFact[];
  /** True when the window held more than `cap` submissions: older ones were left out. */
  capped: boolean;
}

/**
 * Reads the submissions since `since` (of one challenge, or all), oldest first, in pages of 1000. Keeps at most
 * `cap` (the newest: they matter most), so memory stays bounded; stops reading after READ_BEYOND_CAP × `cap` rows,
 * so time does too. Pages on by time: the next page starts at the last row's time (inclusive) and skips the ids
 * already seen at that time.
 */
export async function readWindow(read: CtfReadService, since: Date, cap: number, signal?: AbortSignal, challengeId?: number): Promise<WindowRead> {
  let kept: SubmissionFact[] = [];
  let seen = 0;
  let from = since;
  let atBoundary = new Set<number>();
  const newest = () => (kept.length > cap ? kept.slice(-cap) : kept);
  for (;;) {
    signal?.throwIfAborted();
    await yieldToRequests();
    const page = (await read.submissions({ since: from, limit: PAGE, challengeId })).filter((s) => !atBoundary.has(s.id));
    if (page.length === 0) return { submissions: newest(), capped: seen > cap };
    kept.push(...page);
    seen += page.length;
    if (kept.length > 2 * cap) kept = kept.slice(-cap); // drop the oldest in chunks, not row by row
    if (seen >= READ_BEYOND_CAP * cap) return { submissions: newest(), capped: true };
    const lastAt = page[page.length - 1]!.at;
    if (lastAt !== from.getTime()) atBoundary = new Set();
    for (const s of page) if (s.at === lastAt) atBoundary.add(s.id);
    from = new Date(lastAt);
  }
}
