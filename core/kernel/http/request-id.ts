import { randomUUID } from "node:crypto";

/** The request's id: the caller's X-Request-Id when it is a plausible id (so traces join up), else a new one. */
export function requestIdOf(incoming: string | string[] | undefined): string {
  return typeof incoming === "string" && /^[A-Za-z0-9._-]{8,64}$/.test(incoming) ? incoming : randomUUID();
}
