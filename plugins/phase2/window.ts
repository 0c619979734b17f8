import type { CtfReadService, SubmissionFact } from "../../core/ctf/service.js";
import { yieldToRequests } from "./accounts.js";

/** core/ctf answers at most this many rows per read. */
const PAGE = 1000;

export interface WindowRead {
  submissions: SubmissionFact[];
  /** True when the window held more than `cap` submissions and the rest was not read. */
  capped: boolean;
}

/**
 * Reads the submissions since `since` (of one challenge, or all), oldest first, in pages of 1000, stopping at `cap` rows. Pages on by time:
 * the next page starts at the last row's time (inclusive) and skips the ids already seen at that time.
 */
export async function readWindow(read: CtfReadService, since: Date, cap: number, signal?: AbortSignal, challengeId?: number): Promise<WindowRead> {
  const submissions: SubmissionFact[] = [];
  let from = since;
  let atBoundary = new Set<number>();
  for (;;) {
    signal?.throwIfAborted();
    await yieldToRequests();
    const page = (await read.submissions({ since: from, limit: PAGE, challengeId })).filter((s) => !atBoundary.has(s.id));
    if (page.length === 0) return { submissions, capped: false };
    for (const s of page) {
      if (submissions.length >= cap) return { submissions, capped: true };
      submissions.push(s);
    }
    const lastAt = page[page.length - 1]!.at;
    if (lastAt !== from.getTime()) atBoundary = new Set();
    for (const s of page) if (s.at === lastAt) atBoundary.add(s.id);
    from = new Date(lastAt);
  }
}
