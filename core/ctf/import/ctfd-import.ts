import type { EntityManager } from "typeorm";
import type { Database } from "../../kernel/db/data-source.js";
import type { EventSettingsUpdated } from "../events.js";
import { recomputeDynamicValues } from "../game/dynamic-value.js";
import { isoDate, txQuery } from "../sql.js";
import { loadAccounts, type AccountNotes } from "./ctfd-accounts.js";
import { readCtfdExport, type CtfdExport } from "./ctfd-export.js";
import { loadActivity, loadChallenges } from "./ctfd-game.js";
import { settingsFromConfig } from "./ctfd-settings.js";
import { ImportError, invalidExport, isImportError } from "./errors.js";
import { plural, type CountedTable, type LoadContext } from "./load-context.js";

export interface ImportSummary {
  event: { name: string; mode: "users" | "teams"; start: string | null; end: string | null; freeze: string | null };
  /** Rows imported, per flaghost table (without the ctf_ prefix). */
  counts: Record<CountedTable, number>;
  /** CTFd admins matched (by name or email) to the admin account flaghost already had, which is kept as it is. */
  mergedAccounts: AccountNotes["merged"];
  /** CTFd users imported under a new id because flaghost already used theirs. */
  renumberedUsers: AccountNotes["renumbered"];
  /** Imported accounts without a password: CTFd's hashes cannot be checked by flaghost. */
  usersWithoutPassword: number;
  /** True when the database had not been set up: the import did it (name, mode, admins). */
  setupByImport: boolean;
  /** What the export holds that flaghost has no place for: table (or "uploaded files") -> rows. */
  notImported: Record<string, number>;
  warnings: string[];
}

export interface ImportOptions {
  /** Emits a domain event inside the import transaction (delivered after commit). */
  emit?: (name: "event.updated", payload: EventSettingsUpdated) => void;
  /** Flag types plugins can check, besides static and regex. */
  flagTypes?: Iterable<string>;
}

/** Tables whose ids the import sets, so their sequences must continue after the imported ids. */
const SEQUENCED = ["ctf_brackets", "ctf_teams", "ctf_users", "ctf_challenges", "ctf_flags", "ctf_hints", "ctf_awards", "ctf_unlocks", "ctf_submissions", "ctf_solves", "ctf_notifications"];

/**
 * Loads a CTFd export into an empty event, in one transaction: everything or nothing. Keeps CTFd's ids and
 * times; the admin account(s) created by setup stay. Throws ImportError when the database already holds an
 * event ("refused") or the export's rows cannot be stored ("invalid").
 */
export async function importCtfdExport(db: Database, data: CtfdExport, options: ImportOptions = {}): Promise<ImportSummary> {
  try {
    return await db.transaction(async (tx) => {
      // Hold off registrations and a second import until this one commits.
      await txQuery(tx, `LOCK TABLE ctf_event, ctf_users, ctf_teams, ctf_challenges, ctf_submissions IN SHARE ROW EXCLUSIVE MODE`);
      await refuseUnlessEmpty(tx);

      const settings = settingsFromConfig(data.tables.config);
      const [current] = await txQuery<{ mode: "users" | "teams"; setup_done: boolean }>(tx, `SELECT mode, setup_done FROM ctf_event WHERE id = 1`);
      const ctx: LoadContext = {
        tx,
        data,
        mode: settings.mode ?? current!.mode,
        warnings: [...settings.warnings],
        userIds: new Map(),
        userTeams: new Map(),
        teamIds: new Set(),
        bracketIds: new Set(),
        flagTypes: new Set(options.flagTypes ?? []),
        counts: { brackets: 0, teams: 0, users: 0, challenges: 0, flags: 0, hints: 0, awards: 0, unlocks: 0, submissions: 0, solves: 0, notifications: 0 },
      };

      const accounts = await loadAccounts(ctx);
      const challenges = await loadChallenges(ctx);
      await loadActivity(ctx, challenges);
      // The export brings the event's name, mode and admins: setup must not run over them afterwards.
      await updateEvent(tx, { ...settings.columns, setup_done: true });
      for (const table of SEQUENCED) {
        await txQuery(tx, `SELECT setval(pg_get_serial_sequence('${table}', 'id'), coalesce((SELECT max(id) FROM ${table}), 0) + 1, false)`);
      }

      // Scores must match the solves as imported (hidden and banned accounts do not count toward decay).
      const names = new Map(data.tables.challenges.map((c) => [c.id, c.name]));
      for (const change of await recomputeDynamicValues(tx, [...challenges.dynamicValues.keys()])) {
        ctx.warnings.push(`challenge "${names.get(change.id)}": value recomputed from the imported solves, ${change.previousValue} in CTFd, now ${change.value}`);
      }

      options.emit?.("event.updated", { changes: ["import"] });
      const [event] = await txQuery<{ name: string; mode: "users" | "teams"; starts_at: Date | null; ends_at: Date | null; freeze_at: Date | null }>(
        tx,
        `SELECT name, mode, starts_at, ends_at, freeze_at FROM ctf_event WHERE id = 1`,
      );
      const notImported: Record<string, number> = { ...data.unsupported };
      if (data.otherFiles > 0) notImported["uploaded files"] = data.otherFiles;
      return {
        event: { name: event!.name, mode: event!.mode, start: isoDate(event!.starts_at), end: isoDate(event!.ends_at), freeze: isoDate(event!.freeze_at) },
        counts: ctx.counts,
        mergedAccounts: accounts.merged,
        renumberedUsers: accounts.renumbered,
        usersWithoutPassword: accounts.withoutPassword,
        setupByImport: !current!.setup_done,
        notImported,
        warnings: ctx.warnings,
      };
    });
  } catch (error) {
    if (isImportError(error)) throw error;
    // Rows the database refuses (a value out of range, a broken reference) are a problem of the file.
    const e = error as { code?: string; detail?: string; message?: string; driverError?: { code?: string; detail?: string } };
    const code = e.code ?? e.driverError?.code;
    if (typeof code === "string" && /^(22|23)/.test(code)) {
      const detail = e.detail ?? e.driverError?.detail;
      throw invalidExport(`the export could not be stored: ${e.message}${detail ? ` (${detail})` : ""}; nothing was imported`);
    }
    throw error;
  }
}

