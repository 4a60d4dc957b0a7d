import type { DatabaseSync } from 'node:sqlite'
import { SCHEMA_V1_SQL } from './schema-v1.js'
import { SCHEMA_V1_TO_V2_SQL } from './schema-v2.js'

/**
 * The SQL of the step that took SQLite activity databases from version 2 to version 3 (durable
 * runs), copied verbatim from that release (the step also carried over indexes and triggers a
 * user had added, which a new file has none of): a fixture for the upgrade tests. Never edit it.
 */
export const SCHEMA_V2_TO_V3_SQL = `
    CREATE TABLE activities_next (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      agent_id TEXT NOT NULL UNIQUE,
      agent_type TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'waiting', 'complete', 'error', 'canceled')),
      message TEXT NOT NULL,
      percentage INTEGER NOT NULL CHECK (percentage BETWEEN 0 AND 100),
      metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      started_at TEXT,
      finished_at TEXT
    );
    INSERT INTO activities_next
      (seq, agent_id, agent_type, status, message, percentage, metadata, created_at, updated_at, started_at, finished_at)
      SELECT seq, agent_id, agent_type, status, message, percentage, metadata, created_at, updated_at, started_at, finished_at
      FROM activities ORDER BY seq;
    DELETE FROM sqlite_sequence WHERE name = 'activities_next';
    INSERT INTO sqlite_sequence (name, seq) SELECT 'activities_next', seq FROM sqlite_sequence WHERE name = 'activities';
    DROP TABLE activities;
    ALTER TABLE activities_next RENAME TO activities;
    CREATE INDEX activities_status_seq ON activities (status, seq);
    CREATE INDEX activities_list_key ON activities (((status IN ('queued', 'running', 'waiting')) * 4503599627370496 + seq));

    CREATE TABLE run_records (
      agent_id TEXT PRIMARY KEY REFERENCES activities (agent_id) ON DELETE CASCADE,
      checkpoint TEXT,
      pending TEXT CHECK (pending IS NULL OR json_valid(pending)),
      expires_at TEXT
    );
    -- Apart from the checkpoint: writing a result never rewrites the (large) checkpoint row.
    CREATE TABLE run_results (
      agent_id TEXT PRIMARY KEY REFERENCES activities (agent_id) ON DELETE CASCADE,
      result TEXT NOT NULL
    );
    CREATE TABLE run_journal (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      agent_id TEXT NOT NULL REFERENCES activities (agent_id) ON DELETE CASCADE,
      tool_call_id TEXT NOT NULL,
      entry TEXT NOT NULL,
      UNIQUE (agent_id, tool_call_id)
    );
    CREATE INDEX run_journal_agent_id ON run_journal (agent_id, id);
    CREATE TABLE job_queue (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      agent_id TEXT NOT NULL UNIQUE,
      job TEXT NOT NULL,
      priority INTEGER NOT NULL,
      ready_at INTEGER NOT NULL,
      owner TEXT,
      lease_until INTEGER,
      claimed_before INTEGER NOT NULL DEFAULT 0 CHECK (claimed_before IN (0, 1))
    );
    CREATE INDEX job_queue_order ON job_queue (priority DESC, seq);
    CREATE TABLE documents (
      namespace TEXT NOT NULL,
      key TEXT NOT NULL,
      value TEXT NOT NULL,
      PRIMARY KEY (namespace, key)
    ) WITHOUT ROWID;
    `

/** Creates the version-3 schema in `db`, as a version-3 store did on a new file (every step, in order). */
export function createSchemaV3(db: DatabaseSync): void {
  db.exec('PRAGMA journal_mode = WAL')
  db.exec('BEGIN IMMEDIATE')
  db.exec(SCHEMA_V1_SQL)
  db.exec(SCHEMA_V1_TO_V2_SQL)
  db.exec(SCHEMA_V2_TO_V3_SQL)
  db.exec('PRAGMA user_version = 3')
  db.exec('COMMIT')
}
