import type { Database } from "../../core/kernel/db/data-source.js";

/** Which users agreed to have their user agent kept as evidence (off until they opt in). */
export class Consent {
  constructor(private readonly db: Database) {}

  async of(userId: number): Promise<boolean> {
    const [row] = await this.db.query<{ consent: boolean }>(`SELECT consent FROM phase2_consent WHERE user_id = $1`, [userId]);
    return row?.consent === true;
  }

  async set(userId: number, consent: boolean): Promise<void> {
    await this.db.query(
      `INSERT INTO phase2_consent (user_id, consent) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET consent = EXCLUDED.consent, updated_at = now()`,
      [userId, consent],
    );
  }

  /** Every user who opted in, for one analytics run. */
  async users(): Promise<Set<number>> {
    return new Set((await this.db.query<{ user_id: number }>(`SELECT user_id FROM phase2_consent WHERE consent`)).map((r) => Number(r.user_id)));
  }
}
