import { expect } from "chai";
import type { Browser } from "playwright-core";
import { launchBrowser, WatchedPage } from "../../helpers/browser.js";
import type { TestCtf } from "../../helpers/ctf.js";
import { attempt, runJob, settle, solve, startPhase2 } from "./helpers.js";

/** phase2's pages in Chromium, under the site's CSP (no inline script, no external source). */
describe("phase2 pages (Chromium)", function () {
  this.timeout(120_000);
  let t: TestCtf;
  let browser: Browser;

  before(async () => {
    t = await startPhase2();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
  });

  it("the public first-blood page lists the bloods, names shown as text", async () => {
    const challenge = await t.challenge({ name: "web <i>one</i>", category: "web" });
    const player = await t.register("page_blood");
    expect((await t.admin.patch(`/api/v1/users/${player.user!.id}`, { name: "blood_<b>first</b>" })).status).to.equal(200);
    await solve(player, challenge);
    await settle(t);
    const page = await WatchedPage.open(browser, t.url);
    try {
      await page.goto("/phase2/first-blood");
      const row = page.page.locator(`tr[data-challenge-id="${challenge}"]`);
      await row.waitFor();
      expect(await row.locator("th").textContent()).to.equal("web <i>one</i>");
      expect(await row.locator(".blood-1 .phase2-blood-name").textContent()).to.equal("blood_<b>first</b>");
      expect(await row.locator(".blood-1 .phase2-prestige").textContent()).to.equal("150 prestige");
      page.assertClean();
    } finally {
      await page.close();
    }
  });

  it("the admin page draws the analytics as SVG charts; players are turned away", async () => {
    const challenge = await t.challenge({ category: "crypto" });
    const players = [await t.register(), await t.register()];
    for (const p of players) await attempt(p, challenge, "flag{wrong-guess}");
    await solve(players[0]!, challenge);
    await runJob(t, "analytics");
    await runJob(t, "health");

    const page = await WatchedPage.open(browser, t.url);
    try {
      await page.signInAs(t.admin);
      await page.goto("/phase2/admin");
      await page.page.locator("#per-minute-chart svg path.phase2-line.series-all").waitFor();
      await page.page.locator("#category-chart svg rect.phase2-bar").first().waitFor();
      await page.page.locator("#series-chart svg").waitFor();
      expect(await page.page.locator("#hot-rows tr").count()).to.be.at.least(1);
      expect(await page.page.locator("#health-rows tr").count()).to.be.at.least(1);
      expect(await page.page.locator("#finding-rows tr").count(), "the shared wrong answer").to.be.at.least(1);
      page.assertClean();
    } finally {
      await page.close();
    }

    const playerPage = await WatchedPage.open(browser, t.url);
    try {
      await playerPage.signInAs(players[1]!);
      const res = await playerPage.goto("/phase2/admin");
      expect(res?.status()).to.equal(403);
      expect(await playerPage.page.locator("#per-minute-chart").count()).to.equal(0);
      playerPage.assertClean([403]);
    } finally {
      await playerPage.close();
    }
  });
});
