import type { Context } from "koa";
import { forbidden, HttpError, notFound, unauthorized } from "../../kernel/errors.js";
import type { Ctf } from "../runtime.js";
import type { Player } from "../service.js";
import type { EventSettings } from "../settings.js";

/**
 * Who may read account pages and scores, from the event's visibility settings (CTFd's `account_visibility`
 * and `score_visibility`). Admins always may.
 */
export interface Reader {
  player: Player | null;
  admin: boolean;
}

export async function readerOf(ctx: Context, ctf: Ctf): Promise<Reader> {
  return { player: await ctf.player(ctx), admin: await ctf.isAdmin(ctx) };
}

/** Throws unless the caller may see account lists and profiles: private needs a login, admins-only hides them (404). */
export async function assertAccountsVisible(ctf: Ctf, reader: Reader): Promise<void> {
  const refused = accountsRefusal(await ctf.settings.get(), reader);
  if (refused) throw refused;
}

/** Why the caller may not see account lists and profiles, or null (the rule, without waiting for anything). */
export function accountsRefusal(settings: Pick<EventSettings, "accountVisibility">, reader: Reader): HttpError | null {
  if (reader.admin) return null;
  if (settings.accountVisibility === "admins") return notFound();
  if (settings.accountVisibility === "private" && !reader.player) return unauthorized();
  return null;
}

/** True when the caller may see scores (score, place, solves and awards of others). */
export async function scoresVisible(ctf: Ctf, reader: Reader): Promise<boolean> {
  return scoresVisibleIn(await ctf.settings.get(), reader);
}

/** scoresVisible's rule, without waiting for anything. */
export function scoresVisibleIn(settings: Pick<EventSettings, "scoreVisibility">, reader: Reader): boolean {
  if (reader.admin) return true;
  if (settings.scoreVisibility === "public") return true;
  if (settings.scoreVisibility === "private") return reader.player !== null;
  return false;
}

/** Throws like CTFd when scores are not visible: login needed (401), hidden (403), admins-only (404). */
export async function assertScoresVisible(ctf: Ctf, reader: Reader): Promise<void> {
  if (await scoresVisible(ctf, reader)) return;
  const { scoreVisibility } = await ctf.settings.get();
  if (scoreVisibility === "admins") throw notFound();
  if (scoreVisibility === "private") throw unauthorized();
  throw forbidden("Scores are currently hidden");
}

/** The caller's player record; the route was guarded by requirePlayer. */
export function playerOf(reader: Reader): Player {
  if (!reader.player) throw unauthorized();
  return reader.player;
}

/** Player team actions exist only in team mode. */
export async function assertTeamMode(ctf: Ctf): Promise<void> {
  if ((await ctf.settings.get()).mode !== "teams") throw new HttpError(403, "Teams are only available in team mode", { mode: ["Teams are only available in team mode"] });
}
