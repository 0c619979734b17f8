// The challenge board: tiles grouped by category, a dialog per challenge with hints and the flag form.
import { api, el, fill, loginLink, say } from "./lib.js";

const board = document.getElementById("board");
const boardStatus = document.getElementById("board-status");
const dialog = document.getElementById("challenge-dialog");
const attemptForm = document.getElementById("attempt-form");
const attemptInput = document.getElementById("attempt-submission");
const attemptResult = document.getElementById("attempt-result");
const loggedIn = board.dataset.loggedIn === "true";

/** Tiles by challenge id, to mark a solve without reloading. */
const tiles = new Map();
let current = null;
/** Called when the dialog closes or switches: what a challenge type's panel script returned from mount. */
let unmountPanel = null;
const panel = document.getElementById("challenge-panel");

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

function errorParts(result) {
  if (result.status === 401) return [`${result.message} `, loginLink("Log in"), " to play."];
  return [result.message];
}

async function loadBoard() {
  const result = await api("GET", "/api/v1/challenges");
  board.setAttribute("aria-busy", "false");
  if (!result.ok) return say(boardStatus, "", "error", ...errorParts(result));
  const challenges = Array.isArray(result.body.data) ? result.body.data : [];
  if (challenges.length === 0) return say(boardStatus, "There are no challenges yet.");
  const solved = challenges.filter((c) => c.solved_by_me).length;
  say(boardStatus, loggedIn ? `${plural(challenges.length, "challenge", "challenges")}, ${solved} solved.` : `${plural(challenges.length, "challenge", "challenges")}.`);
  const categories = new Map();
  for (const challenge of challenges) {
    const name = challenge.category || "uncategorized";
    if (!categories.has(name)) categories.set(name, []);
    categories.get(name).push(challenge);
  }
  const sections = [...categories].map(([category, list], index) => {
    const headingId = `category-${index}`;
    return el("section", { className: "category", "aria-labelledby": headingId }, el("h2", { id: headingId }, category), el("ul", { className: "tiles" }, list.map((c) => el("li", {}, tile(c)))));
  });
  fill(board, sections);
  const fromHash = /^#challenge-(\d+)$/.exec(location.hash);
  if (fromHash && tiles.has(Number(fromHash[1]))) open(Number(fromHash[1]));
}

function tile(challenge) {
  const solves = el("span", { className: "tile-solves" }, challenge.solves === null || challenge.solves === undefined ? "" : plural(challenge.solves, "solve", "solves"));
  const mark = el("span", { className: "tile-solved", hidden: !challenge.solved_by_me }, "✓ Solved");
  const button = el(
    "button",
    { type: "button", className: "tile", "aria-haspopup": "dialog", "data-challenge-id": challenge.id },
    el("span", { className: "tile-name" }, challenge.name),
    el("span", { className: "tile-value" }, plural(challenge.value ?? 0, "point", "points")),
    solves,
    mark,
  );
  button.dataset.solved = String(Boolean(challenge.solved_by_me));
  button.addEventListener("click", () => open(challenge.id));
  tiles.set(challenge.id, { button, mark, solves, count: challenge.solves });
  return button;
}

function markSolved(id) {
  const entry = tiles.get(id);
  if (entry && entry.button.dataset.solved !== "true") {
    entry.button.dataset.solved = "true";
    entry.mark.hidden = false;
    if (typeof entry.count === "number") entry.solves.textContent = plural(++entry.count, "solve", "solves");
  }
  if (current && current.id === id) document.getElementById("challenge-solved").hidden = false;
}

async function open(id) {
  current = { id };
  fill(document.getElementById("challenge-name"), "Loading…");
  for (const part of ["challenge-category", "challenge-value", "challenge-description"]) fill(document.getElementById(part));
  for (const part of ["challenge-connection", "challenge-files", "challenge-hints", "challenge-solved"]) document.getElementById(part).hidden = true;
  clearPanel();
  attemptForm.hidden = true;
  say(attemptResult, "");
  if (!dialog.open) dialog.showModal();
  history.replaceState(null, "", `#challenge-${id}`);
  const result = await api("GET", `/api/v1/challenges/${id}`);
  if (!current || current.id !== id) return; // closed or switched while loading
  if (!result.ok) {
    fill(document.getElementById("challenge-name"), "Challenge unavailable");
    return say(attemptResult, "", "error", ...errorParts(result));
  }
  const challenge = result.body.data;
  current = challenge;
  fill(document.getElementById("challenge-name"), challenge.name);
  fill(document.getElementById("challenge-category"), challenge.category || "uncategorized");
  fill(document.getElementById("challenge-value"), plural(challenge.value ?? 0, "point", "points"));
  fill(document.getElementById("challenge-description"), challenge.description || "");
  document.getElementById("challenge-solved").hidden = !challenge.solved_by_me;
  if (challenge.connection_info) {
    const connection = document.getElementById("challenge-connection");
    fill(connection.querySelector("code"), challenge.connection_info);
    connection.hidden = false;
  }
  showFiles(challenge.files);
  showHints(challenge.hints);
  await mountPanel(challenge);
  attemptForm.hidden = false;
  attemptInput.value = "";
  if (!loggedIn) say(attemptResult, "", "", loginLink("Log in"), " to submit flags.");
  attemptInput.focus();
}

