import type { Context } from "koa";
import type { CtfReadService, PageShell } from "../../../core/ctf/service.js";
import { isHttpError } from "../../../core/kernel/errors.js";
import type { PluginRoutes } from "../../../core/kernel/http/route-table.js";
import type { Access } from "../access.js";
import type { Onboarding } from "../services/onboarding.js";
import type { CompetitorStore } from "../store/competitors.js";
import type { RunStore } from "../store/runs.js";
import type { ScoreStore } from "../store/scores.js";
import type { TeamStore } from "../store/teams.js";
import { participationChart } from "./chart.js";
import { driftWords, JOB_WORDS, outcomeWords, STATUS_WORDS, when } from "./words.js";

const STATIC = "/metactf/static";

export interface DashboardDeps {
  access: Access;
  pages: PageShell;
  read: CtfReadService;
  competitors: CompetitorStore;
  teams: TeamStore;
  scores: ScoreStore;
  runs: RunStore;
  onboarding: Onboarding;
  /** Why the platform is unavailable, or null. */
  platformProblem: () => string | null;
}

/**
 * `/metactf`: the coach/admin dashboard, rendered on the server: competitors with the action that moves each one
 * on, teams with drift, the synced leaderboard, Flash CTF participation per month (SVG), and the sync-run log.
 * public/metactf.js only wires the "Add to Game Platform" buttons (the CSP allows no inline script).
 */
