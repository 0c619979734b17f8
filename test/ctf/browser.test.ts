import { expect } from "chai";
import type { Browser, Page } from "playwright-core";
import { ADMIN_PASSWORD, Client, CTF_PLUGIN, startCtf, type TestCtf } from "../helpers/ctf.js";
import { launchBrowser, WAIT_MS, WatchedPage } from "../helpers/browser.js";
import { fixturePlugin, startTestKernel, TEST_ADMIN_TOKEN, type TestKernel } from "../helpers/kernel.js";

/** The tile of a challenge on the board, by its name. */
const tile = (page: Page, name: string) => page.locator("button.tile", { has: page.locator(".tile-name", { hasText: name }) });

async function register(page: Page, name: string, landing = "**/challenges"): Promise<void> {
  await page.goto("/register");
  await page.getByLabel("User name").fill(name);
  await page.getByLabel("Email").fill(`${name.replace(/[^a-z0-9]/gi, "") || "user"}${Date.now()}@example.test`);
  await page.getByLabel("Password", { exact: true }).fill("player-password-1");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(landing);
}

/** Opens a challenge, submits a flag and waits for the result message. */
async function submitFlag(page: Page, flag: string): Promise<string> {
  const result = page.locator("#attempt-result");
  await result.evaluate((node) => (node.textContent = ""));
  await page.getByLabel("Flag", { exact: true }).fill(flag);
  await page.locator("#attempt-form").getByRole("button", { name: "Submit" }).click();
  await page.waitForFunction(() => (document.getElementById("attempt-result")?.textContent ?? "").trim() !== "", undefined, { timeout: WAIT_MS });
  return (await result.textContent())!.trim();
}

