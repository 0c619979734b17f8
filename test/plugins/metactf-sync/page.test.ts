import { expect } from "chai";
import type { Browser } from "playwright-core";
import { launchBrowser, WatchedPage } from "../../helpers/browser.js";
import { startMetactf, type MetactfTest } from "./helpers.js";

/** The /metactf dashboard in Chromium: a coach's view, the onboarding button, the chart and the run log. */
describe("metactf-sync dashboard (Chromium)", function () {
  this.timeout(120_000);
  let m: MetactfTest;
  let browser: Browser;

  before(async () => {
    m = await startMetactf({ mode: "teams" });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await m?.stop();
  });

  const setCoach = (userId: number, coachId: number) => m.t.admin.request("PUT", `/api/v1/metactf/competitors/${userId}`, { coach_user_id: coachId });

  it("shows a coach their competitors with the next step, teams, leaderboard, Flash CTF chart and runs; the button onboards", async () => {
    const coach = await m.coach();
    const other = await m.coach();
    const ready = await m.player();
    const waiting = await m.player();
    const done = await m.player();
    const foreign = await m.player();
    await m.competitor(ready.id, "compliance");
    await m.competitor(waiting.id, "profile");
    await m.onboarded(done.id);
    await m.competitor(foreign.id, "compliance");
    for (const id of [ready.id, waiting.id, done.id]) expect((await setCoach(id, coach.id)).status).to.equal(200);
    await setCoach(foreign.id, other.id);
    // A name with markup must show as text.
    await m.t.admin.request("PUT", `/api/v1/metactf/competitors/${done.id}`, { first_name: "<b>Bold</b>" });

    // Scores and a Flash CTF for the onboarded competitor.
    await fetch(`${m.mock.url}/__admin/solves`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ syned_user_id: `fh-u${done.id}`, challenge: 5 }) });
    const now = Math.floor(Date.now() / 1000);
    await fetch(`${m.mock.url}/__admin/flash_ctfs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Flash CTF page", start_unix: now - 5 * 86_400, end_unix: now - 4 * 86_400, results: [{ syned_user_id: `fh-u${done.id}`, rank: 1, solved: 2 }] }),
    });
    await m.runJob("odl");
    await m.runJob("totals");
    await m.runJob("flash");

    const team = await m.t.admin.post("/api/v1/teams", { name: "Page Team", password: "team-password-1" });
    await m.t.admin.post(`/api/v1/teams/${team.body.data.id}/members`, { user_id: done.id });
    await coach.client.post("/api/v1/metactf/teams", { team_id: team.body.data.id, coach_user_id: coach.id, division: "high_school" });
    await coach.client.post(`/api/v1/metactf/teams/${team.body.data.id}/sync`);

    const page = await WatchedPage.open(browser, m.t.url);
    try {
      await page.signInAs(coach.client);
      await page.goto("/metactf");
      const rows = page.page.locator("section:has(#metactf-competitors) tbody tr");
      expect(await rows.count()).to.equal(3);
      const readyRow = rows.filter({ hasText: `Player${ready.id}` });
      expect(await readyRow.locator("td").nth(0).textContent()).to.equal("Ready to add (compliance done)");
      const waitingRow = rows.filter({ hasText: `Player${waiting.id}` });
      expect(await waitingRow.locator("button").isDisabled()).to.equal(true);
      expect(await waitingRow.locator(".metactf-why").textContent()).to.contain('onboarding needs "compliance"');
      expect(await rows.filter({ hasText: "<b>Bold</b>" }).locator("td").nth(0).textContent()).to.equal("On the game platform");

      const teamRow = page.page.locator("section:has(#metactf-teams) tbody tr");
      expect(await teamRow.locator("td").nth(2).textContent()).to.contain("added on the platform");
      expect(await page.page.locator("section:has(#metactf-board) tbody tr").count()).to.equal(1);
      expect(await page.page.locator(".metactf-chart svg rect.metactf-bar").count()).to.equal(1);
      expect(await page.page.locator(".metactf-chart svg title").first().textContent()).to.contain("Flash CTF");
      expect(await page.page.locator("section:has(#metactf-runs) tbody tr").count()).to.be.at.least(3);

      await readyRow.locator("button[data-onboard]").click();
      await rows.filter({ hasText: `Player${ready.id}` }).locator("td", { hasText: "On the game platform" }).waitFor();
      expect(m.mock.platform().users.has(`fh-u${ready.id}`)).to.equal(true);
      page.assertClean();
    } finally {
      await page.close();
    }
  });

  it("tells a player the dashboard is for coaches and admins", async () => {
    const player = await m.player();
    const page = await WatchedPage.open(browser, m.t.url);
    try {
      await page.signInAs(player.client);
      const response = await page.goto("/metactf");
      expect(response?.status()).to.equal(403);
      expect(await page.page.locator("main .notice").textContent()).to.contain("for coaches and admins");
      page.assertClean([403]);
    } finally {
      await page.close();
    }
  });
});
