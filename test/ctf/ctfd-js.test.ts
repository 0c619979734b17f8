import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { expect } from "chai";
import type { Browser } from "playwright-core";
import { launchBrowser, WatchedPage } from "../helpers/browser.js";
import { startCtf, type Client, type TestCtf } from "../helpers/ctf.js";
import { projectRoot } from "../helpers/kernel.js";

/**
 * CTFd's own browser library (@ctfdio/ctfd-js, from npm) driving flaghost unchanged: it is loaded into a flaghost
 * page (same origin, under the page's CSP) and its page functions call flaghost's API with the session's CSRF
 * token, exactly as on a CTFd theme.
 */

const require = createRequire(import.meta.url);
const CTFD_JS_ENTRY = require.resolve("@ctfdio/ctfd-js/main.js", { paths: [projectRoot] });
const CTFD_JS_VERSION = JSON.parse(readFileSync(resolve(dirname(CTFD_JS_ENTRY), "package.json"), "utf8")).version as string;
const BUNDLE_PATH = "/__test__/ctfd.js";
const SOUNDS = ["notification.webm", "notification.mp3"];

/**
 * The package ships ES module sources only (its `dist/` build is not published), so it is bundled here the way its
 * own build script does (`esbuild main.js --bundle`). esbuild comes with tsx, which runs these tests.
 */
async function bundleCtfdJs(): Promise<string> {
  const esbuild = createRequire(require.resolve("tsx/package.json", { paths: [projectRoot] }))("esbuild") as typeof import("esbuild");
  const result = await esbuild.build({ entryPoints: [CTFD_JS_ENTRY], bundle: true, write: false, format: "iife", platform: "browser", target: "chrome110", logLevel: "silent" });
  return result.outputFiles[0]!.text;
}

/** The page-level API of ctfd-js as the tests use it (window.CTFd). */
interface CtfdWindow {
  CTFd: any;
  init: Record<string, unknown>;
}

/**
 * What a CTFd theme does once the library has loaded (runs in the page, appended to the bundle): provide the UI hooks
 * the library calls (the notification counter among them), then `CTFd.init(window.init)`. Toasts and alerts are kept
 * so a test can see live announcements arrive.
 */
function initLikeATheme(): void {
  const win = window as unknown as CtfdWindow & { shownNotifications: unknown[] };
  const events = win.CTFd._functions.events;
  for (const hook of ["eventBackground", "eventRead", "eventCount"]) events[hook] = () => {};
  const shown: unknown[] = (win.shownNotifications = []);
  events.eventToast = (data: unknown) => shown.push(data);
  events.eventAlert = (data: unknown) => shown.push(data);
  win.CTFd.init(win.init);
}

