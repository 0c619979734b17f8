// The team page: create or join a team, or show the player's team.
import { api, el, fill, nextPath, onSubmit, say, showFormErrors } from "./lib.js";

for (const [id, path] of [
  ["team-create-form", "/api/v1/teams/new"],
  ["team-join-form", "/api/v1/teams/join"],
]) {
  const form = document.getElementById(id);
  onSubmit(form, async (values) => {
    const result = await api("POST", path, { name: values.name, password: values.password });
    if (!result.ok) return showFormErrors(form, result);
    location.assign(nextPath("/challenges"));
  });
}

const view = document.getElementById("team-view");
if (view) showTeam();

async function showTeam() {
  const status = document.getElementById("team-status");
  const result = await api("GET", "/api/v1/teams/me");
  if (!result.ok) return say(status, result.message, "error");
  const team = result.body.data;
  say(status, "");
  fill(document.getElementById("team-name"), team.name);
  fill(document.getElementById("team-place"), team.place || "not ranked yet");
  fill(document.getElementById("team-score"), String(team.score ?? 0));
  const members = Array.isArray(team.members) ? team.members : [];
  const list = document.getElementById("team-members");
  fill(list, members.map((member) => el("li", { "data-user-id": typeof member === "object" ? member.id : member }, memberLabel(member))));
  view.hidden = false;
  // Members are user ids (CTFd's shape): look up their names.
  for (const item of list.children) {
    const user = await api("GET", `/api/v1/users/${encodeURIComponent(item.dataset.userId)}`);
    if (user.ok && user.body.data && user.body.data.name) {
      fill(item, user.body.data.name, team.captain_id === user.body.data.id ? " (captain)" : "");
    }
  }
}

function memberLabel(member) {
  if (member && typeof member === "object") return member.name || `User #${member.id}`;
  return `User #${member}`;
}
