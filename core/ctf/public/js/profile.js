// The profile page: account settings and API tokens.
import { api, confirmButton, el, fill, onSubmit, say, showFormErrors, when } from "./lib.js";

const status = document.getElementById("profile-status");
const form = document.getElementById("profile-form");
const EDITABLE = ["name", "email", "website", "affiliation", "country"];
let saved = {};

async function loadProfile() {
  const result = await api("GET", "/api/v1/users/me");
  if (!result.ok) return say(status, result.message, "error");
  const me = result.body.data;
  saved = me;
  for (const name of EDITABLE) form.elements.namedItem(name).value = me[name] ?? "";
  fill(document.getElementById("profile-place"), me.place || "not ranked yet");
  fill(document.getElementById("profile-score"), String(me.score ?? 0));
  say(status, "");
}

onSubmit(form, async (values) => {
  const patch = {};
  for (const name of EDITABLE) {
    const before = saved[name] ?? "";
    if (values[name] !== before) patch[name] = values[name] === "" && name !== "name" && name !== "email" ? null : values[name];
  }
  if (values.password) patch.password = values.password;
  if (values.confirm && (patch.password || "email" in patch)) patch.confirm = values.confirm;
  if (Object.keys(patch).length === 0) return say(form.querySelector("[data-form-status]"), "Nothing changed.");
  const result = await api("PATCH", "/api/v1/users/me", patch);
  if (!result.ok) return showFormErrors(form, result);
  form.elements.namedItem("password").value = "";
  form.elements.namedItem("confirm").value = "";
  await loadProfile();
  say(form.querySelector("[data-form-status]"), "Saved.", "success");
});

const tokenForm = document.getElementById("token-form");
onSubmit(tokenForm, async (values) => {
  const body = {};
  if (values.description) body.description = values.description;
  if (values.expiration) body.expiration = values.expiration;
  const result = await api("POST", "/api/v1/tokens", body);
  if (!result.ok) return showFormErrors(tokenForm, result);
  fill(document.getElementById("token-value"), result.body.data.value);
  document.getElementById("token-created").hidden = false;
  tokenForm.reset();
  say(tokenForm.querySelector("[data-form-status]"), "Token created.", "success");
  await loadTokens();
});

async function loadTokens() {
  const table = document.getElementById("token-table");
  const result = await api("GET", "/api/v1/tokens");
  if (!result.ok || !Array.isArray(result.body.data)) return;
  const rows = result.body.data.map((token) => {
    const remove = el("button", { type: "button", className: "small danger" }, "Delete");
    confirmButton(remove, "Really delete?", async () => {
      const deleted = await api("DELETE", `/api/v1/tokens/${token.id}`);
      if (!deleted.ok) return say(tokenForm.querySelector("[data-form-status]"), deleted.message, "error");
      await loadTokens();
    });
    return el("tr", {}, el("td", {}, String(token.id)), el("td", {}, token.description || ""), el("td", {}, when(token.expiration)), el("td", {}, remove));
  });
  fill(table.querySelector("tbody"), rows);
  table.hidden = rows.length === 0;
}

loadProfile();
loadTokens();
