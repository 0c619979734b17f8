// Admin: the challenge list, the create/edit form, and each challenge's flags and hints.
import { api, clearFormErrors, confirmButton, el, fill, onSubmit, say, showFormErrors, toInt } from "./lib.js";

const status = document.getElementById("challenges-status");
const table = document.getElementById("challenge-table");
const form = document.getElementById("challenge-form");
const heading = document.getElementById("challenge-form-heading");
const extras = document.getElementById("challenge-extras");
const firstFlag = document.getElementById("first-flag");
const dynamicFields = document.getElementById("dynamic-fields");
const deleteButton = document.getElementById("delete-challenge");
const flagForm = document.getElementById("flag-form");
const hintForm = document.getElementById("hint-form");
const FIELDS = ["name", "category", "value", "description", "connection_info", "state", "max_attempts", "type", "initial", "minimum", "decay", "function"];
const NUMBERS = new Set(["value", "max_attempts", "initial", "minimum", "decay"]);
const DYNAMIC = new Set(["initial", "minimum", "decay", "function"]);

let editing = null;

async function loadList() {
  const result = await api("GET", "/api/v1/challenges?view=admin");
  if (!result.ok) return say(status, result.message, "error");
  const rows = result.body.data.map((c) => {
    const edit = el("button", { type: "button", className: "small", "aria-label": `Edit ${c.name}` }, "Edit");
    edit.addEventListener("click", () => startEdit(c.id));
    return el(
      "tr",
      { "data-challenge-id": c.id },
      el("td", {}, String(c.id)),
      el("td", {}, c.name ?? ""),
      el("td", {}, c.category ?? ""),
      el("td", {}, String(c.value ?? "")),
      el("td", {}, c.state ?? "–"),
      el("td", {}, c.solves === null || c.solves === undefined ? "–" : String(c.solves)),
      el("td", {}, edit),
    );
  });
  fill(table.querySelector("tbody"), rows);
  if (rows.length === 0) say(status, "No challenges yet: create the first one below.");
}

function bodyFrom(values) {
  const body = {};
  const dynamic = values.type === "dynamic";
  for (const name of FIELDS) {
    if (DYNAMIC.has(name) && !dynamic) continue;
    if (name === "value" && dynamic) continue; // follows the solves
    const value = values[name];
    if (NUMBERS.has(name)) {
      if (value !== "") body[name] = toInt(value);
    } else if (name === "connection_info") {
      body[name] = value === "" ? null : value;
    } else {
      body[name] = value;
    }
  }
  return body;
}

function toggleDynamic() {
  dynamicFields.hidden = form.elements.namedItem("type").value !== "dynamic";
}
form.elements.namedItem("type").addEventListener("change", toggleDynamic);

function startCreate() {
  editing = null;
  form.reset();
  clearFormErrors(form);
  heading.textContent = "New challenge";
  form.querySelector("[type=submit]").textContent = "Create challenge";
  firstFlag.hidden = false;
  extras.hidden = true;
  deleteButton.hidden = true;
  form.elements.namedItem("type").disabled = false;
  toggleDynamic();
}
document.getElementById("new-challenge").addEventListener("click", () => {
  startCreate();
  form.elements.namedItem("name").focus();
});

async function startEdit(id) {
  const result = await api("GET", `/api/v1/challenges/${id}`);
  if (!result.ok) return say(status, result.message, "error");
  const c = result.body.data;
  editing = c;
  form.reset();
  clearFormErrors(form);
  for (const name of FIELDS) {
    const input = form.elements.namedItem(name);
    const value = c[name];
    if (input && value !== null && value !== undefined) input.value = String(value);
  }
  form.elements.namedItem("type").disabled = true; // a challenge's type is fixed once created
  heading.textContent = `Edit: ${c.name}`;
  form.querySelector("[type=submit]").textContent = "Save challenge";
  firstFlag.hidden = true;
  extras.hidden = false;
  deleteButton.hidden = false;
  toggleDynamic();
  await Promise.all([loadFlags(), loadHints()]);
  heading.scrollIntoView();
  form.elements.namedItem("name").focus();
}

