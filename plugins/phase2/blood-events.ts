import type { AccountUpdated, ChallengeUpdated, CtfReadService, GameService, SolveCreated } from "../../core/ctf/service.js";
import type { PluginEvents } from "../../core/kernel/plugin-host/api.js";
import type { Logger } from "../../core/kernel/log.js";
import "../scoreboard/service.js"; // the scoreboard.announce event type (a no-op without the scoreboard)
import type { Blood, Bloods } from "./bloods.js";

const PLACE = { 1: "First", 2: "Second", 3: "Third" } as const;
/** Account changes that can add or remove a solve from the bloods. */
const MOVES_BLOODS = new Set<AccountUpdated["changes"][number]>(["hidden", "banned", "deleted", "team", "solves", "name"]);

/**
 * Keeps the bloods right as the game changes and announces new ones. Handlers that write act only on the
 * instance that emitted the event (meta.local); announcements reach every instance through the broadcast.
 */
/**
 * Recomputes the challenges among `challengeIds` that have fewer than three bloods and announces what is new: the
 * analytics job's repair for a solve whose handler skipped it in a race between instances (or failed).
 */
export async function reconcileBloods(deps: { events: PluginEvents; game: GameService }, bloods: Bloods, challengeIds: number[]): Promise<number> {
  let added = 0;
  for (const challengeId of await bloods.incomplete(challengeIds)) {
    for (const blood of await bloods.recompute(challengeId)) {
      added += 1;
      await announceBlood(deps, blood);
    }
  }
  return added;
}

async function announceBlood({ events, game }: { events: PluginEvents; game: GameService }, blood: Blood): Promise<void> {
  if (!blood.challengeVisible) return; // a hidden challenge's solves stay quiet
  const place = PLACE[blood.position];
  await game.notify({ title: `${place} blood`, content: `**${blood.accountName}** drew ${place.toLowerCase()} blood on **${blood.challengeName}**.` });
  events.emit(
    "scoreboard.announce",
    {
      kind: "blood",
      data: { challenge_id: blood.challengeId, challenge_name: blood.challengeName, position: blood.position, account_id: blood.accountId, account_name: blood.accountName, prestige: blood.prestige, date: blood.solvedAt.toISOString() },
    },
    { broadcast: true },
  );
}

export function bloodEvents(deps: { events: PluginEvents; read: CtfReadService; game: GameService; log: Logger }, bloods: Bloods, enabled: () => boolean): void {
  const { events, read, game, log } = deps;

  const announce = (blood: Blood) => announceBlood({ events, game }, blood);

  async function solveCreated(solve: SolveCreated): Promise<void> {
    if (!(await bloods.mayChange(solve.challengeId, solve.at))) return;
    for (const blood of await bloods.recompute(solve.challengeId)) await announce(blood);
  }

  async function accountUpdated(update: AccountUpdated): Promise<void> {
    if (!update.changes.some((c) => MOVES_BLOODS.has(c))) return;
    const accounts: Array<{ type: "user" | "team"; id: number }> = [{ type: update.accountType, id: update.id }, ...update.affectedTeamIds.map((id) => ({ type: "team" as const, id }))];
    const challenges = new Set<number>();
    for (const { type, id } of accounts) {
      for (const c of await bloods.challengesOf(type, id)) challenges.add(c);
      // An unhidden (or new) account's solves may now be bloods.
      const items = type === "team" ? await read.itemsOfTeam(id) : await read.itemsOfUser(id);
      for (const s of items.solves) challenges.add(s.challengeId);
    }
    for (const challengeId of challenges) await bloods.recompute(challengeId);
  }

  async function challengeUpdated(update: ChallengeUpdated): Promise<void> {
    if (update.deleted) return bloods.forget(update.id);
    if (update.created) return;
    // A rename or a change of state (a value edit, or a dynamic challenge's decay, leaves bloods as they are).
    await bloods.challengeEdited(update.id);
  }

  // Every instance drops what it cached about bloods when an account or a challenge changes (before any write).
  events.on("account.updated", (update) => (update.changes.some((c) => MOVES_BLOODS.has(c)) ? bloods.forgetCached() : undefined));
  events.on("challenge.updated", (update) => (update.deleted ? bloods.forgetCached(update.id) : undefined));

  const guarded = <P>(name: string, handler: (payload: P) => Promise<void>) => async (payload: P, meta: { local: boolean }) => {
    if (!meta.local || !enabled()) return;
    try {
      await handler(payload);
    } catch (error) {
      log.error({ err: error, event: name }, "phase2: bloods not updated");
    }
  };
  events.on("solve.created", guarded("solve.created", solveCreated));
  events.on("account.updated", guarded("account.updated", accountUpdated));
  events.on("challenge.updated", guarded("challenge.updated", challengeUpdated));
}
