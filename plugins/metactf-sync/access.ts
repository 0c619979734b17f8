import type { Context } from "koa";
import type { CtfReadService, GameService } from "../../core/ctf/service.js";
import { forbidden, unauthorized } from "../../core/kernel/errors.js";
import type { PluginAuth } from "../../core/kernel/plugin-host/api.js";
import type { Competitor, CompetitorStore } from "./store/competitors.js";
import type { TeamStore } from "./store/teams.js";

/**
 * Who may do what. A coach is a flaghost user with a row in metactf_coaches (set by an admin). Admins manage
 * everything; a coach manages the teams linked with them as coach, and the competitors whose coach they are, or
 * who are members of one of their teams (the first save of such a profile makes them its coach).
 */
export interface Caller {
  /** null for the bootstrap admin token, which has no account. */
  userId: number | null;
  admin: boolean;
}

export interface Access {
  /** An admin or a coach, else 401/403. */
  adminOrCoach(ctx: Context): Promise<Caller>;
  /** The coach whose data a list shows: null (everything) for admins. */
  scope(caller: Caller): number | null;
  /** Refuses (403) unless the caller manages this user's competitor profile. */
  competitor(caller: Caller, userId: number, existing: Competitor | null): Promise<void>;
  /** Refuses (403) unless the caller manages this linked team (or, to link it, is the named coach). */
  team(caller: Caller, coachUserId: number): void;
}

export function createAccess(deps: { auth: PluginAuth; game: GameService; read: CtfReadService; competitors: CompetitorStore; teams: TeamStore }): Access {
  const { auth, game, read, competitors, teams } = deps;
  return {
    async adminOrCoach(ctx) {
      const actor = await auth.actor(ctx);
      if (!actor) throw unauthorized();
      const player = await game.player(ctx).catch(() => null);
      const userId = player?.userId ?? null;
      if (actor.admin) return { userId, admin: true };
      if (userId !== null && (await competitors.coach(userId))) return { userId, admin: false };
      throw forbidden("Only admins and MetaCTF coaches may use this.");
    },
    scope: (caller) => (caller.admin ? null : caller.userId),
    async competitor(caller, userId, existing) {
      if (caller.admin) return;
      if (existing?.coachUserId === caller.userId) return;
      if (existing?.coachUserId == null) {
        const teamId = (await read.user(userId))?.teamId ?? null;
        const team = teamId === null ? null : await teams.get(teamId);
        if (team && team.coachUserId === caller.userId) return;
      }
      throw forbidden("Coaches manage only their own competitors.");
    },
    team(caller, coachUserId) {
      if (!caller.admin && caller.userId !== coachUserId) throw forbidden("Coaches manage only their own teams.");
    },
  };
}
