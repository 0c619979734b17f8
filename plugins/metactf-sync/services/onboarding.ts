import type { CtfReadService } from "../../../core/ctf/service.js";
import { conflict, notFound } from "../../../core/kernel/errors.js";
import type { PlatformIds } from "../ids.js";
import { GamePlatformError } from "../client/errors.js";
import type { Competitor, CompetitorStatus, CompetitorStore, Profile } from "../store/competitors.js";
import { describe, platformFailure, requirePlatform, type PlatformAccess } from "./platform.js";

/** The profile fields a competitor needs before compliance (the platform requires them to create the user). */
const REQUIRED_FOR_COMPLIANCE = ["firstName", "lastName", "email"] as const satisfies ReadonlyArray<keyof Profile>;
const FIELD_NAMES: Record<(typeof REQUIRED_FOR_COMPLIANCE)[number], string> = { firstName: "first_name", lastName: "last_name", email: "email" };

/**
 * A competitor moves pending -> profile -> compliance -> complete. The first three are set by an admin or the
 * coach (PUT); `complete` only by onboarding, which creates (or finds) the user on the platform.
 */
export function createOnboarding(deps: { competitors: CompetitorStore; read: CtfReadService; platform: PlatformAccess; ids: PlatformIds }) {
  const { competitors, read, platform, ids } = deps;

  /** Why a competitor cannot be onboarded now, or null. */
  const blockedReason = (c: Competitor): string | null => {
    if (c.status === "complete") return `already on the game platform (MetaCTF user ${c.metactfUserId})`;
    if (c.status !== "compliance") return `the competitor is in "${c.status}"; onboarding needs "compliance"`;
    return null;
  };

  return {
    blockedReason,

    /** Saves a profile and/or status; refuses a status the competitor cannot take (409 with the reason). */
    async update(userId: number, changes: Partial<Profile> & { status?: Exclude<CompetitorStatus, "complete">; coachUserId?: number | null }): Promise<Competitor> {
      if (!(await read.user(userId))) throw notFound(`No user ${userId}`);
      const existing = await competitors.get(userId);
      if (existing?.status === "complete" && changes.status !== undefined) throw conflict(`The competitor is already on the game platform; their status stays "complete".`);
      if (changes.status === "compliance") {
        const merged = { ...existing, ...Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) } as Partial<Profile>;
        const missing = REQUIRED_FOR_COMPLIANCE.filter((field) => !merged[field]).map((field) => FIELD_NAMES[field]);
        if (missing.length > 0) throw conflict(`Compliance needs a complete profile; missing: ${missing.join(", ")}.`);
      }
      return competitors.save(userId, changes);
    },

    /**
     * Puts a competitor in `compliance` on the platform and moves them to `complete`. Idempotent: looks the user
     * up first, so a user created by an earlier attempt (or by hand) is linked rather than created twice.
     */
    async onboard(userId: number): Promise<Competitor> {
      const competitor = await competitors.get(userId);
      if (!competitor) throw notFound(`No competitor profile for user ${userId}`);
      const blocked = blockedReason(competitor);
      if (blocked) throw conflict(`Cannot add to the game platform: ${blocked}.`);
      const client = requirePlatform(platform);
      const user = await read.user(userId);
      if (!user) throw notFound(`No user ${userId}`);
      const synedUserId = ids.user(userId);
      try {
        const found = await client.findUser(synedUserId);
        if (found) return await competitors.markComplete(userId, found.metactf_user_id, found.metactf_username);
        const request = {
          first_name: competitor.firstName!,
          last_name: competitor.lastName!,
          email: competitor.email!,
          preferred_username: user.name,
          role: "user" as const,
          syned_user_id: synedUserId,
          ...(competitor.school && { syned_school_id: competitor.school }),
          ...(competitor.region && { syned_region_id: competitor.region }),
          ...(competitor.coachUserId !== null && { syned_coach_user_id: ids.user(competitor.coachUserId) }),
        };
        const created = await client.createUser(request).catch(async (error) => {
          // Created in the meantime (a concurrent onboarding): link that one.
          if (error instanceof GamePlatformError && error.status === 409) {
            const again = await client.findUser(synedUserId);
            if (again) return again;
          }
          throw error;
        });
        return await competitors.markComplete(userId, created.metactf_user_id, created.metactf_username);
      } catch (error) {
        if (!(error instanceof GamePlatformError)) throw error;
        await competitors.recordError(userId, describe(error));
        return platformFailure(error, "The game platform did not take the competitor");
      }
    },
  };
}

export type Onboarding = ReturnType<typeof createOnboarding>;
