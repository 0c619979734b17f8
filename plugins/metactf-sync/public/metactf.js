// The MetaCTF dashboard's one interaction: "Add to Game Platform" calls the onboarding API (with the session's
// CSRF token, through core/ctf's page helpers) and reloads the page to show the new status, or says what failed.
import { api } from "/ctf/static/js/lib.js";

const status = document.getElementById("metactf-status");

function say(message) {
  status.textContent = message;
  status.hidden = false;
}

for (const button of document.querySelectorAll("button[data-onboard]")) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    say("Adding the competitor to the game platform…");
    const result = await api("POST", `/api/v1/metactf/competitors/${encodeURIComponent(button.dataset.onboard)}/onboard`);
    if (result.ok) {
      window.location.reload();
      return;
    }
    say(result.message);
    button.disabled = false;
  });
}
