// whale's admin page: running containers with owner, challenge, age, expiry, port and engine, a force-stop button,
// and the queue depth and start-time figures. Refreshed every 5 s; data from /api/v1/containers/admin.
import { api, el, fill, say } from "/ctf/static/js/lib.js";

const figures = document.getElementById("whale-figures");
const body = document.querySelector("#whale-containers tbody");

const age = (iso) => {
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.floor(s / 60)} min` : `${Math.floor(s / 3600)} h`;
};
const seconds = (value) => (value === null ? "–" : `${value} s`);

function row(container) {
  const stop = el("button", { type: "button", className: "small danger" }, "Force stop");
  stop.addEventListener("click", async () => {
    stop.disabled = true;
    const result = await api("DELETE", `/api/v1/containers/admin/${encodeURIComponent(container.start_id)}`);
    if (!result.ok) {
      stop.disabled = false;
      return say(figures, result.message, "error");
    }
    load();
  });
  return el(
    "tr",
    { "data-start-id": container.start_id },
    el("td", {}, `${container.account_type} ${container.account_id}`),
    el("td", {}, el("a", { href: `/challenges#challenge-${container.challenge_id}` }, `#${container.challenge_id}`)),
    el("td", {}, container.status),
    el("td", {}, age(container.created_at)),
    el("td", {}, container.expires_at ? new Date(container.expires_at).toLocaleTimeString() : "–"),
    el("td", {}, container.host_port ?? "–"),
    el("td", {}, container.engine),
    el("td", {}, stop),
  );
}

async function load() {
  const result = await api("GET", "/api/v1/containers/admin");
  if (!result.ok) return say(figures, result.message, "error");
  const data = result.body.data;
  const times = data.start_times;
  say(
    figures,
    `${data.containers.length} live · queue depth ${data.queue_depth} · engine ${data.engine.driver}${data.engine.unavailable ? ` (unavailable: ${data.engine.unavailable})` : ""} · ` +
      `start time p50 ${seconds(times.total_s.p50)}, p95 ${seconds(times.total_s.p95)} · queue wait p50 ${seconds(times.queue_wait_s.p50)}, p95 ${seconds(times.queue_wait_s.p95)} (last ${times.samples} starts)`,
    data.engine.unavailable ? "error" : "",
  );
  fill(body, data.containers.length === 0 ? el("tr", {}, el("td", { colspan: "8" }, "No containers.")) : data.containers.map(row));
}

load();
setInterval(load, 5000);
