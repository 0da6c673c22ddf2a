// The coordinator database's schema as history: numbered migrations, each one change, written
// for both storages (SQLite, the embedded default, and PostgreSQL). A database records every
// migration applied to it in schema_migrations; opening it applies the ones it lacks, in order,
// each in its own transaction. Never edit a migration that has shipped: add the next one.
//
// Version 0 is a database from before migrations (the tables made with CREATE TABLE IF NOT
// EXISTS and no schema_migrations): migration 1 creates the same tables only where missing, so
// such a database is adopted as it is.

export interface Migration {
  version: number;
  /** What the change is for, in a few words. */
  name: string;
  sqlite: string;
  postgres: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'jobs, participants, rounds, the round event log and models',
    sqlite: `
CREATE TABLE IF NOT EXISTS jobs (
  job_id TEXT PRIMARY KEY,
  spec_hash TEXT NOT NULL UNIQUE,
  signed_json TEXT NOT NULL,
  state TEXT NOT NULL,
  validation_csv TEXT,
  published_at INTEGER NOT NULL,
  publish_tx TEXT
);
CREATE TABLE IF NOT EXISTS participants (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL REFERENCES jobs(job_id),
  signing_key TEXT NOT NULL,
  commitment TEXT NOT NULL,
  enrolled_at INTEGER NOT NULL,
  left_at INTEGER,
  UNIQUE (job_id, signing_key),
  UNIQUE (job_id, commitment)
);
CREATE TABLE IF NOT EXISTS rounds (
  job_id TEXT NOT NULL REFERENCES jobs(job_id),
  round INTEGER NOT NULL,
  roster TEXT NOT NULL,
  commitments TEXT NOT NULL,
  stage TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  closed_at INTEGER,
  included TEXT,
  validation TEXT,
  close_tx TEXT,
  group_root TEXT,
  group_size INTEGER,
  abort_reason TEXT,
  PRIMARY KEY (job_id, round)
);
CREATE TABLE IF NOT EXISTS round_events (
  job_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('start', 'message', 'advance')),
  at INTEGER NOT NULL,
  data BLOB,
  PRIMARY KEY (job_id, round, seq),
  FOREIGN KEY (job_id, round) REFERENCES rounds(job_id, round)
);
CREATE TRIGGER IF NOT EXISTS round_events_append_only_update BEFORE UPDATE ON round_events
BEGIN SELECT RAISE(ABORT, 'round events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS round_events_append_only_delete BEFORE DELETE ON round_events
BEGIN SELECT RAISE(ABORT, 'round events are append-only'); END;
CREATE TABLE IF NOT EXISTS models (
  job_id TEXT NOT NULL REFERENCES jobs(job_id),
  round INTEGER NOT NULL,
  weights BLOB NOT NULL,
  PRIMARY KEY (job_id, round)
);`,
    postgres: `
CREATE TABLE IF NOT EXISTS jobs (
  job_id TEXT PRIMARY KEY,
  spec_hash TEXT NOT NULL UNIQUE,
  signed_json TEXT NOT NULL,
  state TEXT NOT NULL,
  validation_csv TEXT,
  published_at BIGINT NOT NULL,
  publish_tx TEXT
);
CREATE TABLE IF NOT EXISTS participants (
  seq BIGSERIAL PRIMARY KEY,
  job_id TEXT NOT NULL REFERENCES jobs(job_id),
  signing_key TEXT NOT NULL,
  commitment TEXT NOT NULL,
  enrolled_at BIGINT NOT NULL,
  left_at BIGINT,
  UNIQUE (job_id, signing_key),
  UNIQUE (job_id, commitment)
);
CREATE TABLE IF NOT EXISTS rounds (
  job_id TEXT NOT NULL REFERENCES jobs(job_id),
  round INTEGER NOT NULL,
  roster TEXT NOT NULL,
  commitments TEXT NOT NULL,
  stage TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  closed_at BIGINT,
  included TEXT,
  validation TEXT,
  close_tx TEXT,
  group_root TEXT,
  group_size INTEGER,
  abort_reason TEXT,
  PRIMARY KEY (job_id, round)
);
CREATE TABLE IF NOT EXISTS round_events (
  job_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('start', 'message', 'advance')),
  at BIGINT NOT NULL,
  data BYTEA,
  PRIMARY KEY (job_id, round, seq),
  FOREIGN KEY (job_id, round) REFERENCES rounds(job_id, round)
);
CREATE OR REPLACE FUNCTION round_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'round events are append-only'; END $$;
CREATE OR REPLACE TRIGGER round_events_append_only BEFORE UPDATE OR DELETE ON round_events
FOR EACH ROW EXECUTE FUNCTION round_events_append_only();
CREATE TABLE IF NOT EXISTS models (
  job_id TEXT NOT NULL REFERENCES jobs(job_id),
  round INTEGER NOT NULL,
  weights BYTEA NOT NULL,
  PRIMARY KEY (job_id, round)
);
-- Masked inputs are random bytes and do not compress: store them as they are.
ALTER TABLE round_events ALTER COLUMN data SET STORAGE EXTERNAL;`,
  },
  {
    version: 2,
    name: 'failed on-chain closes: attempts, last error, next try',
    sqlite: `
ALTER TABLE rounds ADD COLUMN close_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rounds ADD COLUMN close_error TEXT;
ALTER TABLE rounds ADD COLUMN close_retry_at INTEGER;`,
    postgres: `
ALTER TABLE rounds ADD COLUMN close_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rounds ADD COLUMN close_error TEXT;
ALTER TABLE rounds ADD COLUMN close_retry_at BIGINT;`,
  },
  {
    version: 3,
    name: 'analytics jobs: the module a job runs, and each round\'s aggregate with its error bars',
    sqlite: `
ALTER TABLE rounds ADD COLUMN aggregate TEXT;
CREATE TABLE IF NOT EXISTS modules (
  job_id TEXT PRIMARY KEY REFERENCES jobs(job_id),
  bytes BLOB NOT NULL
);`,
    postgres: `
ALTER TABLE rounds ADD COLUMN aggregate TEXT;
CREATE TABLE IF NOT EXISTS modules (
  job_id TEXT PRIMARY KEY REFERENCES jobs(job_id),
  bytes BYTEA NOT NULL
);`,
  },
  {
    version: 4,
    name: 'secure-aggregation groups, outcomes per group, leases and coordinator processes',
    sqlite: `
ALTER TABLE rounds ADD COLUMN secagg_groups TEXT;
ALTER TABLE round_events ADD COLUMN grp INTEGER;
CREATE TABLE round_groups (
  job_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  grp INTEGER NOT NULL,
  stage TEXT NOT NULL CHECK (stage IN ('done', 'aborted')),
  included TEXT,
  sum BLOB,
  error_bound REAL,
  abort_reason TEXT,
  at INTEGER NOT NULL,
  PRIMARY KEY (job_id, round, grp),
  FOREIGN KEY (job_id, round) REFERENCES rounds(job_id, round)
);
CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  taken_over INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE coordinator_processes (
  id TEXT PRIMARY KEY,
  pid INTEGER NOT NULL,
  url TEXT,
  started_at INTEGER NOT NULL,
  seen_at INTEGER NOT NULL
);`,
    postgres: `
ALTER TABLE rounds ADD COLUMN secagg_groups TEXT;
ALTER TABLE round_events ADD COLUMN grp INTEGER;
CREATE TABLE round_groups (
  job_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  grp INTEGER NOT NULL,
  stage TEXT NOT NULL CHECK (stage IN ('done', 'aborted')),
  included TEXT,
  sum BYTEA,
  error_bound DOUBLE PRECISION,
  abort_reason TEXT,
  at BIGINT NOT NULL,
  PRIMARY KEY (job_id, round, grp),
  FOREIGN KEY (job_id, round) REFERENCES rounds(job_id, round)
);
CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  taken_over INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE coordinator_processes (
  id TEXT PRIMARY KEY,
  pid INTEGER NOT NULL,
  url TEXT,
  started_at BIGINT NOT NULL,
  seen_at BIGINT NOT NULL
);`,
  },
  {
    version: 5,
    name: 'the block at which each round was started on-chain',
    // Where the search for an earlier close of the round begins (null: a round from before, searched from block 0).
    sqlite: `
ALTER TABLE rounds ADD COLUMN start_block INTEGER;`,
    postgres: `
ALTER TABLE rounds ADD COLUMN start_block BIGINT;`,
  },
  {
    version: 6,
    name: 'request nonces already used, shared by every coordinator process until they expire',
    // The nonce's 24-byte head (expiry and random part, hex): its MAC is checked before it gets here.
    sqlite: `
CREATE TABLE used_nonces (
  nonce TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX used_nonces_expiry ON used_nonces (expires_at);`,
    postgres: `
CREATE TABLE used_nonces (
  nonce TEXT PRIMARY KEY,
  expires_at BIGINT NOT NULL
);
CREATE INDEX used_nonces_expiry ON used_nonces (expires_at);`,
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

export const MIGRATIONS_TABLE = {
  sqlite: 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  postgres: 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
} as const;

/** The migrations a database at `current` still needs, in order. */
export function pendingMigrations(current: number): Migration[] {
  return MIGRATIONS.filter((m) => m.version > current);
}
