import {
  type Activity,
  type ActivityLogEntry,
  ActivityNotFoundError,
  type ActivitySummary,
  ActivityTransitionError,
} from '@runner/core'
import {
  type AppendActivityInput,
  applyEntry,
  assertTransition,
  type BatchOutcome,
  type CheckpointInput,
  duplicateActivityError,
  encodeCheckpoint,
  encodeJournalEntry,
  isTerminalStatus,
  type JournalEntryInput,
  logEntryOf,
  queuedEntry,
} from '@runner/core/store'
import type { QueryResult, QueryResultRow } from 'pg'
import { logOfRow, type SummaryRow, summaryColumns, summaryOfRow } from './rows.js'
import { isoText, LOCK_CLASS_LOG, NOW_MS, type SchemaNames } from './sql.js'

/** One write of a batch, as the store's methods submit it (already validated where it can be). */
export type WriteItem =
  | {
      kind: 'create'
      agentId: string
      agentType: string
      message: string
      metadataJson: string
    }
  | { kind: 'append'; agentId: string; input: AppendActivityInput }
  | { kind: 'checkpoint'; agentId: string; checkpoint: CheckpointInput }
  | { kind: 'tool-call'; agentId: string; entry: JournalEntryInput; checkpoint: CheckpointInput | undefined }

/** What a write resolves with: the activity right after it (create, append), or nothing. */
export type WriteResult = Activity | undefined

/** Runs one statement on the batch's connection (named when `prepared`). */
export type BatchQuery = <R extends QueryResultRow = QueryResultRow>(
  text: string,
  values: unknown[],
  prepared?: boolean,
) => Promise<QueryResult<R>>

const CONFLICT_MARK = 'runner: a create of this batch lost its id'

/** The run-record part of an activity a batch has not yet written a run record for. */
function untouchedRun(
  now: string,
): Pick<
  Touched,
  'runFromAppend' | 'checkpoint' | 'pending' | 'expiresAt' | 'result' | 'runTouched' | 'runAt'
> {
  return {
    runFromAppend: false,
    checkpoint: null,
    pending: null,
    expiresAt: null,
    result: null,
    runTouched: false,
    runAt: now,
  }
}

/** The batch must be written again: a create lost its id to a concurrent writer of another process. */
export class BatchConflict extends Error {}

interface LockedRow extends SummaryRow {
  now: string
  seq: string
  last_log_id: string | null
  log_last_id: string | null
  log: string | null
}

/** An activity touched by the batch, as it stands after the items applied so far. */
interface Touched {
  summary: ActivitySummary
  /** The row's `seq` and status before the batch (undefined for an activity the batch creates). */
  seq: string | undefined
  initialStatus: string | undefined
  metadataJson: string
  /** The whole log (only read for activities the batch appends to; a create starts it). */
  log: ActivityLogEntry[] | undefined
  createdHere: boolean
  changed: boolean
  /** Set by an append that writes the run record: pending requests replaced (null: cleared). */
  runFromAppend: boolean
  checkpoint: string | null
  pending: string | null
  expiresAt: string | null
  result: string | null
  runTouched: boolean
  runAt: string
}

/** The log rows, activity rows, run records and journal rows of a batch, as `unnest` arrays. */
class Columns {
  readonly log = {
    agentId: [] as string[],
    status: [] as string[],
    message: [] as string[],
    percentage: [] as (number | null)[],
    activityPercentage: [] as number[],
    at: [] as string[],
    attempt: [] as (number | null)[],
    kind: [] as (string | null)[],
  }
  readonly journal = { agentId: [] as string[], toolCallId: [] as string[], entry: [] as string[] }
}

/**
 * Writes a batch of store writes in the open transaction of `query`, in three statements: one
 * locks every activity the batch names (`SELECT ... FOR UPDATE`, in `agent_id` order, so two
 * batches never deadlock) and reads the logs of those it appends to; the items are then checked
 * and applied in submission order in memory (several items for one activity apply in turn, and an
 * item refused on its own changes nothing); one statement writes the rest: the log rows (under the
 * schema's log lock, held until commit), the new and changed activity rows, the run records and the
 * journal, and sends one `NOTIFY` naming the batch's last log row; `COMMIT` is queued right behind
 * it. The caller has queued `BEGIN` and rolls back on an error.
 */