export function dashboardPage(routes: PluginRoutes, deps: DashboardDeps): void {
  const { access, pages, read, competitors, teams, scores, runs, onboarding } = deps;
  const html = pages.html;

  async function renderDashboard(ctx: Context) {
    let scope: number | null;
    try {
      scope = access.scope(await access.adminOrCoach(ctx));
    } catch (error) {
      if (!isHttpError(error)) throw error;
      const body = error.status === 401 ? html`<p class="notice">Log in as a coach or an admin to see the MetaCTF dashboard.</p>` : html`<p class="notice">The MetaCTF dashboard is for coaches and admins.</p>`;
      return pages.render(ctx, { title: "MetaCTF", body, status: error.status });
    }
    const people = await competitors.list(scope);
    const names = new Map<number, string>();
    for (const c of people) names.set(c.userId, [c.firstName, c.lastName].filter(Boolean).join(" ") || (await read.user(c.userId))?.name || `user ${c.userId}`);
    const nameOf = (id: number) => names.get(id) ?? `user ${id}`;
    const states = await scores.states();
    const linked = await teams.list(scope);
    const teamNames = new Map(await Promise.all(linked.map(async (t) => [t.teamId, (await read.team(t.teamId))?.name ?? `team ${t.teamId}`] as const)));
    const board = await scores.leaderboard(scope, 25);
    const participation = await scores.flashParticipation(scope);
    const log = await runs.list({ limit: 20 });
    const problem = deps.platformProblem();

    const competitorRows = people.map((c) => {
      const sync = states.get(c.userId);
      const blocked = onboarding.blockedReason(c);
      const action = blocked === null
        ? html`<button type="button" data-onboard="${c.userId}">Add to Game Platform</button>`
        : html`<button type="button" disabled aria-describedby="why-${c.userId}">Add to Game Platform</button> <span class="metactf-why" id="why-${c.userId}">${c.status === "complete" ? "Already added" : `Not yet: ${blocked}`}</span>`;
      const error = c.lastError ?? sync?.lastError ?? null;
      return html`<tr>
<th scope="row">${nameOf(c.userId)}</th>
<td>${STATUS_WORDS[c.status]}</td>
<td>${sync ? `${when(sync.lastAttemptAt)} (${sync.lastResult ?? "never"})` : "Not synced yet"}</td>
<td>${error ? html`<span class="metactf-error">${error}</span>` : "None"}</td>
<td>${action}</td>
</tr>`;
    });
    const teamRows = linked.map(
      (t) => html`<tr>
<th scope="row">${teamNames.get(t.teamId)}</th>
<td>${t.division.replace("_", " ")}</td>
<td>${t.remoteExists ? "Yes" : "Not yet"}</td>
<td>${driftWords(t.drift, nameOf)}</td>
<td>${when(t.lastSyncedAt)}</td>
<td>${t.lastError ? html`<span class="metactf-error">${t.lastError}</span>` : "None"}</td>
</tr>`,
    );
    const boardRows = board.map(
      (r, i) => html`<tr><td>${i + 1}</td><th scope="row">${nameOf(r.userId)}</th><td>${r.school ?? ""}</td><td class="metactf-num">${r.totalPoints ?? "—"}</td><td class="metactf-num">${r.totalSolved ?? "—"}</td></tr>`,
    );
    const runRows = log.map(
      (r) => html`<tr>
<td>${when(r.startedAt)}</td><td>${JOB_WORDS[r.job]}</td><td>${r.trigger === "manual" ? "On demand" : "Scheduled"}</td>
<td class="metactf-num">${r.batch.length}</td><td class="metactf-num">${r.withNewData}</td><td class="metactf-num">${r.apiCalls}</td><td class="metactf-num">${r.durationMs} ms</td>
<td>${outcomeWords(r)}${r.errors.length > 0 ? html`<ul class="metactf-errors">${r.errors.slice(0, 3).map((e) => html`<li>${e.id === null ? "" : `${nameOf(e.id)}: `}${e.message}</li>`)}</ul>` : ""}</td>
</tr>`,
    );
    const empty = (cols: number, text: string) => html`<tr><td colspan="${cols}" class="metactf-empty">${text}</td></tr>`;

    await pages.render(ctx, {
      title: "MetaCTF",
      scripts: [`${STATIC}/metactf.js`],
      styles: [`${STATIC}/metactf.css`],
      body: html`${problem ? html`<p class="notice metactf-problem" role="alert">The game platform is not reachable from here: ${problem}. Local changes are kept; nothing is sent until it is configured.</p>` : ""}
<p id="metactf-status" class="notice" role="status" aria-live="polite" hidden></p>
<section aria-labelledby="metactf-competitors"><h2 id="metactf-competitors">Competitors</h2>
<table class="data"><thead><tr><th scope="col">Competitor</th><th scope="col">Status</th><th scope="col">Last sync</th><th scope="col">Last error</th><th scope="col">Next step</th></tr></thead>
<tbody>${competitorRows.length > 0 ? competitorRows : empty(5, "No competitors yet.")}</tbody></table></section>
<section aria-labelledby="metactf-teams"><h2 id="metactf-teams">Teams</h2>
<table class="data"><thead><tr><th scope="col">Team</th><th scope="col">Division</th><th scope="col">On the platform</th><th scope="col">Roster</th><th scope="col">Last check</th><th scope="col">Last error</th></tr></thead>
<tbody>${teamRows.length > 0 ? teamRows : empty(6, "No linked teams yet.")}</tbody></table></section>
<section aria-labelledby="metactf-board"><h2 id="metactf-board">Leaderboard (ODL, synced)</h2>
<table class="data"><thead><tr><th scope="col">Place</th><th scope="col">Competitor</th><th scope="col">School</th><th scope="col">Points</th><th scope="col">Solved</th></tr></thead>
<tbody>${boardRows.length > 0 ? boardRows : empty(5, "No scores synced yet.")}</tbody></table></section>
<section aria-labelledby="metactf-flash"><h2 id="metactf-flash">Flash CTF participation</h2>
<div class="metactf-chart">${participationChart(html, participation)}</div></section>
<section aria-labelledby="metactf-runs"><h2 id="metactf-runs">Sync runs</h2>
<table class="data"><thead><tr><th scope="col">Started</th><th scope="col">Job</th><th scope="col">Trigger</th><th scope="col">Batch</th><th scope="col">With new data</th><th scope="col">API calls</th><th scope="col">Duration</th><th scope="col">Outcome</th></tr></thead>
<tbody>${runRows.length > 0 ? runRows : empty(8, "No runs yet.")}</tbody></table></section>`,
    });
  }

  routes.get("/metactf", renderDashboard);
}
