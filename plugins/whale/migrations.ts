import type { Migration } from "../../core/kernel/db/migrations.js";

/** A start's life: queued → starting → initialized → ready, or failed; stopped at the end (see starts.ts). */
export const ACTIVE_STATUSES = ["queued", "starting", "initialized", "ready"] as const;

const sql = (text: string): Migration["up"] => (q) => q.query(text).then(() => undefined);

export const whaleMigrations: Migration[] = [
  {
    id: "0001-starts",
    // One record per start request: the status players poll, and what the jobs clean up after.
    up: sql(`CREATE TABLE whale_starts (
      id uuid PRIMARY KEY,
      challenge_id int NOT NULL,
      account_type text NOT NULL,
      account_id int NOT NULL,
      user_id int NOT NULL,
      status text NOT NULL,
      attempt int NOT NULL DEFAULT 0,
      max_attempts int NOT NULL,
      error text,
      engine text NOT NULL,
      container_id text,
      host_port int,
      -- The challenge's lifetime and renewal limit when the start was asked for: a later edit does not move them.
      lifetime_s int NOT NULL,
      max_renewals int NOT NULL,
      renewals int NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      picked_at timestamptz,
      -- The instance of the worker that took it last (admins, and a redelivery after a crash, see who).
      worker text,
      ready_at timestamptz,
      expires_at timestamptz,
      ended_at timestamptz
    );
    -- At most one live container per account and challenge, whatever races: a second start fails on this index.
    CREATE UNIQUE INDEX whale_starts_one_live ON whale_starts (challenge_id, account_type, account_id)
      WHERE status IN ('queued', 'starting', 'initialized', 'ready');
    CREATE INDEX whale_starts_account ON whale_starts (account_type, account_id, created_at);
    CREATE INDEX whale_starts_expiry ON whale_starts (expires_at) WHERE status = 'ready';`),
  },
  {
    id: "0002-slots-and-ports",
    // The global cap and the host ports as rows claimed with SKIP LOCKED: atomic across processes, no global lock.
    up: sql(`CREATE TABLE whale_slots (slot int PRIMARY KEY, start_id uuid UNIQUE);
      CREATE TABLE whale_ports (port int PRIMARY KEY, start_id uuid UNIQUE);
      CREATE TABLE whale_secrets (name text PRIMARY KEY, value text NOT NULL);`),
  },
];