/**
 * Throws ImportError "refused" when the database already holds an event. Called before reading an export (so a
 * large or hostile file is not even opened) and again under the import's table locks.
 */
export async function refuseUnlessEventEmpty(db: Database): Promise<void> {
  await db.transaction((tx) => refuseUnlessEmpty(tx));
}

async function refuseUnlessEmpty(tx: EntityManager): Promise<void> {
  const [found] = await txQuery<Record<string, number>>(
    tx,
    `SELECT (SELECT count(*) FROM ctf_challenges)::int AS challenges,
            (SELECT count(*) FROM ctf_teams)::int AS teams,
            (SELECT count(*) FROM ctf_users WHERE role <> 'admin')::int AS players,
            (SELECT count(*) FROM ctf_submissions)::int AS submissions,
            (SELECT count(*) FROM ctf_awards)::int AS awards,
            (SELECT count(*) FROM ctf_brackets)::int AS brackets,
            (SELECT count(*) FROM ctf_notifications)::int AS notifications`,
  );
  const present = Object.entries(found!)
    .filter(([, n]) => n > 0)
    .map(([table, n]) => plural(n, table.replace(/s$/, ""), table));
  if (present.length === 0) return;
  throw new ImportError(
    "refused",
    `This database already holds an event (${present.join(", ")}), so the import was refused and nothing was changed. ` +
      `To start fresh, import into an empty database: a new FLAGHOST_DATA_DIR folder for the embedded database, or an empty ` +
      `database or FLAGHOST_DB_SCHEMA with DATABASE_URL. Only the admin account created by setup may exist before an import.`,
  );
}

async function updateEvent(tx: EntityManager, columns: Record<string, unknown>): Promise<void> {
  const entries = Object.entries(columns);
  if (entries.length === 0) return;
  const sets = entries.map(([column], i) => `${column} = $${i + 1}`).join(", ");
  await txQuery(tx, `UPDATE ctf_event SET ${sets}, updated_at = now() WHERE id = 1`, entries.map(([, value]) => value));
}

/** Reads a CTFd export zip (a path or its bytes) and imports it. */
export async function importCtfdZip(db: Database, source: string | Buffer, options: ImportOptions & { label?: string } = {}): Promise<ImportSummary> {
  await refuseUnlessEventEmpty(db);
  return importCtfdExport(db, await readCtfdExport(source, options.label), options);
}

/** The summary as lines of text (the CLI prints it). */
export function describeImport(summary: ImportSummary): string {
  const { event, counts } = summary;
  const when = (label: string, iso: string | null) => (iso ? [`  ${label}: ${iso}`] : []);
  const lines = [
    `Imported the CTFd event "${event.name}" (${event.mode} mode):`,
    ...when("start", event.start),
    ...when("end", event.end),
    ...when("freeze", event.freeze),
    ...Object.entries(counts).map(([table, n]) => `  ${table.padEnd(14)}${String(n).padStart(8)}`),
  ];
  for (const m of summary.mergedAccounts) lines.push(`CTFd admin "${m.name}" (id ${m.ctfdId}) is the existing admin account (id ${m.id}), kept with its flaghost password.`);
  if (summary.usersWithoutPassword > 0) {
    lines.push(
      `${plural(summary.usersWithoutPassword, "imported account")} ${summary.usersWithoutPassword === 1 ? "has" : "have"} no password: flaghost cannot check CTFd's password hashes. ` +
        `Each player needs a new password (an admin can set one through the users API) before logging in.`,
    );
  }
  if (summary.setupByImport) {
    lines.push(
      `The database had not been set up; the import did it. To log in as an imported admin, give it a password first, with the ` +
        `bootstrap admin token (FLAGHOST_ADMIN_TOKEN) through the users API.`,
    );
  }
  const skipped = Object.entries(summary.notImported);
  if (skipped.length > 0) lines.push(`Not imported (no place for them in flaghost): ${skipped.map(([what, n]) => `${what} (${n})`).join(", ")}.`);
  if (summary.warnings.length > 0) lines.push("Warnings:", ...summary.warnings.map((w) => `  - ${w}`));
  return lines.join("\n");
}
