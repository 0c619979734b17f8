import type { Logger } from "pino";
import type { CtfReadService } from "../../../core/ctf/service.js";
import { badRequest, conflict, notFound } from "../../../core/kernel/errors.js";
import type { GamePlatformClient } from "../client/client.js";
import { GamePlatformError } from "../client/errors.js";
import type { Division } from "../client/schemas.js";
import type { PlatformIds } from "../ids.js";
import type { Coach, CompetitorStore } from "../store/competitors.js";
import type { Drift, LinkedTeam, TeamStore } from "../store/teams.js";
import type { RunStore } from "../store/runs.js";
import type { RunReport } from "./runs.js";
import { describe, platformFailure, requirePlatform, type PlatformAccess } from "./platform.js";

/** A roster check: the drift found, and how many missing members were assigned. */
export interface RosterResult {
  teamId: number;
  created: boolean;
  drift: Drift;
  assigned: number;
}

const ROSTER_CURSOR = "roster";

/**
 * Teams on the platform: linking a flaghost team to a coach, creating it remotely, mirroring its roster
 * (assignments are only ever added: the platform has no unassign call, so members there but not here are reported
 * as drift), and deleting it. The roster job reconciles only teams whose local roster changed since their last
 * check, or whose check is older than `fullCheckHours`, so an idle league costs about one call per team a day.
 */
