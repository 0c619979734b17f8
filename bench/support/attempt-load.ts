import autocannon from "autocannon";
import { flagOf, type SeededEvent, type SeededPlayer } from "./event-seed.js";
import type { LoadResult } from "./load.js";

/** Attempts' figures from one load run. */
export interface AttemptLoadResult {
  perSec: number;
  total: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** Answers by HTTP status and attempt status, e.g. `200 correct`, `200 incorrect`, `429 ratelimited`. */
  statuses: Record<string, number>;
}

const CONNECTIONS = 50;
/** Share of attempts that carry the right flag (the rest are wrong guesses). */
const CORRECT_SHARE = 0.3;

/**
 * One request per player to a cheap route that needs a player: an API token is looked up in the database on its
 * first use and cached after, as it is for a player who has been playing a while. Attempts then measure the game,
 * not the cold token lookup.
 */
export async function warmCallers(url: string, players: SeededPlayer[]): Promise<void> {
  let next = 0;
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    amount: players.length,
    requests: [
      {
        method: "GET",
        path: "/api/v1/users/me/awards",
        setupRequest(request) {
          request.headers = { authorization: `Token ${players[next++ % players.length]!.token}` };
          return request;
        },
      },
    ],
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`warming the callers: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
}

/**
 * Posts attempts from every player for `seconds` (autocannon, 50 connections) while `reads` runs beside it.
 * Attempt i is player i mod P's, on a challenge spread by i, with the right flag in CORRECT_SHARE of them: a right
 * flag on a challenge the player's account has not solved is a new solve, which changes what the reads show.
 */
export async function attemptLoad(url: string, event: SeededEvent, seconds: number, reads: () => Promise<LoadResult>): Promise<{ attempts: AttemptLoadResult; reads: LoadResult }> {
  const { players, challengeIds } = event;
  const statuses: Record<string, number> = {};
  let next = 0;
  const attempts = autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 20,
    requests: [
      {
        method: "POST",
        path: "/api/v1/challenges/attempt",
        setupRequest(request) {
          const i = next++;
          const player = players[i % players.length]!;
          const challenge = challengeIds[(i * 7 + Math.floor(i / players.length)) % challengeIds.length]!;
          const correct = (i * 7919) % 1000 < CORRECT_SHARE * 1000;
          request.headers = { "content-type": "application/json", authorization: `Token ${player.token}` };
          request.body = JSON.stringify({ challenge_id: challenge, submission: correct ? flagOf(challenge) : `flag{wrong-${i}}` });
          return request;
        },
        onResponse(status, body) {
          // A regex, not JSON.parse: the load generator shares the machine's two cores with the server.
          const key = `${status} ${/"status":"(\w+)"/.exec(body)?.[1] ?? "error"}`;
          statuses[key] = (statuses[key] ?? 0) + 1;
        },
      },
    ],
  });
  const [attemptResult, readResult] = await Promise.all([attempts, reads()]);
  return {
    attempts: {
      perSec: Math.round(attemptResult.requests.average),
      total: attemptResult.requests.total,
      p50Ms: attemptResult.latency.p50,
      p99Ms: attemptResult.latency.p99,
      errors: attemptResult.errors,
      statuses,
    },
    reads: readResult,
  };
}
