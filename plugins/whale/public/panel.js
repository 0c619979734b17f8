// whale's panel in the challenge dialog (loaded for container challenges through type_data.scripts.view):
// Start, the state of the start in words while it runs, then the connection with a copy button and a live
// countdown, Renew and Stop. All data comes from /api/v1/containers; user data only reaches the page as text.

const POLL_MS = 2000;
/** The page gives up polling one start after this long and says so (the start itself may still finish). */
const CLIENT_TIMEOUT_MS = 5 * 60 * 1000;
const FINAL = new Set(["ready", "failed", "stopped"]);

/** The state of a start, in words a player understands. */
function stateInWords(status) {
  switch (status.status) {
    case "queued":
      return "Waiting for a free worker…";
    case "starting":
      return status.max_attempts > 1 ? `Starting the challenge environment… (attempt ${status.attempt} of ${status.max_attempts})` : "Starting the challenge environment…";
    case "initialized":
      return "Initializing…";
    default:
      return "";
  }
}

function remaining(ms) {
  if (ms <= 0) return "expired";
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

export function mount(root, challenge, { api, el, say, loggedIn }) {
  const timers = new Set();
  const later = (fn, ms) => {
    const id = setTimeout(() => {
      timers.delete(id);
      fn();
    }, ms);
    timers.add(id);
  };
  let countdown = null;
  let alive = true;

  const heading = el("h3", {}, "Your instance");
  const state = el("p", { className: "whale-state", role: "status", "aria-live": "polite", "data-whale-state": "" });
  const actions = el("p", { className: "whale-actions" });
  root.replaceChildren(heading, state, actions);

  if (!loggedIn) {
    say(state, "Log in to start your own instance of this challenge.");
    return () => undefined;
  }

  function button(label, onClick, className = "") {
    const b = el("button", { type: "button", className: `small ${className}`.trim() }, label);
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        await onClick();
      } finally {
        b.disabled = false;
      }
    });
    return b;
  }

  function stopCountdown() {
    if (countdown) clearInterval(countdown);
    countdown = null;
  }

  function showIdle(message = "", kind = "") {
    stopCountdown();
    say(state, message || "No instance is running for you.", kind);
    state.dataset.whaleState = "none";
    actions.replaceChildren(button("Start", start));
  }

  function showProgress(status) {
    stopCountdown();
    state.dataset.whaleState = status.status;
    say(state, stateInWords(status));
    actions.replaceChildren(button("Stop", stop, "danger"));
  }

  function showReady(status) {
    stopCountdown();
    state.dataset.whaleState = "ready";
    const { host, port } = status.connection;
    const http = challenge.protocol === "http";
    const text = http ? `http://${host}:${port}/` : `nc ${host} ${port}`;
    const target = http ? el("a", { href: text, target: "_blank", rel: "noopener", "data-whale-connection": "" }, text) : el("code", { "data-whale-connection": "" }, text);
    const copy = button("Copy", async () => {
      try {
        await navigator.clipboard.writeText(text);
        copy.textContent = "Copied";
      } catch {
        copy.textContent = "Copy failed: select the text";
      }
    });
    const clock = el("span", { "data-whale-countdown": "" });
    const expiresAt = Date.parse(status.expires_at);
    const tick = () => {
      const left = expiresAt - Date.now();
      clock.textContent = left > 0 ? `Expires in ${remaining(left)}` : "Expired";
      if (left <= 0) stopCountdown();
    };
    tick();
    countdown = setInterval(tick, 1000);
    state.classList.remove("is-error", "is-success");
    state.replaceChildren("Ready: ", target, " ", copy, " · ", clock);
    const renewals = typeof status.renewals_left === "number" ? status.renewals_left : null;
    actions.replaceChildren(
      ...(renewals === null || renewals > 0 ? [button(renewals === null ? "Renew" : `Renew (${renewals} left)`, renew), " "] : []),
      button("Stop", stop, "danger"),
    );
  }

  function show(status) {
    if (!status || status.status === "stopped") return showIdle();
    if (status.status === "failed") return showIdle(`The instance could not be started: ${status.error || "unknown reason"}`, "error");
    if (status.status === "ready") return showReady(status);
    return showProgress(status);
  }

  /** Polls one start every 2 s until it is final, or until the client timeout. */
  function follow(startId, since = Date.now()) {
    later(async () => {
      if (!alive) return;
      if (Date.now() - since > CLIENT_TIMEOUT_MS) {
        stopCountdown();
        say(state, "This is taking much longer than expected. The platform may be very busy: stop and try again later, or reload this page.", "error");
        actions.replaceChildren(button("Stop", stop, "danger"));
        return;
      }
      const result = await api("GET", `/api/v1/containers/status?id=${encodeURIComponent(startId)}`);
      if (!alive) return;
      if (!result.ok) return follow(startId, since); // a blip: keep polling until the timeout
      const status = result.body.data;
      if (FINAL.has(status.status)) return refresh();
      show(status);
      follow(startId, since);
    }, POLL_MS);
  }

  async function refresh() {
    const result = await api("GET", "/api/v1/containers");
    if (!alive) return;
    if (!result.ok) return say(state, result.message, "error");
    const mine = (result.body.data || []).find((c) => c.challenge_id === challenge.id);
    show(mine || null);
    if (mine && !FINAL.has(mine.status)) follow(mine.start_id);
  }

  async function start() {
    const result = await api("POST", "/api/v1/containers", { challenge_id: challenge.id });
    if (!alive) return;
    if (!result.ok) {
      if (result.status === 409) return refresh();
      return say(state, result.message, "error");
    }
    show({ status: "queued", attempt: 0, max_attempts: 0 });
    follow(result.body.data.start_id);
  }

  async function renew() {
    const result = await api("POST", "/api/v1/containers/renew", { challenge_id: challenge.id });
    if (!alive) return;
    if (!result.ok) return say(state, result.message, "error");
    showReady(result.body.data);
  }

  async function stop() {
    const result = await api("DELETE", "/api/v1/containers", { challenge_id: challenge.id });
    if (!alive) return;
    if (!result.ok && result.status !== 404) return say(state, result.message, "error");
    showIdle("Your instance was stopped.");
  }

  say(state, "Loading…");
  refresh();
  return () => {
    alive = false;
    stopCountdown();
    for (const id of timers) clearTimeout(id);
    timers.clear();
  };
}
