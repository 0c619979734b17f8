import type { Context } from "koa";
import type { PluginRoutes } from "../../kernel/http/route-table.js";
import type { Ctf } from "../runtime.js";
import type { PageShell, SafeHtml } from "../service.js";
import { eventPhase } from "../settings.js";
import { checkbox, field, form, select, textarea } from "./forms.js";
import { page } from "./guard.js";
import { html, STATIC } from "./shell.js";

const js = (name: string) => `${STATIC}/js/${name}.js`;

const SECTIONS: Array<[path: string, title: string]> = [
  ["/admin", "Overview"],
  ["/admin/challenges", "Challenges"],
  ["/admin/accounts", "Accounts"],
  ["/admin/settings", "Event settings"],
  ["/admin/plugins", "Plugins and jobs"],
];

function adminNav(ctx: Context): SafeHtml {
  return html`<nav class="subnav" aria-label="Admin"><ul>${SECTIONS.map(
    ([path, title]) => html`<li><a href="${path}"${ctx.path === path && html` aria-current="page"`}>${title}</a></li>`,
  )}</ul></nav>`;
}

const visibility = (name: string, label: string, options: string[]) => select({ form: "settings", name, label, options: options.map((o) => [o, o]) });

/** Admin pages: overview, challenges (with flags and hints), accounts, event settings, plugins and jobs. */
export function adminPages(routes: PluginRoutes, ctf: Ctf, shell: PageShell): void {
  routes.get(
    "/admin",
    page(ctf, shell, "admin", async (ctx, { settings }) => {
      const phase = { "not-started": "not started", running: "running", ended: "ended" }[eventPhase(settings)];
      await shell.render(ctx, {
        title: "Admin",
        body: html`${adminNav(ctx)}
<dl class="facts">
  <dt>Event</dt><dd>${settings.name}</dd>
  <dt>Mode</dt><dd>${settings.mode === "teams" ? "teams" : "individual players"}</dd>
  <dt>State</dt><dd>${phase}${settings.paused && " (paused)"}</dd>
  <dt>Registration</dt><dd>${settings.registrationOpen ? "open" : "closed"}</dd>
</dl>
<ul class="link-list">${SECTIONS.slice(1).map(([path, title]) => html`<li><a href="${path}">${title}</a></li>`)}</ul>`,
      });
    }),
  );

  routes.get(
    "/admin/challenges",
    page(ctf, shell, "admin", async (ctx) => {
      await shell.render(ctx, {
        title: "Challenges",
        scripts: [js("admin-challenges")],
        body: html`${adminNav(ctx)}
<p id="challenges-status" role="status" aria-live="polite"></p>
<table id="challenge-table" class="data"><caption>All challenges</caption>
<thead><tr><th scope="col">Id</th><th scope="col">Name</th><th scope="col">Category</th><th scope="col">Value</th><th scope="col">State</th><th scope="col">Solves</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody></tbody></table>
<p><button type="button" id="new-challenge">New challenge</button></p>
<section aria-labelledby="challenge-form-heading">
<h2 id="challenge-form-heading">New challenge</h2>
${form(
  { id: "challenge-form", submit: "Create challenge" },
  field({ form: "challenge", name: "name", label: "Name", required: true, maxlength: 80 }),
  field({ form: "challenge", name: "category", label: "Category", required: true, maxlength: 80 }),
  field({ form: "challenge", name: "value", label: "Points", type: "number", min: 0, required: true, value: 100 }),
  textarea({ form: "challenge", name: "description", label: "Description", maxlength: 65536, rows: 6 }),
  field({ form: "challenge", name: "connection_info", label: "Connection info", maxlength: 1024, hint: "For example nc host 1337, or a URL." }),
  select({ form: "challenge", name: "state", label: "State", options: [["visible", "visible"], ["hidden", "hidden"]], value: "visible" }),
  field({ form: "challenge", name: "max_attempts", label: "Maximum attempts", type: "number", min: 0, value: 0, hint: "0 means unlimited." }),
  select({ form: "challenge", name: "type", label: "Scoring", options: [["standard", "standard (fixed points)"], ["dynamic", "dynamic (decays with solves)"]], value: "standard" }),
  html`<fieldset id="dynamic-fields" hidden><legend>Dynamic scoring</legend>
${field({ form: "challenge", name: "initial", label: "Initial points", type: "number", min: 0 })}
${field({ form: "challenge", name: "minimum", label: "Minimum points", type: "number", min: 0 })}
${field({ form: "challenge", name: "decay", label: "Decay", type: "number", min: 1, hint: "Solves until the minimum is reached." })}
${select({ form: "challenge", name: "function", label: "Decay function", options: [["logarithmic", "logarithmic"], ["linear", "linear"]] })}
</fieldset>`,
  html`<fieldset id="first-flag"><legend>Flag</legend>
${field({ form: "challenge", name: "flag", label: "Flag", maxlength: 1024, hint: "Optional here; add more flags after creating the challenge." })}
${select({ form: "challenge", name: "flag_type", label: "Flag type", options: [["static", "static"], ["regex", "regex"]] })}
${checkbox({ form: "challenge", name: "flag_case_insensitive", label: "Case-insensitive" })}
</fieldset>`,
)}
<p><button type="button" id="delete-challenge" class="danger" hidden>Delete challenge</button></p>
</section>
<section id="challenge-extras" aria-labelledby="flags-heading" hidden>
<h2 id="flags-heading">Flags</h2>
<ul id="flag-list"></ul>
${form(
  { id: "flag-form", submit: "Add flag", className: "stacked compact" },
  field({ form: "flag", name: "content", label: "Flag", required: true, maxlength: 1024 }),
  select({ form: "flag", name: "type", label: "Type", options: [["static", "static"], ["regex", "regex"]] }),
  checkbox({ form: "flag", name: "case_insensitive", label: "Case-insensitive" }),
)}
<h2>Hints</h2>
<ul id="hint-list"></ul>
${form(
  { id: "hint-form", submit: "Add hint", className: "stacked compact" },
  field({ form: "hint", name: "title", label: "Title", maxlength: 128 }),
  textarea({ form: "hint", name: "content", label: "Hint", required: true, maxlength: 65536, rows: 3 }),
  field({ form: "hint", name: "cost", label: "Cost in points", type: "number", min: 0, value: 0 }),
)}
</section>`,
      });
    }),
  );

  routes.get(
    "/admin/accounts",
    page(ctf, shell, "admin", async (ctx, { settings }) => {
      const table = (kind: "users" | "teams", caption: string) =>
        html`<section aria-labelledby="${kind}-heading" data-accounts="${kind}"><h2 id="${kind}-heading">${caption}</h2>
<table class="data"><thead><tr><th scope="col">Id</th><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Hidden</th><th scope="col">Banned</th></tr></thead><tbody></tbody></table>
<p class="pager"><button type="button" data-page="prev" disabled>Previous page</button> <span data-page-label></span> <button type="button" data-page="next" disabled>Next page</button></p>
</section>`;
      await shell.render(ctx, {
        title: "Accounts",
        scripts: [js("admin-accounts")],
        body: html`${adminNav(ctx)}
<p id="accounts-status" role="status" aria-live="polite"></p>
${table("users", "Users")}
${settings.mode === "teams" && table("teams", "Teams")}`,
      });
    }),
  );

  routes.get(
    "/admin/settings",
    page(ctf, shell, "admin", async (ctx) => {
      const zone = "in your browser's time zone; leave empty for none";
      await shell.render(ctx, {
        title: "Event settings",
        scripts: [js("admin-settings")],
        body: html`${adminNav(ctx)}
${form(
  { id: "settings-form", submit: "Save settings" },
  field({ form: "settings", name: "name", label: "Event name", required: true, maxlength: 128 }),
  select({ form: "settings", name: "mode", label: "Mode", options: [["users", "individual players"], ["teams", "teams"]] }),
  field({ form: "settings", name: "start", label: "Starts", type: "datetime-local", hint: zone }),
  field({ form: "settings", name: "end", label: "Ends", type: "datetime-local", hint: zone }),
  field({ form: "settings", name: "freeze", label: "Scoreboard freezes", type: "datetime-local", hint: zone }),
  visibility("challenge_visibility", "Challenges visible to", ["public", "private"]),
  visibility("account_visibility", "Accounts visible to", ["public", "private", "admins"]),
  visibility("score_visibility", "Scores visible to", ["public", "private", "hidden", "admins"]),
  checkbox({ form: "settings", name: "registration_open", label: "Registration is open" }),
  checkbox({ form: "settings", name: "paused", label: "Paused (attempts are refused)" }),
)}`,
      });
    }),
  );

  routes.get(
    "/admin/plugins",
    page(ctf, shell, "admin", async (ctx) => {
      await shell.render(ctx, {
        title: "Plugins and jobs",
        scripts: [js("admin-plugins")],
        body: html`${adminNav(ctx)}
<p id="plugins-status" role="status" aria-live="polite"></p>
<table id="plugin-table" class="data"><caption>Plugins</caption>
<thead><tr><th scope="col">Id</th><th scope="col">Version</th><th scope="col">Status</th><th scope="col">Error</th></tr></thead><tbody></tbody></table>
<table id="job-table" class="data"><caption>Jobs</caption>
<thead><tr><th scope="col">Id</th><th scope="col">Plugin</th><th scope="col">Schedule</th><th scope="col">Scope</th><th scope="col">Next run</th><th scope="col">Last run</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead><tbody></tbody></table>`,
      });
    }),
  );
}
