import type { ActivityLogEntry, ActivityLogKind, ActivityStatus, ActivitySummary } from '@runner/core'
import { isTerminalStatus, logEntryOf } from '@runner/core/store'
import { isoText } from './sql.js'

/**
 * The columns of a summary, read as text where pg would otherwise parse them (jsonb, timestamptz,
 * bigint): the store never depends on the type parsers of a pool the application configured.
 */
export function summaryColumns(alias: string): string {
  const column = (name: string) => `${alias}.${name}`
  return [
    `${column('agent_id')} AS agent_id`,
    `${column('agent_type')} AS agent_type`,
    `${column('status')} AS status`,
    `${column('message')} AS message`,
    `${column('percentage')}::int AS percentage`,
    `${column('metadata')}::text AS metadata`,
    `${isoText(column('created_at'))} AS created_at`,
    `${isoText(column('updated_at'))} AS updated_at`,
    `${isoText(column('started_at'))} AS started_at`,
    `${isoText(column('finished_at'))} AS finished_at`,
  ].join(', ')
}

/**
 * The whole log of the activity `alias.agent_id`, oldest first, as one JSON text column `log`
 * (`attempt` and `kind` are `null` where unset: `logOfRow` drops them).
 */
export function logColumn(logTable: string, alias: string): string {
  return `(SELECT coalesce(json_agg(json_build_object(
            'status', l.status, 'message', l.message, 'percentage', l.percentage, 'at', ${isoText('l.at')},
            'attempt', l.attempt, 'kind', l.kind
          ) ORDER BY l.id), '[]'::json)::text
          FROM ${logTable} l WHERE l.agent_id = ${alias}.agent_id) AS log`
}

export interface SummaryRow {
  agent_id: string
  agent_type: string
  status: ActivityStatus
  message: string
  percentage: number
  metadata: string
  created_at: string
  updated_at: string
  started_at: string | null
  finished_at: string | null
}

/** The summary of an `activities` row: the same shape as every store (absent, not null, when unset). */
export function summaryOfRow(row: SummaryRow): ActivitySummary {
  const summary: ActivitySummary = {
    agentId: row.agent_id,
    agentType: row.agent_type,
    status: row.status,
    message: row.message,
    percentage: row.percentage,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
  if (row.started_at !== null) summary.startedAt = row.started_at
  if (row.finished_at !== null) summary.finishedAt = row.finished_at
  return summary
}

/** A log read by `logColumn`, each entry in the shape every store returns (no `null` fields). */
export function logOfRow(row: { log: string }): ActivityLogEntry[] {
  return (JSON.parse(row.log) as LogJsonEntry[]).map(logEntryOf)
}

/** An entry as `logColumn` builds it. */
type LogJsonEntry = Omit<ActivityLogEntry, 'attempt' | 'kind'> & {
  attempt: number | null
  kind: ActivityLogKind | null
}

/** A log row joined with what the activity never changes, as `watch` delivery reads it. */
export interface LogEventRow {
  id: string
  agent_id: string
  status: ActivityStatus
  message: string
  percentage: number | null
  activity_percentage: number
  at: string
  attempt: number | null
  kind: ActivityLogKind | null
  agent_type: string
  metadata: string
  created_at: string
  started_at: string | null
}

export const LOG_EVENT_COLUMNS = [
  'l.id::text AS id',
  'l.agent_id',
  'l.status',
  'l.message',
  'l.percentage::int AS percentage',
  'l.activity_percentage::int AS activity_percentage',
  `${isoText('l.at')} AS at`,
  'l.attempt',
  'l.kind',
  'a.agent_type',
  'a.metadata::text AS metadata',
  `${isoText('a.created_at')} AS created_at`,
  `${isoText('a.started_at')} AS started_at`,
].join(', ')

/**
 * The entry of a log row and the activity's summary right after it. Each log row keeps the
 * percentage it left; the rest follows from the lifecycle: the status and message are the entry's,
 * `startedAt` is set by the first `running` entry (so it is known for any later non-queued entry),
 * and `finishedAt` only by the final entry. So a watcher in another process gets the same summary
 * as one in the writing process, even when it reads several changes of one activity at once.
 */
export function eventOfLogRow(row: LogEventRow): {
  agentId: string
  activity: ActivitySummary
  entry: ActivityLogEntry
} {
  const entry = logEntryOf(row)
  const activity: ActivitySummary = {
    agentId: row.agent_id,
    agentType: row.agent_type,
    status: row.status,
    message: row.message,
    percentage: row.activity_percentage,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    createdAt: row.created_at,
    updatedAt: row.at,
  }
  if (row.status !== 'queued' && row.started_at !== null) activity.startedAt = row.started_at
  if (isTerminalStatus(row.status)) activity.finishedAt = row.at
  return { agentId: row.agent_id, activity, entry }
}
