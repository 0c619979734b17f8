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
  const withNul = fieldsWithNul(value);
  if (withNul.length > 0) throw new HttpError(400, "Bad request", Object.fromEntries(withNul.map((field) => [field, ["must not contain a NUL character"]])));
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors: FieldErrors = {};
  for (const issue of result.error.issues) {
    const field = issue.path.map(String).join(".") || "body";
    (errors[field] ??= []).push(issue.message);
  }
  throw new HttpError(400, "Bad request", errors);
}

/**
 * The fields (dotted paths, as in the errors above) whose string value or key holds a NUL character. Postgres
 * refuses NUL in text, so every input is checked here, once, before any schema or route sees it. Walks without
 * recursion and builds a path only for a hit, so a deeply nested body costs linear time.
 */
function fieldsWithNul(value: unknown): string[] {
  interface Node { value: unknown; key: string; parent: Node | null }
  const pathOf = (node: Node | null): string => {
    const keys: string[] = [];
    for (let at = node; at?.parent; at = at.parent) keys.push(at.key);
    return keys.reverse().join(".") || "body";
  };
  const found: string[] = [];
  const pending: Node[] = [{ value, key: "", parent: null }];
  while (pending.length > 0) {
    const node = pending.pop()!;
    if (typeof node.value === "string") {
      if (node.value.includes("\u0000")) found.push(pathOf(node));
    } else if (node.value !== null && typeof node.value === "object") {
      for (const [key, child] of Object.entries(node.value)) {
        const childNode = { value: child, key: key.replaceAll("\u0000", "\\0"), parent: node };
        if (key.includes("\u0000")) found.push(pathOf(childNode));
        else pending.push(childNode);
      }
    }
  }
  return found.sort();
}
