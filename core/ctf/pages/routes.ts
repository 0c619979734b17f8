import type { PluginRoutes } from "../../kernel/http/route-table.js";
import type { Ctf } from "../runtime.js";
import type { PageShell } from "../service.js";
import { adminPages } from "./admin.js";
import { errorPage } from "./guard.js";
import { playPages } from "./play.js";
import { publicPages } from "./public.js";
import { createPageShell as shellFor } from "./shell.js";

/** The layout every page is rendered in; provided to other plugins as the service "pages". */
export function createPageShell(ctf: Ctf): PageShell {
  return shellFor(ctf);
}

/**
 * core/ctf's HTML pages. They are plain server-rendered documents with small external scripts (public/js)
 * that call the JSON API; nothing a user wrote is put into markup unescaped, on the server or in the browser.
 */
export function pageRoutes(routes: PluginRoutes, ctf: Ctf, shell: PageShell): void {
  publicPages(routes, ctf, shell);
  playPages(routes, ctf, shell);
  adminPages(routes, ctf, shell);
  // core/ctf owns "/", the least specific prefix, so this runs only when no plugin answered: browsers (which ask
  // for text/html by name) get an HTML 404 page; API clients keep the kernel's JSON one.
  routes.get("/{*rest}", async (ctx, next) => {
    if (ctx.path.startsWith("/api/") || !ctx.get("accept").includes("text/html")) return next();
    await errorPage(shell, ctx, 404, "Page not found", "There is no page at this address.");
  });
}
