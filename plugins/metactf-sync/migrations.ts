import type { Migration } from "../../core/kernel/db/migrations.js";

/** The plugin's tables; every name starts with `metactf_` (the manifest's tablePrefix). */
export const migrations: Migration[] = [
  {
    id: "0001-metactf-sync",
    async up(q) {
      await q.query(`
        CREATE TABLE metactf_coaches (
          user_id integer PRIMARY KEY,
          first_name text NOT NULL,
          last_name text NOT NULL,
          email text NOT NULL,
          school text,
          region text,
          metactf_user_id integer,
          created_at timestamptz NOT NULL DEFAULT now()
        )`);
      await q.query(`
        CREATE TABLE metactf_competitors (
          user_id integer PRIMARY KEY,
          coach_user_id integer REFERENCES metactf_coaches (user_id) ON DELETE SET NULL,
          first_name text,
          last_name text,
          email text,
          school text,
          region text,
          status text NOT NULL DEFAULT 'pending' CONSTRAINT metactf_competitors_status CHECK (status IN ('pending', 'profile', 'compliance', 'complete')),
          metactf_user_id integer,
          metactf_username text,
          last_error text,
          synced_at timestamptz,
          created_at timestamptz NOT NULL DEFAULT now(),
          updated_at timestamptz NOT NULL DEFAULT now()
        )`);
      await q.query(`CREATE INDEX metactf_competitors_coach ON metactf_competitors (coach_user_id)`);
      await q.query(`
        CREATE TABLE metactf_teams (
          team_id integer PRIMARY KEY,
          coach_user_id integer NOT NULL REFERENCES metactf_coaches (user_id),
          division text NOT NULL,
          affiliation text NOT NULL,
          metactf_team_id integer,
          remote_exists boolean NOT NULL DEFAULT false,
          drift jsonb,
          roster_fingerprint text,
          last_synced_at timestamptz,
          last_error text,
          created_at timestamptz NOT NULL DEFAULT now()
        )`);
      await q.query(`
        CREATE TABLE metactf_sync_state (
          user_id integer PRIMARY KEY REFERENCES metactf_competitors (user_id) ON DELETE CASCADE,
          odl_synced_until bigint,
          last_attempt_at timestamptz,
          last_result text,
          last_error text,
          needs_totals_refresh boolean NOT NULL DEFAULT false,
          last_new_solve_unix bigint,
          reported jsonb,
          total_points numeric,
          total_solved integer,
          category_points jsonb,
          last_accessed_unix bigint,
          totals_at timestamptz
        )`);
      await q.query(`
        CREATE TABLE metactf_solves (
          user_id integer NOT NULL REFERENCES metactf_competitors (user_id) ON DELETE CASCADE,
          challenge_solve_id bigint NOT NULL,
          challenge_id integer NOT NULL,
          title text NOT NULL,
          category text NOT NULL,
          points numeric NOT NULL,
          solved_unix bigint NOT NULL,
          retired boolean NOT NULL,
          work_roles jsonb NOT NULL,
          PRIMARY KEY (user_id, challenge_solve_id)
        )`);
      await q.query(`
        CREATE TABLE metactf_flash_ctfs (
          name text PRIMARY KEY,
          start_unix bigint NOT NULL,
          end_unix bigint NOT NULL,
          discovered_at timestamptz NOT NULL DEFAULT now()
        )`);
      await q.query(`
        CREATE TABLE metactf_flash_results (
          user_id integer NOT NULL REFERENCES metactf_competitors (user_id) ON DELETE CASCADE,
          flash_name text NOT NULL,
          start_unix bigint NOT NULL,
          challenges_solved integer NOT NULL,
          points numeric NOT NULL,
          rank integer,
          PRIMARY KEY (user_id, flash_name)
        )`);
      await q.query(`CREATE TABLE metactf_cursors (name text PRIMARY KEY, position integer NOT NULL)`);
      await q.query(`
        CREATE TABLE metactf_runs (
          id serial PRIMARY KEY,
          job text NOT NULL,
          trigger text NOT NULL,
          dry_run boolean NOT NULL DEFAULT false,
          started_at timestamptz NOT NULL,
          duration_ms integer NOT NULL,
          batch jsonb NOT NULL,
          processed integer NOT NULL,
          with_new_data integer NOT NULL,
          api_calls integer NOT NULL,
          errors jsonb NOT NULL,
          outcome text NOT NULL
        )`);
      await q.query(`CREATE INDEX metactf_runs_started ON metactf_runs (started_at DESC, id DESC)`);
    },
  },
];
