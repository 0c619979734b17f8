import { z } from "zod";

/**
 * `FLAGHOST__a__b=value` environment variables: any config key, double underscores separating path segments.
 *
 * Two rules keep them usable from every shell and keep typos loud:
 * - `npm start` runs through /bin/sh, and dash drops every variable whose name holds a `-`. So a plugin id
 *   segment may spell `-` as `_` (`FLAGHOST__plugins__metactf_sync__baseUrl`). Plugin ids cannot contain `_`
 *   (plugin.schema.json), so the mapping back to an id is never ambiguous.
 * - A name that matches no config key is refused instead of silently ignored: kernel keys are checked against
 *   the kernel's schema, a plugin id against the plugins found on disk. Keys inside a plugin's slice are left
 *   to that plugin's schema, which should be strict (`z.strictObject`) so it refuses an unknown key too.
 */
export const GENERIC_PREFIX = "FLAGHOST__";

export interface EnvironmentSetting {
  /** The variable's name, for error messages. */
  name: string;
  path: string[];
  value: unknown;
}

/** Every `FLAGHOST__` variable with its raw path; plugin id segments are resolved later (resolvePluginIds). */
export function genericSettings(env: NodeJS.ProcessEnv): EnvironmentSetting[] {
  const settings: EnvironmentSetting[] = [];
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(GENERIC_PREFIX) || raw === undefined) continue;
    const path = name.slice(GENERIC_PREFIX.length).split("__").filter(Boolean);
    settings.push({ name, path, value: parseLoose(raw) });
  }
  return settings;
}

/** Whether a setting addresses one plugin's slice (`plugins.<id>...`), whose id must be resolved against disk. */
export function addressesPlugin(setting: EnvironmentSetting): boolean {
  return setting.path[0] === "plugins" && setting.path.length >= 2;
}

/**
 * Problems with kernel keys (everything except `plugins.<id>...`): one line per variable whose path is not a
 * key of the kernel's schema, with the nearest existing key.
 */
export function unknownKernelKeys(settings: EnvironmentSetting[], schema: z.ZodType): string[] {
  const problems: string[] = [];
  for (const setting of settings) {
    if (addressesPlugin(setting)) continue;
    if (setting.path.length === 0) {
      problems.push(`${setting.name}: names no config key`);
      continue;
    }
    let node: z.ZodType = schema;
    for (let depth = 0; depth < setting.path.length; depth++) {
      const shape = objectShape(node);
      const key = setting.path[depth]!;
      const here = setting.path.slice(0, depth);
      if (!shape || !(key in shape)) {
        const wanted = setting.path.join(".");
        const hint = shape ? nearby(key, Object.keys(shape), here) : `${here.join(".")} has no sub-keys`;
        problems.push(`${setting.name}: no config key "${wanted}" (${hint})`);
        break;
      }
      node = shape[key]!;
    }
  }
  return problems;
}

/**
 * Rewrites each `plugins.<segment>` to the plugin id it names (`metactf_sync` -> `metactf-sync`); a segment that
 * names no known plugin is a problem line.
 */
export function resolvePluginIds(settings: EnvironmentSetting[], knownIds: string[]): { settings: EnvironmentSetting[]; problems: string[] } {
  const bySpelling = new Map<string, string>();
  for (const id of knownIds) {
    bySpelling.set(id, id);
    bySpelling.set(id.replaceAll("-", "_"), id);
  }
  const problems: string[] = [];
  const resolved = settings.map((setting) => {
    if (!addressesPlugin(setting)) return setting;
    const segment = setting.path[1]!;
    const id = bySpelling.get(segment);
    if (id === undefined) {
      const hint = knownIds.length > 0 ? nearby(segment.replaceAll("_", "-"), knownIds, ["plugins"]) : "no plugins were found in pluginPaths";
      problems.push(`${setting.name}: no plugin with id "${segment.replaceAll("_", "-")}" (${hint})`);
      return setting;
    }
    return { ...setting, path: ["plugins", id, ...setting.path.slice(2)] };
  });
  return { settings: resolved, problems };
}

/** The keys of an object schema, looking through default/prefault/optional wrappers; undefined for anything else. */
function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  let node: z.ZodType = schema;
  while (node instanceof z.ZodDefault || node instanceof z.ZodPrefault || node instanceof z.ZodOptional) node = node.unwrap() as z.ZodType;
  return node instanceof z.ZodObject ? (node.shape as Record<string, z.ZodType>) : undefined;
}

/** "did you mean scheduler.leaseMs?" when a key is close, else the keys that exist at that level. */
function nearby(key: string, candidates: string[], parent: string[]): string {
  const full = (name: string) => [...parent, name].join(".");
  const close = candidates.filter((c) => c.toLowerCase() === key.toLowerCase().replaceAll("_", "-") || editDistance(c.toLowerCase(), key.toLowerCase()) <= 2);
  if (close.length > 0) return `did you mean ${close.map(full).join(" or ")}?`;
  return `${parent.length > 0 ? `keys under ${parent.join(".")}` : "top-level keys"}: ${candidates.join(", ")}`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function parseLoose(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
