import type { CtfdRow } from "./ctfd-tables.js";

/** The ctf_event columns an import sets, from CTFd's `config` table (key/value rows, values mostly strings). */
export interface ImportedSettings {
  columns: Record<string, unknown>;
  mode: "users" | "teams" | null;
  warnings: string[];
}

type ConfigValue = string | number | boolean | null;

/** CTFd's own reading of a config value: digits are numbers, "true"/"false" booleans, "" nothing. */
function read(value: ConfigValue): string | number | boolean | null {
  if (value === null || typeof value !== "string") return value;
  const trimmed = value.trim();
  if (trimmed === "") return null;
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  if (/^(true|false)$/i.test(trimmed)) return trimmed.toLowerCase() === "true";
  return trimmed;
}

const truthy = (v: ReturnType<typeof read>) => v === true || v === 1 || v === "1" || v === "y" || v === "yes";

export function settingsFromConfig(rows: Array<CtfdRow<"config">>): ImportedSettings {
  const config = new Map(rows.map((row) => [row.key, read(row.value)]));
  const columns: Record<string, unknown> = {};
  const warnings: string[] = [];
  const has = (key: string) => config.has(key);
  const get = (key: string) => config.get(key) ?? null;

  const name = rows.find((row) => row.key === "ctf_name")?.value;
  if (name !== null && name !== undefined && String(name).trim() !== "") columns.name = String(name).trim().slice(0, 128);
  let mode: ImportedSettings["mode"] = null;
  if (has("user_mode")) {
    mode = get("user_mode") === "teams" ? "teams" : "users";
    if (get("user_mode") !== mode) warnings.push(`config user_mode "${get("user_mode")}" is not users or teams: imported as users`);
    columns.mode = mode;
  }
  for (const [key, column] of [
    ["start", "starts_at"],
    ["end", "ends_at"],
    ["freeze", "freeze_at"],
  ] as const) {
    if (!has(key)) continue;
    const value = get(key);
    if (value === null || value === false) columns[column] = null;
    else if (typeof value === "number") columns[column] = new Date(value * 1000).toISOString();
    else {
      warnings.push(`config ${key} "${value}" is not a time in epoch seconds: left unset`);
      columns[column] = null;
    }
  }
  if (has("paused")) columns.paused = truthy(get("paused"));
  if (has("registration_visibility")) {
    const value = get("registration_visibility");
    columns.registration_open = value === "public" || value === null;
    if (value === "mlc") warnings.push("registration was through MajorLeagueCyber only, which flaghost does not offer: registration is closed");
  }
  const visibility = (key: string, column: string, allowed: string[], fallback: string) => {
    if (!has(key)) return;
    const value = get(key);
    if (typeof value === "string" && allowed.includes(value)) columns[column] = value;
    else if (value !== null) {
      columns[column] = fallback;
      warnings.push(`config ${key} "${value}" has no flaghost equivalent: set to ${fallback}`);
    }
  };
  visibility("challenge_visibility", "challenge_visibility", ["public", "private"], "private");
  visibility("account_visibility", "account_visibility", ["public", "private", "admins"], "admins");
  visibility("score_visibility", "score_visibility", ["public", "private", "hidden", "admins"], "admins");
  if (has("team_size")) {
    const value = get("team_size");
    columns.team_size = typeof value === "number" && value > 0 && value <= 1000 ? value : null;
  }
  const perMinute = get("incorrect_submissions_per_min");
  if (typeof perMinute === "number" && perMinute > 0) columns.incorrect_submissions_per_minute = Math.min(perMinute, 10_000);
  return { columns, mode, warnings };
}
