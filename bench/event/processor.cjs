/**
 * Artillery processor of `npm run bench -- event`: what one simulated player decides and remembers. The plan of the
 * event (players, challenges, flags, hints, rates) is a JSON file named by EVENT_BENCH_PLAN, written by bench/event.ts.
 * Requests to flaghost go through Artillery's HTTP engine (named, so the report has per-endpoint figures); sign-in and
 * reading a flag from a player's container are done here, with node:http, because they need what the engine cannot
 * give: a source address of the player's own (login is rate limited per client address and nginx passes on the TCP
 * peer) and a request to the container rather than to the target. Their figures are emitted as `event.*` metrics.
 * Correct answers are appended to EVENT_BENCH_ACKS as `userId challengeId epochMs` lines: the driver matches them
 * with the stream's deltas (delivery delay) and with the solves table (consistency).
 *
 * CommonJS: Artillery 2.0.21 loads processors with require().
 */
"use strict";
const http = require("node:http");
const net = require("node:net");
const fs = require("node:fs");

const plan = JSON.parse(fs.readFileSync(process.env.EVENT_BENCH_PLAN, "utf8"));
const acks = fs.openSync(process.env.EVENT_BENCH_ACKS, "a");
// Artillery runs one worker thread per core but one (and splits the arrivals between them): a player is taken by
// creating its claim directory, which only one thread can do, so no two virtual users play the same account.
const claims = process.env.EVENT_BENCH_CLAIMS;
let cursor = 0;
function claimPlayer() {
  for (; cursor < plan.players.length; cursor++) {
    try {
      fs.mkdirSync(`${claims}/${cursor}`);
      return plan.players[cursor++];
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
    }
  }
  return undefined;
}

const random = (min, max) => min + Math.random() * (max - min);
const chance = (p) => Math.random() < p;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rates = plan.rates;

/** A plain request with the player's own source address; resolves with status, headers and body (never rejects). */
function request(method, url, { headers = {}, body, localAddress, timeoutMs = 10_000 } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      url,
      { method, localAddress, headers: { ...headers, ...(payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {}) }, timeout: timeoutMs },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: text, ms: Date.now() - started }));
        res.on("error", (e) => resolve({ status: 0, error: e.code || e.message, ms: Date.now() - started }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("ETIMEDOUT")));
    req.on("error", (e) => resolve({ status: 0, error: e.code || e.message, ms: Date.now() - started }));
    if (payload) req.write(payload);
    req.end();
  });
}

/** Records a request made here like the engine's per-endpoint metrics, under `event.<name>`. */
function measure(events, name, answer) {
  events.emit("histogram", `event.response_time.${name}`, answer.ms);
  events.emit("counter", `event.${name}.${answer.status ? `codes.${answer.status}` : `errors.${answer.error}`}`, 1);
}

/** Takes the next player of this worker's share and sets the variables every request uses. */
function identify(context, events, next) {
  const player = claimPlayer();
  if (!player) return next(new Error("no player left to play"));
  const v = context.vars;
  v.player = player;
  v.solved = Object.fromEntries((player.solved || []).map((id) => [id, true]));
  v.score = 0;
  v.unlocked = {};
  v.endAt = plan.endAt;
  v.auth = player.token ? { authorization: `Token ${player.token}` } : null;
  next();
}

/** Registers or logs in (players without a seeded token), from the player's own address. */
function signIn(context, events, next) {
  const v = context.vars;
  const p = v.player;
  if (v.auth) return next();
  (async () => {
    for (let attempt = 0; attempt < 20 && Date.now() < v.endAt; attempt++) {
      const route = p.kind === "register" ? "POST /api/v1/auth/register" : "POST /api/v1/auth/login";
      const body = p.kind === "register" ? { name: p.name, email: p.email, password: p.password } : { name: p.name, password: p.password };
      const answer = await request("POST", `${plan.target}${route.slice(5)}`, { body, localAddress: p.address });
      measure(events, route, answer);
      if (answer.status === 200) {
        const data = JSON.parse(answer.body).data;
        const cookie = [].concat(answer.headers["set-cookie"] || []).map((c) => c.split(";")[0]).join("; ");
        p.userId = data.user.id;
        v.auth = { cookie, "csrf-token": data.csrfToken };
        return;
      }
      // A registration that went through before a lost answer (web killed): log in instead.
      if (p.kind === "register" && answer.status === 400 && /taken|used/.test(answer.body)) p.kind = "login";
      await sleep(answer.status === 429 ? Number(answer.headers["retry-after"] || 5) * 1000 : 1000 + attempt * 500);
    }
    events.emit("counter", "event.sign_in_gave_up", 1);
  })().then(() => next(), next);
}

