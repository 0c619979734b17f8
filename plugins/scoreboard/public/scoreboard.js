// The live scoreboard page: the table follows the WebSocket stream (a snapshot, then deltas with sequence
// numbers; a gap asks for a fresh snapshot), the chart shows the top 10 from /api/v1/scoreboard/top/10 and is
// refetched when they move. The socket reconnects with backoff and a fresh token. Names only ever reach the
// page through textContent and attribute setters; failures become a message, never a script error.

const SVG = "http://www.w3.org/2000/svg";
const CHART = { width: 800, height: 320, left: 56, right: 16, top: 12, bottom: 28 };

const status = document.getElementById("scoreboard-status");
const rowsBody = document.getElementById("scoreboard-rows");
const chart = document.getElementById("scoreboard-chart");
const legend = document.getElementById("scoreboard-legend");

const board = { rows: new Map(), order: [], seq: null, frozen: false, freezeAt: null, resyncing: false };
let socket = null;
let attempts = 0;
let chartTimer = null;
let reconnectTimer = null;

function say(text, kind) {
  status.textContent = text;
  status.className = kind ? `notice is-${kind}` : "notice";
}

/** fetch that never throws: {status, ok, body}; status 0 when the server could not be reached. */
async function call(method, path, headers = {}, body) {
  try {
    const response = await fetch(path, { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers }, body });
    let parsed = null;
    try {
      parsed = await response.json();
    } catch {
      parsed = null;
    }
    return { status: response.status, ok: response.ok && parsed !== null && parsed.success !== false, body: parsed };
  } catch {
    return { status: 0, ok: false, body: null };
  }
}

function refusalText(result) {
  if (result.status === 0) return "The server could not be reached. Retrying…";
  const errors = result.body && result.body.errors;
  const reason = errors && typeof errors === "object" ? Object.values(errors).flat().find((v) => typeof v === "string") : null;
  if (result.status === 404) return "The scoreboard is not available.";
  return reason || `The scoreboard could not be loaded (HTTP ${result.status}).`;
}

async function streamToken() {
  // A logged-in page must send its session's CSRF token with the POST; anonymous callers have none.
  const session = await call("GET", "/api/v1/auth/session");
  const csrf = session.ok && session.body.data && session.body.data.csrfToken;
  return call("POST", "/api/v1/scoreboard/stream-token", { "Content-Type": "application/json", ...(csrf ? { "CSRF-Token": csrf } : {}) }, "{}");
}

async function connect() {
  reconnectTimer = null;
  const issued = await streamToken();
  if (!issued.ok) {
    say(refusalText(issued), issued.status === 0 || issued.status >= 500 ? "error" : null);
    // Refusals (hidden board) are retried slowly: an admin may open the board again.
    return reconnect(issued.status === 403 || issued.status === 404 ? 60_000 : undefined);
  }
  const url = new URL("/api/v1/scoreboard/stream", window.location.href);
  url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("token", issued.body.data.token);
  let opened;
  try {
    opened = new WebSocket(url);
  } catch {
    return reconnect();
  }
  socket = opened;
  scheduleRenewal(opened, issued.body.data.expiresAt);
  opened.addEventListener("message", (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message && typeof message === "object") receive(message);
  });
  opened.addEventListener("close", () => {
    if (socket !== opened) return;
    socket = null;
    board.seq = null;
    say("Connection lost. Reconnecting…", "error");
    reconnect();
  });
}

// The server closes a socket when its token expires; a fresh token sent before that keeps it (and spares a snapshot).
function scheduleRenewal(opened, expiresAt) {
  const left = Date.parse(expiresAt) - Date.now();
  if (!(left > 0)) return;
  setTimeout(async () => {
    if (socket !== opened || opened.readyState !== WebSocket.OPEN) return;
    const issued = await streamToken();
    if (!issued.ok || socket !== opened || opened.readyState !== WebSocket.OPEN) return; // it closes at expiry and reconnects
    opened.send(JSON.stringify({ type: "renew", token: issued.body.data.token }));
    scheduleRenewal(opened, issued.body.data.expiresAt);
  }, left * 0.8);
}

