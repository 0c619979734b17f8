// Login and registration forms.
import { api, nextPath, onSubmit, session, showFormErrors } from "./lib.js";

const login = document.getElementById("login-form");
onSubmit(login, async (values) => {
  const result = await api("POST", "/api/v1/auth/login", { name: values.name, password: values.password });
  if (!result.ok) return showFormErrors(login, result);
  location.assign(nextPath("/challenges"));
});

const register = document.getElementById("register-form");
onSubmit(register, async (values) => {
  const result = await api("POST", "/api/v1/auth/register", { name: values.name, email: values.email, password: values.password });
  if (!result.ok) return showFormErrors(register, result);
  const current = await session(true);
  location.assign(nextPath(current.event && current.event.mode === "teams" ? "/team" : "/challenges"));
});