export async function writeBatch(
  query: BatchQuery,
  names: SchemaNames,
  maxRecordBytes: number,
  items: readonly WriteItem[],
): Promise<BatchOutcome<WriteResult>[]> {
  const ids = [...new Set(items.map((item) => item.agentId))].sort()
  const logIds = [...new Set(items.filter((item) => item.kind === 'append').map((item) => item.agentId))]
  // The batch's statements are unnamed, so PostgreSQL plans each one for its own arrays. Named
  // (prepared) statements switch to a generic plan after five runs, and for these array parameters
  // that plan degrades as the tables grow: 7 times slower appends at 20,000 activities, 15 at 100,000.
  const locked = await query<LockedRow>(
    `SELECT ${isoText(NOW_MS)} AS now, r.* FROM (SELECT 1) one LEFT JOIN LATERAL (
       SELECT ${summaryColumns('a')}, a.seq::text AS seq, a.last_log_id::text AS last_log_id,
              CASE WHEN a.agent_id = ANY($2::text[]) THEN
                (SELECT coalesce(max(l.id), 0) FROM ${names.log} l WHERE l.agent_id = a.agent_id)::text
              END AS log_last_id,
              CASE WHEN a.agent_id = ANY($2::text[]) THEN ${logExpression(names.log, 'a')} END AS log
       FROM ${names.activities} a WHERE a.agent_id = ANY($1::text[])
       ORDER BY a.agent_id FOR UPDATE OF a
     ) r ON true`,
    [ids, logIds],
  )
  let now = locked.rows[0]!.now
  const touched = new Map<string, Touched>()
  const stale: string[] = []
  for (const row of locked.rows) {
    if (row.agent_id === null) continue
    if (row.now > now) now = row.now
    touched.set(row.agent_id, {
      summary: summaryOfRow(row),
      seq: row.seq,
      initialStatus: row.status,
      metadataJson: row.metadata,
      log: row.log === null ? undefined : logOfRow({ log: row.log }),
      createdHere: false,
      changed: false,
      ...untouchedRun(now),
    })
    // The lock waited while another writer committed: the row is the latest version, but the log
    // subquery read the snapshot taken before. Read those logs again (a new statement, a new snapshot).
    if (row.log !== null && row.log_last_id !== row.last_log_id) stale.push(row.agent_id)
  }
  if (stale.length > 0) {
    const fresh = await query<{ agent_id: string; log: string }>(
      `SELECT a.agent_id, ${logExpression(names.log, 'a')} AS log
       FROM ${names.activities} a WHERE a.agent_id = ANY($1::text[])`,
      [stale],
    )
    for (const row of fresh.rows) touched.get(row.agent_id)!.log = logOfRow(row)
  }

  const columns = new Columns()
  const outcomes = items.map((item): BatchOutcome<WriteResult> => {
    try {
      return { ok: true, value: apply(item, touched, columns, now, maxRecordBytes) }
    } catch (error) {
      return { ok: false, error }
    }
  })

  const created = [...touched.entries()].filter(([, state]) => state.createdHere)
  const changed = [...touched.entries()].filter(([, state]) => state.changed && !state.createdHere)
  const runs = [...touched.entries()].filter(([, state]) => state.runTouched)
  if (columns.log.agentId.length + columns.journal.agentId.length + runs.length === 0) {
    await query('COMMIT', [])
    return outcomes
  }

  // The metadata index: rows of the activities created, and the status of those whose status moved.
  const keys = { agentId: [] as string[], key: [] as string[], value: [] as string[], status: [] as string[] }
  for (const [agentId, state] of created) {
    for (const [key, value] of indexedEntries(state.metadataJson)) {
      keys.agentId.push(agentId)
      keys.key.push(key)
      keys.value.push(value)
      keys.status.push(state.summary.status)
    }
  }
  const moved = {
    key: [] as string[],
    value: [] as string[],
    from: [] as string[],
    to: [] as string[],
    seq: [] as string[],
  }
  for (const [, state] of changed) {
    if (state.summary.status === state.initialStatus) continue
    for (const [key, value] of indexedEntries(state.metadataJson)) {
      moved.key.push(key)
      moved.value.push(value)
      moved.from.push(state.initialStatus!)
      moved.to.push(state.summary.status)
      moved.seq.push(state.seq!)
    }
  }
  const runsOf = (fromAppend: boolean) => runs.filter(([, state]) => state.runFromAppend === fromAppend)
  const appendRuns = runsOf(true)
  const checkpointRuns = runsOf(false)
  const timeOrNull = (value: string | undefined) => value ?? null
  const write = query<{ created: number }>(
    `WITH locked AS MATERIALIZED (SELECT pg_advisory_xact_lock($1::int, $2::int)),
     entry AS (
       INSERT INTO ${names.log} (agent_id, status, message, percentage, activity_percentage, at, attempt, kind)
       SELECT v.agent_id, v.status, v.message, v.percentage, v.activity_percentage, v.at, v.attempt, v.kind
       FROM locked, unnest($3::text[], $4::text[], $5::text[], $6::smallint[], $7::smallint[],
                           $8::timestamptz[], $9::integer[], $10::text[])
         WITH ORDINALITY AS v(agent_id, status, message, percentage, activity_percentage, at, attempt, kind, ord)
       ORDER BY v.ord
       RETURNING id, agent_id
     ),
     last AS (SELECT agent_id, max(id) AS id FROM entry GROUP BY agent_id),
     created AS (
       INSERT INTO ${names.activities}
         (agent_id, agent_type, status, message, percentage, metadata, created_at, updated_at,
          started_at, finished_at, last_log_id)
       SELECT c.agent_id, c.agent_type, c.status, c.message, c.percentage, c.metadata::jsonb, c.created_at,
              c.updated_at, c.started_at, c.finished_at, coalesce(last.id, 0)
       FROM locked, unnest($11::text[], $12::text[], $13::text[], $14::text[], $15::smallint[], $16::text[],
                           $17::timestamptz[], $18::timestamptz[], $19::timestamptz[], $20::timestamptz[])
         WITH ORDINALITY AS c(agent_id, agent_type, status, message, percentage, metadata, created_at,
                              updated_at, started_at, finished_at, ord)
         LEFT JOIN last ON last.agent_id = c.agent_id
       ORDER BY c.ord
       ON CONFLICT (agent_id) DO NOTHING
       RETURNING agent_id, seq
     ),
     created_keys AS (
       INSERT INTO ${names.metadata} (key, value, status, seq)
       SELECT k.key, k.value::jsonb, k.status, created.seq
       FROM unnest($42::text[], $43::text[], $44::text[], $45::text[]) AS k(agent_id, key, value, status)
         JOIN created ON created.agent_id = k.agent_id
     ),
     moved_keys AS (
       UPDATE ${names.metadata} m SET status = k.status
       FROM unnest($46::text[], $47::text[], $48::text[], $49::text[], $50::bigint[]) AS k(key, value, status_before, status, seq)
       WHERE m.key = k.key AND m.value = k.value::jsonb AND m.status = k.status_before AND m.seq = k.seq
     ),
     updated AS (
       UPDATE ${names.activities} a
       SET status = u.status, message = u.message, percentage = u.percentage, updated_at = u.updated_at,
           started_at = u.started_at, finished_at = u.finished_at, last_log_id = coalesce(last.id, a.last_log_id)
       FROM unnest($21::text[], $22::text[], $23::text[], $24::smallint[], $25::timestamptz[],
                   $26::timestamptz[], $27::timestamptz[])
         AS u(agent_id, status, message, percentage, updated_at, started_at, finished_at)
         LEFT JOIN last ON last.agent_id = u.agent_id
       WHERE a.agent_id = u.agent_id
     ),
     append_runs AS (
       INSERT INTO ${names.runs} AS r (agent_id, checkpoint, pending, expires_at, result, updated_at)
       SELECT * FROM unnest($28::text[], $29::text[], $30::jsonb[], $31::text[], $32::text[], $33::timestamptz[])
       ON CONFLICT (agent_id) DO UPDATE SET
         checkpoint = coalesce(excluded.checkpoint, r.checkpoint),
         pending = excluded.pending,
         expires_at = excluded.expires_at,
         result = coalesce(excluded.result, r.result),
         updated_at = excluded.updated_at
     ),
     checkpoint_runs AS (
       INSERT INTO ${names.runs} AS r (agent_id, checkpoint, updated_at)
       SELECT * FROM unnest($34::text[], $35::text[], $36::timestamptz[])
       ON CONFLICT (agent_id) DO UPDATE SET checkpoint = excluded.checkpoint, updated_at = excluded.updated_at
     ),
     journal AS (
       INSERT INTO ${names.journal} (agent_id, tool_call_id, entry)
       SELECT j.agent_id, j.tool_call_id, j.entry
       FROM unnest($37::text[], $38::text[], $39::text[]) WITH ORDINALITY AS j(agent_id, tool_call_id, entry, ord)
       ORDER BY j.ord
       ON CONFLICT (agent_id, tool_call_id) DO NOTHING
     )
     SELECT CASE WHEN (SELECT count(*) FROM created) = $41::int THEN 0
              -- A create lost its id to a concurrent writer (see BatchConflict): fail the statement,
              -- which turns the COMMIT queued behind it into a rollback.
              ELSE CAST(format('${CONFLICT_MARK} %s', $41::int) AS int) END AS created,
            (SELECT pg_notify($40::text, json_build_object('agentId', e.agent_id, 'id', e.id)::text)
             FROM (SELECT agent_id, id FROM entry ORDER BY id DESC LIMIT 1) e)::text AS notified`,
    [
      LOCK_CLASS_LOG,
      names.lockKey,
      columns.log.agentId,
      columns.log.status,
      columns.log.message,
      columns.log.percentage,
      columns.log.activityPercentage,
      columns.log.at,
      columns.log.attempt,
      columns.log.kind,
      created.map(([agentId]) => agentId),
      created.map(([, state]) => state.summary.agentType),
      created.map(([, state]) => state.summary.status),
      created.map(([, state]) => state.summary.message),
      created.map(([, state]) => state.summary.percentage),
      created.map(([, state]) => state.metadataJson),
      created.map(([, state]) => state.summary.createdAt),
      created.map(([, state]) => state.summary.updatedAt),
      created.map(([, state]) => timeOrNull(state.summary.startedAt)),
      created.map(([, state]) => timeOrNull(state.summary.finishedAt)),
      changed.map(([agentId]) => agentId),
      changed.map(([, state]) => state.summary.status),
      changed.map(([, state]) => state.summary.message),
      changed.map(([, state]) => state.summary.percentage),
      changed.map(([, state]) => state.summary.updatedAt),
      changed.map(([, state]) => timeOrNull(state.summary.startedAt)),
      changed.map(([, state]) => timeOrNull(state.summary.finishedAt)),
      appendRuns.map(([agentId]) => agentId),
      appendRuns.map(([, state]) => state.checkpoint),
      appendRuns.map(([, state]) => state.pending),
      appendRuns.map(([, state]) => state.expiresAt),
      appendRuns.map(([, state]) => state.result),
      appendRuns.map(([, state]) => state.runAt),
      checkpointRuns.map(([agentId]) => agentId),
      checkpointRuns.map(([, state]) => state.checkpoint),
      checkpointRuns.map(([, state]) => state.runAt),
      columns.journal.agentId,
      columns.journal.toolCallId,
      columns.journal.entry,
      names.channel,
      created.length,
      keys.agentId,
      keys.key,
      keys.value,
      keys.status,
      moved.key,
      moved.value,
      moved.from,
      moved.to,
      moved.seq,
    ],
  )
  const commit = query('COMMIT', [])
  try {
    await Promise.all([write, commit])
  } catch (error) {
    // Another process created one of these ids after the lock read (an insert does not wait for a
    // row lock that does not exist yet): write the batch again, which then refuses that create.
    if (String((error as Error | null)?.message).includes(CONFLICT_MARK))
      throw new BatchConflict(CONFLICT_MARK)
    throw error
  }
  return outcomes
}

