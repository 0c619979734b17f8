import type { PluginManifest } from "../plugin-host/manifest.js";

/** What one plugin's manifest claims of the URL space, and who it lets in. */
export interface PathClaimant {
  owner: string;
  /** `capabilities.http` as declared: prefixes, except "/" which claims only the root page (and the fallback). */
  http: string[];
  websocket: string[];
  assets: string[];
  pages: string[];
  /** Prefixes inside this plugin's own that a plugin depending on it may claim. */
  delegates: string[];
  dependsOn: string[];
}

/** "/" in capabilities.http: the exact root page, plus the catch-all tried after every other plugin declined. */
export const ROOT_PATH = "/";

interface Claim {
  kind: "http prefix" | "websocket path" | "asset URL" | "page path" | "root page";
  path: string;
}

export function pathClaimantOf(manifest: PluginManifest): PathClaimant {
  const capabilities = manifest.capabilities ?? {};
  return {
    owner: manifest.id,
    http: capabilities.http ?? [],
    websocket: capabilities.websocket ?? [],
    assets: (capabilities.assets ?? []).map((asset) => asset.url),
    pages: (capabilities.pages ?? []).map((page) => page.path),
    delegates: capabilities.delegates ?? [],
    dependsOn: (manifest.dependsOn ?? []).map((dependency) => dependency.id),
  };
}

/** True when `path` is `prefix` itself or below it. */
export function underPrefix(path: string, prefix: string): boolean {
  if (prefix === ROOT_PATH) return path.startsWith("/");
  return path === prefix || path.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`);
}

/**
 * Who owns which part of the URL space. Prefixes (http, WebSocket, assets) of two plugins may not be equal
 * nor lie one inside the other, unless the outer plugin delegates the inner prefix and the inner plugin
 * depends on the outer one; exact paths (pages, the root page) have one owner each.
 */
export class PathClaims {
  private readonly claimants = new Map<string, PathClaimant>();

  /** Records the claimant's paths, or throws naming both plugins and both paths; a previous claim of the same owner is replaced. */
  claim(claimant: PathClaimant): void {
    for (const other of this.claimants.values()) {
      if (other.owner === claimant.owner) continue;
      const problem = conflict(claimant, other);
      if (problem) throw new Error(problem);
    }
    this.claimants.set(claimant.owner, claimant);
  }

  release(owner: string): void {
    this.claimants.delete(owner);
  }
}

function prefixClaims(claimant: PathClaimant): Claim[] {
  return [
    ...claimant.http.filter((path) => path !== ROOT_PATH).map((path) => ({ kind: "http prefix" as const, path })),
    ...claimant.websocket.map((path) => ({ kind: "websocket path" as const, path })),
    ...claimant.assets.map((path) => ({ kind: "asset URL" as const, path })),
  ];
}

function exactClaims(claimant: PathClaimant): Claim[] {
  return [
    ...claimant.http.filter((path) => path === ROOT_PATH).map((path) => ({ kind: "root page" as const, path })),
    ...claimant.pages.map((path) => ({ kind: "page path" as const, path })),
  ];
}

/** The first overlap between a new claimant and one already holding paths, described, or null. */
function conflict(incoming: PathClaimant, holder: PathClaimant): string | null {
  for (const mine of exactClaims(incoming)) {
    const theirs = exactClaims(holder).find((claim) => claim.path === mine.path);
    if (theirs) return `${mine.kind} ${mine.path} of "${incoming.owner}" is already claimed by "${holder.owner}" (${theirs.kind})`;
  }
  for (const mine of prefixClaims(incoming)) {
    for (const theirs of prefixClaims(holder)) {
      if (mine.path === theirs.path) return `${mine.kind} ${mine.path} of "${incoming.owner}" is already claimed by "${holder.owner}" (${theirs.kind})`;
      const problem = underPrefix(mine.path, theirs.path)
        ? nestingProblem({ claimant: incoming, claim: mine }, { claimant: holder, claim: theirs })
        : underPrefix(theirs.path, mine.path)
          ? nestingProblem({ claimant: holder, claim: theirs }, { claimant: incoming, claim: mine })
          : null;
      if (problem) return problem;
    }
  }
  return null;
}

type Side = { claimant: PathClaimant; claim: Claim };

function nestingProblem(inner: Side, outer: Side): string | null {
  const delegated = outer.claimant.delegates.some((prefix) => underPrefix(inner.claim.path, prefix));
  const dependsOnOuter = inner.claimant.dependsOn.includes(outer.claimant.owner);
  if (delegated && dependsOnOuter) return null;
  const nesting = `${inner.claim.kind} ${inner.claim.path} of "${inner.claimant.owner}" lies inside ${outer.claim.path} of "${outer.claimant.owner}"`;
  if (!delegated) return `${nesting}, which does not delegate it`;
  return `${nesting}, which delegates it, but "${inner.claimant.owner}" does not declare "${outer.claimant.owner}" in dependsOn`;
}
