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
  {
    id: "0003-claim-function",
    // The start request's checks and claims in one round trip (the hot path of a herd of starts): see StartStore.claim.
    up: sql(`CREATE FUNCTION whale_claim_start(p_id uuid, p_challenge int, p_account_type text, p_account_id int, p_user int,
        p_max_attempts int, p_engine text, p_lifetime int, p_max_renewals int, p_per_account int, p_max_containers int,
        p_port_from int, p_port_to int) RETURNS SETOF whale_starts LANGUAGE plpgsql AS $fn$
      DECLARE
        same_status text;
        live_count int;
        claimed_slot int;
        claimed_port int;
      BEGIN
        -- One request at a time per account, so the limits below are exact (each statement after it sees the latest commits).
        PERFORM pg_advisory_xact_lock(hashtext('whale-account'), hashtext(p_account_type || ':' || p_account_id));
        SELECT status INTO same_status FROM whale_starts WHERE account_type = p_account_type AND account_id = p_account_id
          AND challenge_id = p_challenge AND status IN ('queued', 'starting', 'initialized', 'ready');
        IF same_status IS NOT NULL THEN
          RAISE EXCEPTION 'You already have a container of this challenge (%)', same_status USING ERRCODE = 'WH409';
        END IF;
        SELECT count(*) INTO live_count FROM whale_starts WHERE account_type = p_account_type AND account_id = p_account_id
          AND status IN ('queued', 'starting', 'initialized', 'ready');
        IF live_count >= p_per_account THEN
          RAISE EXCEPTION 'You may run % container(s) at a time: stop another one first', p_per_account USING ERRCODE = 'WH410';
        END IF;
        -- SKIP LOCKED: concurrent requests take different rows instead of waiting for each other.
        UPDATE whale_slots SET start_id = p_id WHERE slot = (
          SELECT slot FROM whale_slots WHERE start_id IS NULL AND slot < p_max_containers ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING slot INTO claimed_slot;
        IF claimed_slot IS NULL THEN
          RAISE EXCEPTION 'All container slots are taken; try again shortly' USING ERRCODE = 'WH429';
        END IF;
        UPDATE whale_ports SET start_id = p_id WHERE port = (
          SELECT port FROM whale_ports WHERE start_id IS NULL AND port BETWEEN p_port_from AND p_port_to ORDER BY port LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING port INTO claimed_port;
        IF claimed_port IS NULL THEN
          -- Raising undoes the slot claim above: the function runs inside its caller's statement.
          RAISE EXCEPTION 'No host port is free; try again shortly' USING ERRCODE = 'WH430';
        END IF;
        RETURN QUERY INSERT INTO whale_starts (id, challenge_id, account_type, account_id, user_id, status, max_attempts, engine, host_port, lifetime_s, max_renewals)
          VALUES (p_id, p_challenge, p_account_type, p_account_id, p_user, 'queued', p_max_attempts, p_engine, claimed_port, p_lifetime, p_max_renewals)
          RETURNING *;
      END
      $fn$`),
  },
  {
    id: "0004-start-message",
    // The queue message whose worker took the start. A start may be queued again (Redis lost its message in a
    // restart): the first message to take it owns it, a duplicate finds it taken and leaves it alone.
    up: sql(`ALTER TABLE whale_starts ADD COLUMN message_id text`),
  },
];
