import { z } from "zod";

/** Field rules shared by registration, profile edits and admin account writes. */
export const accountName = z.string().trim().min(1, "must not be empty").max(128, "must be at most 128 characters");
export const email = z.string().trim().max(254, "must be at most 254 characters").pipe(z.email("must be a valid email address"));
const emailShape = z.email();
/** True when a value would pass as an email address (login then looks it up by email first). */
export const looksLikeEmail = (value: string): boolean => emailShape.safeParse(value).success;
/**
 * A user's name: an account name that is not an email address, so no name can shadow another user's login by
 * email (as CTFd: "Your user name cannot be an email address").
 */
export const userName = accountName.refine((value) => !looksLikeEmail(value), "must not be an email address");
export const password = z.string().min(8, "must be at least 8 characters").max(128, "must be at most 128 characters");
export const website = z
  .string()
  .trim()
  .max(512)
  .regex(/^https?:\/\//, "Websites must be a proper URL starting with http or https")
  .nullable();
export const shortText = z.string().trim().max(128).nullable();
/** Distinguishes unique-constraint violations (Postgres 23505) so callers can answer 400 naming the field. */
export function isUniqueViolation(error: unknown, index?: string): boolean {
  const e = error as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const code = e?.code ?? e?.driverError?.code;
  const constraint = e?.constraint ?? e?.driverError?.constraint;
  return code === "23505" && (!index || constraint === index);
}
