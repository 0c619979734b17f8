// First-time setup: names the event and creates the first admin, who is then signed in.
import { api, onSubmit, showFormErrors } from "./lib.js";

const form = document.getElementById("setup-form");
onSubmit(form, async (values) => {
  // The setup token (asked when the server has FLAGHOST_ADMIN_TOKEN) travels as a credential, never in the body.
  const { token, ...fields } = values;
  const result = await api("POST", "/api/v1/setup", fields, token ? { Authorization: `Token ${token.trim()}` } : {});
  if (!result.ok) return showFormErrors(form, result);
  location.assign("/admin");
});
