/**
 * whale's pages in Chromium, on the real engine (ports 32600-32699): the panel in the challenge dialog takes a start
 * through its states in words to a connection with a countdown; the admin page lists it and force-stops it.
 */
import { expect } from "chai";
import type { Browser } from "playwright-core";
import { launchBrowser, WatchedPage } from "../../helpers/browser.js";
import type { TestCtf } from "../../helpers/ctf.js";
import { containerChallenge, containersInRange, removeContainersInRange, startWhale } from "./helpers.js";

const PORTS: [number, number] = [32600, 32699];
/** The container runs this long before it answers, so "Initializing…" is on screen for a few polls. */
const SLOW_START_S = 5;

describe("whale pages (Chromium)", function () {
  this.timeout(180_000);
  let t: TestCtf;
  let browser: Browser;

  before(async () => {
    await removeContainersInRange(PORTS);
    t = await startWhale({ portRange: PORTS });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
    await removeContainersInRange(PORTS);
  });

  it("Start shows the states in order and ends with a connection, a copy button and a countdown; the admin page lists and force-stops it", async () => {
    const id = await containerChallenge(t, {
      name: "Slow box",
      command: ["/bin/sh", "-c", `sleep ${SLOW_START_S}; while true; do echo "$FLAG" | nc -l -p "$PORT"; done`],
    });
    const player = await t.register();
    const page = await WatchedPage.open(browser, t.url);
    try {
      await page.signInAs(player);
      await page.goto(`/challenges#challenge-${id}`);
      const panel = page.page.locator("#challenge-panel");
      const start = panel.getByRole("button", { name: "Start" });
      await start.waitFor();
      // Record every state the panel shows, with its words.
      await page.page.evaluate(() => {
        const seen: string[] = [];
        (window as unknown as { whaleStates: string[] }).whaleStates = seen;
        const state = document.querySelector("[data-whale-state]")!;
        new MutationObserver(() => {
          const entry = `${(state as HTMLElement).dataset.whaleState}: ${state.textContent}`;
          if (seen[seen.length - 1] !== entry) seen.push(entry);
        }).observe(state, { attributes: true, childList: true, subtree: true, characterData: true });
      });
      await start.click();
      const connection = panel.locator("[data-whale-connection]");
      await connection.waitFor({ timeout: 90_000 });
      expect(await connection.textContent()).to.match(/^nc 127\.0\.0\.1 32[67]\d\d$/);
      await panel.getByRole("button", { name: "Copy" }).waitFor();
      const countdown = panel.locator("[data-whale-countdown]");
      const first = await countdown.textContent();
      expect(first).to.match(/^Expires in \d+:\d\d(:\d\d)?$/);
      await page.page.waitForFunction((before) => document.querySelector("[data-whale-countdown]")?.textContent !== before, first);

      const states = (await page.page.evaluate(() => (window as unknown as { whaleStates: string[] }).whaleStates)).filter((s) => !s.startsWith("none"));
      const kinds = states.map((s) => s.split(":")[0]!);
      const order = ["queued", "starting", "initialized", "ready"];
      expect(kinds[0], states.join(" | ")).to.equal("queued");
      expect(kinds[kinds.length - 1], states.join(" | ")).to.equal("ready");
      expect(kinds, states.join(" | ")).to.include("initialized");
      // In order: never back to an earlier state.
      const ranks = kinds.map((k) => order.indexOf(k));
      expect(ranks, states.join(" | ")).to.deep.equal([...ranks].sort((a, b) => a - b));
      expect(states.find((s) => s.startsWith("queued"))).to.include("Waiting for a free worker…");
      expect(states.find((s) => s.startsWith("initialized"))).to.include("Initializing…");
      const starting = states.find((s) => s.startsWith("starting"));
      if (starting) expect(starting).to.match(/Starting the challenge environment… \(attempt 1 of 3\)/);

      // The admin page shows it, and force-stops it.
      const admin = await WatchedPage.open(browser, t.url);
      try {
        await admin.signInAs(t.admin);
        await admin.goto("/whale/admin");
        const row = admin.page.locator("#whale-containers tbody tr[data-start-id]");
        await row.waitFor();
        const cells = await row.locator("td").allTextContents();
        expect(cells[0]).to.equal(`user ${player.user!.id}`);
        expect(cells[1]).to.equal(`#${id}`);
        expect(cells[2]).to.equal("ready");
        expect(Number(cells[5])).to.be.within(...PORTS);
        expect(cells[6]).to.equal("docker");
        expect(await admin.page.locator("#whale-figures").textContent()).to.match(/queue depth 0/);
        await row.getByRole("button", { name: "Force stop" }).click();
        await admin.page.locator("#whale-containers tbody", { hasText: "No containers." }).waitFor();
        admin.assertClean();
      } finally {
        await admin.close();
      }
      expect(await containersInRange(PORTS)).to.have.length(0);
      page.assertClean();
    } finally {
      await page.close();
    }
  });
});
