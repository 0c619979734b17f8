import type { PageShell } from "../../core/ctf/service.js";
import type { PluginRoutes } from "../../core/kernel/http/route-table.js";

const STATIC = "/scoreboard/static";

/**
 * `/scoreboard`: the shell's layout with an empty table and chart; public/scoreboard.js fills them from the
 * stream (live, no reload) and the top/10 API (the chart). The server renders no standings here, so the page
 * costs no more than any other and visibility rules are the API's (the script shows its refusal).
 */
export function scoreboardPage(routes: PluginRoutes, pages: PageShell): void {
  routes.get("/scoreboard", async (ctx) => {
    const html = pages.html;
    await pages.render(ctx, {
      title: "Scoreboard",
      scripts: [`${STATIC}/scoreboard.js`],
      styles: [`${STATIC}/scoreboard.css`],
      body: html`<p id="scoreboard-status" class="notice" role="status" aria-live="polite">Loading the scoreboard…</p>
<section class="scoreboard-graph" aria-labelledby="scoreboard-graph-title">
  <h2 id="scoreboard-graph-title">Top 10 over time</h2>
  <div id="scoreboard-chart" class="scoreboard-chart"></div>
  <ol id="scoreboard-legend" class="scoreboard-legend"></ol>
</section>
<section aria-labelledby="scoreboard-table-title">
  <h2 id="scoreboard-table-title">Standings</h2>
  <table class="data scoreboard-table" id="scoreboard-table">
    <thead><tr><th scope="col">Place</th><th scope="col">Name</th><th scope="col">Score</th></tr></thead>
    <tbody id="scoreboard-rows"></tbody>
  </table>
</section>`,
    });
  });
}
