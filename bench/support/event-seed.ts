import { createHash, randomBytes } from "node:crypto";
import type pg from "pg";

/** The shape of a seeded event. */
export interface EventSpec {
  mode: "users" | "teams";
  players: number;
  /** Solves in all: one per (account, challenge), so at most accounts × challenges. */
  solves: number;
  challenges: number;
  /** Players per team in team mode. */
  teamSize: number;
}

/** A player the benchmark acts as: a signed-in account with an API token. */
export interface SeededPlayer {
  userId: number;
  teamId: number | null;
  token: string;
}

export interface SeededEvent {
  /** Accounts that score: users in user mode, teams in team mode. */
  accounts: number;
  challengeIds: number[];
  /** Every player that may play (neither they nor their team hidden or banned), with a token. */
  players: SeededPlayer[];
  /** Rows written per table, for the report. */
  rows: Record<string, number>;
  /** Seconds each step took. */
  stepSeconds: Record<string, number>;
}

/** The flag of a seeded challenge: attempts know it without asking. */
export const flagOf = (challengeId: number) => `flag{bench-${challengeId}}`;

// One account in HIDDEN_EVERY is hidden and one in BANNED_EVERY banned, as in a real event; solve counts, scores and
// places must leave them out.
const HIDDEN_EVERY = 97;
const BANNED_EVERY = 199;
/** Every DYNAMIC_EVERY-th challenge is dynamic, so its value depends on its solve count. */
const DYNAMIC_EVERY = 10;
/** Every HINT_EVERY-th challenge has a hint with a cost. */
const HINT_EVERY = 3;

/** The tables the seed writes (without their `ctf_` prefix). */
const SEEDED_TABLES = ["users", "teams", "challenges", "flags", "hints", "solves", "submissions", "awards", "unlocks", "tokens"];

const sha256 = (v: string) => createHash("sha256").update(v).digest("hex");

/**
 * Fills a freshly migrated core/ctf schema with an event of `spec.players` players and `spec.solves` solves, plus
 * wrong submissions (a quarter of the solves), awards (one per two players), hint unlocks paid by negative awards (one
 * per two accounts), hidden and banned accounts, and an API token per player. Set-based SQL, no per-row round trip;
 * ids are given explicitly (the schema is fresh) so rows can refer to each other without looking ids up.
 *
 * Solve n belongs to account n mod A and is its (n div A)-th solve, on challenge (7k + step·j) mod C with a step
 * prime to C: distinct per account while j < C. Solves are spread over the last ten hours in the order of n.
 */
