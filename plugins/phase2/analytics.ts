import type { CtfReadService } from "../../core/ctf/service.js";
import type { Database } from "../../core/kernel/db/data-source.js";
import type { AccountSubmission } from "./suspicion/detectors.js";

/** One analytics snapshot, as stored and as `GET /api/v1/phase2/analytics` shows it. */
export interface AnalyticsSnapshot {
  taken_at: string;
  window_seconds: number;
  submissions: number;
  active_accounts: number;
  capped: boolean;
  per_minute: Array<{ minute: string; submissions: number; correct: number; incorrect: number }>;
  solves_per_category: Array<{ category: string; solves: number }>;
  hot_spots: Array<{ challenge_id: number; challenge_name: string; wrong_answers: number; accounts: number }>;
}

const HOT_SPOTS = 10;

/** Submissions per minute, active accounts, solves per category and wrong-answer hot spots over the window. */
export async function summarize(read: CtfReadService, rows: AccountSubmission[], windowSeconds: number, capped: boolean, now = Date.now()): Promise<AnalyticsSnapshot> {
  const minutes = new Map<number, { submissions: number; correct: number; incorrect: number }>();
  const firstMinute = Math.floor((now - windowSeconds * 1000) / 60_000);
  for (let m = firstMinute; m <= Math.floor(now / 60_000); m++) minutes.set(m, { submissions: 0, correct: 0, incorrect: 0 });
  const accounts = new Set<number>();
  const wrong = new Map<number, { count: number; accounts: Set<number> }>();
  const solvesByChallenge = new Map<number, number>();
  for (const s of rows) {
    accounts.add(s.accountId);
    const bucket = minutes.get(Math.floor(s.at / 60_000));
    if (bucket) {
      bucket.submissions += 1;
      if (s.type === "correct") bucket.correct += 1;
      if (s.type === "incorrect") bucket.incorrect += 1;
    }
    if (s.type === "correct") solvesByChallenge.set(s.challengeId, (solvesByChallenge.get(s.challengeId) ?? 0) + 1);
    if (s.type === "incorrect") {
      const spot = wrong.get(s.challengeId) ?? { count: 0, accounts: new Set<number>() };
      spot.count += 1;
      spot.accounts.add(s.accountId);
      wrong.set(s.challengeId, spot);
    }
  }

  // Names and categories of the challenges seen: one read each.
  const definitions = new Map<number, { name: string; category: string }>();
  for (const id of new Set([...solvesByChallenge.keys(), ...wrong.keys()])) {
    const d = await read.challengeDefinition(id);
    definitions.set(id, { name: d?.name ?? `#${id}`, category: d?.category ?? "(deleted)" });
  }
  const categories = new Map<string, number>();
  for (const [id, solves] of solvesByChallenge) {
    const category = definitions.get(id)!.category;
    categories.set(category, (categories.get(category) ?? 0) + solves);
  }
  const hotSpots = [...wrong.entries()]
    .sort((a, b) => b[1].count - a[1].count || a[0] - b[0])
    .slice(0, HOT_SPOTS)
    .map(([id, spot]) => ({ challenge_id: id, challenge_name: definitions.get(id)!.name, wrong_answers: spot.count, accounts: spot.accounts.size }));

  return {
    taken_at: new Date(now).toISOString(),
    window_seconds: windowSeconds,
    submissions: rows.length,
    active_accounts: accounts.size,
    capped,
    per_minute: [...minutes.entries()].map(([m, counts]) => ({ minute: new Date(m * 60_000).toISOString(), ...counts })),
    solves_per_category: [...categories.entries()].sort((a, b) => b[1] - a[1]).map(([category, solves]) => ({ category, solves })),
    hot_spots: hotSpots,
  };
}

/** The analytics time series in phase2_analytics. */
export class AnalyticsStore {
  constructor(private readonly db: Database) {}

  async save(s: AnalyticsSnapshot): Promise<void> {
    await this.db.query(
      `INSERT INTO phase2_analytics (taken_at, window_seconds, submissions, active_accounts, capped, per_minute, solves_per_category, hot_spots)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::jsonb)`,
      [s.taken_at, s.window_seconds, s.submissions, s.active_accounts, s.capped, JSON.stringify(s.per_minute), JSON.stringify(s.solves_per_category), JSON.stringify(s.hot_spots)],
    );
  }

  async latest(): Promise<AnalyticsSnapshot | null> {
    const [row] = await this.db.query<Record<string, unknown>>(`SELECT * FROM phase2_analytics ORDER BY taken_at DESC, id DESC LIMIT 1`);
    return row ? toSnapshot(row) : null;
  }

  /** Totals of the snapshots since `since`, oldest first (at most `limit`). */
  async series(since: Date, limit: number): Promise<Array<{ taken_at: string; submissions: number; active_accounts: number }>> {
    const rows = await this.db.query<Record<string, unknown>>(
      `SELECT taken_at, submissions, active_accounts FROM (SELECT * FROM phase2_analytics WHERE taken_at >= $1 ORDER BY taken_at DESC LIMIT $2) recent ORDER BY taken_at`,
      [since, limit],
    );
    return rows.map((r) => ({ taken_at: new Date(r.taken_at as string).toISOString(), submissions: Number(r.submissions), active_accounts: Number(r.active_accounts) }));
  }
}

const json = (value: unknown) => (typeof value === "string" ? JSON.parse(value) : value);

function toSnapshot(r: Record<string, unknown>): AnalyticsSnapshot {
  return {
    taken_at: new Date(r.taken_at as string).toISOString(),
    window_seconds: Number(r.window_seconds),
    submissions: Number(r.submissions),
    active_accounts: Number(r.active_accounts),
    capped: Boolean(r.capped),
    per_minute: json(r.per_minute),
    solves_per_category: json(r.solves_per_category),
    hot_spots: json(r.hot_spots),
  };
}