/** Every request carries the player's credentials (token, or session cookie and CSRF token). */
function authorize(requestParams, context, events, next) {
  requestParams.headers = { ...(requestParams.headers || {}), ...(context.vars.auth || {}) };
  next();
}

function playing(context, next) {
  return next(Date.now() < context.vars.endAt && context.vars.auth !== null);
}

/** Picks the challenge this visit is about, and what the player will do with it. */
function choose(context, events, next) {
  const v = context.vars;
  const open = plan.challenges.filter((c) => !v.solved[c.id]);
  // Container challenges are picked less often than their share of the board (rates.containerWeight), as a player
  // reads the board first and a container costs a wait.
  const weights = open.map((c) => (c.container ? rates.containerWeight : 1));
  let pick = Math.random() * weights.reduce((a, b) => a + b, 0);
  let challenge = open[open.length - 1];
  for (let i = 0; i < open.length; i++) if ((pick -= weights[i]) <= 0) { challenge = open[i]; break; }
  v.idle = !challenge; // everything solved: the player only watches
  if (!challenge) challenge = plan.challenges[0];
  v.cid = challenge.id;
  v.container = Boolean(challenge.container) && !v.idle;
  v.wrongGuesses = v.idle ? 0 : chance(rates.wrong) ? (chance(0.3) ? 2 : 1) : 0;
  v.solves = !v.idle && !challenge.container && chance(rates.solve);
  v.flag = challenge.flag || "";
  v.hint = !v.idle && challenge.hint && !v.unlocked[challenge.hint.id] && v.score >= challenge.hint.cost && chance(rates.hint) ? challenge.hint.id : 0;
  v.readBoard = chance(rates.scoreboard);
  v.readTop = chance(rates.top);
  v.containerStatus = "";
  v.boxFlag = "";
  v.stopBox = false;
  v.polls = 0;
  next();
}

// Bodies are set by hooks: a template would send the challenge id as a string, which flaghost's strict bodies refuse.
function wrongBody(requestParams, context, events, next) {
  const v = context.vars;
  v.wrongGuesses--;
  requestParams.json = { challenge_id: v.cid, submission: `flag{guess-${Math.random().toString(36).slice(2, 10)}}` };
  next();
}
function rightBody(requestParams, context, events, next) {
  requestParams.json = { challenge_id: context.vars.cid, submission: context.vars.flag };
  next();
}
function boxBody(requestParams, context, events, next) {
  requestParams.json = { challenge_id: context.vars.cid, submission: context.vars.boxFlag };
  next();
}
function challengeBody(requestParams, context, events, next) {
  requestParams.json = { challenge_id: context.vars.cid };
  next();
}
function unlockBody(requestParams, context, events, next) {
  requestParams.json = { target: context.vars.hint, type: "hints" };
  next();
}
function guessing(context, next) {
  return next(context.vars.wrongGuesses > 0 && Date.now() < context.vars.endAt);
}

/** A player's pause: reading, thinking, trying something locally. */
function think(context, events, next) {
  // Not past the end: a player's last visit stops with the event.
  setTimeout(next, Math.max(0, Math.min(random(rates.thinkMs[0], rates.thinkMs[1]), context.vars.endAt - Date.now())));
}
function shortThink(context, events, next) {
  setTimeout(next, random(500, 2500));
}
/** Between two looks at a starting container (the page polls about once a second). */
function pollWait(context, events, next) {
  setTimeout(next, 1000);
}

