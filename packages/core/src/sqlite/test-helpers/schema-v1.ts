import type { DatabaseSync } from 'node:sqlite'

/**
 * The schema of SQLite activity databases at version 1 (the first release), copied verbatim from
 * that release's only migration step: a fixture for the upgrade tests. Never edit it; a test checks
 * that this schema, once upgraded, equals the schema of a new file.
 */
export const SCHEMA_V1_SQL = `
  CREATE TABLE IF NOT EXISTS activities (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id TEXT NOT NULL UNIQUE,
    agent_type TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'complete', 'error', 'canceled')),
    message TEXT NOT NULL,
    percentage INTEGER NOT NULL CHECK (percentage BETWEEN 0 AND 100),
    metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
  );
  CREATE INDEX IF NOT EXISTS activities_status_seq ON activities (status, seq);
  CREATE INDEX IF NOT EXISTS activities_list_key ON activities (((status IN ('queued', 'running')) * 4503599627370496 + seq));
  CREATE TABLE IF NOT EXISTS activity_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id TEXT NOT NULL REFERENCES activities (agent_id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    percentage INTEGER,
    at TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS activity_log_agent_id ON activity_log (agent_id, id);
  CREATE TABLE IF NOT EXISTS trajectories (
    agent_id TEXT PRIMARY KEY REFERENCES activities (agent_id) ON DELETE CASCADE,
    json TEXT NOT NULL
  );
  `

/** Creates the version-1 schema in `db`, as a version-1 store did on a new file. */
export function createSchemaV1(db: DatabaseSync): void {
  db.exec('PRAGMA journal_mode = WAL')
  db.exec('BEGIN IMMEDIATE')
  db.exec(SCHEMA_V1_SQL)
  db.exec('PRAGMA user_version = 1')
  db.exec('COMMIT')
}

/** One log entry of a version-1 database: no attempt, no kind (the schema has no place for them). */
export interface EntryV1 {
  status: 'queued' | 'running' | 'complete' | 'error' | 'canceled'
  message: string
  percentage: number | null
  at: string
}

/**
 * Writes an activity with the statements a version-1 store ran: the current row and the first
 * (queued) log row on create, then one log row and an update of the current row per entry.
 */
export function writeActivityV1(
  db: DatabaseSync,
  activity: { agentId: string; agentType: string; metadata: Record<string, unknown>; log: EntryV1[] },
): void {
  const [first, ...rest] = activity.log
  if (first?.status !== 'queued') throw new Error('the first entry of a log is queued')
  db.prepare(
    `INSERT INTO activities (agent_id, agent_type, status, message, percentage, metadata, created_at, updated_at)
     VALUES (?, ?, 'queued', ?, 0, ?, ?, ?)`,
  ).run(
    activity.agentId,
    activity.agentType,
    first.message,
    JSON.stringify(activity.metadata),
    first.at,
    first.at,
  )
  const insertLog = db.prepare(
    'INSERT INTO activity_log (agent_id, status, message, percentage, at) VALUES (?, ?, ?, ?, ?)',
  )
  insertLog.run(activity.agentId, first.status, first.message, first.percentage, first.at)
  let percentage = 0
  let startedAt: string | null = null
  let finishedAt: string | null = null
  for (const entry of rest) {
    percentage = entry.percentage ?? percentage
    if (entry.status === 'running') startedAt ??= entry.at
    if (entry.status === 'complete' || entry.status === 'error' || entry.status === 'canceled') {
      finishedAt = entry.at
    }
    insertLog.run(activity.agentId, entry.status, entry.message, entry.percentage, entry.at)
    db.prepare(
      `UPDATE activities SET status = ?, message = ?, percentage = ?, updated_at = ?, started_at = ?, finished_at = ?
       WHERE agent_id = ?`,
    ).run(entry.status, entry.message, percentage, entry.at, startedAt, finishedAt, activity.agentId)
  }
}
