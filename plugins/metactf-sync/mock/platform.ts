import type { CreateTeamRequest, CreateUserRequest, FlashCtf, NewSolve, OdlScores, Solve } from "../client/schemas.js";

/**
 * The mock platform's data and the rules its API enforces (mock/server.ts maps HTTP onto it). Plain in-memory
 * maps, one instance per mock server.
 */

export interface MockUser extends CreateUserRequest {
  metactf_user_id: number;
  metactf_username: string;
}

export interface MockTeam extends CreateTeamRequest {
  metactf_team_id: number;
  metactf_coach_id: number;
}

export interface MockFlashCtf {
  name: string;
  startUnix: number;
  endUnix: number;
  /** Per participant: their solves (points and count follow from them) and rank. */
  results: Map<string, { rank: number; solves: Solve[] }>;
}

/** A refusal the server turns into `{detail}` with this status. */
export class PlatformRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class MockPlatform {
  readonly users = new Map<string, MockUser>();
  readonly teams = new Map<string, MockTeam>();
  /** syned_user_id -> syned_team_id (a user is on at most one team). */
  readonly assignments = new Map<string, string>();
  readonly odl = new Map<string, Solve[]>();
  readonly flashCtfs: MockFlashCtf[] = [];
  private nextUserId = 5001;
  private nextTeamId = 701;
  private nextSolveId = 900_001;

  createUser(request: CreateUserRequest): MockUser {
    if (this.users.has(request.syned_user_id)) throw new PlatformRefusal(409, `User with syned_user_id ${request.syned_user_id} already exists`);
    const user: MockUser = { ...request, metactf_user_id: this.nextUserId++, metactf_username: `${request.preferred_username}`.slice(0, 40) };
    this.users.set(user.syned_user_id, user);
    return user;
  }

  user(synedUserId: string): MockUser {
    const user = this.users.get(synedUserId);
    if (!user) throw new PlatformRefusal(404, "User not found");
    return user;
  }

  createTeam(request: CreateTeamRequest): MockTeam {
    const coach = this.users.get(request.syned_coach_user_id);
    if (!coach || coach.role !== "coach") throw new PlatformRefusal(404, "Coach not found");
    if (this.teams.has(request.syned_team_id)) throw new PlatformRefusal(409, `Team with syned_team_id ${request.syned_team_id} already exists`);
    const team: MockTeam = { ...request, metactf_team_id: this.nextTeamId++, metactf_coach_id: coach.metactf_user_id };
    this.teams.set(team.syned_team_id, team);
    return team;
  }

  team(synedTeamId: string): MockTeam {
    const team = this.teams.get(synedTeamId);
    if (!team) throw new PlatformRefusal(404, "Team not found");
    return team;
  }

  deleteTeam(synedTeamId: string): void {
    this.team(synedTeamId);
    if (this.membersOf(synedTeamId).length > 0) throw new PlatformRefusal(409, "Team still has members; remove them first");
    this.teams.delete(synedTeamId);
  }

  assign(synedTeamId: string, synedUserId: string): void {
    this.team(synedTeamId);
    this.user(synedUserId);
    this.assignments.set(synedUserId, synedTeamId);
  }

  membersOf(synedTeamId: string): string[] {
    return [...this.assignments].filter(([, team]) => team === synedTeamId).map(([user]) => user);
  }

  addSolve(synedUserId: string, solve: NewSolve): Solve {
    this.user(synedUserId);
    const full = { ...solve, challenge_solve_id: this.nextSolveId++ };
    const list = this.odl.get(synedUserId) ?? [];
    list.push(full);
    this.odl.set(synedUserId, list);
    return full;
  }

  /** Totals over every solve; `challenge_solves` only those strictly after `afterUnix`. */
  odlScores(synedUserId: string, afterUnix: number | undefined): OdlScores {
    const user = this.user(synedUserId);
    const solves = this.odl.get(synedUserId) ?? [];
    const categoryPoints: Record<string, number> = {};
    for (const s of solves) categoryPoints[s.challenge_category] = (categoryPoints[s.challenge_category] ?? 0) + s.challenge_points;
    return {
      syned_user_id: synedUserId,
      metactf_user_id: user.metactf_user_id,
      total_challenges_solved: solves.length,
      total_points: solves.reduce((sum, s) => sum + s.challenge_points, 0),
      last_accessed_unix_timestamp: solves.length > 0 ? Math.max(...solves.map((s) => s.timestamp_unix)) : null,
      category_points: categoryPoints,
      challenge_solves: afterUnix === undefined ? solves : solves.filter((s) => s.timestamp_unix > afterUnix),
    };
  }

  addFlashCtf(name: string, startUnix: number, endUnix: number): MockFlashCtf {
    const flash: MockFlashCtf = { name, startUnix, endUnix, results: new Map() };
    this.flashCtfs.push(flash);
    return flash;
  }

  addFlashResult(flash: MockFlashCtf, synedUserId: string, rank: number, solves: Array<NewSolve>): void {
    this.user(synedUserId);
    flash.results.set(synedUserId, { rank, solves: solves.map((s) => ({ ...s, challenge_solve_id: this.nextSolveId++ })) });
  }

  /** Every Flash CTF that has started, with the user's result (zeros when they did not play). Not time-filtered. */
  flashProgress(synedUserId: string, nowUnix: number): { syned_user_id: string; flash_ctfs: FlashCtf[] } {
    this.user(synedUserId);
    const started = this.flashCtfs.filter((f) => f.startUnix <= nowUnix);
    return {
      syned_user_id: synedUserId,
      flash_ctfs: started.map((f) => {
        const result = f.results.get(synedUserId);
        const solves = result?.solves ?? [];
        return {
          flash_ctf_name: f.name,
          flash_ctf_time_start_unix: f.startUnix,
          flash_ctf_time_end_unix: f.endUnix,
          challenges_solved: solves.length,
          points_earned: solves.reduce((sum, s) => sum + s.challenge_points, 0),
          rank: result?.rank ?? null,
          challenge_solves: solves,
        };
      }),
    };
  }
}