function reconnect(delay) {
  if (reconnectTimer) return;
  const backoff = delay ?? Math.min(30_000, 1000 * 2 ** attempts) * (0.5 + Math.random() / 2);
  attempts++;
  reconnectTimer = setTimeout(connect, backoff);
}

function receive(message) {
  if (message.type === "snapshot" && Array.isArray(message.standings)) {
    attempts = 0;
    board.rows = new Map(message.standings.map((row) => [row.account_id, row]));
    board.order = message.standings.map((row) => row.account_id);
    board.seq = message.seq;
    board.frozen = Boolean(message.frozen);
    board.freezeAt = message.freezeAt || null;
    board.resyncing = false;
    render();
    refreshChartSoon(0);
    return;
  }
  if (message.type !== "delta" || board.resyncing) return;
  if (board.seq === null || message.seq !== board.seq + 1) {
    // A message went missing: ask for the whole picture again.
    board.resyncing = true;
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "resync" }));
    return;
  }
  board.seq = message.seq;
  const topBefore = board.order.slice(0, 10).join(",");
  for (const row of Array.isArray(message.rows) ? message.rows : []) board.rows.set(row.account_id, row);
  if (Array.isArray(message.order)) board.order = message.order;
  const listed = new Set(board.order);
  for (const id of [...board.rows.keys()]) if (!listed.has(id)) board.rows.delete(id);
  render();
  const touchedTop = (message.rows || []).some((row) => row.pos <= 10) || board.order.slice(0, 10).join(",") !== topBefore;
  if (touchedTop) refreshChartSoon(400);
}

function render() {
  const fragment = document.createDocumentFragment();
  board.order.forEach((id, index) => {
    const row = board.rows.get(id);
    if (!row) return;
    const tr = document.createElement("tr");
    tr.dataset.accountId = String(row.account_id);
    const place = document.createElement("td");
    place.textContent = String(index + 1);
    const name = document.createElement("td");
    const link = document.createElement("a");
    link.href = row.account_url;
    link.textContent = row.name;
    name.append(link);
    if (Array.isArray(row.members) && row.members.length > 0) {
      const members = document.createElement("span");
      members.className = "scoreboard-members";
      members.textContent = row.members.map((m) => `${m.name} (${m.score})`).join(", ");
      name.append(members);
    }
    if (row.bracket_name) {
      const bracket = document.createElement("span");
      bracket.className = "scoreboard-bracket";
      bracket.textContent = row.bracket_name;
      name.append(bracket);
    }
    const score = document.createElement("td");
    score.className = "scoreboard-score";
    score.textContent = String(row.score);
    tr.append(place, name, score);
    fragment.append(tr);
  });
  rowsBody.replaceChildren(fragment);
  if (board.order.length === 0) say(board.frozen ? "The scoreboard is frozen. No scores before the freeze." : "No scores yet. The table updates live.");
  else if (board.frozen) say(`The scoreboard is frozen${board.freezeAt ? ` since ${new Date(board.freezeAt).toLocaleString()}` : ""}: later solves are not shown.`);
  else say("Live: the table updates as flags are captured.", "success");
}

function refreshChartSoon(delay) {
  if (chartTimer) clearTimeout(chartTimer);
  chartTimer = setTimeout(refreshChart, delay);
}

async function refreshChart() {
  chartTimer = null;
  const result = await call("GET", "/api/v1/scoreboard/top/10");
  if (!result.ok || !result.body || typeof result.body.data !== "object" || result.body.data === null) {
    chart.replaceChildren(text("p", "The chart could not be loaded.", "is-error"));
    legend.replaceChildren();
    return;
  }
  const entries = Object.keys(result.body.data)
    .sort((a, b) => Number(a) - Number(b))
    .map((key) => result.body.data[key]);
  drawChart(entries);
}

