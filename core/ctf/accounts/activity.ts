import type { Context } from "koa";
import { isoDate } from "../sql.js";
import type { Query } from "./standings.js";

/** Whose rows a list shows: a user's own (`user_id`) or a team's (`team_id`, every member's included). */
export interface Owner {
  column: "user_id" | "team_id";
  id: number;
}

export interface ActivityOptions {
  /** Only rows before this moment (the freeze, for public views); null for all. */
  cutoff: Date | null;
  /** Admin rows add `provided` and `ip`, include fails and solves of hidden challenges. */
  admin: boolean;
}

interface SubmissionRow {
  id: number;
  created_at: Date;
  type: string;
  challenge_id: number;
  challenge_name: string;
  challenge_value: number;
  challenge_category: string;
  user_id: number;
  user_name: string;
  team_id: number | null;
  team_name: string | null;
  provided: string;
  ip: string | null;
}

/** Submissions of one kind for an owner, newest first, in CTFd's list row shape. Ids are submission ids, as in CTFd. */
function submissionsSql(owner: Owner, from: "solves" | "fails", admin: boolean): string {
  // x carries who/what/when; sub is the submission itself (for fails they are the same row).
  const [source, sub] = from === "solves" ? [`ctf_solves x JOIN ctf_submissions sub ON sub.id = x.submission_id`, "sub"] : [`ctf_submissions x`, "x"];
  return `
    SELECT ${sub}.id::int AS id, x.created_at, ${sub}.type, x.challenge_id, c.name AS challenge_name, c.value AS challenge_value,
           c.category AS challenge_category, x.user_id, u.name AS user_name, x.team_id, t.name AS team_name, ${sub}.provided, ${sub}.ip
      FROM ${source}
      JOIN ctf_challenges c ON c.id = x.challenge_id
      JOIN ctf_users u ON u.id = x.user_id
      LEFT JOIN ctf_teams t ON t.id = x.team_id
     WHERE x.${owner.column} = $1 AND ($2::timestamptz IS NULL OR x.created_at < $2::timestamptz)
       ${from === "fails" ? "AND x.type = 'incorrect'" : ""}
       ${admin ? "" : "AND c.state <> 'hidden'"}
     ORDER BY x.created_at DESC, ${sub}.id DESC`;
}

function submissionView(row: SubmissionRow, admin: boolean): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: row.id,
    date: isoDate(row.created_at),
    type: row.type,
    challenge_id: row.challenge_id,
    challenge: { id: row.challenge_id, name: row.challenge_name, value: row.challenge_value, category: row.challenge_category },
    user: { id: row.user_id, name: row.user_name },
    team: row.team_id === null ? null : { id: row.team_id, name: row.team_name },
  };
  if (admin) Object.assign(view, { provided: row.provided, ip: row.ip });
  return view;
}

export async function solvesOf(query: Query, owner: Owner, options: ActivityOptions): Promise<Record<string, unknown>[]> {
  const rows = await query<SubmissionRow>(submissionsSql(owner, "solves", options.admin), [owner.id, options.cutoff]);
  return rows.map((row) => submissionView(row, options.admin));
}

/** Wrong answers: only admins get rows; everyone else gets the count alone (CTFd's behaviour). */
export async function failsOf(query: Query, owner: Owner, options: ActivityOptions): Promise<{ rows: Record<string, unknown>[]; count: number }> {
  const rows = await query<SubmissionRow>(submissionsSql(owner, "fails", options.admin), [owner.id, options.cutoff]);
  return { rows: options.admin ? rows.map((row) => submissionView(row, true)) : [], count: rows.length };
}

export interface AwardRow {
  id: number;
  user_id: number | null;
  team_id: number | null;
  name: string;
  description: string | null;
  value: number;
  category: string | null;
  icon: string | null;
  hint_id: number | null;
  created_at: Date;
}

/** CTFd's award shape (`user`/`team` repeat the ids; `type` is always "standard"). */
export function awardView(a: AwardRow): Record<string, unknown> {
  return {
    id: a.id,
    user_id: a.user_id,
    team_id: a.team_id,
    name: a.name,
    description: a.description,
    value: a.value,
    category: a.category,
    icon: a.icon,
    date: isoDate(a.created_at),
    type: "standard",
    requirements: null,
    user: a.user_id,
    team: a.team_id,
  };
}

export async function awardsOf(query: Query, owner: Owner, options: Pick<ActivityOptions, "cutoff">): Promise<Record<string, unknown>[]> {
  const rows = await query<AwardRow>(
    `SELECT * FROM ctf_awards WHERE ${owner.column} = $1 AND ($2::timestamptz IS NULL OR created_at < $2::timestamptz) ORDER BY created_at DESC, id DESC`,
    [owner.id, options.cutoff],
  );
  return rows.map(awardView);
}

/** Answers `/users|teams/:id|me/solves|fails|awards` in CTFd's shape: the rows and `meta.count` (fails: count only for non-admins). */
export async function answerActivity(ctx: Context, query: Query, kind: "solves" | "fails" | "awards", owner: Owner, options: ActivityOptions): Promise<void> {
  if (kind === "fails") {
    const fails = await failsOf(query, owner, options);
    ctx.body = { success: true, data: fails.rows, meta: { count: fails.count } };
    return;
  }
  const rows = kind === "solves" ? await solvesOf(query, owner, options) : await awardsOf(query, owner, options);
  ctx.body = { success: true, data: rows, meta: { count: rows.length } };
}
