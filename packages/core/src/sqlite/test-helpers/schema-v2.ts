import type { DatabaseSync } from 'node:sqlite'
import { SCHEMA_V1_SQL } from './schema-v1.js'

/**
 * The step that took SQLite activity databases from version 1 to version 2 (the second release),
 * copied verbatim from that release: a fixture for the upgrade tests. Never edit it; a test checks
 * that a version-2 file, once upgraded, has the schema of a new file.
 */
export const SCHEMA_V1_TO_V2_SQL = `
  ALTER TABLE activity_log ADD COLUMN attempt INTEGER CHECK (attempt BETWEEN 1 AND 1000000);
  ALTER TABLE activity_log ADD COLUMN kind TEXT
    CHECK (kind IN ('lifecycle', 'progress', 'retry', 'fallback', 'resume', 'approval'));
  `

/** Creates the version-2 schema in `db`, as a version-2 store did on a new file (both steps, in order). */
export function createSchemaV2(db: DatabaseSync): void {
  db.exec('PRAGMA journal_mode = WAL')
  db.exec('BEGIN IMMEDIATE')
  db.exec(SCHEMA_V1_SQL)
  db.exec(SCHEMA_V1_TO_V2_SQL)
  db.exec('PRAGMA user_version = 2')
  db.exec('COMMIT')
}

/** One log entry of a version-2 database: `waiting` does not exist yet. */
export interface EntryV2 {
  status: 'queued' | 'running' | 'complete' | 'error' | 'canceled'
  message: string
  percentage: number | null
  at: string
  attempt?: number
  kind?: 'lifecycle' | 'progress' | 'retry' | 'fallback' | 'resume' | 'approval'
}

/**
 * Writes an activity with the statements a version-2 store ran: the current row and the first
 * (queued) log row on create, then one log row and an update of the current row per entry.
 */
export function writeActivityV2(
  db: DatabaseSync,
  activity: { agentId: string; agentType: string; metadata: Record<string, unknown>; log: EntryV2[] },
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
    'INSERT INTO activity_log (agent_id, status, message, percentage, at, attempt, kind) VALUES (?, ?, ?, ?, ?, ?, ?)',
  )
  const logRow = (entry: EntryV2) =>
    insertLog.run(
      activity.agentId,
      entry.status,
      entry.message,
      entry.percentage,
      entry.at,
      entry.attempt ?? null,
      entry.kind ?? null,
    )
  logRow(first)
  let percentage = 0
  let startedAt: string | null = null
  let finishedAt: string | null = null
  for (const entry of rest) {
    percentage = entry.percentage ?? percentage
    if (entry.status === 'running') startedAt ??= entry.at
    if (entry.status === 'complete' || entry.status === 'error' || entry.status === 'canceled') {
      finishedAt = entry.at
    }
    logRow(entry)
    db.prepare(
      `UPDATE activities SET status = ?, message = ?, percentage = ?, updated_at = ?, started_at = ?, finished_at = ?
       WHERE agent_id = ?`,
    ).run(entry.status, entry.message, percentage, entry.at, startedAt, finishedAt, activity.agentId)
  }
}