function text(tag, content, className) {
  const node = document.createElement(tag);
  node.textContent = content;
  if (className) node.className = className;
  return node;
}

/** A step line per account: its score after each solve or award, in time order. */
function drawChart(entries) {
  legend.replaceChildren();
  if (entries.length === 0) {
    chart.replaceChildren(text("p", "No scores yet.", "scoreboard-empty"));
    return;
  }
  const series = entries.map((entry) => {
    let total = 0;
    const points = (Array.isArray(entry.solves) ? entry.solves : [])
      .map((s) => ({ t: Date.parse(s.date), v: Number(s.value) || 0 }))
      .filter((p) => Number.isFinite(p.t))
      .sort((a, b) => a.t - b.t)
      .map((p) => ({ t: p.t, score: (total += p.v) }));
    return { name: String(entry.name), points };
  });
  const all = series.flatMap((s) => s.points);
  const t0 = Math.min(...all.map((p) => p.t));
  const t1 = Math.max(...all.map((p) => p.t), t0 + 1);
  const low = Math.min(0, ...all.map((p) => p.score));
  const high = Math.max(1, ...all.map((p) => p.score));
  const x = (t) => CHART.left + ((t - t0) / (t1 - t0)) * (CHART.width - CHART.left - CHART.right);
  const y = (v) => CHART.top + (1 - (v - low) / (high - low)) * (CHART.height - CHART.top - CHART.bottom);

  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${CHART.width} ${CHART.height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `Score over time of the top ${series.length}: ${series.map((s) => `${s.name} ${s.points.length ? s.points[s.points.length - 1].score : 0}`).join(", ")}`);
  const axis = (x1, y1, x2, y2) => {
    const line = document.createElementNS(SVG, "line");
    for (const [k, v] of Object.entries({ x1, y1, x2, y2 })) line.setAttribute(k, String(v));
    line.setAttribute("class", "scoreboard-axis");
    svg.append(line);
  };
  axis(CHART.left, y(low), CHART.left, y(high));
  axis(CHART.left, y(0), CHART.width - CHART.right, y(0));
  for (const [value, label] of [[high, String(high)], [low, String(low)]]) {
    const tick = document.createElementNS(SVG, "text");
    tick.setAttribute("x", String(CHART.left - 6));
    tick.setAttribute("y", String(y(value) + 4));
    tick.setAttribute("text-anchor", "end");
    tick.setAttribute("class", "scoreboard-tick");
    tick.textContent = label;
    svg.append(tick);
  }
  // The time axis: when the first score was made and the latest (with the date when they are days apart).
  const when = (t) =>
    new Date(t).toLocaleString([], t1 - t0 > 86_400_000 ? { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" } : { hour: "2-digit", minute: "2-digit" });
  for (const [t, anchor] of [[t0, "start"], [t1, "end"]]) {
    const tick = document.createElementNS(SVG, "text");
    tick.setAttribute("x", String(x(t)));
    tick.setAttribute("y", String(CHART.height - 8));
    tick.setAttribute("text-anchor", anchor);
    tick.setAttribute("class", "scoreboard-tick");
    tick.textContent = when(t);
    svg.append(tick);
  }
  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    let d = `M ${x(s.points[0].t).toFixed(1)} ${y(0).toFixed(1)}`;
    for (const p of s.points) d += ` H ${x(p.t).toFixed(1)} V ${y(p.score).toFixed(1)}`;
    d += ` H ${x(t1).toFixed(1)}`;
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    path.setAttribute("class", `scoreboard-line series-${i}`);
    svg.append(path);
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `scoreboard-swatch series-${i}`;
    swatch.setAttribute("aria-hidden", "true");
    item.append(swatch, document.createTextNode(s.name));
    legend.append(item);
  });
  chart.replaceChildren(svg);
}

connect();
