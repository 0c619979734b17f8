import type { Context, Middleware } from "koa";
import { isHttpError } from "../../kernel/errors.js";
import type { Ctf } from "../runtime.js";
import type { PageShell, Player } from "../service.js";
import type { EventSettings } from "../settings.js";
import { html } from "./shell.js";

/** Who is asking for a page, resolved once per request. */
export interface Viewer {
  settings: EventSettings;
  player: Player | null;
  admin: boolean;
}

export type Access = "anyone" | "player" | "admin";

export type PageHandler = (ctx: Context, viewer: Viewer) => Promise<void> | void;

export function redirect(ctx: Context, to: string): void {
  ctx.redirect(to);
}

/** Sends an anonymous visitor to the login page, to come back here afterwards. */
export function loginFirst(ctx: Context): void {
  redirect(ctx, `/login?next=${encodeURIComponent(ctx.originalUrl)}`);
}

/**
 * Wraps a page handler: sends everyone to /setup until setup is done, enforces the page's access (anonymous
 * visitors go to /login, logged-in non-admins get a 403 page), and renders errors as HTML pages instead of the
 * API's JSON (a banned account, for instance, sees why it is refused).
 */
export function page(ctf: Ctf, shell: PageShell, access: Access, handler: PageHandler, options: { beforeSetup?: boolean } = {}): Middleware {
  return async (ctx) => {
    try {
      const settings = await ctf.settings.get();
      if (!settings.setupDone && !options.beforeSetup) return redirect(ctx, "/setup");
      const player = await ctf.player(ctx);
      const admin = await ctf.isAdmin(ctx);
      if (access !== "anyone" && !player && !admin) return loginFirst(ctx);
      if (access === "admin" && !admin) return await errorPage(shell, ctx, 403, "Forbidden", "This page is for the event's admins.");
      await handler(ctx, { settings, player, admin });
    } catch (error) {
      if (!isHttpError(error)) throw error;
      await errorPage(shell, ctx, error.status, error.status === 403 ? "Forbidden" : "Error", error.message);
    }
  };
}

export async function errorPage(shell: PageShell, ctx: Context, status: number, title: string, message: string): Promise<void> {
  await shell.render(ctx, { title, status, body: html`<p class="notice notice-error">${message}</p><p><a href="/">Back to the start page</a></p>` });
}
