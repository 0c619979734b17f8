import type { Migration } from "../core/kernel/db/migrations.js";

/**
 * The kernel's own tables. Append new migrations at the end; never edit one that has shipped.
 * (Plugins keep theirs in their own folder and hand them to the kernel in their definition.)
 */
export const kernelMigrations: Migration[] = [
  {
    id: "0001-job-runs",
    async up(q) {
      await q.query(`
        CREATE TABLE kernel_job_runs (
          id bigserial PRIMARY KEY,
          job text NOT NULL,
          slot timestamptz NOT NULL,
          -- One row per (job, slot) across the cluster: the unique key IS the claim.
          claim_key text NOT NULL UNIQUE,
          trigger text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'catch-up')),
          instance text NOT NULL,
          outcome text NOT NULL CHECK (outcome IN ('running', 'succeeded', 'failed', 'timeout', 'skipped', 'abandoned')),
          started_at timestamptz NOT NULL DEFAULT now(),
          finished_at timestamptz,
          lease_expires_at timestamptz,
          error text
        )`);
      await q.query(`CREATE INDEX kernel_job_runs_job_started ON kernel_job_runs (job, started_at DESC)`);
      await q.query(`CREATE INDEX kernel_job_runs_running ON kernel_job_runs (job) WHERE outcome = 'running'`);
    },
  },
  {
    id: "0002-settings",
    async up(q) {
      await q.query(`CREATE TABLE kernel_settings (key text PRIMARY KEY, value text NOT NULL)`);
    },
  },
  {
    id: "0003-job-run-results",
    async up(q) {
      // What a job's run() returned (counts of a retention run, say), shown with the run.
      await q.query(`ALTER TABLE kernel_job_runs ADD COLUMN result jsonb`);
    },
  },
];