/** Checks one item against the state left by the items before it, and applies it; throws to refuse. */
function apply(
  item: WriteItem,
  touched: Map<string, Touched>,
  columns: Columns,
  now: string,
  maxRecordBytes: number,
): WriteResult {
  const { agentId } = item
  const state = touched.get(agentId)
  if (item.kind === 'create') {
    if (state) {
      throw duplicateActivityError(agentId)
    }
    const entry = queuedEntry(item.message, now)
    const summary: ActivitySummary = {
      agentId,
      agentType: item.agentType,
      status: 'queued',
      message: item.message,
      percentage: 0,
      metadata: JSON.parse(item.metadataJson) as Record<string, unknown>,
      createdAt: now,
      updatedAt: now,
    }
    touched.set(agentId, {
      summary,
      seq: undefined,
      initialStatus: undefined,
      metadataJson: item.metadataJson,
      log: [entry],
      createdHere: true,
      changed: true,
      ...untouchedRun(now),
    })
    pushLog(columns, agentId, entry, 0)
    return {
      ...summary,
      metadata: JSON.parse(item.metadataJson) as Record<string, unknown>,
      log: [{ ...entry }],
    }
  }
  if (!state) throw new ActivityNotFoundError(agentId)
  if (item.kind === 'append') {
    const valid = item.input
    const previous = state.summary.status
    assertTransition(agentId, previous, valid.status)
    // The database clock, never behind the activity's previous entry.
    const at = now > state.summary.updatedAt ? now : state.summary.updatedAt
    // Encoded before anything is written: a checkpoint over the limit is refused here.
    const checkpoint =
      valid.checkpoint === undefined ? null : encodeCheckpoint(agentId, valid.checkpoint, at, maxRecordBytes)
    const entry = logEntryOf({ ...valid, percentage: valid.percentage ?? null, at })
    const next = applyEntry(state.summary, entry)
    const result = valid.result === undefined ? null : JSON.stringify(valid.result)
    if (checkpoint !== null || result !== null || valid.status === 'waiting' || previous === 'waiting') {
      state.runTouched = true
      state.runFromAppend = true
      if (checkpoint !== null) state.checkpoint = checkpoint
      state.pending = valid.status === 'waiting' ? JSON.stringify(valid.pending ?? []) : null
      state.expiresAt = valid.status === 'waiting' ? (valid.expiresAt ?? null) : null
      if (result !== null) state.result = result
      state.runAt = at
    }
    const summary: ActivitySummary = { ...state.summary, ...next }
    state.summary = summary
    state.changed = true
    state.log = [...(state.log ?? []), entry]
    pushLog(columns, agentId, entry, summary.percentage)
    const activity: Activity = {
      ...summary,
      metadata: JSON.parse(state.metadataJson) as Record<string, unknown>,
      // Entries of its own: another call of the batch may return the same ones.
      log: state.log.map((logged) => ({ ...logged })),
    }
    return activity
  }
  // A run-record write: refused for a final activity, like the memory store.
  if (isTerminalStatus(state.summary.status)) {
    throw new ActivityTransitionError(agentId, state.summary.status, state.summary.status)
  }
  if (item.kind === 'checkpoint') {
    state.checkpoint = encodeCheckpoint(agentId, item.checkpoint, now, maxRecordBytes)
    state.runTouched = true
    state.runAt = now
    return undefined
  }
  const encoded = encodeJournalEntry(agentId, item.entry, now, maxRecordBytes)
  const checkpoint =
    item.checkpoint === undefined
      ? undefined
      : encodeCheckpoint(agentId, item.checkpoint, now, maxRecordBytes)
  // The first record of a tool call id wins, within the batch as in the table.
  const duplicate = columns.journal.agentId.some(
    (id, index) => id === agentId && columns.journal.toolCallId[index] === encoded.toolCallId,
  )
  if (!duplicate) {
    columns.journal.agentId.push(agentId)
    columns.journal.toolCallId.push(encoded.toolCallId)
    columns.journal.entry.push(encoded.text)
  }
  if (checkpoint !== undefined) {
    state.checkpoint = checkpoint
    state.runTouched = true
    state.runAt = now
  }
  return undefined
}

