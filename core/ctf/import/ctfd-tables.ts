import { z } from "zod";

/**
 * The rows of a CTFd export (`db/<table>.json`) that flaghost reads, as zod schemas. Extra columns are ignored;
 * a column flaghost needs that is missing or of the wrong kind makes the export invalid. Lenient where CTFd
 * versions and database backends differ: booleans may be 0/1, JSON columns may be strings, dates are naive UTC.
 */

const int = z.union([z.number().int(), z.string().regex(/^-?\d{1,15}$/).transform(Number)]);
const id = int.pipe(z.number().int().positive());
const optionalId = z.union([id, z.null()]).optional().transform((v) => v ?? null);
const text = z.union([z.string(), z.null()]).optional().transform((v) => v ?? null);
const flag = z
  .union([z.boolean(), z.literal(0), z.literal(1), z.null()])
  .optional()
  .transform((v) => v === true || v === 1);
const optionalInt = z.union([int, z.null()]).optional().transform((v) => v ?? null);

/** CTFd writes naive UTC datetimes ("2025-03-01T07:00:00", sometimes with microseconds or a space). */
const DATE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)(Z|[+-]\d{2}:?\d{2})?$/;
const date = z
  .string()
  .regex(DATE, "must be a date like 2025-03-01T07:00:00")
  .transform((v) => {
    const [, day, time, zone] = DATE.exec(v)!;
    return `${day}T${time}${zone ?? "Z"}`;
  })
  .refine((v) => !Number.isNaN(Date.parse(v)), "must be a valid date");
const optionalDate = z
  .union([z.string(), z.null()])
  .optional()
  .transform((v, ctx) => {
    if (v === null || v === undefined || v === "") return null;
    const parsed = date.safeParse(v);
    if (parsed.success) return parsed.data;
    ctx.addIssue({ code: "custom", message: parsed.error.issues[0]!.message });
    return z.NEVER;
  });

/** JSON columns: an object, a JSON string holding one, or null. */
const json = z
  .union([z.record(z.string(), z.unknown()), z.string(), z.null()])
  .optional()
  .transform((v, ctx): Record<string, unknown> | null => {
    if (v === null || v === undefined || v === "") return null;
    if (typeof v !== "string") return v;
    try {
      const parsed: unknown = JSON.parse(v);
      if (parsed === null) return null;
      if (typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      /* reported below */
    }
    ctx.addIssue({ code: "custom", message: "must be a JSON object" });
    return z.NEVER;
  });

export const ctfdTables = {
  config: z.object({ key: z.string(), value: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional().transform((v) => v ?? null) }),
  brackets: z.object({ id, name: z.string(), description: text, type: text }),
  teams: z.object({
    id,
    name: z.string(),
    email: text,
    website: text,
    affiliation: text,
    country: text,
    bracket_id: optionalId,
    hidden: flag,
    banned: flag,
    captain_id: optionalId,
    created: optionalDate,
  }),
  users: z.object({
    id,
    name: z.string(),
    email: text,
    type: text,
    website: text,
    affiliation: text,
    country: text,
    language: text,
    bracket_id: optionalId,
    hidden: flag,
    banned: flag,
    verified: flag,
    team_id: optionalId,
    created: optionalDate,
  }),
  challenges: z.object({
    id,
    name: z.string(),
    description: text,
    attribution: text,
    connection_info: text,
    next_id: optionalId,
    max_attempts: optionalInt,
    value: optionalInt,
    category: text,
    type: text,
    state: text,
    requirements: json,
    position: optionalInt,
    initial: optionalInt,
    minimum: optionalInt,
    decay: optionalInt,
    function: text,
  }),
  // CTFd 3 names the columns dynamic_*; older versions (the dynamic plugin) used initial/minimum/decay.
  dynamic_challenge: z.object({
    id,
    dynamic_initial: optionalInt,
    dynamic_minimum: optionalInt,
    dynamic_decay: optionalInt,
    dynamic_function: text,
    initial: optionalInt,
    minimum: optionalInt,
    decay: optionalInt,
    function: text,
  }),
  flags: z.object({ id, challenge_id: id, type: text, content: z.string(), data: text }),
  hints: z.object({ id, challenge_id: id, type: text, title: text, content: text, cost: optionalInt, requirements: json }),
  awards: z.object({
    id,
    user_id: optionalId,
    team_id: optionalId,
    name: text,
    description: text,
    date: optionalDate,
    value: optionalInt,
    category: text,
    icon: text,
  }),
  unlocks: z.object({ id, user_id: optionalId, team_id: optionalId, target: id, date: optionalDate, type: text }),
  submissions: z.object({
    id,
    challenge_id: id,
    user_id: optionalId,
    team_id: optionalId,
    ip: text,
    provided: text,
    type: z.string(),
    date,
  }),
  solves: z.object({ id, challenge_id: id, user_id: optionalId, team_id: optionalId }),
  notifications: z.object({ id, title: text, content: text, date: optionalDate, user_id: optionalId, team_id: optionalId }),
};

export type CtfdTable = keyof typeof ctfdTables;
export type CtfdRow<T extends CtfdTable> = z.infer<(typeof ctfdTables)[T]>;

/** Present in every CTFd 2.x/3.x export; the others may be absent in older versions. */
export const REQUIRED_TABLES: CtfdTable[] = ["config", "users", "teams", "challenges", "flags", "hints", "unlocks", "awards", "submissions", "solves"];

/** Tables CTFd exports that have no place in flaghost: reported as not imported when they hold rows. */
export const UNSUPPORTED_TABLES = [
  "pages",
  "files",
  "tags",
  "topics",
  "challenge_topics",
  "comments",
  "solutions",
  "ratings",
  "fields",
  "field_entries",
  "tokens",
  "tracking",
  "modules",
  "audiences",
  "audience_members",
  "module_audience_access",
];