export async function seedEvent(db: pg.Client, spec: EventSpec): Promise<SeededEvent> {
  const teams = spec.mode === "teams";
  const accounts = teams ? Math.ceil(spec.players / spec.teamSize) : spec.players;
  if (spec.solves > accounts * spec.challenges) throw new Error(`${spec.solves} solves do not fit ${accounts} accounts × ${spec.challenges} challenges`);
  const step = [13, 17, 19, 23, 29].find((p) => spec.challenges % p !== 0)!;
  const stepSeconds: Record<string, number> = {};
  const timed = async (name: string, work: () => Promise<unknown>) => {
    const started = performance.now();
    await work();
    stepSeconds[name] = +((performance.now() - started) / 1000).toFixed(2);
  };
  const params = { P: spec.players, A: accounts, C: spec.challenges, M: spec.solves, size: spec.teamSize };

  await timed("event", () =>
    db.query(`UPDATE ctf_event SET setup_done = true, mode = $1, name = 'bench reads', challenge_visibility = 'private', account_visibility = 'public', score_visibility = 'public'`, [spec.mode]),
  );

  await timed("accounts", async () => {
    if (teams) {
      await db.query(
        `INSERT INTO ctf_teams (id, name, invite_secret, hidden, banned, created_at)
         SELECT i, 'team-' || lpad(i::text, 6, '0'), md5(i::text), i % ${HIDDEN_EVERY} = 0, i % ${BANNED_EVERY} = 0, now() - interval '11 hours'
           FROM generate_series(1, $1) i`,
        [accounts],
      );
    }
    // Player i is in team (i - 1) div size + 1 in team mode; in user mode players themselves are hidden or banned.
    await db.query(
      `INSERT INTO ctf_users (id, name, email, verified, hidden, banned, team_id, created_at)
       SELECT i, 'player-' || lpad(i::text, 6, '0'), 'player-' || i || '@bench.test', true,
              $2 AND i % ${HIDDEN_EVERY} = 0, $2 AND i % ${BANNED_EVERY} = 0,
              CASE WHEN $2 THEN NULL ELSE (i - 1) / $3 + 1 END, now() - interval '11 hours'
         FROM generate_series(1, $1) i`,
      [spec.players, !teams, spec.teamSize],
    );
    if (teams) await db.query(`UPDATE ctf_teams SET captain_id = (id - 1) * $1 + 1`, [spec.teamSize]);
  });

  await timed("challenges", async () => {
    await db.query(
      `INSERT INTO ctf_challenges (id, name, category, description, value, position, type, initial, minimum, decay, decay_function)
       SELECT i, 'challenge ' || i, 'category ' || (i % 8),
              'Challenge ' || i || ': find the flag. ' || repeat('Some words a challenge author writes to set the scene. ', 3),
              CASE WHEN i % ${DYNAMIC_EVERY} = 0 THEN 500 ELSE 50 + (i % 20) * 25 END, i,
              CASE WHEN i % ${DYNAMIC_EVERY} = 0 THEN 'dynamic' ELSE 'standard' END,
              CASE WHEN i % ${DYNAMIC_EVERY} = 0 THEN 500 END, CASE WHEN i % ${DYNAMIC_EVERY} = 0 THEN 100 END,
              CASE WHEN i % ${DYNAMIC_EVERY} = 0 THEN greatest(1, $2 / 2) END, CASE WHEN i % ${DYNAMIC_EVERY} = 0 THEN 'logarithmic' END
         FROM generate_series(1, $1) i`,
      [spec.challenges, accounts],
    );
    await db.query(`INSERT INTO ctf_flags (challenge_id, type, content) SELECT id, 'static', 'flag{bench-' || id || '}' FROM ctf_challenges`);
    await db.query(
      `INSERT INTO ctf_hints (id, challenge_id, title, content, cost)
       SELECT row_number() OVER (ORDER BY id), id, 'A hint', 'Look closer at challenge ' || id, 10 * (id % 5 + 1) FROM ctf_challenges WHERE id % ${HINT_EVERY} = 0`,
    );
  });

  // The user who made an account's j-th solve, submission or unlock: the player, or in team mode one of the team's members.
  const memberOf = (account: string, j: string) => (teams ? `least($P, (${account} - 1) * $size + ${j} % $size + 1)` : account);
  // The event's sizes written into the SQL as numbers ($P players, $A accounts, $C challenges, $M solves, $size):
  // they are integers this module computed, and Postgres then types every expression of them as an integer.
  const sql = (text: string) => text.replace(/\$(P|A|C|M|size)\b/g, (_, name: keyof typeof params) => String(params[name]));

  await timed("solves", async () => {
    await db.query(
      sql(`INSERT INTO ctf_submissions (id, challenge_id, user_id, team_id, provided, type, ip, created_at)
           SELECT n + 1, (k * 7 + j * ${step}) % $C + 1, ${memberOf("k + 1", "j")}, ${teams ? "k + 1" : "NULL"}, 'flag{bench-' || ((k * 7 + j * ${step}) % $C + 1) || '}', 'correct', '127.0.0.1',
                  now() - interval '10 hours' + n * (36000.0 / $M) * interval '1 second'
             FROM (SELECT n, n % $A AS k, n / $A AS j FROM generate_series(0, $M - 1) n) s`),
    );
    await db.query(`INSERT INTO ctf_solves (id, submission_id, challenge_id, user_id, team_id, created_at) SELECT id, id, challenge_id, user_id, team_id, created_at FROM ctf_submissions`);
  });

  const wrong = Math.floor(spec.solves / 4);
  await timed("wrong submissions", () =>
    db.query(
      sql(`INSERT INTO ctf_submissions (id, challenge_id, user_id, team_id, provided, type, ip, created_at)
           SELECT $M + n + 1, (k * 11 + j * 3) % $C + 1, ${memberOf("k + 1", "j")}, ${teams ? "k + 1" : "NULL"}, 'flag{guess-' || n || '}', 'incorrect', '127.0.0.1',
                  now() - interval '10 hours' + n * (35000.0 / greatest(1, $1)) * interval '1 second'
             FROM (SELECT n, (n * 7919) % $A AS k, n / $A AS j FROM generate_series(0, $1 - 1) n) s`),
      [wrong],
    ),
  );

  const awards = Math.floor(spec.players / 2);
  const unlocks = Math.floor(accounts / 2);
  await timed("awards and unlocks", async () => {
    await db.query(
      sql(`INSERT INTO ctf_awards (id, user_id, team_id, name, value, category, created_at)
           SELECT n + 1, ${memberOf("k + 1", "n")}, ${teams ? "k + 1" : "NULL"}, 'bench award', (n * 37) % 300 - 100, 'bench',
                  now() - interval '10 hours' + (n * 53) % 36000 * interval '1 second'
             FROM (SELECT n, (n * 31) % $A AS k FROM generate_series(0, $1 - 1) n) s`),
      [awards],
    );
    // Account k unlocks one hint, paid by a negative award that names it (as the unlock route writes them).
    await db.query(
      sql(`WITH h AS (SELECT id, cost, row_number() OVER (ORDER BY id) - 1 AS idx, count(*) OVER () AS total FROM ctf_hints),
                u AS (SELECT k, ${memberOf("k + 1", "k")} AS user_id, ${teams ? "k + 1" : "NULL::int"} AS team_id FROM generate_series(0, $1 - 1) k)
           INSERT INTO ctf_awards (id, user_id, team_id, name, value, category, hint_id, created_at)
           SELECT $2 + u.k + 1, u.user_id, u.team_id, 'Hint ' || h.id, -h.cost, 'hints', h.id, now() - interval '5 hours'
             FROM u JOIN h ON h.idx = (u.k * 13) % h.total`),
      [unlocks, awards],
    );
    await db.query(
      `INSERT INTO ctf_unlocks (user_id, team_id, hint_id, award_id, created_at) SELECT user_id, team_id, hint_id, id, created_at FROM ctf_awards WHERE hint_id IS NOT NULL`,
    );
  });

  await timed("dynamic values", () =>
    // CTFd's logarithmic decay over the solves that count (neither the account nor its team hidden or banned).
    db.query(
      `WITH counted AS (
         SELECT s.challenge_id, count(*) AS n FROM ctf_solves s JOIN ctf_users u ON u.id = s.user_id LEFT JOIN ctf_teams t ON t.id = s.team_id
          WHERE NOT u.hidden AND NOT u.banned AND NOT coalesce(t.hidden, false) AND NOT coalesce(t.banned, false) GROUP BY s.challenge_id)
       UPDATE ctf_challenges c
          SET value = greatest(c.minimum, ceil((c.minimum - c.initial)::float8 / (c.decay::float8 ^ 2)
                        * greatest(0, coalesce((SELECT n FROM counted WHERE counted.challenge_id = c.id), 0) - 1)::float8 ^ 2 + c.initial))
        WHERE c.type = 'dynamic'`,
    ),
  );

  let players: SeededPlayer[] = [];
  await timed("tokens", async () => {
    const playable = await db.query<{ id: number; team_id: number | null }>(
      `SELECT u.id, u.team_id FROM ctf_users u LEFT JOIN ctf_teams t ON t.id = u.team_id
        WHERE NOT u.hidden AND NOT u.banned AND NOT coalesce(t.hidden, false) AND NOT coalesce(t.banned, false) ORDER BY u.id`,
    );
    players = playable.rows.map((row) => ({ userId: row.id, teamId: row.team_id, token: `ctfd_${randomBytes(32).toString("hex")}` }));
    await db.query(
      `INSERT INTO ctf_tokens (user_id, token_hash, description, expires_at)
       SELECT user_id, token_hash, 'bench', now() + interval '1 day' FROM unnest($1::int[], $2::text[]) AS t(user_id, token_hash)`,
      [players.map((p) => p.userId), players.map((p) => sha256(p.token))],
    );
  });

  await timed("sequences and statistics", async () => {
    // Ids were given explicitly: move each sequence past them, so rows the server inserts get fresh ids.
    for (const table of ["ctf_teams", "ctf_users", "ctf_challenges", "ctf_hints", "ctf_awards", "ctf_submissions", "ctf_solves"]) {
      await db.query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), greatest(1, (SELECT coalesce(max(id), 0) FROM ${table})))`);
    }
    // As autovacuum would after a real event's first hour: the planner sees the tables' real sizes, and no vacuum of
    // the fresh rows starts in the middle of a measurement. Named tables only: the database holds other schemas too.
    await db.query(`VACUUM (ANALYZE) ${SEEDED_TABLES.map((t) => `ctf_${t}`).join(", ")}`);
  });

  const rows: Record<string, number> = {};
  for (const table of SEEDED_TABLES) {
    rows[table] = Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ctf_${table}`)).rows[0]!.n);
  }
  const challengeIds = (await db.query<{ id: number }>(`SELECT id FROM ctf_challenges ORDER BY id`)).rows.map((r) => r.id);
  return { accounts, challengeIds, players, rows, stepSeconds };
}
