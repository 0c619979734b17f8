import type { Context } from "koa";
import { etagMatches, strongEtag, type PreparedResponse } from "../../kernel/http/prepared.js";
import type { CachedChallenge } from "./challenge-cache.js";
import { prerequisitesMet } from "./challenge-access.js";
import type { CountView, SolveIndex } from "./solve-index.js";

/**
 * The challenge list (`GET /api/v1/challenges`), serialized once per change. Each row is kept as the JSON before
 * and after its one per-player field, `solved_by_me`, so a request joins strings and looks up the player's solved
 * set in memory: no query and no per-row object; players with the same solved set share the joined bytes. Rows are
 * rebuilt when the challenge cache hands out a new map (a challenge changed) or the solve index moved.
 */

/** A row of the list with its per-player field left open. */
export interface BoardRow {
  challenge: CachedChallenge;
  /** The solve count in `head`. */
  solves: number;
  /** `{"id":…,…,"solved_by_me":` */
  head: string;
  /** `,"category":…}` */
  tail: string;
}

/** The admin view adds `state` and lists hidden and locked challenges; the player view lists visible ones only. */
export type BoardView = "player" | "admin";

const anonymizedRow = (id: number) =>
  JSON.stringify({ id, type: "hidden", name: "???", value: 0, solves: null, solved_by_me: false, category: "???", tags: [], template: "", script: "" });

const sameRows = (a: readonly BoardRow[], b: readonly BoardRow[]) =>
  a.length === b.length && a.every((row, i) => row.head === b[i]!.head && row.tail === b[i]!.tail && sameUnshown(row.challenge, b[i]!.challenge));

/**
 * What decides a body without being in the row's JSON: prerequisites (whether a row shows, per player) and the
 * description (the `q` filter searches it).
 */
const sameUnshown = (a: CachedChallenge, b: CachedChallenge) =>
  a.anonymize === b.anonymize && a.prerequisites.join() === b.prerequisites.join() && a.description === b.description;

/** CTFd's order of the board: position, then value, then id. */
const boardOrder = (a: CachedChallenge, b: CachedChallenge) => a.position - b.position || a.value - b.value || a.id - b.id;

function rowOf(c: CachedChallenge, solves: number, view: BoardView): BoardRow {
  const head = { id: c.id, type: c.type, name: c.name, value: c.value, position: c.position, solves };
  const tail = { category: c.category, module_id: null, tags: [], template: "", script: "", ...(view === "admin" ? { state: c.state } : {}) };
  return { challenge: c, solves, head: `${JSON.stringify(head).slice(0, -1)},"solved_by_me":`, tail: `,${JSON.stringify(tail).slice(1)}` };
}

/** A list answer ready to send: its bytes and a strong ETag. */
export interface BoardAnswer {
  body: Buffer;
  etag: string;
}

/** Bodies kept for reuse: players with the same solved set (and filters) share one; bounded memory. */
const MAX_BODIES = 256;

export class BoardAnswers {
  private readonly cached = new Map<BoardView, { challenges: Map<number, CachedChallenge>; version: number; ordered: CachedChallenge[]; rows: BoardRow[] }>();
  /** Moves whenever any view's rows are rebuilt: it is part of every ETag. */
  private generation = 0;
  private readonly bodies = new Map<string, Buffer>();

  constructor(private readonly solves: SolveIndex) {}

  /**
   * The answer for one player. Its ETag comes from what the body is made of (the rows' generation, the view, the
   * filters and the player's solved set), so a client that already has it costs no body at all; bodies are reused
   * between players with the same inputs.
   */
  answer(challenges: Map<number, CachedChallenge>, view: BoardView, filters: { key: string; keep(c: CachedChallenge): boolean }, solved: ReadonlySet<number>, admin: boolean): PreparedAnswer {
    const rows = this.rows(challenges, view);
    const key = `${this.generation}|${view}|${admin}|${filters.key}|${[...solved].sort((a, b) => a - b).join(",")}`;
    const etag = strongEtag(key);
    return {
      etag,
      body: () => {
        let body = this.bodies.get(key);
        if (!body) {
          body = Buffer.from(boardBody(rows.filter((row) => filters.keep(row.challenge)), solved, admin));
          if (this.bodies.size >= MAX_BODIES) this.bodies.delete(this.bodies.keys().next().value!);
          this.bodies.set(key, body);
        }
        return body;
      },
    };
  }

