import { expect } from "chai";
import type { Browser } from "playwright-core";
import { launchBrowser, WatchedPage } from "../helpers/browser.js";
import { ADMIN_PASSWORD, Client, CTF_PLUGIN } from "../helpers/ctf.js";
import { startTestKernel, TEST_ADMIN_TOKEN, type TestKernel } from "../helpers/kernel.js";

/**
 * Issue 11, hole 8: with FLAGHOST_ADMIN_TOKEN set, first-time setup needs it (`Authorization: Token <value>`), in
 * the API and on the /setup page. Without one, setup stays first-come (as in CTFd) and start-up warns with its URL.
 */
describe("first-time setup and the bootstrap token", function () {
  this.timeout(120_000);
  const body = { ctf_name: "Guarded CTF", user_mode: "users", name: "root", email: "root@example.test", password: ADMIN_PASSWORD };
  const setupDone = async (t: TestKernel) => (await new Client(t.url).get("/api/v1/auth/session")).body.data.event.setup_done as boolean;

  describe("with FLAGHOST_ADMIN_TOKEN set", () => {
    let t: TestKernel;
    let browser: Browser;
    before(async () => {
      t = await startTestKernel({ plugins: [CTF_PLUGIN] });
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
      await t?.stop();
    });

    it("refuses setup without the token, or with a wrong one, naming the token (401)", async () => {
      const attempts: Array<Record<string, string>> = [{}, { authorization: "Token wrong-token-0123456789abcdef" }];
      for (const headers of attempts) {
        const res = await new Client(t.url).request("POST", "/api/v1/setup", body, headers);
        expect(res.status, JSON.stringify(res.body)).to.equal(401);
        expect(res.body.errors).to.have.property("token");
        expect(JSON.stringify(res.body)).not.to.contain(TEST_ADMIN_TOKEN);
      }
      expect(await setupDone(t)).to.equal(false);
      expect(t.logs.some((line) => /setup/i.test(line.msg) && line.level === 40), "no open-setup warning with a token set").to.equal(false);
    });

    it("the /setup page asks for the token: a wrong one is refused, the right one finishes setup", async () => {
      const watched = await WatchedPage.open(browser, t.url);
      try {
        const { page } = watched;
        await watched.goto("/setup");
        await page.getByLabel("Event name").fill("Guarded CTF");
        await page.getByLabel("Admin name").fill("root");
        await page.getByLabel("Admin email").fill("root@example.test");
        await page.getByLabel("Admin password").fill(ADMIN_PASSWORD);
        await page.getByLabel("Setup token").fill("wrong-token-0123456789abcdef");
        await page.getByRole("button", { name: "Finish setup" }).click();
        await page.locator("#setup-token-error").filter({ hasText: /token/i }).waitFor();
        expect(await setupDone(t)).to.equal(false);

        await page.getByLabel("Setup token").fill(TEST_ADMIN_TOKEN);
        await page.getByRole("button", { name: "Finish setup" }).click();
        await page.waitForURL("**/admin");
        expect(await setupDone(t)).to.equal(true);
        watched.assertClean([401]);
      } finally {
        await watched.close();
      }
    });
  });

  describe("without FLAGHOST_ADMIN_TOKEN", () => {
    let t: TestKernel;
    before(async () => {
      t = await startTestKernel({ plugins: [CTF_PLUGIN], config: { adminToken: undefined } });
    });
    after(() => t?.stop());

    it("warns at start with the URL that finishes setup", () => {
      const warning = t.logs.find((line) => line.level === 40 && typeof line.setupUrl === "string");
      expect(warning, "a start-up warning with setupUrl").to.not.equal(undefined);
      expect(warning!.setupUrl).to.equal(`${t.url}/setup`);
    });

    it("lets whoever comes first set up the event, as CTFd does", async () => {
      const first = new Client(t.url);
      expect(first.adopt(await first.post("/api/v1/setup", body)).status).to.equal(200);
      expect(await setupDone(t)).to.equal(true);
    });
  });
});
