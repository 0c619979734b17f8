import type { PluginRoutes } from "../../kernel/http/route-table.js";
import type { Ctf } from "../runtime.js";
import type { PageShell } from "../service.js";
import { eventPhase, type EventSettings } from "../settings.js";
import { field, form, select } from "./forms.js";
import { page, redirect } from "./guard.js";
import { html, STATIC } from "./shell.js";

const js = (name: string) => `${STATIC}/js/${name}.js`;

function phaseNotice(settings: EventSettings) {
  const phase = eventPhase(settings);
  if (phase === "not-started") return html`<p class="notice">The event starts at <time datetime="${settings.startsAt!.toISOString()}">${settings.startsAt!.toISOString()}</time>.</p>`;
  if (phase === "ended") return html`<p class="notice">The event has ended.</p>`;
  return settings.paused ? html`<p class="notice">The event is paused.</p>` : html`<p class="notice">The event is running.</p>`;
}

/** Start page, first-time setup, login and registration. */
export function publicPages(routes: PluginRoutes, ctf: Ctf, shell: PageShell): void {
  routes.get(
    "/",
    page(ctf, shell, "anyone", async (ctx, { settings, player }) => {
      const links = player
        ? html`<li><a href="/challenges">Challenges</a></li><li><a href="/profile">Your profile</a></li>${settings.mode === "teams" && html`<li><a href="/team">Your team</a></li>`}`
        : html`<li><a href="/challenges">Challenges</a></li><li><a href="/login">Log in</a></li>${settings.registrationOpen && html`<li><a href="/register">Register</a></li>`}`;
      await shell.render(ctx, {
        title: settings.name,
        body: html`${phaseNotice(settings)}
<p>${settings.mode === "teams" ? "Teams" : "Players"} compete to capture flags.</p>
<ul class="link-list">${links}</ul>`,
      });
    }),
  );

  routes.get(
    "/setup",
    page(
      ctf,
      shell,
      "anyone",
      async (ctx, { settings }) => {
        if (settings.setupDone) return redirect(ctx, "/");
        await shell.render(ctx, {
          title: "Set up the event",
          scripts: [js("setup")],
          body: html`<p>Name the event, choose how players compete, and create the first admin account.</p>
${form(
  { id: "setup-form", submit: "Finish setup" },
  field({ form: "setup", name: "ctf_name", label: "Event name", required: true, maxlength: 128 }),
  select({ form: "setup", name: "user_mode", label: "Players compete", options: [["users", "individually"], ["teams", "in teams"]], value: "users" }),
  html`<h2>Admin account</h2>`,
  field({ form: "setup", name: "name", label: "Admin name", autocomplete: "username", required: true, maxlength: 128 }),
  field({ form: "setup", name: "email", label: "Admin email", type: "email", autocomplete: "email", required: true, maxlength: 254 }),
  field({ form: "setup", name: "password", label: "Admin password", type: "password", autocomplete: "new-password", required: true, maxlength: 128, hint: "At least 8 characters." }),
  ...(ctf.host.adminTokenSet
    ? [field({ form: "setup", name: "token", label: "Setup token", type: "password", autocomplete: "off", required: true, maxlength: 512, hint: "The value of FLAGHOST_ADMIN_TOKEN this server was started with." })]
    : []),
)}`,
        });
      },
      { beforeSetup: true },
    ),
  );

  routes.get(
    "/login",
    page(ctf, shell, "anyone", async (ctx, { player }) => {
      await shell.render(ctx, {
        title: "Log in",
        scripts: [js("auth")],
        body: html`${player && html`<p class="notice">You are already signed in as <strong>${player.name}</strong>.</p>`}
${form(
  { id: "login-form", submit: "Log in" },
  field({ form: "login", name: "name", label: "Name or email", autocomplete: "username", required: true, maxlength: 254 }),
  field({ form: "login", name: "password", label: "Password", type: "password", autocomplete: "current-password", required: true, maxlength: 128 }),
)}
<p>No account yet? <a href="/register">Register</a>.</p>`,
      });
    }),
  );

  routes.get(
    "/register",
    page(ctf, shell, "anyone", async (ctx, { settings }) => {
      if (!settings.registrationOpen) {
        await shell.render(ctx, { title: "Register", body: html`<p class="notice">Registration is closed.</p><p><a href="/login">Log in</a> with an existing account.</p>` });
        return;
      }
      await shell.render(ctx, {
        title: "Register",
        scripts: [js("auth")],
        body: html`${form(
          { id: "register-form", submit: "Create account" },
          field({ form: "register", name: "name", label: "User name", autocomplete: "username", required: true, maxlength: 128 }),
          field({ form: "register", name: "email", label: "Email", type: "email", autocomplete: "email", required: true, maxlength: 254 }),
          field({ form: "register", name: "password", label: "Password", type: "password", autocomplete: "new-password", required: true, maxlength: 128, hint: "At least 8 characters." }),
        )}
<p>Already registered? <a href="/login">Log in</a>.</p>`,
      });
    }),
  );
}
