import type { PageShell } from "../../core/ctf/service.js";
import type { PluginRoutes } from "../../core/kernel/http/route-table.js";
import type { PluginAuth } from "../../core/kernel/plugin-host/api.js";

/** The admin page: live containers with a force-stop button, queue depth and start times (data from the API). */
export function whalePages(deps: { routes: PluginRoutes; auth: PluginAuth; pages: PageShell }): void {
  const { routes, auth, pages } = deps;
  routes.get("/whale/admin", auth.requireAdmin(), async function adminPage(ctx) {
    await pages.render(ctx, {
      title: "Containers",
      scripts: ["/whale/static/admin.js"],
      body: pages.html`<h1>Containers</h1>
<p id="whale-figures" role="status" aria-live="polite">Loading…</p>
<table id="whale-containers" aria-describedby="whale-figures">
  <thead><tr><th scope="col">Owner</th><th scope="col">Challenge</th><th scope="col">Status</th><th scope="col">Age</th><th scope="col">Expires</th><th scope="col">Port</th><th scope="col">Engine</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody></tbody>
</table>`,
    });
  });
}