describe("core/ctf pages in a browser (Chromium)", function () {
  this.timeout(60_000);
  let browser: Browser;
  const pages: WatchedPage[] = [];
  const open = async (url: string) => {
    const watched = await WatchedPage.open(browser, url);
    pages.push(watched);
    return watched;
  };

  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await Promise.all(pages.map((p) => p.close().catch(() => {})));
    await browser?.close();
  });

  describe("a player on a running event", () => {
    let t: TestCtf;
    let warmup: number;
    before(async () => {
      t = await startCtf({ plugins: [fixturePlugin("beta")] });
      warmup = await t.challenge({ name: "Warmup", category: "misc", value: 100, description: "Say the magic word.", connection_info: "nc warmup.example 1337" }, "flag{right}");
      await t.challenge({ name: "Second", category: "crypto", value: 250, description: "Another one." }, "flag{second}");
      const hint = await t.admin.post("/api/v1/hints", { challenge_id: warmup, title: "Free nudge", content: "The word is please.", cost: 0 });
      expect(hint.status).to.equal(200);
    });
    after(() => t?.stop());

    it("registers, sees the board by category, gets a wrong flag refused and a right one marked solved without a reload", async () => {
      const w = await open(t.url);
      const { page } = w;
      await register(page, "browser-player");
      expect(await page.locator("header .who").textContent()).to.contain("browser-player");
      await page.getByRole("heading", { name: "misc" }).waitFor();
      await page.getByRole("heading", { name: "crypto" }).waitFor();
      expect(await tile(page, "Warmup").getAttribute("data-solved")).to.equal("false");

      // A marker on window survives only if the page is never reloaded.
      await page.evaluate(() => ((window as unknown as { stillHere: boolean }).stillHere = true));
      await tile(page, "Warmup").click();
      const dialog = page.getByRole("dialog");
      await dialog.getByRole("heading", { name: "Warmup" }).waitFor();
      expect(await dialog.locator("#challenge-description").textContent()).to.equal("Say the magic word.");
      expect(await dialog.locator("#challenge-connection code").textContent()).to.equal("nc warmup.example 1337");

      // The result is announced to screen readers.
      expect(await page.locator("#attempt-result").getAttribute("aria-live")).to.equal("polite");
      expect(await submitFlag(page, "flag{wrong}")).to.equal("Incorrect");
      expect(await tile(page, "Warmup").getAttribute("data-solved")).to.equal("false");
      expect(await submitFlag(page, "flag{right}")).to.equal("Correct");
      expect(await dialog.locator("#challenge-solved").isVisible()).to.equal(true);
      await dialog.getByRole("button", { name: "Close" }).click();
      expect(await tile(page, "Warmup").getAttribute("data-solved")).to.equal("true");
      expect(await tile(page, "Warmup").textContent()).to.contain("Solved").and.contain("1 solve");
      expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).to.equal(true);

      // The server agrees: the solve was recorded.
      const board = await t.admin.get("/api/v1/challenges");
      expect(board.body.data.find((c: { id: number }) => c.id === warmup).solves).to.equal(1);
      w.assertClean();
    });

    it("unlocks a hint and shows its content", async () => {
      const w = await open(t.url);
      const { page } = w;
      await register(page, "hint-reader");
      await tile(page, "Warmup").click();
      const hints = page.locator("#challenge-hints");
      await hints.getByText("Free nudge").waitFor();
      await hints.getByRole("button", { name: "Show hint" }).click();
      await hints.getByText("The word is please.").waitFor();
      w.assertClean();
    });

    it("shows a visible message, not a script error, when the event has not started", async () => {
      const player = await t.register();
      const later = Math.floor(Date.now() / 1000) + 3600;
      expect((await t.admin.patch("/api/v1/configs", { start: later })).status).to.equal(200);
      try {
        const w = await open(t.url);
        await w.signInAs(player);
        await w.goto("/challenges");
        const status = w.page.locator("#board-status.is-error");
        await status.waitFor();
        expect(await status.textContent()).to.contain("has not started yet");
        w.assertClean([403]);
      } finally {
        await t.admin.patch("/api/v1/configs", { start: null });
      }
    });

    it("on a public board, tells an anonymous visitor to log in to submit, with a link back", async () => {
      expect((await t.admin.patch("/api/v1/configs", { challenge_visibility: "public" })).status).to.equal(200);
      try {
        const w = await open(t.url);
        const { page } = w;
        await w.goto("/challenges");
        await tile(page, "Second").click();
        await page.getByRole("dialog").getByRole("heading", { name: "Second" }).waitFor();
        expect(await submitFlag(page, "flag{second}")).to.match(/log in/i);
        const link = page.locator("#attempt-result a");
        expect(await link.getAttribute("href")).to.equal("/login?next=%2Fchallenges");
        await link.click();
        await page.waitForURL("**/login?next=%2Fchallenges");
        w.assertClean([401, 403]); // CTFd answers an anonymous attempt 403 authentication_required
      } finally {
        await t.admin.patch("/api/v1/configs", { challenge_visibility: "private" });
      }
    });

    it("logs in with a wrong password (error next to the field), then the right one, and returns to the page asked for", async () => {
      await t.register("returning-player", "returning-pass-1");
      const w = await open(t.url);
      const { page } = w;
      await w.goto("/profile");
      await page.waitForURL("**/login?next=%2Fprofile");
      await page.getByLabel("Name or email").fill("returning-player");
      await page.getByLabel("Password").fill("not-the-password");
      await page.getByRole("button", { name: "Log in" }).click();
      const error = page.locator("#login-password-error");
      await page.waitForFunction(() => (document.getElementById("login-password-error")?.textContent ?? "") !== "");
      expect(await error.textContent()).to.contain("incorrect");
      expect(await page.getByLabel("Password").getAttribute("aria-invalid")).to.equal("true");
      await page.getByLabel("Password").fill("returning-pass-1");
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForURL("**/profile");
      await page.waitForFunction(() => (document.getElementById("profile-form") as HTMLFormElement).elements.namedItem("name") && ((document.getElementById("profile-form") as HTMLFormElement).elements.namedItem("name") as HTMLInputElement).value !== "");
      expect(await page.getByLabel("User name").inputValue()).to.equal("returning-player");

      // Profile: change the affiliation, then make an API token and use it.
      await page.getByLabel("Affiliation").fill("Uni X");
      await page.getByRole("button", { name: "Save changes" }).click();
      await page.locator("#profile-form [data-form-status]", { hasText: "Saved" }).waitFor();
      await page.getByLabel("Description").fill("cli");
      await page.getByRole("button", { name: "Create token" }).click();
      await page.locator("#token-created").waitFor();
      const token = (await page.locator("#token-value").textContent())!;
      expect(token).to.match(/^ctfd_[0-9a-f]{64}$/);
      const api = new Client(t.url);
      api.apiToken = token;
      const me = await api.get("/api/v1/users/me");
      expect(me.body.data).to.include({ name: "returning-player", affiliation: "Uni X" });

      // Log out from the header.
      await page.getByRole("button", { name: "Log out" }).click();
      await page.waitForURL(`${t.url}/`);
      await page.getByRole("link", { name: "Log in" }).first().waitFor();
      w.assertClean([403]);
    });

    it("lets an admin ban a player on the accounts page", async () => {
      const victim = await t.register("to-be-banned");
      const w = await open(t.url);
      await w.signInAs(t.admin);
      await w.goto("/admin/accounts");
      const ban = w.page.getByRole("button", { name: "Banned: to-be-banned" });
      await ban.waitFor();
      expect(await ban.getAttribute("aria-pressed")).to.equal("false");
      await ban.click();
      await w.page.waitForFunction(() => document.querySelector('[aria-label="Banned: to-be-banned"]')?.getAttribute("aria-pressed") === "true");
      // The ban ended the player's session; logging in again is refused as banned.
      expect((await victim.get("/api/v1/users/me")).status).to.equal(401);
      expect((await t.anonymous().post("/api/v1/auth/login", { name: "to-be-banned", password: "player-password-1" })).status).to.equal(403);
      w.assertClean();
    });

    it("edits a challenge and adds a regex flag and a hint on the admin page; players see the change", async () => {
      const id = await t.challenge({ name: "Editable", category: "edit", value: 50, description: "before" }, "flag{old}");
      const w = await open(t.url);
      const { page } = w;
      await w.signInAs(t.admin);
      await w.goto("/admin/challenges");
      await page.getByRole("button", { name: "Edit Editable" }).click();
      await page.getByRole("heading", { name: "Edit: Editable" }).waitFor();
      await page.getByLabel("Points", { exact: true }).fill("75");
      await page.getByLabel("Description").fill("after");
      await page.getByRole("button", { name: "Save challenge" }).click();
      await page.locator("#challenges-status", { hasText: "Saved" }).waitFor();
      await page.locator("#flag-list code", { hasText: "flag{old}" }).waitFor();
      await page.locator("#flag-content").fill("^flag\\{new-[0-9]+\\}$");
      await page.locator("#flag-type").selectOption("regex");
      await page.getByRole("button", { name: "Add flag" }).click();
      await page.locator("#flag-list li", { hasText: "regex" }).waitFor();
      await page.getByLabel("Title").fill("Look at the numbers");
      await page.getByLabel("Hint", { exact: true }).fill("They are digits.");
      await page.getByLabel("Cost in points").fill("10");
      await page.getByRole("button", { name: "Add hint" }).click();
      await page.locator("#hint-list li", { hasText: "Look at the numbers" }).waitFor();

      const player = await t.register();
      const view = await player.get(`/api/v1/challenges/${id}`);
      expect(view.body.data).to.include({ value: 75, description: "after" });
      expect(view.body.data.hints).to.deep.equal([{ id: view.body.data.hints[0].id, cost: 10, title: "Look at the numbers" }]);
      const attempt = await player.post("/api/v1/challenges/attempt", { challenge_id: id, submission: "flag{new-42}" });
      expect(attempt.body.data.status).to.equal("correct");
      w.assertClean();
    });

    it("changes event settings: dates from datetime-local become epoch seconds", async () => {
      const w = await open(t.url);
      await w.signInAs(t.admin);
      await w.goto("/admin/settings");
      const { page } = w;
      await page.waitForFunction(() => ((document.getElementById("settings-name") as HTMLInputElement)?.value ?? "") !== "");
      await page.getByLabel("Event name").fill("Renamed in browser");
      await page.getByLabel("Scoreboard freezes").fill("2031-05-06T07:08");
      await page.getByRole("button", { name: "Save settings" }).click();
      await page.locator("#settings-form [data-form-status]", { hasText: "saved" }).waitFor();
      const expected = await page.evaluate(() => Math.floor(new Date("2031-05-06T07:08").getTime() / 1000));
      const configs = await t.admin.get("/api/v1/configs");
      expect(configs.body.data).to.include({ name: "Renamed in browser", freeze: expected });
      await t.admin.patch("/api/v1/configs", { name: "Test CTF", freeze: null });
      w.assertClean();
    });

    it("lists plugins and jobs and runs a job on request", async () => {
      const w = await open(t.url);
      await w.signInAs(t.admin);
      await w.goto("/admin/plugins");
      const { page } = w;
      await page.locator('#plugin-table tr[data-plugin-id="beta"]', { hasText: "started" }).waitFor();
      const row = page.locator('#job-table tr[data-job-id="beta.hourly"]');
      await row.getByRole("button", { name: "Run beta.hourly now" }).click();
      await page.locator("#plugins-status", { hasText: "beta.hourly: succeeded." }).waitFor();
      expect(await row.textContent()).to.contain("succeeded");
      w.assertClean();
    });

    it("answers admin pages with a login redirect for anonymous visitors and a 403 page for players; unknown pages with a 404 page", async () => {
      for (const path of ["/admin", "/admin/challenges", "/admin/accounts", "/admin/settings", "/admin/plugins"]) {
        const anonymous = await t.anonymous().get(path);
        expect(anonymous.status, path).to.equal(302);
        expect(anonymous.headers.get("location")).to.equal(`/login?next=${encodeURIComponent(path)}`);
        const player = await (await t.register()).get(path);
        expect(player.status, path).to.equal(403);
        expect(player.headers.get("content-type")).to.match(/^text\/html/);
        expect(player.body).to.contain("<h1>Forbidden</h1>");
      }
      const setup = await t.anonymous().get("/setup");
      expect(setup.status).to.equal(302);
      expect(setup.headers.get("location")).to.equal("/");
      // Unknown pages: an HTML 404 for browsers, the JSON one for API clients.
      const page404 = await t.anonymous().request("GET", "/no/such/page", undefined, { accept: "text/html,*/*;q=0.8" });
      expect(page404.status).to.equal(404);
      expect(page404.body).to.contain("<h1>Page not found</h1>");
      const json404 = await t.anonymous().get("/no/such/page");
      expect(json404.status).to.equal(404);
      expect(json404.body.success).to.equal(false);
    });

    it("shows user-written text as text: a user named like an img tag and a challenge with a script description", async () => {
      const nasty = "<img src=x onerror=alert(1)>";
      expect((await t.admin.patch("/api/v1/configs", { name: "<em>Event</em>" })).status).to.equal(200);
      await t.challenge({ name: "<b>bold</b>", category: "<i>cat</i>", description: "<script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\">" }, "flag{x}");
      const w = await open(t.url);
      const { page } = w;
      await register(page, nasty);
      expect(await page.locator("header .who strong").textContent()).to.equal(nasty);
      expect(await page.locator("header .brand").textContent()).to.equal("<em>Event</em>");
      expect(await page.title()).to.equal("Challenges · <em>Event</em>");
      expect(await page.locator("header em").count()).to.equal(0);
      await t.admin.patch("/api/v1/configs", { name: "Test CTF" });
      await page.getByRole("heading", { name: "<i>cat</i>" }).waitFor();
      await tile(page, "<b>bold</b>").click();
      const description = page.locator("#challenge-description");
      await page.getByRole("dialog").getByRole("heading", { name: "<b>bold</b>" }).waitFor();
      expect(await description.textContent()).to.equal("<script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\">");
      expect(await page.locator("main img, header img, main script, main b, main i").count()).to.equal(0);
      await w.goto("/profile");
      await page.waitForFunction(() => ((document.getElementById("profile-name") as HTMLInputElement)?.value ?? "") !== "");
      expect(await page.getByLabel("User name").inputValue()).to.equal(nasty);
      expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).to.equal(undefined);

      // The admin's account list shows the name as text as well.
      const admin = await open(t.url);
      await admin.signInAs(t.admin);
      await admin.goto("/admin/accounts");
      await admin.page.getByRole("cell", { name: nasty, exact: true }).waitFor();
      expect(await admin.page.locator("main img").count()).to.equal(0);
      await admin.goto("/admin/challenges");
      await admin.page.getByRole("cell", { name: "<b>bold</b>", exact: true }).waitFor();
      expect(await admin.page.locator("main b").count()).to.equal(0);
      w.assertClean();
      admin.assertClean();
    });
  });

  describe("team mode", () => {
    let t: TestCtf;
    before(async () => {
      t = await startCtf({ mode: "teams" });
      await t.challenge({ name: "Team warmup", category: "misc", value: 100 }, "flag{team}");
    });
    after(() => t?.stop());

    it("sends a new player to the team page, creates a team, and lets a teammate join after a wrong password", async () => {
      const captain = await open(t.url);
      await register(captain.page, "captain-one", "**/team");
      await captain.page.locator("#team-create-name").fill("Flag Finders");
      await captain.page.locator("#team-create-password").fill("team-secret-1");
      await captain.page.getByRole("button", { name: "Create team" }).click();
      await captain.page.waitForURL("**/challenges");
      await tile(captain.page, "Team warmup").waitFor();

      const mate = await open(t.url);
      await mate.signInAs(await t.register("mate-two"));
      await mate.goto("/challenges");
      await mate.page.waitForURL("**/team?next=%2Fchallenges");
      await mate.page.locator("#team-join-name").fill("Flag Finders");
      await mate.page.locator("#team-join-password").fill("wrong-password");
      await mate.page.getByRole("button", { name: "Join team" }).click();
      await mate.page.locator("#team-join-password-error", { hasText: "incorrect" }).waitFor();
      await mate.page.locator("#team-join-password").fill("team-secret-1");
      await mate.page.getByRole("button", { name: "Join team" }).click();
      await mate.page.waitForURL("**/challenges");
      await tile(mate.page, "Team warmup").click();
      expect(await submitFlag(mate.page, "flag{team}")).to.equal("Correct");

      // The captain's team page lists both members by name.
      await captain.goto("/team");
      await captain.page.getByRole("heading", { name: "Flag Finders" }).waitFor();
      await captain.page.locator("#team-members li", { hasText: "mate-two" }).waitFor();
      expect(await captain.page.locator("#team-members").textContent()).to.contain("captain-one (captain)");
      captain.assertClean();
      mate.assertClean([403]);
    });
  });

  describe("the first run: setup, a challenge and its first solve, all in the browser", () => {
    let k: TestKernel;
    before(async () => {
      k = await startTestKernel({ plugins: [CTF_PLUGIN] });
    });
    after(() => k?.stop());

    it("sets up the event, creates a challenge with a flag as admin, logs out, registers a player who solves it", async () => {
      const w = await open(k.url);
      const { page } = w;
      await w.goto("/");
      await page.waitForURL("**/setup");
      await page.getByLabel("Event name").fill("Story CTF");
      await page.getByLabel("Players compete").selectOption("users");
      await page.getByLabel("Admin name").fill("root");
      await page.getByLabel("Admin email").fill("root@example.test");
      await page.getByLabel("Admin password").fill(ADMIN_PASSWORD);
      await page.getByLabel("Setup token").fill(TEST_ADMIN_TOKEN);
      await page.getByRole("button", { name: "Finish setup" }).click();
      await page.waitForURL("**/admin");
      expect(await page.locator("header .brand").textContent()).to.equal("Story CTF");

      await page.locator(".subnav").getByRole("link", { name: "Challenges" }).click();
      await page.waitForURL("**/admin/challenges");
      await page.getByLabel("Name", { exact: true }).fill("First blood");
      await page.getByLabel("Category").fill("web");
      await page.getByLabel("Points", { exact: true }).fill("150");
      await page.getByLabel("Description").fill("Find the flag in the cookie jar.");
      await page.locator("#challenge-flag").fill("flag{story}");
      await page.getByRole("button", { name: "Create challenge" }).click();
      await page.getByRole("cell", { name: "First blood", exact: true }).waitFor();
      await page.locator("#flag-list code", { hasText: "flag{story}" }).waitFor();

      await page.getByRole("button", { name: "Log out" }).click();
      await page.waitForURL(`${k.url}/`);
      await page.getByRole("link", { name: "Register" }).first().click();
      await page.waitForURL("**/register");
      await page.getByLabel("User name").fill("first-player");
      await page.getByLabel("Email").fill("first@example.test");
      await page.getByLabel("Password", { exact: true }).fill("first-player-pass");
      await page.getByRole("button", { name: "Create account" }).click();
      await page.waitForURL("**/challenges");

      await tile(page, "First blood").click();
      await page.getByRole("dialog").getByRole("heading", { name: "First blood" }).waitFor();
      expect(await submitFlag(page, "flag{story}")).to.equal("Correct");
      expect(await tile(page, "First blood").getAttribute("data-solved")).to.equal("true");
      w.assertClean();
    });
  });
});
