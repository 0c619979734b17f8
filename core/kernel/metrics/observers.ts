/**
 * What the kernel's parts report as they work. The scheduler, the event bus, the WebSocket hub and the HTTP
 * layer take these small interfaces instead of importing prom-client, so they stay testable on their own and
 * the metrics (and the access log) live in one place: core/kernel/metrics/.
 */

/** Requests no route matched share this route label (a raw path would make one series per URL). */
export const UNMATCHED_ROUTE = "unmatched";

/** One answered HTTP request (Koa or a prepared answer). */
export interface RequestRecord {
  method: string;
  /** The matched route's pattern (`/api/v1/users/:id`), never the raw path; `unmatched` when no route matched. */
  route: string;
  status: number;
  durationMs: number;
  requestId: string;
  /** The path without its query string (a `?token=` never reaches a log line). */
  path: string;
}

export interface RequestObserver {
  requestFinished(record: RequestRecord): void;
}

export interface JobRunObserver {
  /** A recorded run ended; `durationMs` is null for a run that never ran (skipped). */
  jobRunFinished(job: string, outcome: string, durationMs: number | null): void;
}

export interface HandlerFailureObserver {
  handlerFailed(plugin: string, event: string): void;
}

export interface ConnectionObserver {
  connectionOpened(channel: string): void;
  connectionClosed(channel: string): void;
}
