// The first-blood board: fills the table from the public API and refreshes it every 30 s.
"use strict";

const REFRESH_MS = 30_000;
const statusLine = document.getElementById("blood-status");
const rows = document.getElementById("blood-rows");

function cell(blood) {
  const td = document.createElement("td");
  if (!blood) {
    td.textContent = "—";
    return td;
  }
  td.className = `blood blood-${blood.position}`;
  const name = document.createElement("span");
  name.className = "phase2-blood-name";
  name.textContent = blood.account_name;
  const date = document.createElement("span");
  date.className = "phase2-blood-date";
  date.textContent = new Date(blood.date).toLocaleString();
  const prestige = document.createElement("span");
  prestige.className = "phase2-prestige";
  prestige.textContent = `${blood.prestige} prestige`;
  td.append(name, date, prestige);
  return td;
}

function render(entries) {
  rows.replaceChildren(
    ...entries.map((entry) => {
      const tr = document.createElement("tr");
      tr.dataset.challengeId = String(entry.challenge_id);
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = entry.challenge_name;
      const byPosition = new Map(entry.bloods.map((b) => [b.position, b]));
      tr.append(th, cell(byPosition.get(1)), cell(byPosition.get(2)), cell(byPosition.get(3)));
      return tr;
    }),
  );
  statusLine.textContent = entries.length === 0 ? "No blood drawn yet." : `${entries.length} challenge(s) solved.`;
}

async function load() {
  try {
    const res = await fetch("/api/v1/phase2/first_blood_leaderboard", { credentials: "same-origin" });
    const body = await res.json();
    if (!res.ok || !body.success) throw new Error(body.message || `HTTP ${res.status}`);
    render(body.data);
  } catch (error) {
    statusLine.textContent = `Could not load the board: ${error.message}`;
    statusLine.classList.add("notice-error");
  }
}

load();
setInterval(load, REFRESH_MS);