/**
 * A challenge type may bring its own panel (CTFd's type_data.scripts.view: a same-origin module exporting mount),
 * e.g. whale's Start/Renew/Stop for container challenges.
 */
async function mountPanel(challenge) {
  const script = challenge.type_data && challenge.type_data.scripts && challenge.type_data.scripts.view;
  if (typeof script !== "string" || !/^\/(?!\/)/.test(script)) return;
  try {
    const module = await import(script);
    if (!current || current.id !== challenge.id) return;
    panel.hidden = false;
    const unmount = await module.mount(panel, challenge, { api, el, say, loggedIn });
    unmountPanel = typeof unmount === "function" ? unmount : null;
  } catch (error) {
    say(panel, "This challenge's panel could not be loaded.", "error");
    panel.hidden = false;
  }
}

function clearPanel() {
  if (unmountPanel) unmountPanel();
  unmountPanel = null;
  fill(panel);
  panel.hidden = true;
}

function showFiles(files) {
  const section = document.getElementById("challenge-files");
  const links = (Array.isArray(files) ? files : []).filter((url) => typeof url === "string" && /^(\/(?!\/)|https?:\/\/)/.test(url));
  if (links.length === 0) return;
  fill(section.querySelector("ul"), links.map((url) => el("li", {}, el("a", { href: url, download: "" }, decodeURIComponent(url.split("?")[0].split("/").pop() || url)))));
  section.hidden = false;
}

function showHints(hints) {
  const section = document.getElementById("challenge-hints");
  const list = Array.isArray(hints) ? hints : [];
  if (list.length === 0) return;
  fill(section.querySelector("ul"), list.map((hint, i) => hintItem(hint, i)));
  section.hidden = false;
}

function hintItem(hint, index) {
  const title = hint.title || `Hint ${index + 1}`;
  const item = el("li", { className: "hint" }, el("strong", {}, title), hint.cost ? ` (${plural(hint.cost, "point", "points")})` : " (free)");
  if (typeof hint.content === "string") {
    item.append(el("p", { className: "hint-content" }, hint.content));
    return item;
  }
  const status = el("span", { className: "hint-status", role: "status" });
  const button = el("button", { type: "button", className: "small" }, hint.cost ? `Unlock for ${plural(hint.cost, "point", "points")}` : "Show hint");
  let armed = !hint.cost;
  button.addEventListener("click", async () => {
    if (!armed) {
      armed = true;
      button.textContent = `Confirm: spend ${plural(hint.cost, "point", "points")}`;
      return;
    }
    button.disabled = true;
    const unlock = await api("POST", "/api/v1/unlocks", { target: hint.id, type: "hints" });
    const alreadyUnlocked = unlock.status === 400 && unlock.body && unlock.body.errors && "target" in unlock.body.errors;
    if (!unlock.ok && !alreadyUnlocked) {
      button.disabled = false;
      return say(status, "", "error", ...errorParts(unlock));
    }
    const loaded = await api("GET", `/api/v1/hints/${hint.id}`);
    if (!loaded.ok || typeof loaded.body.data.content !== "string") {
      button.disabled = false;
      return say(status, "", "error", ...errorParts(loaded));
    }
    button.replaceWith(el("p", { className: "hint-content" }, loaded.body.data.content));
    say(status, "Hint unlocked.", "success");
  });
  item.append(" ", button, " ", status);
  return item;
}

const RESULT_KIND = { correct: "success", already_solved: "success", incorrect: "error" };

attemptForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!current || current.id === undefined) return;
  const submission = attemptInput.value.trim();
  if (submission === "") {
    attemptInput.setAttribute("aria-invalid", "true");
    return say(attemptResult, "Enter a flag first.", "error");
  }
  attemptInput.removeAttribute("aria-invalid");
  const button = attemptForm.querySelector("[type=submit]");
  button.disabled = true;
  const id = current.id;
  const result = await api("POST", "/api/v1/challenges/attempt", { challenge_id: id, submission });
  button.disabled = false;
  const data = result.body && result.body.data;
  // The attempt answers keep success: true with a status even on 403/429 (paused, rate limited).
  if (result.status === 401 || (data && data.status === "authentication_required")) {
    return say(attemptResult, `${(data && data.message) || result.message} `, "error", loginLink("Log in"), " to play.");
  }
  if (data && typeof data.status === "string" && typeof data.message === "string") {
    say(attemptResult, data.message, RESULT_KIND[data.status] || "error");
    if (data.status === "correct" || data.status === "already_solved") {
      markSolved(id);
      attemptInput.value = "";
    }
    return;
  }
  say(attemptResult, "", "error", ...errorParts(result));
});

dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
dialog.addEventListener("close", () => {
  current = null;
  clearPanel();
  history.replaceState(null, "", location.pathname + location.search);
});

loadBoard();
