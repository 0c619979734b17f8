import { createHash } from "node:crypto";
import type { PreparedResponse } from "../../kernel/http/prepared.js";
import type { ChallengeType } from "../service.js";
import { PRIVATE_JSON } from "./board-answers.js";
import type { CachedChallenge } from "./challenge-cache.js";
import { typeData } from "./challenge-types.js";
import type { CachedHint } from "./hint-cache.js";
import type { Progress } from "./player-progress.js";

/** The challenge as CTFd's admin and detail views show it (without the player fields). */
export function challengeView(c: CachedChallenge, types: ReadonlyMap<string, ChallengeType>) {
  const type = types.get(c.type);
  return {
    id: c.id,
    name: c.name,
    value: c.value,
    description: c.description,
    attribution: c.attribution,
    connection_info: c.connectionInfo,
    next_id: c.nextId,
    category: c.category,
    state: c.state,
    max_attempts: c.maxAttempts,
    position: c.position,
    logic: "any",
    initial: c.initial,
    decay: c.decay,
    minimum: c.minimum,
    function: c.type === "dynamic" ? c.decayFunction : "static",
    scheduled_at: null,
    type: c.type,
    type_data: type ? typeData(type) : { id: c.type, name: c.type, templates: {}, scripts: {} },
    requirements: c.prerequisites.length > 0 || c.anonymize ? { prerequisites: c.prerequisites, anonymize: c.anonymize } : null,
  };
}

/** What the detail view shows of the one who reads it. */
export interface DetailReader {
  solved: boolean;
  attempts: number;
  unlocked: ReadonlySet<number>;
  /** After the event every hint shows its content. */
  ended: boolean;
}

/** The reader's fields of one challenge, from their solved set and progress. */
export const detailReader = (challengeId: number, solved: ReadonlySet<number>, progress: Progress, ended: boolean): DetailReader => ({
  solved: solved.has(challengeId),
  attempts: progress.attempts.get(challengeId) ?? 0,
  unlocked: progress.unlocked,
  ended,
});

const shownHint = (h: CachedHint, reader: DetailReader) => reader.ended || reader.unlocked.has(h.id);
const lockedHint = (h: CachedHint) => ({ id: h.id, cost: h.cost, title: h.title });
const openHint = (h: CachedHint) => ({ id: h.id, cost: h.cost, title: h.title, content: h.content });

/** `GET /api/v1/challenges/:id`'s data, as an object (for the answers a challenge type's view hook adds to). */
export function detailData(challenge: CachedChallenge, types: ReadonlyMap<string, ChallengeType>, solves: number, hints: readonly CachedHint[], reader: DetailReader) {
  return {
    ...challengeView(challenge, types),
    solves,
    solved_by_me: reader.solved,
    attempts: reader.attempts,
    files: [],
    tags: [],
    hints: hints.map((h) => (shownHint(h, reader) ? openHint(h) : lockedHint(h))),
    module_id: null,
    rating: null,
    ratings: null,
    solution_id: null,
    solution_state: "hidden",
    view: "",
  };
}

/** The JSON after `hints` in detailData, the same for every answer. */
const TAIL = `,"module_id":null,"rating":null,"ratings":null,"solution_id":null,"solution_state":"hidden","view":""}}`;

/** A challenge's JSON every reader shares, made once per change of the challenge, its solve count or its hints. */
interface SharedPart {
  challenge: CachedChallenge;
  solves: number;
  hints: readonly CachedHint[];
  /** `{"success":true,"data":{"id":…,"solves":…,"solved_by_me":` */
  head: string;
  /** Each hint's JSON without and with its content. */
  locked: string[];
  open: string[];
  /** Moves (across all challenges) whenever these bytes change: part of every cached answer's key. */
  version: number;
}

/**
 * Whole answers kept: readers with the same inputs share one (and the kernel its header lines). Bounded in number and
 * in bytes (a description may be 64 KB); the oldest go first.
 */
const MAX_ANSWERS = 4096;
const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/**
 * `GET /api/v1/challenges/:id` answers for players, built from memory: the shared part of a challenge serialized once
 * per change, the reader's fields (solved_by_me, attempts, which hints show their content) joined in as strings.
 * Whole answers are kept by what they are made of, so a player polling a challenge gets the same response object (and
 * its ETag, the body's hash) until something in it changes. The bytes equal `{success: true, data: detailData(…)}`.
 */
export class ChallengeDetails {
  private readonly shared = new Map<number, SharedPart>();
  private readonly answers = new Map<string, PreparedResponse>();
  private answerBytes = 0;
  private versions = 0;

  constructor(private readonly types: ReadonlyMap<string, ChallengeType>) {}

  answer(challenge: CachedChallenge, solves: number, hints: readonly CachedHint[], reader: DetailReader): PreparedResponse {
    const part = this.sharedPart(challenge, solves, hints);
    const shown = reader.ended ? "all" : hints.filter((h) => reader.unlocked.has(h.id)).map((h) => h.id).join(",");
    const key = `${part.version}|${reader.solved}|${reader.attempts}|${shown}`;
    let answer = this.answers.get(key);
    if (!answer) {
      const hintsJson = hints.map((h, i) => (shownHint(h, reader) ? part.open[i] : part.locked[i])).join(",");
      const body = Buffer.from(`${part.head}${reader.solved},"attempts":${reader.attempts},"files":[],"tags":[],"hints":[${hintsJson}]${TAIL}`);
      answer = { body, etag: `"${createHash("sha1").update(body).digest("base64url")}"`, headers: PRIVATE_JSON };
      this.keep(key, answer);
    }
    return answer;
  }

  private keep(key: string, answer: PreparedResponse): void {
    this.answers.set(key, answer);
    this.answerBytes += answer.body.length;
    for (const [oldKey, old] of this.answers) {
      if (this.answers.size <= MAX_ANSWERS && this.answerBytes <= MAX_ANSWER_BYTES) break;
      if (oldKey === key) break; // the one just made stays, however large
      this.answers.delete(oldKey);
      this.answerBytes -= old.body.length;
    }
  }

  /** The challenge's shared JSON, rebuilt when an input changed; its version moves only if the bytes did. */
  private sharedPart(challenge: CachedChallenge, solves: number, hints: readonly CachedHint[]): SharedPart {
    const hit = this.shared.get(challenge.id);
    if (hit && hit.challenge === challenge && hit.solves === solves && hit.hints === hints) return hit;
    const data = JSON.stringify({ success: true, data: { ...challengeView(challenge, this.types), solves } });
    const part: SharedPart = {
      challenge,
      solves,
      hints,
      head: `${data.slice(0, -2)},"solved_by_me":`,
      locked: hints.map((h) => JSON.stringify(lockedHint(h))),
      open: hints.map((h) => JSON.stringify(openHint(h))),
      version: 0,
    };
    // The challenge cache reloads every 30 s with equal content: keep the version, and with it the cached answers.
    const same = hit && hit.head === part.head && hit.locked.join() === part.locked.join() && hit.open.join() === part.open.join();
    part.version = same ? hit.version : ++this.versions;
    this.shared.set(challenge.id, part);
    return part;
  }
}
