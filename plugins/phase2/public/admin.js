// The admin page: analytics drawn as SVG charts, challenge health and findings, from phase2's admin API.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 720;
const HEIGHT = 240;
const PAD = { left: 44, right: 12, top: 12, bottom: 28 };
const statusLine = document.getElementById("admin-status");

function svgElement(name, attributes) {
  const el = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, String(value));
  return el;
}

function frame(max, labels) {
  const svg = svgElement("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img" });
  const bottom = HEIGHT - PAD.bottom;
  svg.append(svgElement("line", { class: "phase2-axis", x1: PAD.left, y1: bottom, x2: WIDTH - PAD.right, y2: bottom }));
  svg.append(svgElement("line", { class: "phase2-axis", x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: bottom }));
  for (const [value, y] of [[0, bottom], [max, PAD.top]]) {
    const tick = svgElement("text", { class: "phase2-tick", x: PAD.left - 6, y: y + 4, "text-anchor": "end" });
    tick.textContent = String(value);
    svg.append(tick);
  }
  for (const [x, text] of labels) {
    const label = svgElement("text", { class: "phase2-tick", x, y: HEIGHT - 8, "text-anchor": "middle" });
    label.textContent = text;
    svg.append(label);
  }
  return svg;
}

/** A line chart: series = [{ className, values }] over the same x points. */
function lineChart(container, points, series, ariaLabel) {
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const n = points.length;
  const x = (i) => PAD.left + (n <= 1 ? 0 : (i * (WIDTH - PAD.left - PAD.right)) / (n - 1));
  const y = (v) => HEIGHT - PAD.bottom - (v / max) * (HEIGHT - PAD.top - PAD.bottom);
  const labels = n === 0 ? [] : [[x(0), points[0]], [x(n - 1), points[n - 1]]];
  const svg = frame(max, labels);
  svg.setAttribute("aria-label", ariaLabel);
  for (const s of series) {
    if (n === 0) continue;
    const d = s.values.map((v, i) => `${i === 0 ? "M" : "L"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    svg.append(svgElement("path", { class: `phase2-line ${s.className}`, d }));
  }
  container.replaceChildren(svg);
}

function barChart(container, bars, ariaLabel) {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const slot = (WIDTH - PAD.left - PAD.right) / Math.max(1, bars.length);
  const labels = bars.map((b, i) => [PAD.left + slot * i + slot / 2, b.label]);
  const svg = frame(max, labels);
  svg.setAttribute("aria-label", ariaLabel);
  bars.forEach((b, i) => {
    const h = (b.value / max) * (HEIGHT - PAD.top - PAD.bottom);
    svg.append(svgElement("rect", { class: "phase2-bar", x: PAD.left + slot * i + slot * 0.15, y: HEIGHT - PAD.bottom - h, width: slot * 0.7, height: h }));
  });
  container.replaceChildren(svg);
}

function tableRows(tbody, items, cells) {
  tbody.replaceChildren(
    ...items.map((item) => {
      const tr = document.createElement("tr");
      for (const [text, className] of cells(item)) {
        const td = document.createElement("td");
        td.textContent = String(text);
        if (className) td.className = className;
        tr.append(td);
      }
      return tr;
    }),
  );
}

const time = (iso) => new Date(iso).toISOString().slice(11, 16);

async function api(path) {
  const res = await fetch(path, { credentials: "same-origin" });
  const body = await res.json();
  if (!res.ok || !body.success) throw new Error(body.message || `HTTP ${res.status}`);
  return body.data;
}

async function load() {
  try {
    const [analytics, health, findings] = await Promise.all([
      api("/api/v1/phase2/analytics"),
      api("/api/v1/phase2/challenge_health"),
      api("/api/v1/phase2/suspicious_activity?limit=50"),
    ]);
    const latest = analytics.latest;
    const perMinute = latest ? latest.per_minute : [];
    lineChart(
      document.getElementById("per-minute-chart"),
      perMinute.map((m) => time(m.minute)),
      [
        { className: "series-all", values: perMinute.map((m) => m.submissions) },
        { className: "series-correct", values: perMinute.map((m) => m.correct) },
        { className: "series-incorrect", values: perMinute.map((m) => m.incorrect) },
      ],
      "Submissions per minute over the analytics window",
    );
    lineChart(
      document.getElementById("series-chart"),
      analytics.series.map((s) => time(s.taken_at)),
      [{ className: "series-all", values: analytics.series.map((s) => s.active_accounts) }],
      "Active accounts per analytics run",
    );
    barChart(
      document.getElementById("category-chart"),
      (latest ? latest.solves_per_category : []).map((c) => ({ label: c.category, value: c.solves })),
      "Solves per category",
    );
    tableRows(document.getElementById("hot-rows"), latest ? latest.hot_spots : [], (h) => [[h.challenge_name], [h.wrong_answers], [h.accounts]]);
    tableRows(document.getElementById("health-rows"), health, (h) => [
      [`#${h.challenge_id}`],
      [h.status, `status-${h.status}`],
      [h.score],
      [h.solves],
      [h.accounts],
      [`${Math.round(h.solve_rate * 100)} %`],
      [`${h.container_failures}/${h.container_starts}`],
    ]);
    tableRows(document.getElementById("finding-rows"), findings, (f) => [[f.id], [f.pattern], [`#${f.challenge_id}`], [f.accounts.join(" & ")], [f.risk, `risk-${f.risk}`], [f.confidence], [f.verdict || "—"]]);
    statusLine.textContent = latest ? `Analytics of ${latest.taken_at}: ${latest.submissions} submissions, ${latest.active_accounts} active accounts${latest.capped ? " (capped)" : ""}.` : "No analytics run yet.";
  } catch (error) {
    statusLine.textContent = `Could not load: ${error.message}`;
    statusLine.classList.add("notice-error");
  }
}

load();
setInterval(load, 30_000);
