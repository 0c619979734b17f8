import type { Context } from "koa";
import { forbidden, HttpError, notFound, unauthorized } from "../../kernel/errors.js";
import type { Ctf } from "../runtime.js";
import type { Player } from "../service.js";
import { eventPhase } from "../settings.js";
import type { CachedChallenge } from "./challenge-cache.js";

export interface BoardAccess {
  player: Player | null;
  admin: boolean;
}

/** Who may look at the board: players of a running (or ended) event, anyone when it is public, admins always. */
export async function boardAccess(ctf: Ctf, ctx: Context): Promise<BoardAccess> {
  const [player, admin, settings] = await Promise.all([ctf.player(ctx), ctf.isAdmin(ctx), ctf.settings.get()]);
  if (admin) return { player, admin };
  if (!player && settings.challengeVisibility === "private") throw unauthorized("You must be logged in to see the challenges");
  if (eventPhase(settings) === "not-started") throw new HttpError(403, `${settings.name} has not started yet`);
  if (player && settings.mode === "teams" && player.teamId === null) throw new HttpError(403, "You must join or create a team first");
  return { player, admin };
}

/** A challenge a non-admin may not open yet (prerequisites unmet): left out of lists, 403 on its own. */
export const prerequisitesMet = (challenge: CachedChallenge, solved: ReadonlySet<number>) => challenge.prerequisites.every((p) => solved.has(p));

/**
 * What belongs to a challenge (its hints) is open to whoever may open the challenge: 404 when it is unknown or not
 * visible to a non-admin, 403 while its prerequisites are unmet (anonymized or not: the stub shows no hints).
 */
export async function assertChallengeOpen(ctf: Ctf, access: BoardAccess, challenge: CachedChallenge | undefined, missing: string): Promise<CachedChallenge> {
  if (!challenge || (!access.admin && challenge.state !== "visible")) throw notFound(missing);
  if (!access.admin && !prerequisitesMet(challenge, ctf.solves.solvedBy(access.player))) throw forbidden("You have not solved the prerequisites of this challenge");
  return challenge;
}