export function createTeamSync(deps: {
  teams: TeamStore;
  competitors: CompetitorStore;
  runs: RunStore;
  read: CtfReadService;
  platform: PlatformAccess;
  ids: PlatformIds;
  log: Logger;
  rosterBatchSize: number;
  fullCheckHours: number;
}) {
  const { teams, competitors, runs, read, platform, ids, log } = deps;

  /** The local roster: members and whether each is on the platform, plus a fingerprint of it. */
  async function localRoster(teamId: number) {
    const members = await read.membersOf(teamId);
    const rows = await Promise.all(members.map(async (m) => ({ userId: m.id, competitor: await competitors.get(m.id) })));
    rows.sort((a, b) => a.userId - b.userId);
    const onPlatform = rows.filter((r) => r.competitor?.status === "complete").map((r) => r.userId);
    const notOnboarded = rows.filter((r) => r.competitor?.status !== "complete").map((r) => r.userId);
    return { members: rows.map((r) => r.userId), onPlatform, notOnboarded, fingerprint: rows.map((r) => `${r.userId}:${r.competitor?.status ?? "none"}`).join(",") };
  }

  /** The coach as a platform user (role coach), created when missing. */
  async function ensureCoach(client: GamePlatformClient, coach: Coach): Promise<void> {
    if (coach.metactfUserId !== null) return;
    const synedUserId = ids.user(coach.userId);
    const user = await read.user(coach.userId);
    const found =
      (await client.findUser(synedUserId)) ??
      (await client.createUser({
        first_name: coach.firstName,
        last_name: coach.lastName,
        email: coach.email,
        preferred_username: user?.name ?? `coach${coach.userId}`,
        role: "coach",
        syned_user_id: synedUserId,
        ...(coach.school && { syned_school_id: coach.school }),
        ...(coach.region && { syned_region_id: coach.region }),
      }));
    await competitors.setCoachPlatformId(coach.userId, found.metactf_user_id);
  }

  /** Creates the team on the platform unless it is known there; true when it was created now. */
  async function ensureRemote(client: GamePlatformClient, team: LinkedTeam): Promise<boolean> {
    if (team.remoteExists) return false;
    const coach = await competitors.coach(team.coachUserId);
    if (!coach) throw conflict(`The team's coach (user ${team.coachUserId}) is no longer a coach.`);
    await ensureCoach(client, coach);
    const name = (await read.team(team.teamId))?.name ?? `Team ${team.teamId}`;
    try {
      const created = await client.createTeam({ syned_coach_user_id: ids.user(coach.userId), syned_team_id: ids.team(team.teamId), team_name: name, affiliation: team.affiliation, division: team.division });
      await teams.markRemote(team.teamId, created.metactf_team_id);
      return true;
    } catch (error) {
      // Already there (an earlier attempt whose answer was lost): carry on with the roster.
      if (error instanceof GamePlatformError && error.status === 409) {
        await teams.markRemote(team.teamId, null);
        return false;
      }
      throw error;
    }
  }

  /** Creates the team remotely if needed, diffs the roster against the platform's assignments and assigns the missing. */
  async function reconcile(client: GamePlatformClient, team: LinkedTeam, signal?: AbortSignal): Promise<RosterResult> {
    try {
      const created = await ensureRemote(client, team);
      const local = await localRoster(team.teamId);
      const synedTeamId = ids.team(team.teamId);
      const remote = new Set((await client.teamAssignments(synedTeamId, signal)).assignments.map((a) => a.syned_user_id));
      const expected = new Set(local.onPlatform.map((id) => ids.user(id)));
      const missing = local.onPlatform.filter((id) => !remote.has(ids.user(id)));
      for (const userId of missing) await client.assignTeam(synedTeamId, ids.user(userId), signal);
      const drift: Drift = { missing, extra: [...remote].filter((id) => !expected.has(id)).sort(), notOnboarded: local.notOnboarded };
      await teams.recordSync(team.teamId, { drift, fingerprint: local.fingerprint });
      return { teamId: team.teamId, created, drift, assigned: missing.length };
    } catch (error) {
      await teams.recordSync(team.teamId, { error: describe(error) });
      throw error;
    }
  }

  /** Whether the roster job should look at this team now. */
  async function isDue(team: LinkedTeam, now: number): Promise<boolean> {
    if (!team.remoteExists || team.lastError !== null || team.lastSyncedAt === null) return true;
    if (now - Date.parse(team.lastSyncedAt) >= deps.fullCheckHours * 3_600_000) return true;
    return (await localRoster(team.teamId)).fingerprint !== team.rosterFingerprint;
  }

  /** Up to `rosterBatchSize` due teams, in rotation after the last one checked. */
  async function dueBatch(): Promise<LinkedTeam[]> {
    const all = await teams.list(null);
    const after = await runs.cursor(ROSTER_CURSOR);
    const rotated = [...all.filter((t) => t.teamId > after), ...all.filter((t) => t.teamId <= after)];
    const now = Date.now();
    const due: LinkedTeam[] = [];
    for (const team of rotated) {
      if (due.length >= deps.rosterBatchSize) break;
      if (await isDue(team, now)) due.push(team);
    }
    return due;
  }

  return {
    async link(input: { teamId: number; coachUserId: number; division: Division; affiliation?: string }): Promise<LinkedTeam> {
      if (!(await read.team(input.teamId))) throw notFound(`No team ${input.teamId}`);
      const coach = await competitors.coach(input.coachUserId);
      if (!coach) throw badRequest({ coach_user_id: [`user ${input.coachUserId} is not a coach`] });
      const affiliation = input.affiliation ?? coach.school;
      if (!affiliation) throw badRequest({ affiliation: ["required when the coach has no school"] });
      return teams.link({ teamId: input.teamId, coachUserId: coach.userId, division: input.division, affiliation });
    },

    /** `POST /teams/:id/sync`: the roster reconciled now. */
    async syncNow(team: LinkedTeam): Promise<RosterResult> {
      const client = requirePlatform(platform);
      try {
        return await reconcile(client, team);
      } catch (error) {
        return platformFailure(error, "The game platform did not take the team");
      }
    },

    /** Refused while the team has members here; a remote failure is logged and does not block the local unlink. */
    async remove(team: LinkedTeam): Promise<{ remote: "deleted" | "not on the platform" | "failed" }> {
      const members = await read.membersOf(team.teamId);
      if (members.length > 0) throw conflict(`The team still has ${members.length} member(s); remove them first.`);
      let remote: "deleted" | "not on the platform" | "failed" = "not on the platform";
      if (team.remoteExists && platform.client) {
        try {
          await platform.client.deleteTeam(ids.team(team.teamId));
          remote = "deleted";
        } catch (error) {
          remote = error instanceof GamePlatformError && error.status === 404 ? "not on the platform" : "failed";
          if (remote === "failed") log.warn({ teamId: team.teamId, error: describe(error) }, "metactf team deletion failed on the platform; unlinked here anyway");
        }
      } else if (team.remoteExists) {
        remote = "failed";
        log.warn({ teamId: team.teamId, reason: platform.reason }, "metactf team not deleted on the platform (not configured); unlinked here anyway");
      }
      await teams.unlink(team.teamId);
      return { remote };
    },

    /** The roster job: reconciles the due batch. */
    async rosterRun(client: GamePlatformClient, signal: AbortSignal): Promise<RunReport> {
      const due = await dueBatch();
      const report: RunReport = { batch: due.map((t) => t.teamId), processed: 0, withNewData: 0, errors: [] };
      for (const team of due) {
        if (signal.aborted) break;
        report.processed++;
        try {
          const result = await reconcile(client, team, signal);
          if (result.created || result.assigned > 0) report.withNewData++;
        } catch (error) {
          report.errors.push({ id: team.teamId, message: describe(error) });
        }
      }
      if (due.length > 0) await runs.moveCursor(ROSTER_CURSOR, due[due.length - 1]!.teamId);
      return report;
    },

    /** What a roster run would call now (dry run). */
    async rosterPlan(): Promise<{ batch: number[]; calls: string[] }> {
      const due = await dueBatch();
      const calls = due.map((team) => `GET /users/get_team_assignments?syned_team_id=${ids.team(team.teamId)}${team.remoteExists ? "" : " (after POST /teams)"}`);
      return { batch: due.map((t) => t.teamId), calls };
    },
  };
}

export type TeamSync = ReturnType<typeof createTeamSync>;
