import type { Migration } from "../kernel/db/migrations.js";

/**
 * core/ctf's tables. Plain SQL: the attempt pipeline and the scoreboard read them with hand-written queries.
 * Append new migrations at the end; never edit one that has shipped.
 */
export const ctfMigrations: Migration[] = [
  {
    id: "0001-game",
    async up(q) {
      await q.query(`
        CREATE TABLE ctf_event (
          id int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
          name text NOT NULL DEFAULT 'flaghost CTF',
          mode text NOT NULL DEFAULT 'users' CHECK (mode IN ('users', 'teams')),
          starts_at timestamptz,
          ends_at timestamptz,
          freeze_at timestamptz,
          paused boolean NOT NULL DEFAULT false,
          registration_open boolean NOT NULL DEFAULT true,
          challenge_visibility text NOT NULL DEFAULT 'private' CHECK (challenge_visibility IN ('public', 'private')),
          account_visibility text NOT NULL DEFAULT 'public' CHECK (account_visibility IN ('public', 'private', 'admins')),
          score_visibility text NOT NULL DEFAULT 'public' CHECK (score_visibility IN ('public', 'private', 'hidden', 'admins')),
          incorrect_submissions_per_minute int NOT NULL DEFAULT 10 CHECK (incorrect_submissions_per_minute > 0),
          team_size int CHECK (team_size IS NULL OR team_size > 0),
          setup_done boolean NOT NULL DEFAULT false,
          updated_at timestamptz NOT NULL DEFAULT now()
        )`);
      await q.query(`INSERT INTO ctf_event (id) VALUES (1)`);

      await q.query(`
        CREATE TABLE ctf_brackets (
          id serial PRIMARY KEY,
          name text NOT NULL,
          description text,
          type text NOT NULL DEFAULT 'users' CHECK (type IN ('users', 'teams'))
        )`);

      await q.query(`
        CREATE TABLE ctf_teams (
          id serial PRIMARY KEY,
          name text NOT NULL,
          email text,
          password_hash text,
          captain_id int,
          invite_secret text NOT NULL,
          hidden boolean NOT NULL DEFAULT false,
          banned boolean NOT NULL DEFAULT false,
          website text, affiliation text, country text,
          bracket_id int REFERENCES ctf_brackets(id) ON DELETE SET NULL,
          created_at timestamptz NOT NULL DEFAULT now()
        )`);
      await q.query(`CREATE UNIQUE INDEX ctf_teams_name ON ctf_teams (lower(name))`);

      await q.query(`
        CREATE TABLE ctf_users (
          id serial PRIMARY KEY,
          name text NOT NULL,
          email text,
          -- scrypt$N$r$p$salt$hash (see passwords.ts); NULL for accounts that cannot log in with a password
          password_hash text,
          role text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
          hidden boolean NOT NULL DEFAULT false,
          banned boolean NOT NULL DEFAULT false,
          verified boolean NOT NULL DEFAULT false,
          team_id int REFERENCES ctf_teams(id) ON DELETE SET NULL,
          bracket_id int REFERENCES ctf_brackets(id) ON DELETE SET NULL,
          website text, affiliation text, country text, language text,
          created_at timestamptz NOT NULL DEFAULT now()
        )`);
      await q.query(`CREATE UNIQUE INDEX ctf_users_name ON ctf_users (lower(name))`);
      await q.query(`CREATE UNIQUE INDEX ctf_users_email ON ctf_users (lower(email)) WHERE email IS NOT NULL`);
      await q.query(`CREATE INDEX ctf_users_team ON ctf_users (team_id) WHERE team_id IS NOT NULL`);
      await q.query(`ALTER TABLE ctf_teams ADD CONSTRAINT ctf_teams_captain FOREIGN KEY (captain_id) REFERENCES ctf_users(id) ON DELETE SET NULL`);

      await q.query(`
        CREATE TABLE ctf_challenges (
          id serial PRIMARY KEY,
          name text NOT NULL,
          category text NOT NULL DEFAULT '',
          description text NOT NULL DEFAULT '',
          connection_info text,
          attribution text,
          next_id int,
          state text NOT NULL DEFAULT 'visible' CHECK (state IN ('visible', 'hidden', 'locked')),
          max_attempts int NOT NULL DEFAULT 0 CHECK (max_attempts >= 0),
          position int NOT NULL DEFAULT 0,
          type text NOT NULL DEFAULT 'standard',
          -- the current value; for dynamic challenges recomputed when solves change
          value int NOT NULL DEFAULT 0,
          initial int, minimum int, decay int,
          decay_function text CHECK (decay_function IS NULL OR decay_function IN ('linear', 'logarithmic')),
          -- {"prerequisites": [ids], "anonymize": bool}
          requirements jsonb,
          -- settings of plugin-provided challenge types, validated by the type's own schema
          type_settings jsonb NOT NULL DEFAULT '{}'::jsonb,
          created_at timestamptz NOT NULL DEFAULT now()
        )`);

      await q.query(`
        CREATE TABLE ctf_flags (
          id serial PRIMARY KEY,
          challenge_id int NOT NULL REFERENCES ctf_challenges(id) ON DELETE CASCADE,
          type text NOT NULL,
          content text NOT NULL,
          data text
        )`);
      await q.query(`CREATE INDEX ctf_flags_challenge ON ctf_flags (challenge_id)`);

      await q.query(`
        CREATE TABLE ctf_hints (
          id serial PRIMARY KEY,
          challenge_id int NOT NULL REFERENCES ctf_challenges(id) ON DELETE CASCADE,
          title text NOT NULL DEFAULT '',
          content text NOT NULL DEFAULT '',
          cost int NOT NULL DEFAULT 0 CHECK (cost >= 0),
          -- ids of hints that must be unlocked first
          prerequisites int[] NOT NULL DEFAULT '{}'
        )`);
      await q.query(`CREATE INDEX ctf_hints_challenge ON ctf_hints (challenge_id)`);

      await q.query(`
        CREATE TABLE ctf_awards (
          id serial PRIMARY KEY,
          user_id int REFERENCES ctf_users(id) ON DELETE CASCADE,
          team_id int REFERENCES ctf_teams(id) ON DELETE CASCADE,
          name text NOT NULL DEFAULT '',
          description text,
          value int NOT NULL DEFAULT 0,
          category text,
          icon text,
          -- set for the negative award that pays for a hint unlock
          hint_id int REFERENCES ctf_hints(id) ON DELETE SET NULL,
          created_at timestamptz NOT NULL DEFAULT now()
        )`);
      await q.query(`CREATE INDEX ctf_awards_user ON ctf_awards (user_id, created_at)`);
      await q.query(`CREATE INDEX ctf_awards_team ON ctf_awards (team_id, created_at) WHERE team_id IS NOT NULL`);

      await q.query(`
        CREATE TABLE ctf_unlocks (
          id serial PRIMARY KEY,
          user_id int NOT NULL REFERENCES ctf_users(id) ON DELETE CASCADE,
          team_id int REFERENCES ctf_teams(id) ON DELETE CASCADE,
          hint_id int NOT NULL REFERENCES ctf_hints(id) ON DELETE CASCADE,
          award_id int REFERENCES ctf_awards(id) ON DELETE SET NULL,
          created_at timestamptz NOT NULL DEFAULT now()
        )`);
      // One unlock per hint and account (the team in team mode).
      await q.query(`CREATE UNIQUE INDEX ctf_unlocks_user ON ctf_unlocks (hint_id, user_id) WHERE team_id IS NULL`);
      await q.query(`CREATE UNIQUE INDEX ctf_unlocks_team ON ctf_unlocks (hint_id, team_id) WHERE team_id IS NOT NULL`);

      await q.query(`
        CREATE TABLE ctf_submissions (
          id bigserial PRIMARY KEY,
          challenge_id int NOT NULL REFERENCES ctf_challenges(id) ON DELETE CASCADE,
          user_id int NOT NULL REFERENCES ctf_users(id) ON DELETE CASCADE,
          team_id int REFERENCES ctf_teams(id) ON DELETE CASCADE,
          provided text NOT NULL,
          type text NOT NULL CHECK (type IN ('correct', 'incorrect', 'ratelimited', 'discard')),
          ip text,
          user_agent text,
          created_at timestamptz NOT NULL DEFAULT now()
        )`);
      await q.query(`CREATE INDEX ctf_submissions_user_challenge ON ctf_submissions (user_id, challenge_id)`);
      await q.query(`CREATE INDEX ctf_submissions_team_challenge ON ctf_submissions (team_id, challenge_id) WHERE team_id IS NOT NULL`);
      await q.query(`CREATE INDEX ctf_submissions_challenge ON ctf_submissions (challenge_id, created_at)`);
      // The wrong-answer rate limit counts an account's recent wrong answers on every attempt.
      await q.query(`CREATE INDEX ctf_submissions_user_wrong ON ctf_submissions (user_id, created_at) WHERE type = 'incorrect'`);
      await q.query(`CREATE INDEX ctf_submissions_team_wrong ON ctf_submissions (team_id, created_at) WHERE type = 'incorrect' AND team_id IS NOT NULL`);

      await q.query(`
        CREATE TABLE ctf_solves (
          id bigserial PRIMARY KEY,
          submission_id bigint NOT NULL UNIQUE REFERENCES ctf_submissions(id) ON DELETE CASCADE,
          challenge_id int NOT NULL REFERENCES ctf_challenges(id) ON DELETE CASCADE,
          user_id int NOT NULL REFERENCES ctf_users(id) ON DELETE CASCADE,
          -- set in team mode: the team is the account that solved
          team_id int REFERENCES ctf_teams(id) ON DELETE CASCADE,
          created_at timestamptz NOT NULL DEFAULT now()
        )`);
      // The database decides races: one solve per (challenge, user) in user mode, per (challenge, team) in team mode.
      await q.query(`CREATE UNIQUE INDEX ctf_solves_user_once ON ctf_solves (challenge_id, user_id) WHERE team_id IS NULL`);
      await q.query(`CREATE UNIQUE INDEX ctf_solves_team_once ON ctf_solves (challenge_id, team_id) WHERE team_id IS NOT NULL`);
      await q.query(`CREATE INDEX ctf_solves_challenge_time ON ctf_solves (challenge_id, created_at)`);
      await q.query(`CREATE INDEX ctf_solves_user_time ON ctf_solves (user_id, created_at)`);
      await q.query(`CREATE INDEX ctf_solves_team_time ON ctf_solves (team_id, created_at) WHERE team_id IS NOT NULL`);

      await q.query(`
        CREATE TABLE ctf_tokens (
          id serial PRIMARY KEY,
          user_id int NOT NULL REFERENCES ctf_users(id) ON DELETE CASCADE,
          -- sha256 of the token; the value itself is shown once, at creation
          token_hash text NOT NULL UNIQUE,
          description text,
          expires_at timestamptz NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now()
        )`);
      await q.query(`CREATE INDEX ctf_tokens_user ON ctf_tokens (user_id)`);

      await q.query(`
        CREATE TABLE ctf_sessions (
          -- sha256 of the cookie value
          id_hash text PRIMARY KEY,
          user_id int NOT NULL REFERENCES ctf_users(id) ON DELETE CASCADE,
          csrf_token text NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          expires_at timestamptz NOT NULL
        )`);
      await q.query(`CREATE INDEX ctf_sessions_user ON ctf_sessions (user_id)`);

      await q.query(`
        CREATE TABLE ctf_notifications (
          id serial PRIMARY KEY,
          title text NOT NULL,
          content text NOT NULL,
          type text NOT NULL DEFAULT 'toast' CHECK (type IN ('toast', 'alert', 'background')),
          sound boolean NOT NULL DEFAULT true,
          user_id int REFERENCES ctf_users(id) ON DELETE CASCADE,
          team_id int REFERENCES ctf_teams(id) ON DELETE CASCADE,
          created_at timestamptz NOT NULL DEFAULT now()
        )`);
    },
  },
  {
    // readService.submissions without a challenge (phase2's sliding window) pages by time: without this index every
    // page was a scan and sort of the whole table.
    id: "0002-submissions-by-time",
    async up(q) {
      await q.query(`CREATE INDEX ctf_submissions_time ON ctf_submissions (created_at, id)`);
    },
  },
  {
    // A player's unlocked hints (GET /api/v1/hints/:id, the unlock list) are read by account; the unique indexes
    // lead with hint_id, so without these every read scanned every unlock of the event.
    id: "0003-unlocks-by-account",
    async up(q) {
      await q.query(`CREATE INDEX ctf_unlocks_by_user ON ctf_unlocks (user_id) WHERE team_id IS NULL`);
      await q.query(`CREATE INDEX ctf_unlocks_by_team ON ctf_unlocks (team_id) WHERE team_id IS NOT NULL`);
    },
  },
  {
    // A dynamic challenge's value in one statement (see game/dynamic-value.ts): a solve commits on its own and then
    // settles the value, holding the challenge's row lock only inside this call instead of across a transaction's
    // round trips. ctf_dynamic_value is dynamicValue() in SQL, the same float arithmetic in the same order; a test
    // compares the two over a grid of settings and counts.
    id: "0004-dynamic-value-in-sql",
    async up(q) {
      await q.query(`
        CREATE FUNCTION ctf_dynamic_value(p_initial int, p_minimum int, p_decay int, p_function text, p_solves int) RETURNS int
        LANGUAGE sql IMMUTABLE AS $fn$
          SELECT greatest(p_minimum::float8, ceil(CASE WHEN p_function = 'linear'
            THEN p_initial::float8 - p_decay::float8 * greatest(0, p_solves - 1)::float8
            ELSE ((p_minimum - p_initial)::float8 / (greatest(1, p_decay)::float8 ^ 2)) * (greatest(0, p_solves - 1)::float8 ^ 2) + p_initial::float8
          END))::int
        $fn$`);
      // Locks the row first, then counts: each statement of a plpgsql function sees what committed before it began,
      // so of concurrent calls the last to get the lock counts every committed solve. Hidden and banned accounts do
      // not count toward decay.
      await q.query(`
        CREATE FUNCTION ctf_settle_dynamic_value(p_id int) RETURNS TABLE (previous_value int, new_value int, challenge_state text)
        LANGUAGE plpgsql AS $fn$
        DECLARE
          c record;
          counted int;
          computed int;
        BEGIN
          SELECT ch.value, ch.initial, ch.minimum, ch.decay, ch.decay_function, ch.state INTO c
            FROM ctf_challenges ch WHERE ch.id = p_id AND ch.type = 'dynamic' FOR NO KEY UPDATE;
          IF NOT FOUND THEN RETURN; END IF;
          SELECT count(*)::int INTO counted FROM ctf_solves s
            JOIN ctf_users u ON u.id = s.user_id
            LEFT JOIN ctf_teams t ON t.id = s.team_id
           WHERE s.challenge_id = p_id AND NOT u.hidden AND NOT u.banned AND NOT coalesce(t.hidden, false) AND NOT coalesce(t.banned, false);
          computed := ctf_dynamic_value(c.initial, c.minimum, c.decay, c.decay_function, counted);
          IF computed IS DISTINCT FROM c.value THEN
            UPDATE ctf_challenges SET value = computed WHERE id = p_id;
          END IF;
          RETURN QUERY SELECT c.value, computed, c.state;
        END
        $fn$`);
    },
  },
];
