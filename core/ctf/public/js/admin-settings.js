// Admin: event settings. Dates travel as epoch seconds (CTFd's config format) and are edited in local time.
import { api, onSubmit, showFormErrors, say } from "./lib.js";

const form = document.getElementById("settings-form");
const PLAIN = ["name", "mode", "challenge_visibility", "account_visibility", "score_visibility"];
const MOMENTS = ["start", "end", "freeze"];
const SWITCHES = ["registration_open", "paused"];

const pad = (n) => String(n).padStart(2, "0");

/** Epoch seconds as a datetime-local value in the browser's time zone. */
function toLocalInput(epoch) {
  if (epoch === null || epoch === undefined) return "";
  const d = new Date(epoch * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local value (read as local time) as epoch seconds, or null when empty. */
function toEpoch(value) {
  if (!value) return null;
  const time = new Date(value).getTime();
  return Number.isNaN(time) ? undefined : Math.floor(time / 1000);
}

async function load() {
  const result = await api("GET", "/api/v1/configs");
  const status = form.querySelector("[data-form-status]");
  if (!result.ok) return say(status, result.message, "error");
  const settings = result.body.data;
  for (const name of PLAIN) form.elements.namedItem(name).value = settings[name] ?? "";
  for (const name of MOMENTS) form.elements.namedItem(name).value = toLocalInput(settings[name]);
  for (const name of SWITCHES) form.elements.namedItem(name).checked = Boolean(settings[name]);
}

onSubmit(form, async (values) => {
  const body = {};
  for (const name of PLAIN) body[name] = values[name];
  for (const name of SWITCHES) body[name] = values[name];
  for (const name of MOMENTS) {
    const epoch = toEpoch(values[name]);
    if (epoch === undefined) return showFormErrors(form, { body: { errors: { [name]: ["Enter a date and time."] } }, message: "" });
    body[name] = epoch;
  }
  const result = await api("PATCH", "/api/v1/configs", body);
  if (!result.ok) return showFormErrors(form, result);
  await load();
  say(form.querySelector("[data-form-status]"), "Settings saved.", "success");
});

load();
