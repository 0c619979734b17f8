// Behaviour every page shares: the header's log-out button.
import { api } from "./lib.js";

for (const button of document.querySelectorAll("[data-logout]")) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    await api("POST", "/api/v1/auth/logout");
    location.assign("/");
  });
}
