import type { CtfReadService } from "../../core/ctf/service.js";
import type { Coordination } from "../../core/kernel/coordination/types.js";
import type { Database } from "../../core/kernel/db/data-source.js";
import { accountCache, accountOf, sleep } from "./accounts.js";
import type { Phase2Config } from "./config.js";

/** A blood as stored and as the board shows it. */
export interface Blood {
  challengeId: number;
  position: 1 | 2 | 3;
  accountType: "user" | "team";
  accountId: number;
  accountName: string;
  challengeName: string;
  challengeVisible: boolean;
  solveId: number;
  solvedAt: Date;
  value: number;
  prestige: number;
}

const POSITIONS = [1, 2, 3] as const;
/** Solves read per page while looking for the first three visible accounts. */
const PAGE = 100;
/** How long a recompute may hold a challenge (renewed never: a recompute is a few reads and one short write). */
const LOCK_TTL_MS = 15_000;
const LOCK_WAIT_MS = 30_000;

/**
 * First, second and third blood per challenge. A recompute reads the challenge's solves oldest first (core/ctf's
 * order: time, then id), skips hidden and banned accounts, and writes the first three as the challenge's bloods in
 * one transaction. Two recomputes of one challenge never overlap (a cluster-wide lock per challenge), and each one
 * reads after every solve whose event triggered it committed, so the last one writes the right answer. The table's
 * keys, (challenge, position) and (challenge, account), make a second first blood impossible whatever happens.
 */
export class Bloods {
  /**
   * Challenges this instance saw with all three bloods, and the third's solve time: a later solve cannot change
   * them, so the solve handler skips the database. Dropped on every change seen here and on every account or
   * challenge event (all instances get those); a read started before a drop is not cached (the generation
   * counter). What an instance could still miss in a race with another one, the analytics job's reconciliation
   * repairs (see `reconcile`).
   */
  private readonly complete = new Map<number, number>();
  private generation = 0;

  constructor(
    private readonly db: Database,
    private readonly read: CtfReadService,
    private readonly coordination: Coordination,
    private readonly prestige: Phase2Config["prestige"],
  ) {}

  /** Forgets what this instance cached (one challenge, or all). */
  forgetCached(challengeId?: number): void {
    this.generation += 1;
    if (challengeId === undefined) this.complete.clear();
    else this.complete.delete(challengeId);
  }

  /** Of these challenges, the ones with fewer than three bloods (the analytics job recomputes them). */
  async incomplete(challengeIds: number[]): Promise<number[]> {
    if (challengeIds.length === 0) return [];
    const rows = await this.db.query<{ challenge_id: number; n: string }>(
      `SELECT challenge_id, count(*) AS n FROM phase2_bloods WHERE challenge_id = ANY($1::int[]) GROUP BY challenge_id`,
      [challengeIds],
    );
    const full = new Set(rows.filter((r) => Number(r.n) >= POSITIONS.length).map((r) => Number(r.challenge_id)));
    return challengeIds.filter((id) => !full.has(id));
  }

