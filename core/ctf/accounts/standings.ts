import { dynamicValue } from "../game/dynamic-value.js";
import type { StandingsSource } from "../service.js";
import { ordinal } from "../sql.js";

/** Runs SQL and answers rows: `ctf.db.query` outside a transaction, or `(sql, p) => txQuery(tx, sql, p)` inside one. */
export type Query = <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>;

/** The account that scores: the user in user mode, the team in team mode. */
export interface ScoringAccount {
  mode: "users" | "teams";
  id: number;
}

export interface Standing {
  score: number;
  /** Ordinal ("1st") among ranked accounts, or null when the account is not ranked. */
  place: string | null;
}

const ownerColumn = (mode: ScoringAccount["mode"]) => (mode === "teams" ? "team_id" : "user_id");
const accountTable = (mode: ScoringAccount["mode"]) => (mode === "teams" ? "ctf_teams" : "ctf_users");

/**
 * Every point an account earned: its solves at the challenge's current value, and its awards (negative ones
 * included: hint unlocks are paid with negative awards). `$1` is the cutoff (the freeze) or NULL for none;
 * `$3`/`$4` list challenges whose value counts differently before the cutoff (see frozenValues).
 * In team mode the team owns solves and awards through their team_id.
 */
function pointsSql(mode: ScoringAccount["mode"]): string {
  const owner = ownerColumn(mode);
  return `
    SELECT s.${owner} AS account_id, coalesce(fv.value, c.value) AS value, s.created_at AS at, s.id AS row_id
      FROM ctf_solves s JOIN ctf_challenges c ON c.id = s.challenge_id
      LEFT JOIN unnest($3::int[], $4::int[]) AS fv(id, value) ON fv.id = c.id
     WHERE s.${owner} IS NOT NULL AND ($1::timestamptz IS NULL OR s.created_at < $1::timestamptz)
    UNION ALL
    SELECT a.${owner}, a.value, a.created_at, a.id
      FROM ctf_awards a
     WHERE a.${owner} IS NOT NULL AND ($1::timestamptz IS NULL OR a.created_at < $1::timestamptz)`;
}

/**
 * The ranking: visible (not hidden, not banned) accounts with at least one solve or award, by score
 * descending, then by when they reached it (their latest counted solve or award), then, at the same instant,
 * by the latest row's id (CTFd's max(id) over solves and awards), then by account id.
 */
function rankingSql(mode: ScoringAccount["mode"]): string {
  return `
    WITH points AS (${pointsSql(mode)}),
    totals AS (SELECT account_id, sum(value)::bigint AS score, max(at) AS reached_at FROM points GROUP BY account_id),
    latest AS (SELECT account_id, max(row_id) AS row_id FROM points GROUP BY account_id)
    SELECT t.account_id, t.score, row_number() OVER (ORDER BY t.score DESC, t.reached_at ASC, l.row_id ASC, t.account_id ASC)::int AS place
      FROM totals t JOIN latest l USING (account_id) JOIN ${accountTable(mode)} acc ON acc.id = t.account_id
     WHERE NOT acc.hidden AND NOT acc.banned`;
}

/**
 * As of a freeze, a dynamic challenge that decayed with later solves is worth what it was worth at the freeze
 * (the scoreboard plugin's rule: later solves must not move a frozen board). Answers [ids, values] for those.
 */
async function frozenValues(query: Query, cutoff: Date | null): Promise<[number[], number[]]> {
  if (cutoff === null) return [[], []];
  const rows = await query<{ id: number; initial: number; minimum: number; decay: number; decay_function: "linear" | "logarithmic"; before: number }>(
    `SELECT c.id, c.initial, c.minimum, c.decay, c.decay_function, count(*) FILTER (WHERE s.created_at < $1)::int AS before
       FROM ctf_challenges c JOIN ctf_solves s ON s.challenge_id = c.id
       JOIN ctf_users u ON u.id = s.user_id LEFT JOIN ctf_teams t ON t.id = s.team_id
      WHERE c.type = 'dynamic' AND NOT u.hidden AND NOT u.banned AND NOT coalesce(t.hidden, false) AND NOT coalesce(t.banned, false)
      GROUP BY c.id HAVING bool_or(s.created_at >= $1)`,
    [cutoff],
  );
  return [rows.map((r) => r.id), rows.map((r) => dynamicValue({ initial: r.initial, minimum: r.minimum, decay: r.decay, function: r.decay_function }, r.before))];
}

/** The account's score, counting only points earned before `cutoff` when one is given. */
export async function scoreOf(query: Query, account: ScoringAccount, cutoff: Date | null): Promise<number> {
  const [ids, values] = await frozenValues(query, cutoff);
  // Summed in 64 bits (values are bounded so a total stays a safe JSON integer); drivers answer int8 as a string.
  const [row] = await query<{ score: string | number | null }>(
    `SELECT sum(value)::bigint AS score FROM (${pointsSql(account.mode)}) p WHERE p.account_id = $2`,
    [cutoff, account.id, ids, values],
  );
  return Number(row?.score ?? 0);
}

/** The account's 1-based place in the ranking as of `cutoff`, or null when it is not ranked there. */
export async function placeOf(query: Query, account: ScoringAccount, cutoff: Date | null): Promise<number | null> {
  const [ids, values] = await frozenValues(query, cutoff);
  const [row] = await query<{ place: number }>(`SELECT place FROM (${rankingSql(account.mode)}) r WHERE r.account_id = $2`, [cutoff, account.id, ids, values]);
  return row?.place ?? null;
}

/**
 * Score and place as an account page shows them. Public views count up to the freeze for both; an account's
 * own view (`/me`) shows its full score but the frozen place, like CTFd; admins see everything unfrozen.
 * Answered from the registered standings (memory, the scoreboard's engine) when they are in the account's mode,
 * else computed in SQL.
 */
export async function standingOf(
  query: Query,
  account: ScoringAccount | null,
  options: { freezeAt: Date | null; view: "public" | "self" | "admin"; source: StandingsSource | null },
): Promise<Standing> {
  if (!account) return { score: 0, place: null };
  const source = options.source;
  if (source && source.mode === account.mode) {
    const scoreView = options.view === "public" ? "public" : "live";
    const placeView = options.view === "admin" ? "live" : "public";
    const { score } = source.scoreAndPlace(account.id, scoreView);
    const { place } = source.scoreAndPlace(account.id, placeView);
    return { score, place: place === null ? null : ordinal(place) };
  }
  const frozen = options.view === "admin" ? null : options.freezeAt;
  const scoreCutoff = options.view === "public" ? frozen : null;
  const [score, place] = await Promise.all([scoreOf(query, account, scoreCutoff), placeOf(query, account, frozen)]);
  return { score, place: place === null ? null : ordinal(place) };
}