/**
 * The metadata entries the index keeps: keys whose value is a string, number, boolean or null
 * (what a filter can ask for), the value as JSON text.
 */
export function indexedEntries(metadataJson: string): [string, string][] {
  const entries: [string, string][] = []
  for (const [key, value] of Object.entries(JSON.parse(metadataJson) as Record<string, unknown>)) {
    if (
      value === null ||
      typeof value === 'string' ||
      typeof value === 'number' ||
      typeof value === 'boolean'
    ) {
      entries.push([key, JSON.stringify(value)])
    }
  }
  return entries
}

function pushLog(
  columns: Columns,
  agentId: string,
  entry: ActivityLogEntry,
  activityPercentage: number,
): void {
  columns.log.agentId.push(agentId)
  columns.log.status.push(entry.status)
  columns.log.message.push(entry.message)
  columns.log.percentage.push(entry.percentage)
  columns.log.activityPercentage.push(activityPercentage)
  columns.log.at.push(entry.at)
  columns.log.attempt.push(entry.attempt ?? null)
  columns.log.kind.push(entry.kind ?? null)
}

/** The whole log of `alias.agent_id` as one JSON text (see `logColumn`), as an expression. */
function logExpression(logTable: string, alias: string): string {
  return `(SELECT coalesce(json_agg(json_build_object(
            'status', l.status, 'message', l.message, 'percentage', l.percentage, 'at', ${isoText('l.at')},
            'attempt', l.attempt, 'kind', l.kind
          ) ORDER BY l.id), '[]'::json)::text
          FROM ${logTable} l WHERE l.agent_id = ${alias}.agent_id)`
}
