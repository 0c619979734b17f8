import { randomBytes } from "node:crypto";
import { txQuery } from "../sql.js";
import { ImportError } from "./errors.js";
import { insertRows } from "./insert-rows.js";
import { examples, plural, type LoadContext } from "./load-context.js";

export interface AccountNotes {
  /** CTFd admins that are the admin account flaghost already had (same name or email): kept as they are. */
  merged: Array<{ ctfdId: number; id: number; name: string }>;
  /** CTFd users whose id flaghost already used: imported under a new id. */
  renumbered: Array<{ ctfdId: number; id: number; name: string }>;
  /** Imported accounts that cannot log in until they get a new password. */
  withoutPassword: number;
}

const lower = (s: string | null) => (s === null ? null : s.trim().toLowerCase());

/** Brackets, teams and users, keeping CTFd's ids; the admin(s) setup created stay as they are. */
export async function loadAccounts(ctx: LoadContext): Promise<AccountNotes> {
  const { tx, data } = ctx;

  const brackets = data.tables.brackets.map((b) => ({
    id: b.id,
    name: b.name,
    description: b.description,
    type: b.type === "teams" ? "teams" : "users",
  }));
  await insertRows(tx, "ctf_brackets", { id: "int", name: "text", description: "text", type: "text" }, brackets);
  for (const b of brackets) ctx.bracketIds.add(b.id);
  ctx.counts.brackets = brackets.length;
  const bracket = (id: number | null) => (id !== null && ctx.bracketIds.has(id) ? id : null);

  // Teams first (users point at them), captains once the users exist.
  const teamNames = new Set<string>();
  const renamedTeams: string[] = [];
  const teams = data.tables.teams.map((t) => {
    let name = t.name.trim() || `team-${t.id}`;
    if (teamNames.has(lower(name)!)) {
      renamedTeams.push(`"${name}" (id ${t.id})`);
      name = `${name}-${t.id}`;
    }
    teamNames.add(lower(name)!);
    return {
      id: t.id,
      name,
      email: t.email,
      invite_secret: randomBytes(16).toString("hex"),
      hidden: t.hidden,
      banned: t.banned,
      website: t.website,
      affiliation: t.affiliation,
      country: t.country,
      bracket_id: bracket(t.bracket_id),
      created_at: t.created,
    };
  });
  if (renamedTeams.length > 0) ctx.warnings.push(`${plural(renamedTeams.length, "team")} had a name already used (ignoring case) and got "-<id>" appended: ${examples(renamedTeams)}`);
  await insertRows(
    tx,
    "ctf_teams",
    { id: "int", name: "text", email: "text", invite_secret: "text", hidden: "boolean", banned: "boolean", website: "text", affiliation: "text", country: "text", bracket_id: "int", created_at: "timestamptz" },
    teams,
    { created_at: `coalesce(r."created_at", now())` },
  );
  for (const t of teams) ctx.teamIds.add(t.id);
  ctx.counts.teams = teams.length;

  const notes = await loadUsers(ctx);

  const captains = data.tables.teams
    .filter((t) => t.captain_id !== null && ctx.userIds.has(t.captain_id))
    .map((t) => ({ id: t.id, captain_id: ctx.userIds.get(t.captain_id!)! }));
  if (captains.length > 0) {
    await txQuery(tx, `UPDATE ctf_teams t SET captain_id = r.captain_id FROM jsonb_to_recordset($1::jsonb) AS r(id int, captain_id int) WHERE t.id = r.id`, [JSON.stringify(captains)]);
  }
  const captainless = data.tables.teams.filter((t) => t.captain_id === null || !ctx.userIds.has(t.captain_id)).length;
  if (captainless > 0 && ctx.mode === "teams") ctx.warnings.push(`${plural(captainless, "team")} had no captain in CTFd and still have none (an admin can set one)`);
  return notes;
}

