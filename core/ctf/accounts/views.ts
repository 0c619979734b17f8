import { isoDate } from "../sql.js";

/** A ctf_users row as read with `SELECT *`. */
export interface UserRow {
  id: number;
  name: string;
  email: string | null;
  password_hash: string | null;
  role: "user" | "admin";
  hidden: boolean;
  banned: boolean;
  verified: boolean;
  team_id: number | null;
  bracket_id: number | null;
  website: string | null;
  affiliation: string | null;
  country: string | null;
  language: string | null;
  created_at: Date;
}

/** A ctf_teams row as read with `SELECT *`. */
export interface TeamRow {
  id: number;
  name: string;
  email: string | null;
  password_hash: string | null;
  captain_id: number | null;
  invite_secret: string;
  hidden: boolean;
  banned: boolean;
  website: string | null;
  affiliation: string | null;
  country: string | null;
  bracket_id: number | null;
  created_at: Date;
}

export type ViewLevel = "public" | "self" | "admin";

/** CTFd's user field sets: public, self (+ email, language) and admin (+ created, banned, hidden, type, verified...). */
export function userView(u: UserRow, level: ViewLevel): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: u.id,
    name: u.name,
    website: u.website,
    affiliation: u.affiliation,
    country: u.country,
    bracket_id: u.bracket_id,
    oauth_id: null,
    fields: [],
    team_id: u.team_id,
  };
  if (level === "public") return view;
  Object.assign(view, { email: u.email, language: u.language });
  if (level === "self") return view;
  return Object.assign(view, {
    type: u.role,
    created: isoDate(u.created_at),
    banned: u.banned,
    hidden: u.hidden,
    verified: u.verified,
    secret: null,
    change_password: false,
  });
}

/** CTFd's team field sets: public, self (+ email) and admin (+ hidden, banned, created, secret). */
export function teamView(t: TeamRow, level: ViewLevel): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: t.id,
    name: t.name,
    captain_id: t.captain_id,
    website: t.website,
    affiliation: t.affiliation,
    country: t.country,
    bracket_id: t.bracket_id,
    oauth_id: null,
    fields: [],
  };
  if (level === "public") return view;
  view.email = t.email;
  if (level === "self") return view;
  return Object.assign(view, { hidden: t.hidden, banned: t.banned, created: isoDate(t.created_at), secret: null });
}
