// First-time setup: names the event and creates the first admin, who is then signed in.
import { api, onSubmit, showFormErrors } from "./lib.js";

const form = document.getElementById("setup-form");
onSubmit(form, async (values) => {
  const result = await api("POST", "/api/v1/setup", values);
  if (!result.ok) return showFormErrors(form, result);
  location.assign("/admin");
});
