import { expect } from "chai";
import type { Browser } from "playwright-core";
import { launchBrowser, WatchedPage } from "../helpers/browser.js";
import { startCtf, type TestCtf } from "../helpers/ctf.js";

/**
 * Issue 11, hole 1: the login page follows `?next=` only to a path of its own origin. Each value below is one of the
 * usual open-redirect bypass forms (as the browser's URL parser would read them); all must land on /challenges.
 */
const BYPASSES = [
  "//evil.example/",
  "/\\evil.example/",
  "/\t/evil.example/", // ?next=/%09/evil.example: the URL parser drops the tab and reads //evil.example
  "/\n/evil.example/",
  "https:evil.example/",
  "javascript:document.title='pwned'",
];

describe("login page ?next= (open redirect, in a browser)", function () {
  this.timeout(120_000);
  let t: TestCtf;
  let browser: Browser;
  let origin: string;
  const password = "player-password-1";
  const name = "redirected";

  before(async () => {
    t = await startCtf();
    origin = new URL(t.url).origin;
    await t.register(name, password);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
  });

  /** Logs in through the form at /login?next=<next> and answers where the browser went. */
  async function landingAfterLogin(next: string): Promise<{ url: URL; title: string; evilHit: boolean }> {
    const watched = await WatchedPage.open(browser, t.url);
    let evilHit = false;
    // Nothing may leave the machine: any other host answers a marker page, and we record that it was asked.
    await watched.context.route((url) => url.origin !== origin, (route) => {
      evilHit = true;
      return route.fulfill({ status: 200, contentType: "text/html", body: "<title>evil</title>evil" });
    });
    try {
      const { page } = watched;
      await page.goto(`/login?next=${encodeURIComponent(next)}`);
      await page.getByLabel("Name or email").fill(name);
      await page.getByLabel("Password", { exact: true }).fill(password);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForURL((url) => !(url.origin === origin && url.pathname === "/login"));
      await page.waitForLoadState("load");
      return { url: new URL(page.url()), title: await page.title(), evilHit };
    } finally {
      await watched.close();
    }
  }

  for (const next of BYPASSES) {
    it(`sends ${JSON.stringify(next)} to /challenges`, async () => {
      const landed = await landingAfterLogin(next);
      expect(landed.url.origin, `landed on ${landed.url.href}`).to.equal(origin);
      expect(landed.url.pathname).to.equal("/challenges");
      expect(landed.evilHit, "the browser asked another host").to.equal(false);
      expect(landed.title).not.to.equal("pwned");
    });
  }

  it("keeps a path that resolves to //x on this origin (it must not become protocol-relative)", async () => {
    const landed = await landingAfterLogin("/.//evil.example/");
    expect(landed.url.origin, `landed on ${landed.url.href}`).to.equal(origin);
    expect(landed.evilHit, "the browser asked another host").to.equal(false);
  });

  it("follows a same-origin path with its query and fragment", async () => {
    const landed = await landingAfterLogin("/profile?tab=solves#top");
    expect(landed.url.origin).to.equal(origin);
    expect(landed.url.pathname + landed.url.search + landed.url.hash).to.equal("/profile?tab=solves#top");
  });
});
