import type { Database } from "../../kernel/db/data-source.js";
import type { Logger } from "../../kernel/log.js";
import { preciseMs } from "../sql.js";

export type Outcome = "prerequisites" | "locked" | "ratelimited" | "already_solved" | "correct" | "incorrect";

/** One attempt to decide and write. */
export interface AttemptInput {
  challengeId: number;
  userId: number;
  /** The team in team mode (the account), else null. */
  teamId: number | null;
  provided: string;
  ip: string;
  userAgent: string;
  verdict: "correct" | "incorrect";
  maxAttempts: number;
  prerequisites: number[];
  wrongAnswersPerWindow: number;
  windowSeconds: number;
}

export interface AttemptRow {
  outcome: Outcome;
  fails: number;
  submission_id: string | null;
  created_at: Date | null;
  /** created_at as precise ms (see preciseMs). */
  at_ms: string | null;
  solve_id: string | null;
}

/**
 * How attempts are decided and written, in SQL. Each input row reads the account's state (solved already? wrong
 * answers on this challenge, for max attempts; prerequisites solved? wrong answers in the rate-limit window),
 * picks the outcome in CTFd's order, writes the submission when the outcome records one, and inserts the solve for
 * a correct answer, where the partial unique index decides races (also between attempts of one batch). Submission
 * ids are drawn before the insert so every answer finds its own row. (Postgres runs a data-modifying WITH clause
 * to completion whether or not the main query reads it, and checks the solve's foreign key at the statement's end.)
 *
 * The inputs are arrays (one element per attempt), so one statement serves a whole batch of attempts. The rate
 * limit counts, besides the account's wrong answers already written, the wrong answers before it in the same
 * batch that get as far as the flag check (prerequisites met, not solved, attempts left): as if the batch were answered one attempt after the other.
 * `state` is MATERIALIZED: inlined, Postgres re-ran each subquery once per reference in the CASE.
 */
function batchStatement(account: (alias: string, input?: string) => string): string {
  return `
    WITH input AS (
      SELECT * FROM unnest($1::int[], $2::int[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::text[], $10::int[], $11::float8[])
               WITH ORDINALITY AS i(challenge_id, user_id, team_id, provided, ip, user_agent, verdict, max_attempts, prerequisites, wrong_limit, window_seconds, n)
    ), account_state AS MATERIALIZED (
      SELECT i.*,
             i.prerequisites::int[] <@ ARRAY(SELECT s.challenge_id FROM ctf_solves s WHERE ${account("s")} AND s.challenge_id = ANY(i.prerequisites::int[])) AS prerequisites_met,
             EXISTS (SELECT 1 FROM ctf_solves s WHERE s.challenge_id = i.challenge_id AND ${account("s")}) AS solved,
             CASE WHEN i.max_attempts > 0
                  THEN (SELECT count(*)::int FROM ctf_submissions x WHERE x.challenge_id = i.challenge_id AND ${account("x")} AND x.type = 'incorrect')
                  ELSE 0 END AS fails,
             (SELECT count(*)::int FROM ctf_submissions x
               WHERE ${account("x")} AND x.type = 'incorrect' AND x.created_at > now() - make_interval(secs => i.window_seconds)) AS recent_wrong
        FROM input i
    ), state AS MATERIALIZED (
      SELECT a.*, a.max_attempts > 0 AND a.fails >= a.max_attempts AS exhausted FROM account_state a
    ), decision AS (
      SELECT d.*, CASE WHEN d.outcome IN ('correct', 'incorrect', 'ratelimited') THEN nextval('ctf_submissions_id_seq') END AS submission_id
        FROM (SELECT st.*, CASE
                WHEN NOT st.prerequisites_met THEN 'prerequisites'
                WHEN st.exhausted AND NOT st.solved THEN 'locked'
                WHEN st.recent_wrong + (SELECT count(*) FROM state e
                                         WHERE e.n < st.n AND e.verdict = 'incorrect' AND e.prerequisites_met AND NOT e.solved AND NOT e.exhausted
                                           AND ${account("e", "st")}) >= st.wrong_limit
                  THEN 'ratelimited'
                WHEN st.solved THEN 'already_solved'
                ELSE st.verdict END AS outcome
                FROM state st) d
    ), submission AS (
      INSERT INTO ctf_submissions (id, challenge_id, user_id, team_id, provided, type, ip, user_agent)
      SELECT submission_id, challenge_id, user_id, team_id, provided, outcome, ip, user_agent FROM decision WHERE submission_id IS NOT NULL
    ), solve AS (
      INSERT INTO ctf_solves (submission_id, challenge_id, user_id, team_id, created_at)
      SELECT submission_id, challenge_id, user_id, team_id, now() FROM decision WHERE outcome = 'correct'
      ON CONFLICT DO NOTHING RETURNING id, submission_id
    )
    SELECT d.n, d.outcome, d.fails, d.submission_id, CASE WHEN d.submission_id IS NOT NULL THEN now() END AS created_at,
           CASE WHEN d.submission_id IS NOT NULL THEN ${preciseMs("now()")} END AS at_ms, sol.id AS solve_id
      FROM decision d LEFT JOIN solve sol ON sol.submission_id = d.submission_id
     ORDER BY d.n`;
}