  /**
   * The rows of a view in board order, from the cache while neither the challenges nor the solves changed. After a
   * solve only the rows whose count moved are serialized again (a solve used to re-serialize all of them, hundreds of
   * times a second at a busy event); the order is kept while the challenges are the same.
   */
  rows(challenges: Map<number, CachedChallenge>, view: BoardView): BoardRow[] {
    const version = this.solves.version;
    const hit = this.cached.get(view);
    if (hit && hit.challenges === challenges && hit.version === version) return hit.rows;
    const counts: CountView = view === "admin" ? "admin" : "public";
    const ordered = hit?.challenges === challenges ? hit.ordered : [...challenges.values()].filter((c) => view === "admin" || c.state === "visible").sort(boardOrder);
    const previous = new Map(hit?.rows.map((row) => [row.challenge.id, row]));
    const rows = ordered.map((c) => {
      const solves = this.solves.solveCount(c.id, counts);
      const kept = previous.get(c.id);
      return kept && kept.challenge === c && kept.solves === solves ? kept : rowOf(c, solves, view);
    });
    this.cached.set(view, { challenges, version, ordered, rows });
    // A reload of the challenge cache (every 30 s) or a solve elsewhere may leave this view's bytes as they were:
    // then the ETags stay, and clients that poll keep getting 304.
    if (!hit || !sameRows(hit.rows, rows)) {
      this.generation++;
      this.bodies.clear();
    }
    return rows;
  }
}

/**
 * The list's body for one player: rows whose prerequisites the player has not solved are left out, or shown as
 * CTFd's anonymized stub when the challenge says so (admins see every row).
 */
export function boardBody(rows: readonly BoardRow[], solved: ReadonlySet<number>, admin: boolean): string {
  const parts: string[] = [];
  for (const row of rows) {
    if (!admin && !prerequisitesMet(row.challenge, solved)) {
      if (row.challenge.anonymize) parts.push(anonymizedRow(row.challenge.id));
      continue;
    }
    parts.push(row.head + (solved.has(row.challenge.id) ? "true" : "false") + row.tail);
  }
  return `{"success":true,"data":[${parts.join(",")}]}`;
}

/**
 * Sends a JSON answer with its ETag, or 304 (and no body is made) when the client already has it. The body depends on
 * who asks, so it is private and revalidated every time.
 */
export function sendWithEtag(ctx: Context, answer: PreparedAnswer): void {
  ctx.set("ETag", answer.etag);
  for (const [name, value] of Object.entries(PRIVATE_JSON)) ctx.set(name, value);
  if (etagMatches(ctx.headers["if-none-match"], answer.etag)) {
    ctx.status = 304;
    return;
  }
  ctx.body = answer.body();
}

/** An answer ready to send: its ETag, and its bytes made on demand (a 304 needs none). */
export interface PreparedAnswer {
  etag: string;
  body(): Buffer;
}

/** A `{ success: true, data[, meta] }` answer serialized once, with its ETag (for sendWithEtag or a prepared route). */
export function privateJsonAnswer(data: unknown, meta?: unknown): PreparedAnswer {
  const body = Buffer.from(JSON.stringify(meta === undefined ? { success: true, data } : { success: true, data, meta }));
  const etag = strongEtag(body);
  return { etag, body: () => body };
}

/**
 * Per-player answers kept while what they are made of stays the same: a player polling their own profile gets the
 * same bytes, ETag and response object each time, without serializing or hashing anything. `inputs` are compared
 * with === (rows from a cache are replaced, never changed in place; scores and places are primitives). Bounded: past
 * `max` keys the oldest goes.
 */
export class AnswerMemo {
  private readonly answers = new Map<string, { inputs: readonly unknown[]; response: PreparedResponse }>();

  constructor(private readonly max = 50_000) {}

  answer(key: string, inputs: readonly unknown[], data: () => unknown): PreparedResponse {
    const hit = this.answers.get(key);
    if (hit && hit.inputs.length === inputs.length && hit.inputs.every((input, i) => input === inputs[i])) return hit.response;
    const made = privateJsonAnswer(data());
    const response = { body: made.body(), etag: made.etag, headers: PRIVATE_JSON };
    if (!hit && this.answers.size >= this.max) this.answers.delete(this.answers.keys().next().value!);
    this.answers.set(key, { inputs, response });
    return response;
  }
}

/** A kept answer as the ordinary (Koa) route sends it: sendWithEtag. */
export const asPreparedAnswer = (response: PreparedResponse): PreparedAnswer => ({ etag: response.etag, body: () => response.body });

/** Headers of an answer that depends on who asks: JSON, private, revalidated every time. */
export const PRIVATE_JSON: Readonly<Record<string, string>> = {
  "Content-Type": "application/json; charset=utf-8",
  "Cache-Control": "private, no-cache",
  Vary: "Cookie, Authorization",
};
