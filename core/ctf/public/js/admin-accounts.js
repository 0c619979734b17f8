// Admin: users (and teams in team mode) with hide and ban switches.
import { api, el, fill, say } from "./lib.js";

const status = document.getElementById("accounts-status");

for (const section of document.querySelectorAll("[data-accounts]")) {
  const kind = section.dataset.accounts; // "users" or "teams"
  const state = { page: 1 };
  const prev = section.querySelector("[data-page=prev]");
  const next = section.querySelector("[data-page=next]");
  prev.addEventListener("click", () => load(section, kind, state, state.page - 1));
  next.addEventListener("click", () => load(section, kind, state, state.page + 1));
  load(section, kind, state, 1);
}

async function load(section, kind, state, page) {
  const result = await api("GET", `/api/v1/${kind}?view=admin&page=${page}`);
  if (!result.ok) return say(status, result.message, "error");
  state.page = page;
  const rows = await Promise.all(result.body.data.map((account) => withAdminFields(kind, account)));
  fill(section.querySelector("tbody"), rows.map((account) => row(kind, account)));
  const pagination = (result.body.meta && result.body.meta.pagination) || { page, pages: 1, next: null, prev: null };
  section.querySelector("[data-page=prev]").disabled = !pagination.prev;
  section.querySelector("[data-page=next]").disabled = !pagination.next;
  fill(section.querySelector("[data-page-label]"), `Page ${pagination.page} of ${Math.max(1, pagination.pages)}`);
}

/** CTFd's admin list keeps the public field set for users: fetch the admin view when hidden/banned are missing. */
async function withAdminFields(kind, account) {
  if (typeof account.hidden === "boolean" && typeof account.banned === "boolean") return account;
  const detail = await api("GET", `/api/v1/${kind}/${account.id}`);
  return detail.ok ? { ...account, ...detail.body.data } : account;
}

function row(kind, account) {
  return el(
    "tr",
    { "data-account-id": account.id },
    el("td", {}, String(account.id)),
    el("td", {}, account.name ?? ""),
    el("td", {}, account.email ?? ""),
    el("td", {}, toggle(kind, account, "hidden", "Hidden")),
    el("td", {}, toggle(kind, account, "banned", "Banned")),
  );
}

/** A switch button: aria-pressed shows the current value; pressing it PATCHes the account. */
function toggle(kind, account, field, label) {
  const button = el("button", { type: "button", className: "small toggle", "aria-pressed": String(Boolean(account[field])), "aria-label": `${label}: ${account.name}` }, account[field] ? "Yes" : "No");
  button.addEventListener("click", async () => {
    const value = button.getAttribute("aria-pressed") !== "true";
    button.disabled = true;
    const result = await api("PATCH", `/api/v1/${kind}/${account.id}`, { [field]: value });
    button.disabled = false;
    if (!result.ok) return say(status, result.message, "error");
    const updated = result.body.data && typeof result.body.data[field] === "boolean" ? result.body.data[field] : value;
    button.setAttribute("aria-pressed", String(updated));
    button.textContent = updated ? "Yes" : "No";
    say(status, `${account.name}: ${label.toLowerCase()} ${updated ? "on" : "off"}.`, "success");
  });
  return button;
}
