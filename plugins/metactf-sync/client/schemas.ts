import { z } from "zod";

/**
 * The MetaCTF platform's answers, as zod schemas (loose objects: a field the platform adds later is kept, not
 * refused). The mock server builds its answers from the same types, so the two cannot drift apart silently.
 */

const solveFields = {
  challenge_solve_id: z.number().int(),
  challenge_id: z.number().int(),
  challenge_title: z.string(),
  challenge_points: z.number(),
  challenge_category: z.string(),
  timestamp_unix: z.number(),
  challenge_retired: z.boolean(),
  nist_nice_work_roles: z.array(z.string()),
};
export const solveSchema = z.looseObject(solveFields);

export const createdUserSchema = z.looseObject({
  metactf_user_id: z.number().int(),
  metactf_username: z.string(),
  syned_user_id: z.string(),
});

export const userSchema = z.looseObject({
  metactf_user_id: z.number().int(),
  metactf_username: z.string(),
  metactf_user_status: z.string(),
  syned_user_id: z.string(),
});

export const teamSchema = z.looseObject({
  metactf_team_id: z.number().int(),
  metactf_coach_id: z.union([z.number().int(), z.string()]),
  syned_team_id: z.string(),
  team_name: z.string(),
  division: z.enum(["high_school", "middle_school", "college"]),
  affiliation: z.string(),
});

export const detailSchema = z.looseObject({ detail: z.string() });

export const assignmentSchema = z.looseObject({ syned_team_id: z.string(), syned_user_id: z.string() });

export const assignmentsSchema = z.looseObject({
  assignments: z.array(assignmentSchema),
  total_count: z.number().int(),
});

export const odlScoresSchema = z.looseObject({
  syned_user_id: z.string(),
  metactf_user_id: z.number().int(),
  total_challenges_solved: z.number().int(),
  total_points: z.number(),
  last_accessed_unix_timestamp: z.number().nullable(),
  category_points: z.record(z.string(), z.number()),
  challenge_solves: z.array(solveSchema),
});

export const flashCtfSchema = z.looseObject({
  flash_ctf_name: z.string(),
  flash_ctf_time_start_unix: z.number(),
  flash_ctf_time_end_unix: z.number(),
  challenges_solved: z.number().int(),
  points_earned: z.number(),
  rank: z.number().int().nullable(),
  challenge_solves: z.array(solveSchema),
});

export const flashProgressSchema = z.looseObject({
  syned_user_id: z.string(),
  flash_ctfs: z.array(flashCtfSchema),
});

export type Solve = z.infer<typeof solveSchema>;
/** A solve as the mock makes one, before it has an id. */
export type NewSolve = Omit<z.infer<z.ZodObject<typeof solveFields>>, "challenge_solve_id">;
export type CreatedUser = z.infer<typeof createdUserSchema>;
export type PlatformUser = z.infer<typeof userSchema>;
export type PlatformTeam = z.infer<typeof teamSchema>;
export type Assignment = z.infer<typeof assignmentSchema>;
export type OdlScores = z.infer<typeof odlScoresSchema>;
export type FlashCtf = z.infer<typeof flashCtfSchema>;
export type FlashProgress = z.infer<typeof flashProgressSchema>;
export type Division = PlatformTeam["division"];

/** What we send (the mock validates requests with these too). */
export const createUserRequest = z.strictObject({
  first_name: z.string().min(1).max(100),
  last_name: z.string().min(1).max(100),
  email: z.email(),
  preferred_username: z.string().min(1).max(100),
  role: z.enum(["coach", "user"]),
  syned_user_id: z.string().min(1).max(100),
  syned_school_id: z.string().max(100).optional(),
  syned_region_id: z.string().max(100).optional(),
  syned_coach_user_id: z.string().max(100).optional(),
});

export const createTeamRequest = z.strictObject({
  syned_coach_user_id: z.string().min(1).max(100),
  syned_team_id: z.string().min(1).max(100),
  team_name: z.string().min(1).max(200),
  affiliation: z.string().max(200),
  division: z.enum(["high_school", "middle_school", "college"]),
});

export type CreateUserRequest = z.infer<typeof createUserRequest>;
export type CreateTeamRequest = z.infer<typeof createTeamRequest>;
