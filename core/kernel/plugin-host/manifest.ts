import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import semver from "semver";

/** The shape of a plugin.json, as plugin.schema.json defines it. */
export interface PluginManifest {
  id: string;
  name: string;
  version: string;
  description?: string;
  kernel: string;
  entry: string;
  dependsOn?: Array<{ id: string; version?: string; optional?: boolean }>;
  capabilities?: {
    http?: string[];
    /** Prefixes inside this plugin's own that a plugin depending on it may claim. */
    delegates?: string[];
    websocket?: string[];
    jobs?: string[];
    tablePrefix?: string;
    pages?: Array<{ path: string; title: string; audience?: "public" | "player" | "admin" }>;
    assets?: Array<{ url: string; dir: string }>;
  };
}

/** A plugin found on disk: its folder and either a valid manifest or the reason it is not valid. */
export interface DiscoveredPlugin {
  dir: string;
  manifestPath: string;
  /** The id from the manifest when readable, else the folder name. */
  id: string;
  manifest?: PluginManifest;
  error?: string;
}

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const schema = JSON.parse(readFileSync(join(projectRoot, "plugin.schema.json"), "utf8")) as object;
const validateManifest = new Ajv2020({ allErrors: true, strict: true }).compile<PluginManifest>(schema);

/**
 * Finds plugin folders. A path is either a folder holding a plugin.json or `dir/*`, meaning every
 * sub-folder of dir that holds one. Relative paths are resolved against the project root.
 */
export function discoverPlugins(pluginPaths: string[], root = projectRoot): DiscoveredPlugin[] {
  const folders: string[] = [];
  for (const entry of pluginPaths) {
    if (entry.endsWith("/*")) {
      const parent = resolve(root, entry.slice(0, -2));
      if (!existsSync(parent)) continue;
      for (const name of readdirSync(parent).sort()) {
        const dir = join(parent, name);
        if (statSync(dir).isDirectory() && existsSync(join(dir, "plugin.json"))) folders.push(dir);
      }
    } else {
      folders.push(resolve(root, entry));
    }
  }
  return [...new Set(folders)].map(readManifest);
}

export function readManifest(dir: string): DiscoveredPlugin {
  const manifestPath = join(dir, "plugin.json");
  const fallbackId = dir.split(/[\\/]/).pop() ?? dir;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(manifestPath, "utf8"));
  } catch (error) {
    return { dir, manifestPath, id: fallbackId, error: `${manifestPath}: ${(error as Error).message}` };
  }
  const id = typeof (raw as { id?: unknown })?.id === "string" ? (raw as { id: string }).id : fallbackId;
  if (!validateManifest(raw)) {
    const problems = (validateManifest.errors ?? []).map((e) => {
      const where = e.instancePath || "/";
      const extra = e.keyword === "additionalProperties" ? ` (${(e.params as { additionalProperty: string }).additionalProperty})` : "";
      return `${where} ${e.message}${extra}`;
    });
    return { dir, manifestPath, id, error: `invalid manifest ${manifestPath}: ${problems.join("; ")}` };
  }
  return { dir, manifestPath, id, manifest: raw };
}

/** Problems that stop one plugin from loading, keyed by plugin id. */
export type PlanProblems = Map<string, { status: "failed" | "blocked"; error: string }>;

/**
 * Orders valid plugins so that each comes after everything it depends on. Duplicate ids, unknown or
 * incompatible dependencies and cycles are reported per plugin, never thrown: the rest still load.
 */
export function planLoadOrder(plugins: DiscoveredPlugin[], kernelVersion: string): { order: PluginManifest[]; problems: PlanProblems } {
  const problems: PlanProblems = new Map();
  const byId = new Map<string, PluginManifest>();
  const seenDirs = new Map<string, string>();
  for (const plugin of plugins) {
    if (!plugin.manifest) {
      problems.set(plugin.id, { status: "failed", error: plugin.error ?? "invalid manifest" });
      continue;
    }
    const { manifest } = plugin;
    if (byId.has(manifest.id)) {
      problems.set(manifest.id, {
        status: "failed",
        error: `duplicate plugin id "${manifest.id}" in ${seenDirs.get(manifest.id)} and ${plugin.dir}`,
      });
      byId.delete(manifest.id);
      continue;
    }
    if (problems.has(manifest.id)) continue; // a third copy of a duplicate
    if (!semver.satisfies(kernelVersion, manifest.kernel, { includePrerelease: true })) {
      problems.set(manifest.id, { status: "failed", error: `needs kernel ${manifest.kernel}, this is ${kernelVersion}` });
      continue;
    }
    byId.set(manifest.id, manifest);
    seenDirs.set(manifest.id, plugin.dir);
  }

  for (const cycle of findCycles(byId)) {
    for (const id of cycle) problems.set(id, { status: "failed", error: `dependency cycle: ${[...cycle, cycle[0]].join(" -> ")}` });
  }

  // Depth-first topological order; a plugin whose required dependency is missing or unusable is blocked.
  const order: PluginManifest[] = [];
  const visited = new Set<string>();
  const visit = (id: string): void => {
    if (visited.has(id)) return;
    visited.add(id);
    const manifest = byId.get(id)!;
    if (problems.has(id)) return;
    for (const dep of manifest.dependsOn ?? []) {
      const target = byId.get(dep.id);
      if (target) visit(dep.id);
      const reason = !target
        ? problems.has(dep.id)
          ? `depends on "${dep.id}", which ${problems.get(dep.id)!.status === "failed" ? "failed" : "is blocked"}`
          : `depends on unknown plugin "${dep.id}"`
        : problems.has(dep.id)
          ? `depends on "${dep.id}", which ${problems.get(dep.id)!.status === "failed" ? "failed" : "is blocked"}`
          : dep.version && !semver.satisfies(target.version, dep.version, { includePrerelease: true })
            ? `depends on "${dep.id}" ${dep.version}, found ${target.version}`
            : null;
      if (reason && !dep.optional) {
        problems.set(id, { status: !target && !problems.has(dep.id) ? "failed" : "blocked", error: reason });
        return;
      }
    }
    order.push(manifest);
  };
  for (const id of byId.keys()) visit(id);
  return { order, problems };
}

/** Every dependency cycle among the manifests, each as the list of ids on it. */
function findCycles(byId: Map<string, PluginManifest>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const walk = (id: string): void => {
    state.set(id, "visiting");
    stack.push(id);
    for (const dep of byId.get(id)?.dependsOn ?? []) {
      if (!byId.has(dep.id)) continue;
      if (state.get(dep.id) === "visiting") cycles.push(stack.slice(stack.indexOf(dep.id)));
      else if (!state.has(dep.id)) walk(dep.id);
    }
    stack.pop();
    state.set(id, "done");
  };
  for (const id of byId.keys()) if (!state.has(id)) walk(id);
  return cycles;
}

/** The plugins that depend on `id`, directly or not (used to block dependents of a plugin that fails later). */
export function dependentsOf(id: string, manifests: PluginManifest[]): string[] {
  const out = new Set<string>();
  let frontier = [id];
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const m of manifests) {
      if (out.has(m.id)) continue;
      if ((m.dependsOn ?? []).some((d) => !d.optional && frontier.includes(d.id))) {
        out.add(m.id);
        next.push(m.id);
      }
    }
    frontier = next;
  }
  return [...out];
}