/** Attempt answers: a correct one is recorded with the time its answer arrived (before any stream delta is matched). */
function onAttempt(requestParams, response, context, events, next) {
  const v = context.vars;
  if (response.statusCode !== 200) return next();
  let status;
  try {
    status = JSON.parse(response.body).data.status;
  } catch {
    return next();
  }
  events.emit("counter", `event.attempt.${status}`, 1);
  const sent = requestParams.json;
  if (status === "correct") {
    fs.writeSync(acks, `${v.player.userId} ${sent.challenge_id} ${Date.now()}\n`);
    v.solved[sent.challenge_id] = true;
    v.score += plan.challenges.find((c) => c.id === sent.challenge_id)?.value ?? 0;
  }
  if (status === "already_solved") v.solved[sent.challenge_id] = true;
  next();
}

function onUnlock(requestParams, response, context, events, next) {
  if (response.statusCode === 200) {
    const v = context.vars;
    v.unlocked[v.hint] = true;
    v.score -= plan.challenges.find((c) => c.hint && c.hint.id === v.hint)?.hint.cost ?? 0;
  }
  next();
}

/** POST /containers: 202 starts the clock; 409 (one per account) and 429 (cluster full) leave the visit. */
function onStart(requestParams, response, context, events, next) {
  const v = context.vars;
  v.containerStatus = response.statusCode === 202 ? "queued" : "";
  v.stopBox = response.statusCode === 202;
  v.startedAt = Date.now();
  events.emit("counter", `event.container.start_${response.statusCode}`, 1);
  if (response.statusCode === 202) events.emit("counter", "event.container.accepted", 1);
  next();
}

/** Polls the player's containers until this challenge's start is ready or failed. */
function onPoll(requestParams, response, context, events, next) {
  const v = context.vars;
  v.polls++;
  if (response.statusCode === 200) {
    try {
      const mine = JSON.parse(response.body).data.find((c) => c.challenge_id === v.cid);
      v.containerStatus = mine ? mine.status : "gone";
      v.connection = mine && mine.connection;
    } catch {
      /* a broken body is counted by the engine's status codes */
    }
  }
  if (v.containerStatus === "ready" || v.containerStatus === "failed") {
    events.emit("histogram", "event.container.start_to_final_ms", Date.now() - v.startedAt);
    events.emit("counter", `event.container.${v.containerStatus}`, 1);
  } else if (v.polls >= rates.maxPolls) {
    events.emit("counter", "event.container.neither", 1);
    events.emit("counter", `event.container.gave_up_while_${v.containerStatus}`, 1);
  }
  next();
}

function polling(context, next) {
  const v = context.vars;
  return next(["queued", "starting", "initialized"].includes(v.containerStatus) && v.polls < rates.maxPolls);
}

/** The first line a TCP service says (the test image tells its flag to whoever connects, like a netcat challenge). */
function firstLine(host, port, timeoutMs) {
  return new Promise((resolve) => {
    const started = Date.now();
    let text = "";
    const socket = net.connect(port, host);
    const done = (answer) => {
      socket.destroy();
      resolve({ ...answer, ms: Date.now() - started });
    };
    socket.setTimeout(timeoutMs, () => done({ status: 0, error: "ETIMEDOUT" }));
    socket.on("data", (chunk) => {
      text += chunk;
      if (text.includes("\n")) done({ status: 200, body: text.split("\n")[0] });
    });
    socket.on("end", () => done(text ? { status: 200, body: text } : { status: 0, error: "EMPTY" }));
    socket.on("error", (e) => done({ status: 0, error: e.code || e.message }));
  });
}

/** Reads the flag from the player's container (as a player would with nc). */
function readContainerFlag(context, events, next) {
  const v = context.vars;
  if (v.containerStatus !== "ready" || !v.connection) return next();
  firstLine(v.connection.host, v.connection.port, 5000).then((answer) => {
    measure(events, "TCP container flag", answer);
    if (answer.status === 200) v.boxFlag = answer.body.trim();
    next();
  }, next);
}

module.exports = {
  identify, signIn, authorize, playing, choose, think, shortThink, pollWait, wrongBody, rightBody, boxBody, challengeBody, unlockBody, guessing,
  onAttempt, onUnlock, onStart, onPoll, polling, readContainerFlag,
};
