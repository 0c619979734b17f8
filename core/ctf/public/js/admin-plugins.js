// Admin: plugin states and scheduled jobs, with a button to run a job now (through the cluster claim).
import { api, el, fill, say, when } from "./lib.js";

const status = document.getElementById("plugins-status");

async function loadPlugins() {
  const result = await api("GET", "/api/v1/admin/plugins");
  if (!result.ok) return say(status, result.message, "error");
  fill(
    document.querySelector("#plugin-table tbody"),
    result.body.data.map((p) => el("tr", { "data-plugin-id": p.id }, el("td", {}, p.id), el("td", {}, p.version ?? "–"), el("td", {}, p.status), el("td", {}, p.error ?? ""))),
  );
}

const describeRun = (run) => (run ? `${run.outcome} at ${when(run.startedAt)}${run.error ? `: ${run.error}` : ""}` : "never");

async function loadJobs() {
  const result = await api("GET", "/api/v1/admin/jobs");
  if (!result.ok) return say(status, result.message, "error");
  const rows = result.body.data.map((job) => {
    const last = el("td", {}, describeRun(job.last));
    const run = el("button", { type: "button", className: "small", "aria-label": `Run ${job.id} now` }, "Run now");
    run.addEventListener("click", async () => {
      run.disabled = true;
      say(status, `Running ${job.id}…`);
      const outcome = await api("POST", `/api/v1/admin/jobs/${encodeURIComponent(job.id)}/run`);
      run.disabled = false;
      if (!outcome.ok) return say(status, `${job.id}: ${outcome.message}`, "error");
      fill(last, describeRun(outcome.body.data));
      say(status, `${job.id}: ${outcome.body.data.outcome}.`, outcome.body.data.outcome === "succeeded" ? "success" : "error");
    });
    return el("tr", { "data-job-id": job.id }, el("td", {}, job.id), el("td", {}, job.plugin), el("td", {}, el("code", {}, job.cron)), el("td", {}, job.scope), el("td", {}, when(job.nextRunAt)), last, el("td", {}, run));
  });
  fill(document.querySelector("#job-table tbody"), rows.length ? rows : el("tr", {}, el("td", { colspan: 7 }, "No jobs.")));
}

loadPlugins();
loadJobs();