describe(`CTFd's JS client (@ctfdio/ctfd-js ${CTFD_JS_VERSION}) against flaghost`, function () {
  this.timeout(60_000);
  let browser: Browser;
  let bundle: string;
  const pages: WatchedPage[] = [];

  before(async () => {
    [browser, bundle] = await Promise.all([launchBrowser(), bundleCtfdJs()]);
  });
  after(async () => {
    await Promise.all(pages.map((p) => p.close().catch(() => {})));
    await browser?.close();
  });

  /**
   * A flaghost page signed in as `client`, with ctfd-js loaded from a same-origin URL and initialised the way
   * CTFd's themes do: `window.init` carries the CSRF nonce and user data, then `CTFd.init(window.init)`.
   */
  async function ctfdPage(t: TestCtf, client: Client): Promise<WatchedPage> {
    const w = await WatchedPage.open(browser, t.url);
    pages.push(w);
    await w.signInAs(client);
    // The bundle and the theme's init run as one script: ctfd-js starts a timer when it loads that opens its event
    // stream 500 ms later, and a theme calls init before that fires. Initialising from a later evaluate() would race
    // that timer on a loaded machine.
    const bundleWithInit = `${bundle}\n;(${initLikeATheme.toString()})();`;
    await w.page.route(`${t.url}${BUNDLE_PATH}`, (route) => route.fulfill({ status: 200, contentType: "text/javascript; charset=utf-8", body: bundleWithInit }));
    // The notification sounds ship with the package; a CTFd theme serves them from its own static folder.
    for (const sound of SOUNDS) {
      await w.page.route(`${t.url}/__test__/${sound}`, (route) => route.fulfill({ status: 200, path: resolve(dirname(CTFD_JS_ENTRY), "assets/sounds", sound) }));
    }
    await w.goto("/challenges");
    await w.page.evaluate(async () => {
      const win = window as unknown as CtfdWindow;
      const session = (await (await fetch("/api/v1/auth/session")).json()).data;
      win.init = {
        urlRoot: "",
        csrfNonce: session.csrfToken,
        userMode: session.event.mode,
        userId: session.user.id,
        userName: session.user.name,
        teamId: session.user.team_id,
        start: null,
        end: null,
        eventSounds: ["/__test__/notification.webm", "/__test__/notification.mp3"],
      };
    });
    await w.page.addScriptTag({ url: BUNDLE_PATH });
    return w;
  }

  describe("user mode", () => {
    let t: TestCtf;
    let challengeId: number;
    let hintId: number;
    before(async () => {
      t = await startCtf();
      challengeId = await t.challenge({ name: "ctfd-js target", category: "web", value: 300, description: "Solve me through ctfd-js." }, "flag{ctfd-js}");
      const hint = await t.admin.post("/api/v1/hints", { challenge_id: challengeId, title: "free", content: "look closer", cost: 0 });
      hintId = hint.body.data.id;
    });
    after(() => t?.stop());

    it("lists challenges, opens one, submits wrong then right flags, and reads the player's solves, fails and profile", async () => {
      const player = await t.register("ctfdjs-player");
      const w = await ctfdPage(t, player);
      const results = await w.page.evaluate(
        async ({ id }) => {
          const { CTFd } = window as unknown as CtfdWindow;
          const list = await CTFd.pages.challenges.getChallenges();
          const one = await CTFd.pages.challenges.getChallenge(id);
          const wrong = await CTFd.pages.challenge.submitChallenge(id, "flag{nope}");
          const right = await CTFd.pages.challenge.submitChallenge(id, "flag{ctfd-js}");
          const again = await CTFd.pages.challenge.submitChallenge(id, "flag{ctfd-js}");
          const solvers = await CTFd.pages.challenge.loadSolves(id);
          const solves = await CTFd.pages.users.userSolves("me");
          const fails = await CTFd.pages.users.userFails("me");
          const awards = await CTFd.pages.users.userAwards("me");
          const me = await (await CTFd.fetch("/api/v1/users/me", { method: "GET" })).json();
          return { list, one, wrong, right, again, solvers, solves, fails, awards, me };
        },
        { id: challengeId },
      );
      const listed = results.list.find((c: { id: number }) => c.id === challengeId);
      expect(listed).to.include({ name: "ctfd-js target", category: "web", value: 300, solved_by_me: false, type: "standard" });
      expect(results.one).to.include({ id: challengeId, description: "Solve me through ctfd-js." });
      expect(results.one.hints).to.deep.equal([{ id: hintId, cost: 0, title: "free" }]);
      expect(results.wrong).to.deep.equal({ success: true, data: { status: "incorrect", message: "Incorrect" } });
      expect(results.right).to.deep.equal({ success: true, data: { status: "correct", message: "Correct" } });
      expect(results.again.data.status).to.equal("already_solved");
      expect(results.solvers.map((s: { name: string }) => s.name)).to.deep.equal(["ctfdjs-player"]);
      expect(results.solves.data.map((s: { challenge_id: number }) => s.challenge_id)).to.deep.equal([challengeId]);
      expect(results.solves.meta.count).to.equal(1);
      expect(results.fails.meta.count).to.equal(1);
      expect(results.awards.success).to.equal(true);
      expect(results.me.data).to.include({ name: "ctfdjs-player", score: 300, place: "1st" });
      w.assertClean();
    });

    it("shows an admin announcement live, through the library's /events stream", async () => {
      const player = await t.register();
      const w = await ctfdPage(t, player);
      // The library listens once its tab has become the "master" tab (it elects one through localStorage).
      // It attaches its listener when the tab wins that election (about half a second after loading).
      await w.page.waitForFunction(() => (window as any).CTFd.events.controller.isMaster && (window as any).CTFd.events.source?.readyState === 1, null, { timeout: 15_000 });
      const posted = await t.admin.post("/api/v1/notifications", { title: "Live", content: "announced live", type: "toast", sound: false });
      expect(posted.status).to.equal(200);
      await w.page.waitForFunction(() => (window as any).shownNotifications.length > 0, null, { timeout: 15_000 });
      const shown = await w.page.evaluate(() => (window as any).shownNotifications);
      expect(shown).to.have.length(1);
      expect(shown[0]).to.include({ id: posted.body.data.id, title: "Live", content: "announced live", type: "toast" });
      w.assertClean();
    });

    it("unlocks and displays a hint through the library's hint flow", async () => {
      const player = await t.register("ctfdjs-hints");
      const w = await ctfdPage(t, player);
      const shown = await w.page.evaluate(async (id) => {
        const { CTFd } = window as unknown as CtfdWindow;
        // A theme replaces the library's confirm()/alert() defaults with its own UI; so does this test.
        let displayed: unknown = null;
        CTFd._functions.challenge.displayHintUnlock = () => true;
        CTFd._functions.challenge.displayHint = (hint: unknown) => (displayed = hint);
        CTFd._functions.challenge.displayUnlockError = (unlock: unknown) => (displayed = { error: unlock });
        await CTFd.pages.challenge.displayHint(id);
        const again = await CTFd.pages.challenge.loadUnlock(id);
        return { displayed, again };
      }, hintId);
      expect(shown.displayed).to.include({ id: hintId, content: "look closer" });
      // A second unlock is refused in CTFd's shape, which the library shows through displayUnlockError.
      expect(shown.again.success).to.equal(false);
      expect(shown.again.errors).to.have.property("target");
      w.assertClean([400]);
    });

    it("updates the profile and creates and deletes an API token through the settings functions", async () => {
      const player = await t.register("ctfdjs-settings");
      const w = await ctfdPage(t, player);
      const results = await w.page.evaluate(async () => {
        const { CTFd } = window as unknown as CtfdWindow;
        const updated = await CTFd.pages.settings.updateSettings({ affiliation: "ctfd-js university", website: "https://example.test" });
        const token = await CTFd.pages.settings.generateToken({ description: "from ctfd-js", expiration: "2099-01-01" });
        const removed = await CTFd.pages.settings.deleteToken(token.data.id);
        return { updated, token, removed };
      });
      expect(results.updated.success).to.equal(true);
      expect(results.updated.data).to.include({ affiliation: "ctfd-js university", website: "https://example.test" });
      expect(results.token.data.value).to.match(/^ctfd_[0-9a-f]{64}$/);
      expect(results.token.data).to.include({ description: "from ctfd-js" });
      expect(results.token.data.expiration).to.match(/^2099-01-01T00:00:00/);
      expect(results.removed.success).to.equal(true);
      expect((await player.get("/api/v1/users/me")).body.data.affiliation).to.equal("ctfd-js university");
      w.assertClean();
    });
  });

  describe("team mode", () => {
    let t: TestCtf;
    let challengeId: number;
    before(async () => {
      t = await startCtf({ mode: "teams" });
      challengeId = await t.challenge({ name: "team target", value: 200 }, "flag{team}");
    });
    after(() => t?.stop());

    it("solves as a team and uses the team functions (invite code, settings, solves)", async () => {
      const captain = await t.register("ctfdjs-captain");
      expect((await captain.post("/api/v1/teams/new", { name: "ctfdjs-team", password: "team-password" })).status).to.equal(200);
      const w = await ctfdPage(t, captain);
      const results = await w.page.evaluate(async (id) => {
        const { CTFd } = window as unknown as CtfdWindow;
        const right = await CTFd.pages.challenge.submitChallenge(id, "flag{team}");
        const invite = await CTFd.pages.teams.getInviteToken();
        const settings = await CTFd.pages.teams.updateTeamSettings({ affiliation: "ctfd-js club" });
        const solves = await CTFd.pages.teams.teamSolves("me");
        const fails = await CTFd.pages.teams.teamFails("me");
        const awards = await CTFd.pages.teams.teamAwards("me");
        return { right, invite, settings, solves, fails, awards, userMode: CTFd.config.userMode };
      }, challengeId);
      expect(results.userMode).to.equal("teams");
      expect(results.right.data.status).to.equal("correct");
      expect(results.invite.data.code).to.be.a("string").and.not.equal("");
      expect(results.settings.data).to.include({ name: "ctfdjs-team", affiliation: "ctfd-js club" });
      expect(results.solves.data.map((s: { challenge_id: number }) => s.challenge_id)).to.deep.equal([challengeId]);
      expect(results.fails.meta.count).to.equal(0);
      expect(results.awards.success).to.equal(true);
      w.assertClean();
    });
  });
});
