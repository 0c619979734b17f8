import type { Migration } from "../../core/kernel/db/migrations.js";

/** phase2's tables. Ids of core/ctf rows carry no foreign keys: core/ctf's tables are not ours to reference. */
export const phase2Migrations: Migration[] = [
  {
    id: "0001-phase2",
    async up(q) {
      // One row per (challenge, position) and per (challenge, account): the database refuses a second first blood.
      await q.query(`
        CREATE TABLE phase2_bloods (
          challenge_id int NOT NULL,
          position smallint NOT NULL CHECK (position BETWEEN 1 AND 3),
          account_type text NOT NULL CHECK (account_type IN ('user', 'team')),
          account_id int NOT NULL,
          account_name text NOT NULL,
          challenge_name text NOT NULL,
          challenge_visible boolean NOT NULL,
          solve_id bigint NOT NULL,
          solved_at timestamptz NOT NULL,
          -- the challenge's value at solve time; prestige = value × the position's factor
          value double precision NOT NULL,
          prestige double precision NOT NULL,
          CONSTRAINT phase2_bloods_position PRIMARY KEY (challenge_id, position),
          CONSTRAINT phase2_bloods_account UNIQUE (challenge_id, account_id)
        )`);

      await q.query(`CREATE TABLE phase2_secrets (name text PRIMARY KEY, value text NOT NULL)`);
      await q.query(`CREATE TABLE phase2_consent (user_id int PRIMARY KEY, consent boolean NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);

      // One finding per pattern, challenge and pair of accounts (account_low < account_high); later runs update it.
      await q.query(`
        CREATE TABLE phase2_findings (
          id serial PRIMARY KEY,
          pattern text NOT NULL CHECK (pattern IN ('shared_wrong_answer', 'same_address_solve', 'flag_reused')),
          challenge_id int NOT NULL,
          account_type text NOT NULL,
          account_low int NOT NULL,
          account_high int NOT NULL CHECK (account_low < account_high),
          confidence double precision NOT NULL CHECK (confidence BETWEEN 0 AND 1),
          risk text NOT NULL CHECK (risk IN ('LOW', 'MEDIUM', 'HIGH')),
          evidence jsonb NOT NULL,
          verdict text CHECK (verdict IN ('innocent', 'suspicious', 'confirmed')),
          created_at timestamptz NOT NULL DEFAULT now(),
          updated_at timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT phase2_findings_once UNIQUE (pattern, challenge_id, account_low, account_high)
        )`);
      await q.query(`CREATE INDEX phase2_findings_updated ON phase2_findings (updated_at)`);

      // Review history: insert-only. No foreign key, so it outlives the finding; the triggers refuse every change.
      await q.query(`
        CREATE TABLE phase2_reviews (
          id bigserial PRIMARY KEY,
          finding_id int NOT NULL,
          verdict text NOT NULL CHECK (verdict IN ('innocent', 'suspicious', 'confirmed')),
          notes text NOT NULL,
          reviewer text NOT NULL,
          created_at timestamptz NOT NULL DEFAULT clock_timestamp()
        )`);
      await q.query(`CREATE INDEX phase2_reviews_finding ON phase2_reviews (finding_id, id)`);
      await q.query(`
        CREATE FUNCTION phase2_reviews_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'phase2_reviews is insert-only: % refused', TG_OP;
        END $$`);
      await q.query(`CREATE TRIGGER phase2_reviews_insert_only BEFORE UPDATE OR DELETE ON phase2_reviews FOR EACH ROW EXECUTE FUNCTION phase2_reviews_refuse()`);
      await q.query(`CREATE TRIGGER phase2_reviews_no_truncate BEFORE TRUNCATE ON phase2_reviews FOR EACH STATEMENT EXECUTE FUNCTION phase2_reviews_refuse()`);

      // Time series.
      await q.query(`
        CREATE TABLE phase2_health (
          id bigserial PRIMARY KEY,
          challenge_id int NOT NULL,
          taken_at timestamptz NOT NULL,
          solves int NOT NULL,
          attempts int NOT NULL,
          accounts int NOT NULL,
          solve_rate double precision NOT NULL,
          median_solve_seconds double precision,
          container_failures int NOT NULL,
          container_starts int NOT NULL,
          score int NOT NULL CHECK (score BETWEEN 0 AND 100),
          status text NOT NULL CHECK (status IN ('HEALTHY', 'UNDERPERFORMING', 'BROKEN'))
        )`);
      await q.query(`CREATE INDEX phase2_health_challenge ON phase2_health (challenge_id, taken_at)`);
      await q.query(`CREATE INDEX phase2_health_taken ON phase2_health (taken_at)`);
      await q.query(`
        CREATE TABLE phase2_containers (
          id bigserial PRIMARY KEY,
          challenge_id int NOT NULL,
          outcome text NOT NULL CHECK (outcome IN ('ready', 'failed')),
          at timestamptz NOT NULL
        )`);
      await q.query(`CREATE INDEX phase2_containers_challenge ON phase2_containers (challenge_id, at)`);
      await q.query(`
        CREATE TABLE phase2_analytics (
          id bigserial PRIMARY KEY,
          taken_at timestamptz NOT NULL,
          window_seconds int NOT NULL,
          submissions int NOT NULL,
          active_accounts int NOT NULL,
          capped boolean NOT NULL,
          per_minute jsonb NOT NULL,
          solves_per_category jsonb NOT NULL,
          hot_spots jsonb NOT NULL
        )`);
      await q.query(`CREATE INDEX phase2_analytics_taken ON phase2_analytics (taken_at)`);
    },
  },
];
