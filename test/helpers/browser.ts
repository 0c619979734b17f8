import { existsSync } from "node:fs";
import { expect } from "chai";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

/** Debian's chromium (.ci/run installs it when missing); FLAGHOST_CHROMIUM points elsewhere. */
export const CHROMIUM_PATH = process.env.FLAGHOST_CHROMIUM ?? "/usr/bin/chromium";

const ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

/** How long any single wait in a browser test may take. */
export const WAIT_MS = 10_000;

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: install it (apt-get install -y --no-install-recommends chromium) or set FLAGHOST_CHROMIUM`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS, headless: true, timeout: 30_000 });
}

/**
 * A page in its own browser context (its own cookies) that records everything that would mean a broken page:
 * uncaught errors, console errors (Chromium reports CSP refusals there too), CSP violation events and
 * JavaScript dialogs (an alert would mean injected script ran; the pages never use dialogs).
 */
export class WatchedPage {
  readonly problems: string[] = [];

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    readonly baseUrl: string,
  ) {}

  static async open(browser: Browser, baseUrl: string): Promise<WatchedPage> {
    const context = await browser.newContext({ baseURL: baseUrl });
    context.setDefaultTimeout(WAIT_MS);
    context.setDefaultNavigationTimeout(WAIT_MS);
    const page = await context.newPage();
    const watched = new WatchedPage(context, page, baseUrl);
    page.on("pageerror", (error) => watched.problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") watched.problems.push(`console error: ${message.text()} (${message.location().url})`);
    });
    page.on("dialog", (dialog) => {
      watched.problems.push(`dialog (${dialog.type()}): ${dialog.message()}`);
      void dialog.dismiss().catch(() => {});
    });
    await page.exposeFunction("__flaghostCspViolation", (text: string) => watched.problems.push(`CSP violation: ${text}`));
    await page.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (event) => {
        (window as unknown as { __flaghostCspViolation(text: string): void }).__flaghostCspViolation(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
      });
    });
    return watched;
  }

  /** Uses the session of an API client (from startCtf: t.admin, t.register()) in this browser context. */
  async signInAs(client: { cookie: string | null }): Promise<void> {
    if (!client.cookie) throw new Error("the client has no session cookie");
    const [name, value] = client.cookie.split("=") as [string, string];
    await this.context.addCookies([{ name, value, url: this.baseUrl, httpOnly: true, sameSite: "Lax" }]);
  }

  goto(path: string) {
    return this.page.goto(path, { waitUntil: "load" });
  }

  /**
   * Fails the test on any recorded problem. `expected` names what the test provoked on purpose: an HTTP status
   * (Chromium logs each failed fetch as a console error, "Failed to load resource ... status of 403", which is the
   * network's report, not a script error) or a pattern for one exact problem line.
   */
  assertClean(expected: Array<number | RegExp> = []): void {
    const unexpected = this.problems.filter((problem) => {
      const failed = /Failed to load resource: the server responded with a status of (\d+)/.exec(problem);
      return !expected.some((allowed) => (typeof allowed === "number" ? failed !== null && Number(failed[1]) === allowed : allowed.test(problem)));
    });
    expect(unexpected, "page errors, console errors, CSP violations or dialogs").to.deep.equal([]);
  }

  close(): Promise<void> {
    return this.context.close();
  }
}