  /** Recomputes one challenge's bloods; answers the bloods that are new (a solve that had none before). */
  async recompute(challengeId: number): Promise<Blood[]> {
    return this.holding(challengeId, async () => {
      this.forgetCached(challengeId);
      const before = await this.ofChallenge(challengeId);
      const after = await this.decide(challengeId, before);
      await this.db.transaction(async (tx) => {
        await tx.query(`DELETE FROM phase2_bloods WHERE challenge_id = $1`, [challengeId]);
        for (const b of after) {
          await tx.query(
            `INSERT INTO phase2_bloods (challenge_id, position, account_type, account_id, account_name, challenge_name, challenge_visible, solve_id, solved_at, value, prestige)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
            [b.challengeId, b.position, b.accountType, b.accountId, b.accountName, b.challengeName, b.challengeVisible, b.solveId, b.solvedAt, b.value, b.prestige],
          );
        }
      });
      this.forgetCached(challengeId);
      const known = new Set(before.map((b) => b.solveId));
      return after.filter((b) => !known.has(b.solveId));
    });
  }

  /** Cheap check before a recompute on a new solve: is there a position it could take? */
  async mayChange(challengeId: number, solvedAtMs: number): Promise<boolean> {
    const third = this.complete.get(challengeId);
    if (third !== undefined && solvedAtMs > third) return false;
    const generation = this.generation;
    const rows = await this.db.query<{ n: string | number; last: Date | null }>(
      `SELECT count(*) AS n, max(solved_at) AS last FROM phase2_bloods WHERE challenge_id = $1`,
      [challengeId],
    );
    const { n, last } = rows[0] ?? { n: 0, last: null };
    if (Number(n) < POSITIONS.length || last === null) return true;
    if (generation === this.generation) this.complete.set(challengeId, new Date(last).getTime());
    return solvedAtMs <= new Date(last).getTime();
  }

  /** After a challenge edit: its bloods follow a rename or a change of state (the solves themselves did not change). */
  async challengeEdited(challengeId: number): Promise<void> {
    // Under the challenge's lock, so a recompute that read the old name cannot write it back after this.
    await this.holding(challengeId, async () => {
      const definition = await this.read.challengeDefinition(challengeId);
      if (!definition) return;
      await this.db.query(
        `UPDATE phase2_bloods SET challenge_name = $2, challenge_visible = $3
          WHERE challenge_id = $1 AND (challenge_name <> $2 OR challenge_visible <> $3)`,
        [challengeId, definition.name, definition.state === "visible"],
      );
    });
  }

  async forget(challengeId: number): Promise<void> {
    await this.holding(challengeId, () => this.db.query(`DELETE FROM phase2_bloods WHERE challenge_id = $1`, [challengeId]));
    this.forgetCached(challengeId);
  }

  /** Challenges where the account holds a blood. */
  async challengesOf(accountType: "user" | "team", accountId: number): Promise<number[]> {
    const rows = await this.db.query<{ challenge_id: number }>(
      `SELECT DISTINCT challenge_id FROM phase2_bloods WHERE account_type = $1 AND account_id = $2`,
      [accountType, accountId],
    );
    return rows.map((r) => Number(r.challenge_id));
  }

  async ofChallenge(challengeId: number): Promise<Blood[]> {
    return (await this.db.query<Row>(`SELECT * FROM phase2_bloods WHERE challenge_id = $1 ORDER BY position`, [challengeId])).map(toBlood);
  }

  /** The public board: visible challenges with at least one blood, by challenge id. */
  async board(): Promise<Blood[]> {
    return (await this.db.query<Row>(`SELECT * FROM phase2_bloods WHERE challenge_visible ORDER BY challenge_id, position`)).map(toBlood);
  }

  /** The first three visible accounts' solves, with the value each had at solve time. */
  private async decide(challengeId: number, before: Blood[]): Promise<Blood[]> {
    const definition = await this.read.challengeDefinition(challengeId);
    const challenge = await this.read.challenge(challengeId);
    if (!definition || !challenge) return [];
    const { mode } = await this.read.scoringSettings();
    const account = accountCache(this.read);
    const earlier = new Map(before.map((b) => [b.solveId, b.value]));
    const picked: Blood[] = [];
    const seen = new Set<number>();
    let counted = 0; // visible solves so far: a dynamic challenge's value after each
    let since: Date | undefined;
    while (picked.length < POSITIONS.length) {
      const page = (await this.read.solves({ challengeId, since, limit: PAGE })).filter((s) => !seen.has(s.id));
      if (page.length === 0) break;
      for (const solve of page) {
        seen.add(solve.id);
        const accountId = accountOf(mode, solve);
        const facts = accountId === null ? null : await account(accountId);
        if (!facts?.visible) continue;
        counted += 1;
        if (picked.length === POSITIONS.length) break;
        const position = POSITIONS[picked.length]!;
        // A blood keeps the value it was given; a new one gets the value at its solve (dynamic: after `counted` solves).
        const value = earlier.get(solve.id) ?? (challenge.decay ? this.read.challengeValue(challenge.decay, counted) : challenge.value);
        picked.push({
          challengeId,
          position,
          accountType: facts.accountType,
          accountId: facts.id,
          accountName: facts.name,
          challengeName: definition.name,
          challengeVisible: definition.state === "visible",
          solveId: solve.id,
          solvedAt: new Date(solve.at),
          value,
          prestige: round2(value * this.factor(position)),
        });
      }
      since = new Date(Math.floor(page[page.length - 1]!.at));
    }
    return picked;
  }

  private factor(position: 1 | 2 | 3): number {
    return position === 1 ? this.prestige.first : position === 2 ? this.prestige.second : this.prestige.third;
  }

  /** Runs work while holding the challenge's lock, cluster-wide (waits for another recompute to finish). */
  private async holding<T>(challengeId: number, work: () => Promise<T>): Promise<T> {
    const key = `phase2:bloods:${challengeId}`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      const lock = await this.coordination.acquireLock(key, LOCK_TTL_MS);
      if (lock) {
        try {
          return await work();
        } finally {
          await lock.release();
        }
      }
      if (Date.now() > deadline) throw new Error(`phase2: bloods of challenge ${challengeId} stayed locked for ${LOCK_WAIT_MS} ms`);
      await sleep(5 + Math.random() * 20);
    }
  }
}

type Row = Record<string, unknown>;

const round2 = (n: number) => Math.round(n * 100) / 100;

function toBlood(r: Row): Blood {
  return {
    challengeId: Number(r.challenge_id),
    position: Number(r.position) as 1 | 2 | 3,
    accountType: r.account_type as "user" | "team",
    accountId: Number(r.account_id),
    accountName: String(r.account_name),
    challengeName: String(r.challenge_name),
    challengeVisible: Boolean(r.challenge_visible),
    solveId: Number(r.solve_id),
    solvedAt: new Date(r.solved_at as string | Date),
    value: Number(r.value),
    prestige: Number(r.prestige),
  };
}
