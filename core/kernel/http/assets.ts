import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";
import type { Context } from "koa";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/** A declared static folder: requests under `url` are answered from files inside `dir`, and nothing else. */
export interface AssetMount {
  owner: string;
  url: string;
  dir: string;
}

/**
 * Serves a file from a mount, or returns false to let routing continue. The request path is decoded once and
 * any `..`, backslash, NUL or absolute segment is refused (the caller answers 404), so neither `../x` nor
 * `%2e%2e%2fx` can leave the folder; the resolved path is checked to be inside the folder as well.
 */
export async function serveAsset(ctx: Context, mount: AssetMount): Promise<boolean> {
  const rest = ctx.path.slice(mount.url.length);
  if (rest !== "" && !rest.startsWith("/")) return false;
  let decoded: string;
  try {
    decoded = decodeURIComponent(rest);
  } catch {
    return refuse(ctx);
  }
  const segments = decoded.split("/").filter((s) => s !== "");
  if (segments.length === 0) return refuse(ctx);
  if (segments.some((s) => s === ".." || s === "." || s.includes("\\") || s.includes("\0") || s.includes("%"))) return refuse(ctx);
  const root = resolve(mount.dir);
  const file = resolve(join(root, ...segments));
  if (!file.startsWith(root + sep)) return refuse(ctx);
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) return refuse(ctx);
  ctx.status = 200;
  ctx.type = CONTENT_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream";
  ctx.length = info.size;
  ctx.set("Cache-Control", "public, max-age=300");
  ctx.body = ctx.method === "HEAD" ? null : createReadStream(file);
  return true;
}

function refuse(ctx: Context): true {
  ctx.status = 404;
  ctx.body = { success: false, errors: { path: ["Not found"] } };
  return true;
}
