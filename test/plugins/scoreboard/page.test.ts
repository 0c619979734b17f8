import { expect } from "chai";
import type { Browser } from "playwright-core";
import { launchBrowser, WatchedPage } from "../../helpers/browser.js";
import type { TestCtf } from "../../helpers/ctf.js";
import { award, patchUser, setConfig, settle, solve, startScoreboard } from "./helpers.js";

/** The live /scoreboard page in Chromium: it follows the stream without reloading. */
describe("scoreboard page (Chromium)", function () {
  this.timeout(120_000);
  let t: TestCtf;
  let browser: Browser;

  before(async () => {
    t = await startScoreboard();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
  });

  const status = (page: WatchedPage) => page.page.locator("#scoreboard-status");

  it("shows an empty board, then a solve made through the API appears without a reload, with the chart", async () => {
    const page = await WatchedPage.open(browser, t.url);
    try {
      await page.goto("/scoreboard");
      await status(page).filter({ hasText: "No scores yet" }).waitFor();
      await page.page.evaluate(() => ((window as unknown as { loadedOnce: boolean }).loadedOnce = true));

      // A name with markup must show as text.
      const player = await t.register("page_player");
      await patchUser(t, player.user!.id, { name: "page_<b>player</b>" });
      await solve(player, await t.challenge({ value: 250 }));
      const row = page.page.locator(`tr[data-account-id="${player.user!.id}"]`);
      await row.waitFor();
      expect(await row.locator("td").allTextContents()).to.deep.equal(["1", "page_<b>player</b>", "250"]);
      await page.page.locator("#scoreboard-chart svg path.scoreboard-line").waitFor();
      expect(await page.page.locator("#scoreboard-legend li").allTextContents()).to.deep.equal(["page_<b>player</b>"]);

      // A second account overtakes: the table reorders live.
      const second = await t.register("page_second");
      await solve(second, await t.challenge({ value: 100 }));
      await award(t, { user_id: second.user!.id }, 1000);
      await page.page.locator("#scoreboard-rows tr:first-child", { hasText: "page_second" }).waitFor();
      expect(await page.page.locator("#scoreboard-rows tr td:nth-child(3)").allTextContents()).to.deep.equal(["1100", "250"]);
      expect(await page.page.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce)).to.equal(true);
      page.assertClean();
    } finally {
      await page.close();
    }
  });

  it("shows a message when the board is refused, and reconnects when it is visible again", async () => {
    const page = await WatchedPage.open(browser, t.url);
    try {
      await page.goto("/scoreboard");
      await status(page).filter({ hasText: "Live" }).waitFor();
      await setConfig(t, { score_visibility: "private" });
      await status(page).filter({ hasText: "Reconnecting" }).waitFor();
      await setConfig(t, { score_visibility: "public" });
      await settle(t);
      await status(page).filter({ hasText: "Live" }).waitFor();
      const player = await t.register("page_after_reconnect");
      await solve(player, await t.challenge({ value: 5000 }));
      await page.page.locator(`tr[data-account-id="${player.user!.id}"]`).waitFor();
      page.assertClean();

      // Opened while the board is hidden: a message, not a script error.
      await setConfig(t, { score_visibility: "hidden" });
      await settle(t);
      const hidden = await WatchedPage.open(browser, t.url);
      try {
        await hidden.goto("/scoreboard");
        await status(hidden).filter({ hasText: "Scores are currently hidden" }).waitFor();
        expect(await hidden.page.locator("#scoreboard-rows tr").count()).to.equal(0);
        hidden.assertClean([403]);
      } finally {
        await hidden.close();
      }
    } finally {
      await setConfig(t, { score_visibility: "public" });
      await page.close();
    }
  });
});
