import { hash } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../log.js";
import type { RequestObserver } from "../metrics/observers.js";
import { requestIdOf } from "./request-id.js";
import { SECURITY_HEADERS } from "./security-headers.js";

/**
 * Bytes a hot read is answered with, made once per change of what they show (a scoreboard, say), not once
 * per request. Treat one as immutable; share one `headers` object between answers (the kernel caches the header
 * lines it writes per headers object).
 */
export interface PreparedResponse {
  readonly body: Buffer;
  /** A strong validator, quoted (`"…"`): a request whose If-None-Match holds it gets 304. */
  readonly etag: string;
  /** Content-Type, Cache-Control, Vary and the like. The kernel adds its security headers, ETag, Content-Length and X-Request-Id. */
  readonly headers: Readonly<Record<string, string>>;
}

/** What a prepared answer sees of the request. */
export interface PreparedRequest {
  readonly path: string;
  /** The `:name` segments of the route's path. */
  readonly params: Readonly<Record<string, string>>;
  /** The raw query string, without `?` ("" when there is none). */
  readonly querystring: string;
  readonly headers: IncomingHttpHeaders;
}

/**
 * Answers a GET or HEAD from prepared bytes, or returns null to send the request down the ordinary Koa route
 * for the same path (which must exist: it answers everything the prepared answer declines, such as a request
 * with credentials, a query to validate, or a refusal to render). Synchronous: there is nothing to wait for.
 */
export type PreparedAnswer = (request: PreparedRequest) => PreparedResponse | null;

export interface PreparedRoute {
  owner: string;
  path: string;
  answer: PreparedAnswer;
}

interface CompiledRoute extends PreparedRoute {
  /** The path with each `:name` segment as a capture group, or null for a path without parameters. */
  pattern: RegExp | null;
  names: string[];
}

/** Headers about the body, left out of a 304. */
const ENTITY_HEADERS = new Set(["content-type", "content-length", "content-encoding"]);

/**
 * The header lines every response with the same `headers` object shares (the security headers and its own), made
 * once per such object: answers built per request (a player's own profile) usually share a constant like
 * PRIVATE_JSON. A 304 leaves out the entity headers.
 */
interface HeaderLines {
  ok: string[];
  notModified: string[];
}

/** A strong ETag (quoted) for bytes or a key that stands for them: one way to make one for every prepared answer. */
export function strongEtag(data: string | Buffer): string {
  return `"${hash("sha1", data, "base64url")}"`;
}

/**
 * Routes answered before Koa sees the request. A hot, cacheable read (an anonymous scoreboard) then costs what
 * Node itself costs to send bytes: no context, middleware chain, router match or promise per request. It
 * keeps what every response gets on the ordinary path: the security headers, an X-Request-Id, ETag and 304,
 * and HEAD.
 */
export class PreparedRoutes {
  private readonly byOwner = new Map<string, CompiledRoute[]>();
  private exact = new Map<string, CompiledRoute>();
  private patterns: CompiledRoute[] = [];
  private readonly headerLines = new WeakMap<PreparedResponse["headers"], HeaderLines>();

  constructor(private readonly log: Logger) {}

  add(route: PreparedRoute): void {
    const routes = this.byOwner.get(route.owner) ?? [];
    this.byOwner.set(route.owner, [...routes, compile(route)]);
    this.index();
  }

  count(owner?: string): number {
    let count = 0;
    for (const [id, routes] of this.byOwner) if (!owner || id === owner) count += routes.length;
    return count;
  }

  withdraw(owner: string): void {
    if (this.byOwner.delete(owner)) this.index();
  }

  /**
   * The server's request listener: a prepared answer when one applies, else `fallback` (Koa). An answer that
   * throws is logged and the request goes to Koa, whose route renders the error the usual way.
   */
  listener(fallback: (req: IncomingMessage, res: ServerResponse) => void, observer?: RequestObserver): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      if ((req.method === "GET" || req.method === "HEAD") && this.byOwner.size > 0 && this.tryAnswer(req, res, observer)) return;
      fallback(req, res);
    };
  }

  private tryAnswer(req: IncomingMessage, res: ServerResponse, observer: RequestObserver | undefined): boolean {
    const startedAt = observer ? performance.now() : 0;
    const url = req.url ?? "/";
    const mark = url.indexOf("?");
    const path = mark === -1 ? url : url.slice(0, mark);
    let route = this.exact.get(path);
    let params: Record<string, string> = {};
    if (!route) {
      for (const candidate of this.patterns) {
        const match = candidate.pattern!.exec(path);
        if (!match) continue;
        route = candidate;
        params = Object.fromEntries(candidate.names.map((name, i) => [name, match[i + 1]!]));
        break;
      }
      if (!route) return false;
    }
    let prepared: PreparedResponse | null;
    try {
      prepared = route.answer({ path, params, querystring: mark === -1 ? "" : url.slice(mark + 1), headers: req.headers });
    } catch (error) {
      this.log.error({ err: error, plugin: route.owner, path: route.path }, "prepared answer failed; the ordinary route answers");
      return false;
    }
    if (!prepared) return false;
    const requestId = requestIdOf(req.headers["x-request-id"]);
    const status = this.send(req, res, prepared, requestId);
    observer?.requestFinished({ method: req.method!, route: route.path, status, durationMs: performance.now() - startedAt, requestId, path });
    return true;
  }

  /** Writes the answer; returns its status. */
  private send(req: IncomingMessage, res: ServerResponse, prepared: PreparedResponse, requestId: string): number {
    const lines = this.linesOf(prepared.headers);
    if (etagMatches(req.headers["if-none-match"], prepared.etag)) {
      res.writeHead(304, [...lines.notModified, "ETag", prepared.etag, "X-Request-Id", requestId]);
      res.end();
      return 304;
    }
    res.writeHead(200, [...lines.ok, "ETag", prepared.etag, "Content-Length", String(prepared.body.length), "X-Request-Id", requestId]);
    if (req.method === "HEAD") res.end();
    else res.end(prepared.body);
    return 200;
  }

  private linesOf(headers: PreparedResponse["headers"]): HeaderLines {
    let lines = this.headerLines.get(headers);
    if (!lines) {
      const own = Object.entries(headers);
      lines = {
        ok: [...SECURITY_HEADERS.flat(), ...own.flat()],
        notModified: [...SECURITY_HEADERS.flat(), ...own.filter(([name]) => !ENTITY_HEADERS.has(name.toLowerCase())).flat()],
      };
      this.headerLines.set(headers, lines);
    }
    return lines;
  }

  private index(): void {
    const exact = new Map<string, CompiledRoute>();
    const patterns: CompiledRoute[] = [];
    for (const routes of this.byOwner.values()) {
      for (const route of routes) {
        if (route.pattern) patterns.push(route);
        else exact.set(route.path, route);
      }
    }
    this.exact = exact;
    this.patterns = patterns;
  }
}

/** `/a/:b/c` matches `/a/anything-but-a-slash/c`; other segments match themselves only. */
function compile(route: PreparedRoute): CompiledRoute {
  const names: string[] = [];
  const segments = route.path.split("/").map((segment) => {
    if (!segment.startsWith(":")) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    names.push(segment.slice(1));
    return "([^/]+)";
  });
  return { ...route, names, pattern: names.length === 0 ? null : new RegExp(`^${segments.join("/")}$`) };
}

/** If-None-Match may list several tags, possibly weak (`W/"…"`), or `*`. */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t === etag || t === `W/${etag}`;
  });
}
