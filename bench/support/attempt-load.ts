import autocannon from "autocannon";
import { flagOf, type SeededEvent, type SeededPlayer } from "./event-seed.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { resolve } from "node:path";
import { loadScript, loadTool, type LoadResult } from "./load.js";

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
 * Attempt i is player i mod P's, on a challenge spread by i, with the right flag in CORRECT_SHARE of them: a right
 * flag on a challenge the player's account has not solved is a new solve, which changes what the reads show. The
 * players' tokens and the challenge ids come from files (WRK_ATTEMPT_TOKENS, WRK_ATTEMPT_CHALLENGES).
 */
const WRK_ATTEMPTS = `
local tokens, challenges, next_attempt = {}, {}, 0
init = function(args)
  for line in io.lines(os.getenv("WRK_ATTEMPT_TOKENS")) do table.insert(tokens, line) end
  for line in io.lines(os.getenv("WRK_ATTEMPT_CHALLENGES")) do table.insert(challenges, tonumber(line)) end
end
request = function()
  local i = next_attempt
  next_attempt = i + 1
  local players = #tokens
  local challenge = challenges[((i * 7 + math.floor(i / players)) % #challenges) + 1]
  local submission = ((i * 7919) % 1000 < ${CORRECT_SHARE * 1000}) and string.format("flag{bench-%d}", challenge) or string.format("flag{wrong-%d}", i)
  local body = string.format('{"challenge_id":%d,"submission":"%s"}', challenge, submission)
  return wrk.format("POST", "/api/v1/challenges/attempt", { ["Content-Type"] = "application/json", ["Authorization"] = "Token " .. tokens[(i % players) + 1] }, body)
end
answer_key = function(status, body)
  return status .. " " .. (string.match(body, '"status":"([%w_]+)"') or "error")
end
`;

/**
 * Posts attempts from every player for `seconds` (50 keep-alive connections) while `reads` runs beside it. With wrk
 * installed wrk sends them (a Lua script), else autocannon: on two cores a JavaScript generator takes about a core
 * of its own at these rates, which the server then lacks.
 */
export async function attemptLoad(url: string, event: SeededEvent, seconds: number, reads: () => Promise<LoadResult>): Promise<{ attempts: AttemptLoadResult; reads: LoadResult }> {
  const load = loadTool === "wrk" ? wrkAttempts(url, event, seconds) : autocannonAttempts(url, event, seconds);
  const [attempts, readResult] = await Promise.all([load, reads()]);
  return { attempts, reads: readResult };
}

async function wrkAttempts(url: string, event: SeededEvent, seconds: number): Promise<AttemptLoadResult> {
  const dir = mkdtempSync(resolve(tmpdir(), "flaghost-attempts-"));
  try {
    const tokens = resolve(dir, "tokens");
    const challenges = resolve(dir, "challenges");
    writeFileSync(tokens, event.players.map((p) => p.token).join("\n") + "\n");
    writeFileSync(challenges, event.challengeIds.join("\n") + "\n");
    const result = await loadScript(url, CONNECTIONS, seconds, WRK_ATTEMPTS, { allowErrors: true, timeoutSeconds: 20, env: { WRK_ATTEMPT_TOKENS: tokens, WRK_ATTEMPT_CHALLENGES: challenges } });
    return { perSec: result.reqPerSec, total: result.requests, p50Ms: result.p50Ms, p99Ms: result.p99Ms, errors: result.errors, statuses: result.statuses ?? {} };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function autocannonAttempts(url: string, event: SeededEvent, seconds: number): Promise<AttemptLoadResult> {
  const { players, challengeIds } = event;
  const statuses: Record<string, number> = {};
  let next = 0;
  const result = await autocannon({
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
  return { perSec: Math.round(result.requests.average), total: result.requests.total, p50Ms: result.latency.p50, p99Ms: result.latency.p99, errors: result.errors, statuses };
}
