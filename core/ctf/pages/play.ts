import type { PluginRoutes } from "../../kernel/http/route-table.js";
import type { Ctf } from "../runtime.js";
import type { PageShell } from "../service.js";
import { field, form } from "./forms.js";
import { loginFirst, page, redirect } from "./guard.js";
import { html, STATIC } from "./shell.js";

const js = (name: string) => `${STATIC}/js/${name}.js`;

/** The challenge board, the team page and the profile page. Data comes from the JSON API in the page scripts. */
export function playPages(routes: PluginRoutes, ctf: Ctf, shell: PageShell): void {
  routes.get(
    "/challenges",
    page(ctf, shell, "anyone", async (ctx, { settings, player, admin }) => {
      if (!player && !admin && settings.challengeVisibility === "private") return loginFirst(ctx);
      // Like CTFd: in team mode a player must pick a team before playing.
      if (player && !admin && settings.mode === "teams" && player.teamId === null) return redirect(ctx, `/team?next=${encodeURIComponent("/challenges")}`);
      await shell.render(ctx, {
        title: "Challenges",
        scripts: [js("challenges")],
        body: html`<p id="board-status" class="notice" role="status" aria-live="polite">Loading challenges…</p>
<div id="board" data-logged-in="${player ? "true" : "false"}"></div>
<dialog id="challenge-dialog" aria-labelledby="challenge-name">
  <div class="dialog-head">
    <h2 id="challenge-name"></h2>
    <button type="button" class="close" data-close aria-label="Close">×</button>
  </div>
  <p class="challenge-meta"><span id="challenge-category"></span> · <span id="challenge-value"></span> <span id="challenge-solved" class="badge badge-solved" hidden>Solved</span></p>
  <div id="challenge-description" class="description"></div>
  <p id="challenge-connection" hidden>Connection: <code></code></p>
  <section id="challenge-files" hidden><h3>Files</h3><ul></ul></section>
  <section id="challenge-hints" hidden><h3>Hints</h3><ul></ul></section>
  <section id="challenge-panel" hidden></section>
  <form id="attempt-form" class="inline" novalidate>
    <label for="attempt-submission">Flag</label>
    <input id="attempt-submission" name="submission" autocomplete="off" spellcheck="false" required maxlength="1024">
    <button type="submit">Submit</button>
  </form>
  <p id="attempt-result" class="attempt-result" role="status" aria-live="polite"></p>
</dialog>`,
      });
    }),
  );

  routes.get(
    "/team",
    page(ctf, shell, "player", async (ctx, { settings, player }) => {
      if (settings.mode !== "teams") {
        await shell.render(ctx, { title: "Team", body: html`<p class="notice">This event is played individually: there are no teams.</p>` });
        return;
      }
      if (!player) return redirect(ctx, "/admin"); // the bootstrap admin token has no account to put in a team
      if (player.teamId === null) {
        await shell.render(ctx, {
          title: "Team",
          scripts: [js("team")],
          body: html`<p>You are not in a team yet. Create one, or join one with its name and password.</p>
<div class="columns">
<section aria-labelledby="create-team-heading"><h2 id="create-team-heading">Create a team</h2>
${form(
  { id: "team-create-form", submit: "Create team" },
  field({ form: "team-create", name: "name", label: "Team name", required: true, maxlength: 128 }),
  field({ form: "team-create", name: "password", label: "Team password", type: "password", autocomplete: "new-password", required: true, maxlength: 128, hint: "Teammates join with it." }),
)}</section>
<section aria-labelledby="join-team-heading"><h2 id="join-team-heading">Join a team</h2>
${form(
  { id: "team-join-form", submit: "Join team" },
  field({ form: "team-join", name: "name", label: "Team name", required: true, maxlength: 128 }),
  field({ form: "team-join", name: "password", label: "Team password", type: "password", autocomplete: "off", required: true, maxlength: 128 }),
)}</section>
</div>`,
        });
        return;
      }
      await shell.render(ctx, {
        title: "Team",
        scripts: [js("team")],
        body: html`<p id="team-status" role="status" aria-live="polite">Loading your team…</p>
<section id="team-view" hidden>
  <h2 id="team-name"></h2>
  <dl class="facts"><dt>Place</dt><dd id="team-place"></dd><dt>Score</dt><dd id="team-score"></dd></dl>
  <h3>Members</h3>
  <ul id="team-members"></ul>
</section>`,
      });
    }),
  );

  routes.get(
    "/profile",
    page(ctf, shell, "player", async (ctx, { player }) => {
      if (!player) return redirect(ctx, "/admin");
      await shell.render(ctx, {
        title: "Profile",
        scripts: [js("profile")],
        body: html`<p id="profile-status" role="status" aria-live="polite">Loading your profile…</p>
<dl class="facts"><dt>Place</dt><dd id="profile-place">–</dd><dt>Score</dt><dd id="profile-score">–</dd></dl>
<section aria-labelledby="account-heading"><h2 id="account-heading">Account</h2>
${form(
  { id: "profile-form", submit: "Save changes" },
  field({ form: "profile", name: "name", label: "User name", autocomplete: "username", maxlength: 128 }),
  field({ form: "profile", name: "email", label: "Email", type: "email", autocomplete: "email", maxlength: 254 }),
  field({ form: "profile", name: "website", label: "Website", type: "url", maxlength: 512 }),
  field({ form: "profile", name: "affiliation", label: "Affiliation", maxlength: 128 }),
  field({ form: "profile", name: "country", label: "Country", maxlength: 128 }),
  field({ form: "profile", name: "password", label: "New password", type: "password", autocomplete: "new-password", maxlength: 128, hint: "Leave empty to keep your password." }),
  field({ form: "profile", name: "confirm", label: "Current password", type: "password", autocomplete: "current-password", maxlength: 128, hint: "Needed to change your email or password." }),
)}</section>
<section aria-labelledby="tokens-heading"><h2 id="tokens-heading">API tokens</h2>
<p>Tokens let tools such as ctfcli act as you. A new token is shown once: copy it right away.</p>
${form(
  { id: "token-form", submit: "Create token" },
  field({ form: "token", name: "description", label: "Description", maxlength: 128 }),
  field({ form: "token", name: "expiration", label: "Expires on", type: "date", hint: "Optional; 30 days when empty." }),
)}
<div id="token-created" hidden><p>Your new token (shown only now):</p><p><code id="token-value" class="secret"></code></p></div>
<table id="token-table" hidden><caption>Your tokens</caption><thead><tr><th scope="col">Id</th><th scope="col">Description</th><th scope="col">Expires</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead><tbody></tbody></table>
</section>`,
      });
    }),
  );
}
