// Shared helpers for core/ctf's pages: JSON API calls with the session's CSRF token, error messages, form
// errors and DOM building. User data only ever reaches the page through textContent and attribute setters.

let sessionPromise = null;

/** The session ({user, csrfToken, event}); anonymous or refused callers get nulls. */
export function session(refresh = false) {
  if (!sessionPromise || refresh) {
    sessionPromise = fetch("/api/v1/auth/session", { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => response.json())
      .then((body) => (body && body.data) || { user: null, csrfToken: null, event: null })
      .catch(() => ({ user: null, csrfToken: null, event: null }));
  }
  return sessionPromise;
}

/**
 * Calls the JSON API (with `extraHeaders`, e.g. a token, besides the CSRF token). Never throws: the result is {status, ok, body, message}, status 0 when the server
 * could not be reached, and `message` a sentence to show the user when the call failed.
 */
export async function api(method, path, body, extraHeaders = {}) {
  const headers = { Accept: "application/json", ...extraHeaders };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD") {
    const current = await session();
    if (current.csrfToken) headers["CSRF-Token"] = current.csrfToken;
  }
  let response;
  try {
    response = await fetch(path, { method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    return { status: 0, ok: false, body: null, message: "The server could not be reached. Check your connection and try again." };
  }
  let parsed = null;
  try {
    parsed = await response.json();
  } catch {
    parsed = null;
  }
  const ok = response.ok && parsed !== null && typeof parsed === "object" && parsed.success !== false;
  return { status: response.status, ok, body: parsed, message: ok ? "" : messageOf(response.status, parsed) };
}

const FALLBACK = {
  400: "Please check the form.",
  401: "You need to log in first.",
  403: "You are not allowed to do this.",
  404: "Not found.",
  413: "That is too large.",
  429: "Too many requests. Wait a moment and try again.",
};

/** A readable sentence from an error answer: CTFd's `message`, `data.message` or the `errors` lists. */
export function messageOf(status, body) {
  if (body && body.data && typeof body.data.message === "string") return body.data.message;
  if (body && typeof body.message === "string") return body.message;
  if (body && body.errors && typeof body.errors === "object") {
    const parts = Object.values(body.errors).flatMap((v) => (Array.isArray(v) ? v : [v])).filter((v) => typeof v === "string");
    if (parts.length > 0) return parts.join(" ");
  }
  if (status >= 500) return `The server had a problem${body && body.requestId ? ` (request id ${body.requestId})` : ""}. Try again later.`;
  return FALLBACK[status] || `The request failed (HTTP ${status}).`;
}

/** Creates an element: attributes are set as attributes (or properties for `hidden`, `disabled`), children as text. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "hidden" || name === "disabled") node[name] = Boolean(value);
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content with text and nodes. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** Shows a status line; `kind` is "error", "success" or "" and styles it. */
export function say(node, message, kind = "", ...extra) {
  if (!node) return;
  node.classList.remove("is-error", "is-success");
  if (kind) node.classList.add(`is-${kind}`);
  fill(node, message, ...extra);
}

export function clearFormErrors(form) {
  for (const slot of form.querySelectorAll("[data-error-for]")) slot.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  say(form.querySelector("[data-form-status]"), "");
}

/**
 * Puts each field error next to its field (and marks the field invalid); errors for fields the form does not
 * have, and the general message, go to the form's status line.
 */
export function showFormErrors(form, result) {
  clearFormErrors(form);
  const errors = (result.body && result.body.errors) || {};
  const leftover = [];
  let first = null;
  for (const [name, value] of Object.entries(errors)) {
    const messages = (Array.isArray(value) ? value : [value]).filter((v) => typeof v === "string");
    const slot = [...form.querySelectorAll("[data-error-for]")].find((s) => s.dataset.errorFor === name);
    const input = form.elements.namedItem(name);
    if (slot && input) {
      slot.textContent = messages.join(" ");
      if (input instanceof Element) input.setAttribute("aria-invalid", "true");
      first ??= input;
    } else {
      leftover.push(...messages);
    }
  }
  const status = form.querySelector("[data-form-status]");
  if (leftover.length > 0) say(status, leftover.join(" "), "error");
  else if (!first) say(status, result.message, "error");
  else say(status, "Please correct the marked fields.", "error");
  if (first instanceof HTMLElement) first.focus();
}

/** The trimmed text values of a form's named inputs (checkboxes as booleans). */
export function formValues(form) {
  const values = {};
  for (const input of form.elements) {
    if (!input.name) continue;
    if (input.type === "checkbox") values[input.name] = input.checked;
    else if (input.type === "password") values[input.name] = input.value;
    else values[input.name] = input.value.trim();
  }
  return values;
}

/** Runs `handler` on submit with the form's submit button disabled while it works. */
export function onSubmit(form, handler) {
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("[type=submit]");
    if (button) button.disabled = true;
    try {
      await handler(formValues(form));
    } finally {
      if (button) button.disabled = false;
    }
  });
}

/**
 * Where to go after login, from `?next=`: only a page of this origin. The value is resolved the way the browser
 * would resolve it (which ignores tabs and newlines and reads a backslash as a slash, so string checks are bypassable) and
 * its origin compared; the resolved absolute URL is returned, so a path like `//x` cannot turn protocol-relative.
 */
export function nextPath(fallback) {
  const next = new URLSearchParams(location.search).get("next");
  if (!next) return fallback;
  try {
    const target = new URL(next, location.origin);
    return target.origin === location.origin ? target.href : fallback;
  } catch {
    return fallback;
  }
}

/** A login link that comes back to this page. */
export function loginLink(text = "Log in") {
  return el("a", { href: `/login?next=${encodeURIComponent(location.pathname + location.search)}` }, text);
}

export const toInt = (value) => (value === "" || value === undefined ? undefined : Number.parseInt(value, 10));

/** Epoch seconds as an ISO-like local date and time for display. */
export function when(value) {
  if (value === null || value === undefined || value === "") return "–";
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

/**
 * A button that asks for a second click before a destructive or costly action (no window.confirm dialogs).
 */
export function confirmButton(button, question, action) {
  const label = button.textContent;
  let armed = false;
  button.addEventListener("click", async () => {
    if (!armed) {
      armed = true;
      button.textContent = question;
      button.classList.add("armed");
      return;
    }
    armed = false;
    button.textContent = label;
    button.classList.remove("armed");
    button.disabled = true;
    try {
      await action();
    } finally {
      button.disabled = false;
    }
  });
  button.addEventListener("blur", () => {
    armed = false;
    button.textContent = label;
    button.classList.remove("armed");
  });
}