async function loadUsers(ctx: LoadContext): Promise<AccountNotes> {
  const { tx, data } = ctx;
  // Only admins can be here: the import is refused when any other account exists.
  const existing = await txQuery<{ id: number; name: string; email: string | null; team_id: number | null }>(tx, `SELECT id, name, email, team_id FROM ctf_users ORDER BY id`);
  const takenIds = new Set(existing.map((u) => u.id));
  const names = new Set(existing.map((u) => lower(u.name)!));
  const emails = new Set(existing.flatMap((u) => (u.email ? [lower(u.email)!] : [])));
  const mergedInto = new Set<number>();
  const notes: AccountNotes = { merged: [], renumbered: [], withoutPassword: 0 };
  const renamed: string[] = [];
  const emailsDropped: string[] = [];
  const unknownTeams: string[] = [];

  let nextId = [...existing, ...data.tables.users].reduce((max, u) => Math.max(max, u.id), 0) + 1;
  const rows: Array<Record<string, unknown>> = [];
  for (const u of data.tables.users) {
    const match =
      existing.find((e) => !mergedInto.has(e.id) && lower(e.name) === lower(u.name)) ??
      existing.find((e) => !mergedInto.has(e.id) && u.email !== null && lower(e.email) === lower(u.email));
    const teamId = u.team_id !== null && ctx.teamIds.has(u.team_id) ? u.team_id : null;
    if (u.team_id !== null && teamId === null) unknownTeams.push(`"${u.name}" (team ${u.team_id})`);
    if (match) {
      if (u.type !== "admin") {
        throw new ImportError(
          "refused",
          `CTFd player "${u.name}" (id ${u.id}) has the same name or email as the admin account "${match.name}" (id ${match.id}) this database already has. ` +
            `Give that admin another name and email first, or import into a fresh database`,
        );
      }
      mergedInto.add(match.id);
      ctx.userIds.set(u.id, match.id);
      ctx.userTeams.set(match.id, teamId ?? match.team_id);
      if (teamId !== null) await txQuery(tx, `UPDATE ctf_users SET team_id = $2 WHERE id = $1`, [match.id, teamId]);
      notes.merged.push({ ctfdId: u.id, id: match.id, name: match.name });
      continue;
    }
    const id = takenIds.has(u.id) ? nextId++ : u.id;
    if (id !== u.id) notes.renumbered.push({ ctfdId: u.id, id, name: u.name });
    takenIds.add(id);
    let name = u.name.trim() || `user-${u.id}`;
    if (names.has(lower(name)!)) {
      renamed.push(`"${name}" (id ${u.id})`);
      name = `${name}-${u.id}`;
    }
    names.add(lower(name)!);
    let email = u.email?.trim() || null;
    if (email !== null && emails.has(lower(email)!)) {
      emailsDropped.push(`"${u.name}" (${email})`);
      email = null;
    }
    if (email !== null) emails.add(lower(email)!);
    ctx.userIds.set(u.id, id);
    ctx.userTeams.set(id, teamId);
    rows.push({
      id,
      name,
      email,
      role: u.type === "admin" ? "admin" : "user",
      hidden: u.hidden,
      banned: u.banned,
      verified: u.verified,
      team_id: teamId,
      bracket_id: u.bracket_id !== null && ctx.bracketIds.has(u.bracket_id) ? u.bracket_id : null,
      website: u.website,
      affiliation: u.affiliation,
      country: u.country,
      language: u.language,
      created_at: u.created,
    });
  }
  await insertRows(
    tx,
    "ctf_users",
    {
      id: "int",
      name: "text",
      email: "text",
      role: "text",
      hidden: "boolean",
      banned: "boolean",
      verified: "boolean",
      team_id: "int",
      bracket_id: "int",
      website: "text",
      affiliation: "text",
      country: "text",
      language: "text",
      created_at: "timestamptz",
    },
    rows,
    { created_at: `coalesce(r."created_at", now())` },
  );
  ctx.counts.users = rows.length;
  notes.withoutPassword = rows.length;

  if (renamed.length > 0) ctx.warnings.push(`${plural(renamed.length, "user")} had a name already used (ignoring case) and got "-<id>" appended: ${examples(renamed)}`);
  if (emailsDropped.length > 0) ctx.warnings.push(`${plural(emailsDropped.length, "user")} shared an email address with another account and were imported without one: ${examples(emailsDropped)}`);
  if (unknownTeams.length > 0) ctx.warnings.push(`${plural(unknownTeams.length, "user")} belonged to a team missing from the export and were imported without a team: ${examples(unknownTeams)}`);
  if (notes.renumbered.length > 0) {
    ctx.warnings.push(`${plural(notes.renumbered.length, "user")} got a new id because flaghost already used theirs: ${examples(notes.renumbered.map((r) => `"${r.name}" ${r.ctfdId} -> ${r.id}`))}`);
  }
  return notes;
}
