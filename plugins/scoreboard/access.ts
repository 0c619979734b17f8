import type { IncomingHttpHeaders } from "node:http";
import type { Actor } from "../../core/kernel/auth.js";
import type { ScoringSettings } from "../../core/ctf/service.js";

/** Who is asking, as far as the scoreboard cares. */
export interface Viewer {
  loggedIn: boolean;
  admin: boolean;
}

export const ANONYMOUS: Viewer = { loggedIn: false, admin: false };

/**
 * Whether a viewer may see the board (CTFd's score and account visibility): `public` for everyone, `private`
 * for logged-in accounts, `hidden` for admins only (403 for others), `admins` as if it did not exist (404).
 * Returns the refusal, or null when the board may be shown. Admins always see it.
 */
export function refusal(settings: ScoringSettings, viewer: Viewer): { status: 403 | 404; message: string } | null {
  if (viewer.admin) return null;
  if (settings.scoreVisibility === "admins" || settings.accountVisibility === "admins") return { status: 404, message: "Not found" };
  if (settings.scoreVisibility === "hidden") return { status: 403, message: "Scores are currently hidden" };
  if ((settings.scoreVisibility === "private" || settings.accountVisibility === "private") && !viewer.loggedIn) {
    return { status: 403, message: "You must be logged in to see the scoreboard" };
  }
  return null;
}

/** True when a request carries credentials worth resolving (a cookie or an Authorization header). */
export function hasCredentials(headers: IncomingHttpHeaders): boolean {
  return headers.cookie !== undefined || headers.authorization !== undefined;
}

export function viewerOf(actor: Actor | null): Viewer {
  return actor ? { loggedIn: true, admin: actor.admin } : ANONYMOUS;
}
