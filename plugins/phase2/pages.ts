import type { PageShell } from "../../core/ctf/service.js";
import type { PluginRoutes } from "../../core/kernel/http/route-table.js";
import type { PluginAuth } from "../../core/kernel/plugin-host/api.js";

const STATIC = "/phase2/static";

/**
 * Two pages in the shell's layout, filled by same-origin scripts from the API (the CSP allows no inline script):
 * `/phase2/first-blood` (public: the board) and `/phase2/admin` (admins: analytics charts drawn as SVG, challenge
 * health and findings).
 */
export function phase2Pages(routes: PluginRoutes, pages: PageShell, auth: PluginAuth): void {
  const html = pages.html;

  routes.get("/phase2/first-blood", async function firstBloodPage(ctx) {
    await pages.render(ctx, {
      title: "First blood",
      scripts: [`${STATIC}/board.js`],
      styles: [`${STATIC}/phase2.css`],
      body: html`<p id="blood-status" class="notice" role="status" aria-live="polite">Loading the first bloods…</p>
<table class="data" id="blood-table">
  <thead><tr><th scope="col">Challenge</th><th scope="col">First blood</th><th scope="col">Second</th><th scope="col">Third</th></tr></thead>
  <tbody id="blood-rows"></tbody>
</table>`,
    });
  });

  routes.get("/phase2/admin", async function adminPage(ctx) {
    const actor = await auth.actor(ctx);
    if (!actor?.admin) {
      await pages.render(ctx, { title: "Intelligence", status: actor ? 403 : 401, body: html`<p class="notice notice-error">This page is for admins.</p>` });
      return;
    }
    await pages.render(ctx, {
      title: "Intelligence",
      scripts: [`${STATIC}/admin.js`],
      styles: [`${STATIC}/phase2.css`],
      body: html`<p id="admin-status" class="notice" role="status" aria-live="polite">Loading…</p>
<section aria-labelledby="per-minute-title">
  <h2 id="per-minute-title">Submissions per minute</h2>
  <div id="per-minute-chart" class="phase2-chart"></div>
  <p class="phase2-legend"><span class="phase2-swatch series-all"></span> all <span class="phase2-swatch series-correct"></span> correct <span class="phase2-swatch series-incorrect"></span> wrong</p>
</section>
<section aria-labelledby="series-title">
  <h2 id="series-title">Active accounts over the last day</h2>
  <div id="series-chart" class="phase2-chart"></div>
</section>
<section aria-labelledby="category-title">
  <h2 id="category-title">Solves per category</h2>
  <div id="category-chart" class="phase2-chart"></div>
</section>
<section aria-labelledby="hot-title">
  <h2 id="hot-title">Wrong-answer hot spots</h2>
  <table class="data"><thead><tr><th scope="col">Challenge</th><th scope="col">Wrong answers</th><th scope="col">Accounts</th></tr></thead><tbody id="hot-rows"></tbody></table>
</section>
<section aria-labelledby="health-title">
  <h2 id="health-title">Challenge health</h2>
  <table class="data"><thead><tr><th scope="col">Challenge</th><th scope="col">Status</th><th scope="col">Score</th><th scope="col">Solves</th><th scope="col">Accounts</th><th scope="col">Solve rate</th><th scope="col">Container failures</th></tr></thead><tbody id="health-rows"></tbody></table>
</section>
<section aria-labelledby="findings-title">
  <h2 id="findings-title">Suspicious activity</h2>
  <table class="data"><thead><tr><th scope="col">#</th><th scope="col">Pattern</th><th scope="col">Challenge</th><th scope="col">Accounts</th><th scope="col">Risk</th><th scope="col">Confidence</th><th scope="col">Verdict</th></tr></thead><tbody id="finding-rows"></tbody></table>
</section>`,
    });
  });
}