/** `user_id = …` for the user (user mode) or `team_id = …` for the team (team mode), on the alias's row. */
const userAccount = (alias: string, input = "i") => `${alias}.user_id = ${input}.user_id AND ${alias}.team_id IS NULL`;
const teamAccount = (alias: string, input = "i") => `${alias}.team_id = ${input}.team_id`;
const STATEMENTS = { user: batchStatement(userAccount), team: batchStatement(teamAccount) };

/** At most this many attempts share one statement. */
const MAX_BATCH = 64;

type Pending = { input: AttemptInput; resolve: (row: AttemptRow) => void; reject: (error: unknown) => void };

/** The account an attempt counts against: the user in user mode, the team in team mode. */
const accountOf = (mode: "user" | "team", input: AttemptInput) => (mode === "team" ? `t${input.teamId}` : `u${input.userId}`);

/**
 * Writes attempts in batches: attempts that arrive while the event loop is busy are sent together in one statement
 * on the next turn, so a burst of attempts costs one round trip and one commit instead of one each. Every attempt
 * still gets its own answer, given only after the statement (and so its submission) has committed. Should a batch
 * fail (say, a challenge deleted mid-flight), its attempts are retried one by one, so one bad row fails alone.
 *
 * An account has at most one statement in flight on this instance: its attempts that arrive meanwhile wait for
 * the next. Two statements running side by side would not see each other's wrong answers, and a burst of
 * guesses could pass the rate limit once per statement. (Across instances the limit can be passed once per
 * instance, at most.)
 */
export class AttemptWriter {
  private queues = { user: [] as Pending[], team: [] as Pending[] };
  /** Accounts with a statement in flight, per mode. */
  private readonly writing = { user: new Set<string>(), team: new Set<string>() };
  private scheduled = false;

  constructor(
    private readonly db: Database,
    private readonly log: Logger,
  ) {}

  write(mode: "user" | "team", input: AttemptInput): Promise<AttemptRow> {
    return new Promise((resolve, reject) => {
      this.queues[mode].push({ input, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Sends what is queued in batches of MAX_BATCH; an account already in flight waits, in order, for the next flush. */
  private flush(): void {
    this.scheduled = false;
    for (const mode of ["user", "team"] as const) {
      const writing = this.writing[mode];
      const waiting: Pending[] = [];
      let batch: Pending[] = [];
      const send = () => {
        if (batch.length === 0) return;
        const accounts = new Set(batch.map((p) => accountOf(mode, p.input)));
        for (const account of accounts) writing.add(account);
        void this.run(mode, batch).finally(() => {
          for (const account of accounts) writing.delete(account);
          if (this.queues.user.length > 0 || this.queues.team.length > 0) this.schedule();
        });
        batch = [];
      };
      for (const pending of this.queues[mode]) {
        if (batch.length === MAX_BATCH) send();
        if (writing.has(accountOf(mode, pending.input))) waiting.push(pending);
        else batch.push(pending);
      }
      send();
      this.queues[mode] = waiting;
    }
  }

  private async run(mode: "user" | "team", batch: Pending[]): Promise<void> {
    try {
      const rows = await this.execute(mode, batch.map((p) => p.input));
      batch.forEach((pending, i) => pending.resolve(rows[i]!));
    } catch (error) {
      if (batch.length === 1) return batch[0]!.reject(error);
      this.log.warn({ err: error, attempts: batch.length }, "a batch of attempts failed; retrying them one by one");
      // One at a time, in order: the retries of one account must not run side by side either.
      for (const pending of batch) {
        await this.execute(mode, [pending.input]).then((rows) => pending.resolve(rows[0]!), pending.reject);
      }
    }
  }

  private execute(mode: "user" | "team", inputs: AttemptInput[]): Promise<AttemptRow[]> {
    const column = <K extends keyof AttemptInput>(key: K) => inputs.map((input) => input[key]);
    return this.db.query<AttemptRow>(
      STATEMENTS[mode],
      [
        column("challengeId"),
        column("userId"),
        column("teamId"),
        column("provided"),
        column("ip"),
        column("userAgent"),
        column("verdict"),
        column("maxAttempts"),
        inputs.map((input) => `{${input.prerequisites.join(",")}}`),
        column("wrongAnswersPerWindow"),
        column("windowSeconds"),
      ],
      { name: `ctf-attempts-${mode}` },
    );
  }

  /** The same statement for one attempt inside the caller's transaction (dynamic challenges lock their row after). */
  static single(mode: "user" | "team", input: AttemptInput): { sql: string; params: unknown[] } {
    return {
      sql: STATEMENTS[mode],
      params: [
        [input.challengeId],
        [input.userId],
        [input.teamId],
        [input.provided],
        [input.ip],
        [input.userAgent],
        [input.verdict],
        [input.maxAttempts],
        [`{${input.prerequisites.join(",")}}`],
        [input.wrongAnswersPerWindow],
        [input.windowSeconds],
      ],
    };
  }
}
