import type { SafeHtml } from "../service.js";
import { html } from "./shell.js";

/**
 * Form markup shared by the pages: every input has a visible label and an error slot it points to with
 * aria-describedby; the page scripts (public/js/lib.js) fill the slots from the API's `errors` object, keyed by field name.
 */
export interface FieldSpec {
  form: string;
  name: string;
  label: string;
  type?: "text" | "email" | "password" | "number" | "url" | "date" | "datetime-local";
  autocomplete?: string;
  required?: boolean;
  maxlength?: number;
  min?: number;
  max?: number;
  hint?: string;
  value?: string | number;
}

const idOf = (form: string, name: string) => `${form}-${name.replace(/[^a-z0-9_-]/gi, "-")}`;

const errorSlot = (id: string, name: string) => html`<p class="field-error" id="${id}-error" data-error-for="${name}"></p>`;

function describedBy(id: string, hint?: string): string {
  return hint ? `${id}-hint ${id}-error` : `${id}-error`;
}

export function field(spec: FieldSpec): SafeHtml {
  const id = idOf(spec.form, spec.name);
  return html`<div class="field">
  <label for="${id}">${spec.label}</label>
  ${spec.hint && html`<p class="field-hint" id="${id}-hint">${spec.hint}</p>`}
  <input id="${id}" name="${spec.name}" type="${spec.type ?? "text"}"${spec.autocomplete && html` autocomplete="${spec.autocomplete}"`}${spec.required && html` required`}${spec.maxlength !== undefined && html` maxlength="${spec.maxlength}"`}${spec.min !== undefined && html` min="${spec.min}"`}${spec.max !== undefined && html` max="${spec.max}"`}${spec.value !== undefined && html` value="${spec.value}"`} aria-describedby="${describedBy(id, spec.hint)}">
  ${errorSlot(id, spec.name)}
</div>`;
}

export function textarea(spec: Omit<FieldSpec, "type" | "autocomplete" | "min" | "max"> & { rows?: number }): SafeHtml {
  const id = idOf(spec.form, spec.name);
  return html`<div class="field">
  <label for="${id}">${spec.label}</label>
  ${spec.hint && html`<p class="field-hint" id="${id}-hint">${spec.hint}</p>`}
  <textarea id="${id}" name="${spec.name}" rows="${spec.rows ?? 5}"${spec.required && html` required`}${spec.maxlength !== undefined && html` maxlength="${spec.maxlength}"`} aria-describedby="${describedBy(id, spec.hint)}">${spec.value ?? ""}</textarea>
  ${errorSlot(id, spec.name)}
</div>`;
}

export function select(spec: { form: string; name: string; label: string; options: Array<[value: string, label: string]>; value?: string; hint?: string }): SafeHtml {
  const id = idOf(spec.form, spec.name);
  return html`<div class="field">
  <label for="${id}">${spec.label}</label>
  ${spec.hint && html`<p class="field-hint" id="${id}-hint">${spec.hint}</p>`}
  <select id="${id}" name="${spec.name}" aria-describedby="${describedBy(id, spec.hint)}">${spec.options.map(
    ([value, label]) => html`<option value="${value}"${spec.value === value && html` selected`}>${label}</option>`,
  )}</select>
  ${errorSlot(id, spec.name)}
</div>`;
}

export function checkbox(spec: { form: string; name: string; label: string; checked?: boolean; hint?: string }): SafeHtml {
  const id = idOf(spec.form, spec.name);
  return html`<div class="field field-check">
  <input id="${id}" name="${spec.name}" type="checkbox"${spec.checked && html` checked`} aria-describedby="${describedBy(id, spec.hint)}">
  <label for="${id}">${spec.label}</label>
  ${spec.hint && html`<p class="field-hint" id="${id}-hint">${spec.hint}</p>`}
  ${errorSlot(id, spec.name)}
</div>`;
}

/** A form with a status line for errors that belong to no field (and for success messages). */
export function form(spec: { id: string; label?: string; submit: string; className?: string }, ...fields: SafeHtml[]): SafeHtml {
  return html`<form id="${spec.id}" class="${spec.className ?? "stacked"}" novalidate${spec.label && html` aria-label="${spec.label}"`}>
${fields}
<p class="form-status" data-form-status role="status" aria-live="polite"></p>
<button type="submit">${spec.submit}</button>
</form>`;
}