onSubmit(form, async (values) => {
  if (editing) values.type = editing.type;
  const body = bodyFrom(values);
  if (editing) delete body.type;
  const result = editing ? await api("PATCH", `/api/v1/challenges/${editing.id}`, body) : await api("POST", "/api/v1/challenges", body);
  if (!result.ok) return showFormErrors(form, result);
  const saved = result.body.data;
  const formStatus = form.querySelector("[data-form-status]");
  if (!editing && values.flag) {
    const flag = await api("POST", "/api/v1/flags", {
      challenge_id: saved.id,
      type: values.flag_type,
      content: values.flag,
      data: values.flag_case_insensitive ? "case_insensitive" : "",
    });
    if (!flag.ok) {
      await loadList();
      await startEdit(saved.id);
      return say(formStatus, `Challenge created, but its flag was refused: ${flag.message}`, "error");
    }
  }
  await loadList();
  await startEdit(saved.id);
  say(form.querySelector("[data-form-status]"), `Saved “${saved.name}”.`, "success");
  say(status, `Saved “${saved.name}”.`, "success");
});

confirmButton(deleteButton, "Really delete this challenge and its solves?", async () => {
  if (!editing) return;
  const result = await api("DELETE", `/api/v1/challenges/${editing.id}`);
  if (!result.ok) return say(status, result.message, "error");
  say(status, `Deleted “${editing.name}”.`, "success");
  startCreate();
  await loadList();
});

async function loadFlags() {
  const list = document.getElementById("flag-list");
  const result = await api("GET", `/api/v1/flags?challenge_id=${editing.id}`);
  if (!result.ok) return fill(list, el("li", { className: "is-error" }, result.message));
  const flags = result.body.data.filter((f) => (f.challenge_id ?? f.challenge) === editing.id);
  fill(
    list,
    flags.length === 0
      ? el("li", {}, "No flags yet: players cannot solve this challenge.")
      : flags.map((flag) => {
          const remove = el("button", { type: "button", className: "small danger" }, "Delete");
          confirmButton(remove, "Really delete?", async () => {
            const deleted = await api("DELETE", `/api/v1/flags/${flag.id}`);
            if (!deleted.ok) return say(flagForm.querySelector("[data-form-status]"), deleted.message, "error");
            await loadFlags();
          });
          return el("li", {}, el("code", {}, flag.content), ` ${flag.type}${flag.data === "case_insensitive" ? ", case-insensitive" : ""} `, remove);
        }),
  );
}

onSubmit(flagForm, async (values) => {
  const result = await api("POST", "/api/v1/flags", { challenge_id: editing.id, type: values.type, content: values.content, data: values.case_insensitive ? "case_insensitive" : "" });
  if (!result.ok) return showFormErrors(flagForm, result);
  flagForm.reset();
  say(flagForm.querySelector("[data-form-status]"), "Flag added.", "success");
  await loadFlags();
});

async function loadHints() {
  const list = document.getElementById("hint-list");
  const result = await api("GET", `/api/v1/challenges/${editing.id}/hints`);
  if (!result.ok) return fill(list, el("li", { className: "is-error" }, result.message));
  const hints = result.body.data;
  fill(
    list,
    hints.length === 0
      ? el("li", {}, "No hints.")
      : hints.map((hint) => {
          const remove = el("button", { type: "button", className: "small danger" }, "Delete");
          confirmButton(remove, "Really delete?", async () => {
            const deleted = await api("DELETE", `/api/v1/hints/${hint.id}`);
            if (!deleted.ok) return say(hintForm.querySelector("[data-form-status]"), deleted.message, "error");
            await loadHints();
          });
          return el("li", {}, el("strong", {}, hint.title || `Hint ${hint.id}`), ` (${hint.cost ?? 0} points): `, hint.content ?? "", " ", remove);
        }),
  );
}

onSubmit(hintForm, async (values) => {
  const body = { challenge_id: editing.id, content: values.content, cost: toInt(values.cost) ?? 0 };
  if (values.title) body.title = values.title;
  const result = await api("POST", "/api/v1/hints", body);
  if (!result.ok) return showFormErrors(hintForm, result);
  hintForm.reset();
  say(hintForm.querySelector("[data-form-status]"), "Hint added.", "success");
  await loadHints();
});

startCreate();
loadList();
