import type { Context } from "koa";
import type { Ctf } from "../runtime.js";
import type { PageOptions, PageShell, SafeHtml } from "../service.js";

/** Brands markup built by `html` (a registered symbol, so parsed JSON can never forge it and a second copy of this module agrees). */
const SAFE = Symbol.for("flaghost.ctf.safeHtml");

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

function safe(markup: string): SafeHtml {
  const value = { __html: markup };
  Object.defineProperty(value, SAFE, { value: true });
  return value;
}

export function isSafeHtml(value: unknown): value is SafeHtml {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[SAFE] === true;
}

/** null, undefined and false render as nothing, so `${cond && html`...`}` reads naturally; everything else not built by `html` is escaped. */
function interpolate(value: unknown): string {
  if (value === null || value === undefined || value === false) return "";
  if (isSafeHtml(value)) return value.__html;
  if (Array.isArray(value)) return value.map(interpolate).join("");
  return escapeHtml(String(value));
}

/** Tagged template for markup: every interpolated value is escaped unless it was itself built with `html`. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((value, i) => (out += interpolate(value) + strings[i + 1]!));
  return safe(out);
}

export const STATIC = "/ctf/static";

interface Viewer {
  name: string | null;
  player: boolean;
  admin: boolean;
}

/** Who is looking at the page; a refused caller (a banned account) sees the page as anonymous. */
async function viewerOf(ctf: Ctf, ctx: Context): Promise<Viewer> {
  const player = await ctf.player(ctx).catch(() => null);
  const admin = await ctf.isAdmin(ctx).catch(() => false);
  return { name: player?.name ?? null, player: player !== null, admin };
}

const isCurrent = (ctx: Context, path: string) => ctx.path === path || (path !== "/" && ctx.path.startsWith(`${path}/`));

/**
 * The page shell: one layout for core/ctf and every plugin page (service "pages"). It writes a complete HTML5
 * document with a skip link, the event name, navigation built from the pages plugins declare (filtered by
 * audience), and external scripts only: the kernel's CSP forbids inline script and style. Scripts are loaded
 * as ES modules.
 */
export function createPageShell(ctf: Ctf): PageShell {
  return {
    html,
    async render(ctx, page: PageOptions) {
      const settings = await ctf.settings.get();
      const viewer = await viewerOf(ctf, ctx);
      const visible = ctf.host
        .pages()
        .filter((p) => p.audience === "public" || (p.audience === "player" && viewer.player) || (p.audience === "admin" && viewer.admin))
        .filter((p) => !(p.plugin === "ctf" && p.path === "/team" && settings.mode !== "teams")); // no teams in user mode
      const nav = visible.map((p) => html`<li><a href="${p.path}"${isCurrent(ctx, p.path) ? html` aria-current="page"` : ""}>${p.title}</a></li>`);
      const account = viewer.player
        ? html`<span class="who">Signed in as <strong>${viewer.name}</strong></span>
            <button type="button" class="link-button" data-logout>Log out</button>`
        : viewer.admin
          ? html`<span class="who">Admin token</span>`
          : html`<a href="/login">Log in</a>${settings.registrationOpen && settings.setupDone ? html` <a href="/register">Register</a>` : ""}`;
      const styles = [`${STATIC}/css/site.css`, ...(page.styles ?? [])];
      const scripts = [`${STATIC}/js/shell.js`, ...(page.scripts ?? [])];
      const document = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title} · ${settings.name}</title>
<link rel="icon" href="${STATIC}/favicon.svg" type="image/svg+xml">
${styles.map((href) => html`<link rel="stylesheet" href="${href}">\n`)}${scripts.map((src) => html`<script type="module" src="${src}"></script>\n`)}</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="site-header">
  <a class="brand" href="/">${settings.name}</a>
  <nav aria-label="Main"><ul>${nav}</ul></nav>
  <div class="account">${account}</div>
</header>
<main id="main" tabindex="-1">
<h1>${page.title}</h1>
${page.body}
</main>
<footer class="site-footer"><p>Powered by flaghost</p></footer>
</body>
</html>
`;
      ctx.status = page.status ?? 200;
      ctx.type = "text/html; charset=utf-8";
      // Pages show who is signed in: never cache them in a shared cache.
      ctx.set("Cache-Control", "no-store");
      ctx.body = document.__html;
    },
  };
}
