import type { Database } from "../../../core/kernel/db/data-source.js";
import { yieldToRequests } from "../../../core/kernel/turns.js";
import { riskOf, type FindingDraft, type Risk } from "./detectors.js";

/** Findings written per statement. */
const RECORD_BATCH = 200;

export type Verdict = "innocent" | "suspicious" | "confirmed";

/** A stored finding as `GET /api/v1/phase2/suspicious_activity` shows it. */
export interface FindingView {
  id: number;
  pattern: string;
  challenge_id: number;
  accounts: [number, number];
  account_type: string;
  confidence: number;
  risk: Risk;
  evidence: Record<string, unknown>;
  verdict: Verdict | null;
  created: string;
  updated: string;
}

export interface ReviewView {
  id: number;
  suspicion_id: number;
  verdict: Verdict;
  notes: string;
  reviewer: string;
  date: string;
}

export interface FindingFilter {
  risk?: Risk;
  verdict?: Verdict | "none";
  challengeId?: number;
  limit: number;
}

type Row = Record<string, unknown>;

/**
 * Findings (one per pattern, challenge and pair of accounts) and their insert-only review history. A later
 * detection of the same pattern and pair updates the finding in place, keeping the strongest evidence seen.
 */
export class Findings {
  constructor(private readonly db: Database) {}

  /**
   * Stores or updates each draft (a pair found twice in one run keeps its strongest draft), in statements of
   * RECORD_BATCH rows; answers how many findings were new and how many changed (the same evidence seen again
   * is not written).
   */
  async record(accountType: "user" | "team", drafts: FindingDraft[]): Promise<{ created: number; updated: number }> {
    const strongest = new Map<string, FindingDraft>();
    for (const d of drafts) {
      const key = `${d.pattern}:${d.challengeId}:${d.accounts[0]}:${d.accounts[1]}`;
      if ((strongest.get(key)?.confidence ?? -1) < d.confidence) strongest.set(key, d);
    }
    const unique = [...strongest.values()];
    let created = 0;
    let updated = 0;
    for (let i = 0; i < unique.length; i += RECORD_BATCH) {
      await yieldToRequests();
      const rows = unique.slice(i, i + RECORD_BATCH).map((d) => ({
        pattern: d.pattern,
        challenge_id: d.challengeId,
        account_low: d.accounts[0],
        account_high: d.accounts[1],
        confidence: d.confidence,
        risk: riskOf(d.confidence),
        evidence: d.evidence,
      }));
      const answers = await this.db.query<{ inserted: boolean }>(
        `INSERT INTO phase2_findings (pattern, challenge_id, account_type, account_low, account_high, confidence, risk, evidence)
         SELECT x.pattern, x.challenge_id, $2, x.account_low, x.account_high, x.confidence, x.risk, x.evidence
           FROM jsonb_to_recordset($1::jsonb) AS x(pattern text, challenge_id int, account_low int, account_high int, confidence float8, risk text, evidence jsonb)
         ON CONFLICT (pattern, challenge_id, account_low, account_high) DO UPDATE SET
           evidence = CASE WHEN EXCLUDED.confidence >= phase2_findings.confidence THEN EXCLUDED.evidence ELSE phase2_findings.evidence END,
           risk = CASE WHEN EXCLUDED.confidence >= phase2_findings.confidence THEN EXCLUDED.risk ELSE phase2_findings.risk END,
           confidence = GREATEST(phase2_findings.confidence, EXCLUDED.confidence),
           updated_at = now()
         -- a run that sees the same evidence again writes nothing
         WHERE EXCLUDED.confidence > phase2_findings.confidence
            OR (EXCLUDED.confidence = phase2_findings.confidence AND EXCLUDED.evidence IS DISTINCT FROM phase2_findings.evidence)
         RETURNING (xmax = 0) AS inserted`,
        [JSON.stringify(rows), accountType],
      );
      const inserted = answers.filter((a) => a.inserted === true || String(a.inserted) === "true").length;
      created += inserted;
      updated += answers.length - inserted;
    }
    return { created, updated };
  }

  async list(filter: FindingFilter): Promise<FindingView[]> {
    const params: unknown[] = [filter.risk ?? null, filter.challengeId ?? null, filter.limit];
    const verdict = filter.verdict === "none" ? "verdict IS NULL" : filter.verdict ? `verdict = $${params.push(filter.verdict)}` : "true";
    const rows = await this.db.query<Row>(
      `SELECT * FROM phase2_findings
        WHERE ($1::text IS NULL OR risk = $1) AND ($2::int IS NULL OR challenge_id = $2) AND ${verdict}
        ORDER BY updated_at DESC, id DESC LIMIT $3`,
      params,
    );
    return rows.map(toFinding);
  }

  async get(id: number): Promise<FindingView | null> {
    const [row] = await this.db.query<Row>(`SELECT * FROM phase2_findings WHERE id = $1`, [id]);
    return row ? toFinding(row) : null;
  }

  /**
   * Appends a review and sets the finding's verdict to the latest review's, in one transaction that holds the
   * finding's row: concurrent reviews queue, none is lost, and the current verdict is always the newest row's.
   * Null when the finding does not exist.
   */
  async review(id: number, verdict: Verdict, notes: string, reviewer: string): Promise<ReviewView | null> {
    return this.db.transaction(async (tx) => {
      const [finding] = await tx.query(`SELECT id FROM phase2_findings WHERE id = $1 FOR UPDATE`, [id]);
      if (!finding) return null;
      const [row] = await tx.query(`INSERT INTO phase2_reviews (finding_id, verdict, notes, reviewer) VALUES ($1, $2, $3, $4) RETURNING *`, [id, verdict, notes, reviewer]);
      await tx.query(
        `UPDATE phase2_findings SET verdict = (SELECT verdict FROM phase2_reviews WHERE finding_id = $1 ORDER BY id DESC LIMIT 1), updated_at = now() WHERE id = $1`,
        [id],
      );
      return toReview(row as Row);
    });
  }

  /** The history of a finding, oldest first; it outlives the finding. */
  async history(id: number): Promise<ReviewView[]> {
    return (await this.db.query<Row>(`SELECT * FROM phase2_reviews WHERE finding_id = $1 ORDER BY id`, [id])).map(toReview);
  }

  async remove(id: number): Promise<boolean> {
    return (await this.db.query(`DELETE FROM phase2_findings WHERE id = $1 RETURNING id`, [id])).length > 0;
  }
}

const iso = (value: unknown) => new Date(value as string | Date).toISOString();

function toFinding(r: Row): FindingView {
  return {
    id: Number(r.id),
    pattern: String(r.pattern),
    challenge_id: Number(r.challenge_id),
    accounts: [Number(r.account_low), Number(r.account_high)],
    account_type: String(r.account_type),
    confidence: Number(r.confidence),
    risk: r.risk as Risk,
    evidence: (typeof r.evidence === "string" ? JSON.parse(r.evidence) : r.evidence) as Record<string, unknown>,
    verdict: (r.verdict ?? null) as Verdict | null,
    created: iso(r.created_at),
    updated: iso(r.updated_at),
  };
}

function toReview(r: Row): ReviewView {
  return { id: Number(r.id), suspicion_id: Number(r.finding_id), verdict: r.verdict as Verdict, notes: String(r.notes), reviewer: String(r.reviewer), date: iso(r.created_at) };
}
