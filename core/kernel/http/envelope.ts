import type { Context } from "koa";
import type { z } from "zod";
import { HttpError, type FieldErrors } from "../errors.js";

/** Answers with CTFd's success envelope: `{ success: true, data }`. */
export function ok(ctx: Context, data: unknown, status = 200): void {
  ctx.status = status;
  ctx.body = { success: true, data };
}

/**
 * Parses a request body, query or params with a zod schema. A bad one becomes 400 with CTFd-style field errors:
 * `{ success: false, errors: { "<field>": ["<reason>"] } }`.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors: FieldErrors = {};
  for (const issue of result.error.issues) {
    const field = issue.path.map(String).join(".") || "body";
    (errors[field] ??= []).push(issue.message);
  }
  throw new HttpError(400, "Bad request", errors);
}
