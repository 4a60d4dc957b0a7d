import { ActivityNotFoundError } from '../errors/activity-not-found-error.js'
import { ActivityTransitionError } from '../errors/activity-transition-error.js'
import { RunnerError } from '../errors/runner-error.js'
import { EventHub } from '../util/event-hub.js'
import { MemoryDocumentTable } from './memory-documents.js'
import {
  applyDecision,
  DEFAULT_MAX_RECORD_BYTES,
  decodeCheckpoint,
  decodeJournalEntry,
  encodeCheckpoint,
  encodeJournalEntry,
  validateDecision,
} from './run-record.js'
import {
  applyEntry,
  cloneJson,
  compareSortKeys,
  decodeCursor,
  duplicateActivityError,
  encodeCursor,
  encodeTrajectory,
  logEntryOf,
  matchesMetadata,
  nowIso,
  queuedEntry,
  sortKeyOf,
  statusList,
  validateAppendInput,
  validateCreateInput,
  validateListOptions,
  validateMetadataFilter,
  validateWatchFilter,
} from './store-helpers.js'
import { assertTransition, isActiveStatus, isTerminalStatus } from './transitions.js'
import type {
  Activity,
  ActivityEvent,
  ActivityStore,
  ActivitySummary,
  AppendActivityInput,
  CheckpointInput,
  CreateActivityInput,
  DecisionInput,
  JournalEntryInput,
  ListActivitiesOptions,
  ListActivitiesResult,
  PendingRequest,
  RecordToolCallOptions,
  RunRecord,
  ScopeOptions,
  Trajectory,
  WatchFilter,
} from './types.js'

interface Row {
  seq: number
  activity: Activity
  /** The trajectory as its JSON text: one string to keep, copied out on read. */
  trajectory?: string
  /** The durable record, each part as its stored JSON text. */
  checkpoint?: string
  journal?: Map<string, string>
  pending?: PendingRequest[] | undefined
  expiresAt?: string | undefined
  result?: string
}

/** Options of `MemoryActivityStore`. */
export interface MemoryActivityStoreOptions {
  /** Largest checkpoint, journaled tool call or document accepted, in bytes (UTF-8 JSON). Default 16 MiB. */
  maxRecordBytes?: number
}

/**
 * Activities in this process's memory: the default store. Fast, and gone when the process exits;
 * use `SqliteActivityStore` or `PostgresActivityStore` to keep them. Durable runs work within the
 * process (a run can wait for approval and resume on another runner instance), not across a
 * restart; it has no `jobQueue`.
 */
export class MemoryActivityStore implements ActivityStore {
  readonly #rows = new Map<string, Row>()
  /** The rows in creation order (`seq` ascending): the list order without a sort. */
  readonly #order: Row[] = []
  readonly #hub = new EventHub<ActivityEvent>()
  readonly #maxRecordBytes: number
  /** Documents kept beside the runs (the LangGraph checkpointer's records). */
  readonly documents: MemoryDocumentTable
  #seq = 0
  #closed = false

  constructor(options: MemoryActivityStoreOptions = {}) {
    this.#maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES
    this.documents = new MemoryDocumentTable(this.#maxRecordBytes)
  }

  async create(input: CreateActivityInput): Promise<Activity> {
    this.#assertOpen()
    const valid = validateCreateInput(input)
    if (this.#rows.has(valid.agentId)) {
      throw duplicateActivityError(valid.agentId)
    }
    const at = nowIso()
    const entry = queuedEntry(valid.message, at)
    const activity: Activity = {
      agentId: valid.agentId,
      agentType: valid.agentType,
      status: 'queued',
      message: valid.message,
      percentage: 0,
      metadata: valid.metadata ? copyMetadata(valid.metadata) : {},
      createdAt: at,
      updatedAt: at,
      log: [entry],
    }
    const row: Row = { seq: ++this.#seq, activity }
    this.#rows.set(valid.agentId, row)
    this.#order.push(row)
    this.#publish(activity, entry)
    return copyActivity(activity)
  }

  async append(agentId: string, input: AppendActivityInput): Promise<Activity> {
    this.#assertOpen()
    const valid = validateAppendInput(input)
    const row = this.#rows.get(agentId)
    if (!row) throw new ActivityNotFoundError(agentId)
    assertTransition(agentId, row.activity.status, valid.status)
    const at = nowIso()
    // Everything is encoded before anything changes: a refused part writes nothing.
    const checkpoint = valid.checkpoint
      ? encodeCheckpoint(agentId, valid.checkpoint, at, this.#maxRecordBytes)
      : undefined
    const result = valid.result === undefined ? undefined : JSON.stringify(valid.result)
    const entry = logEntryOf({
      status: valid.status,
      message: valid.message,
      percentage: valid.percentage ?? null,
      at,
      attempt: valid.attempt,
      kind: valid.kind,
    })
    Object.assign(row.activity, applyEntry(row.activity, entry))
    row.activity.log.push(entry)
    if (checkpoint !== undefined) row.checkpoint = checkpoint
    if (result !== undefined) row.result = result
    // Fields set to undefined, never deleted: rows keep one shape (V8 keeps them fast).
    if (valid.status === 'waiting') {
      row.pending = (valid.pending ?? []).map((request) => ({ ...request }))
      row.expiresAt = valid.expiresAt
    } else if (row.pending !== undefined) {
      row.pending = undefined
      row.expiresAt = undefined
    }
    this.#publish(row.activity, entry)
    return copyActivity(row.activity)
  }

  async get(agentId: string, options: ScopeOptions = {}): Promise<Activity | undefined> {
    const filter = validateMetadataFilter(options.metadata)
    const row = this.#rows.get(agentId)
    if (!row || !matchesMetadata(row.activity.metadata, filter)) return undefined
    return copyActivity(row.activity)
  }

  async list(options: ListActivitiesOptions = {}): Promise<ListActivitiesResult> {
    const valid = validateListOptions(options)
    const statuses = statusList(valid.status)
    const limit = valid.limit ?? 50
    const after = valid.cursor === undefined ? undefined : decodeCursor(valid.cursor)
    // One pass per group of the list order (unfinished, then finished), newest first: `#order`
    // is in creation order, so nothing is sorted and no row is copied until it is on the page.
    const rows = this.#order
    const page: Row[] = []
    let total = 0
    let more = false
    for (const active of [1, 0] as const) {
      for (let index = rows.length - 1; index >= 0; index--) {
        const row = rows[index]!
        const { status, metadata } = row.activity
        if ((isActiveStatus(status) ? 1 : 0) !== active) continue
        if (statuses && !statuses.includes(status)) continue
        if (!matchesMetadata(metadata, valid.metadata)) continue
        total++
        if (after && compareSortKeys({ active, seq: row.seq }, after) <= 0) continue
        if (page.length < limit) page.push(row)
        else more = true
      }
    }
    const last = page.at(-1)
    const result: ListActivitiesResult = { items: page.map((row) => summaryOf(row.activity)), total }
    if (last && more) result.nextCursor = encodeCursor(sortKeyOf(last.activity.status, last.seq))
    return result
  }

  async countActive(options: ScopeOptions = {}): Promise<number> {
    const filter = validateMetadataFilter(options.metadata)
    let count = 0
    for (const row of this.#rows.values()) {
      if (isActiveStatus(row.activity.status) && matchesMetadata(row.activity.metadata, filter)) count++
    }
    return count
  }

  async saveTrajectory(agentId: string, trajectory: Trajectory): Promise<void> {
    this.#assertOpen()
    const row = this.#rows.get(agentId)
    if (!row) throw new ActivityNotFoundError(agentId)
    row.trajectory = encodeTrajectory(trajectory)
  }

  async getTrajectory(agentId: string, options: ScopeOptions = {}): Promise<Trajectory | undefined> {
    const filter = validateMetadataFilter(options.metadata)
    const row = this.#rows.get(agentId)
    if (!row || !matchesMetadata(row.activity.metadata, filter)) return undefined
    return row.trajectory === undefined ? undefined : (JSON.parse(row.trajectory) as Trajectory)
  }

  async saveCheckpoint(agentId: string, checkpoint: CheckpointInput): Promise<void> {
    this.#assertOpen()
    const row = this.#writableRow(agentId)
    row.checkpoint = encodeCheckpoint(agentId, checkpoint, nowIso(), this.#maxRecordBytes)
  }

  async recordToolCall(
    agentId: string,
    entry: JournalEntryInput,
    options: RecordToolCallOptions = {},
  ): Promise<void> {
    this.#assertOpen()
    const row = this.#writableRow(agentId)
    const at = nowIso()
    // Both encoded before anything changes: a refused part writes neither.
    const encoded = encodeJournalEntry(agentId, entry, at, this.#maxRecordBytes)
    const checkpoint = options.checkpoint
      ? encodeCheckpoint(agentId, options.checkpoint, at, this.#maxRecordBytes)
      : undefined
    row.journal ??= new Map()
    if (!row.journal.has(encoded.toolCallId)) row.journal.set(encoded.toolCallId, encoded.text)
    if (checkpoint !== undefined) row.checkpoint = checkpoint
  }

  async decide(agentId: string, requestId: string, decision: DecisionInput): Promise<RunRecord> {
    this.#assertOpen()
    const row = this.#rows.get(agentId)
    if (!row) throw new ActivityNotFoundError(agentId)
    const stamped = validateDecision(decision, nowIso())
    row.pending = applyDecision(agentId, row.activity.status, row.pending, requestId, stamped)
    return this.#recordOf(row)
  }

  async getRun(agentId: string, options: ScopeOptions = {}): Promise<RunRecord | undefined> {
    const filter = validateMetadataFilter(options.metadata)
    const row = this.#rows.get(agentId)
    if (!row || !matchesMetadata(row.activity.metadata, filter)) return undefined
    return this.#recordOf(row)
  }

  #recordOf(row: Row): RunRecord {
    const record: RunRecord = {
      agentId: row.activity.agentId,
      status: row.activity.status,
      journal: row.journal ? [...row.journal.values()].map(decodeJournalEntry) : [],
    }
    if (row.checkpoint !== undefined) record.checkpoint = decodeCheckpoint(row.checkpoint)
    if (row.pending) record.pending = cloneJson(row.pending)
    if (row.expiresAt !== undefined) record.expiresAt = row.expiresAt
    if (row.result !== undefined) record.result = { value: JSON.parse(row.result) }
    return record
  }

  /** The row of an activity that is not final (checkpoints and journal entries of a finished run are refused). */
  #writableRow(agentId: string): Row {
    const row = this.#rows.get(agentId)
    if (!row) throw new ActivityNotFoundError(agentId)
    const { status } = row.activity
    if (isTerminalStatus(status)) throw new ActivityTransitionError(agentId, status, status)
    return row
  }

  watch(filter: WatchFilter, signal: AbortSignal): AsyncIterable<ActivityEvent> {
    const valid = validateWatchFilter(filter)
    const subscription = this.#hub.subscribe(
      signal,
      (event) =>
        (valid.agentId === undefined || event.agentId === valid.agentId) &&
        matchesMetadata(event.activity.metadata, valid.metadata),
    )
    // Each watcher gets its own copy: one consumer mutating an event never changes another's.
    return (async function* () {
      for await (const event of subscription) yield cloneJson(event)
    })()
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#hub.close()
  }

  #assertOpen(): void {
    if (this.#closed) throw new RunnerError('This MemoryActivityStore is closed; create a new store.')
  }

  #publish(activity: Activity, entry: Activity['log'][number]): void {
    if (this.#hub.size === 0) return
    this.#hub.publish({ agentId: activity.agentId, activity: summaryOf(activity), entry: { ...entry } })
  }
}

/** The activity without its log, deep-copied. */
export function summaryOf(activity: Activity): ActivitySummary {
  const { log: _log, ...summary } = activity
  return { ...summary, metadata: copyMetadata(summary.metadata) }
}

/**
 * A deep copy of an activity. Log entries hold primitives only, so a spread copies them; the
 * metadata is arbitrary JSON and goes through a JSON round trip (skipped when empty).
 */
function copyActivity(activity: Activity): Activity {
  return {
    ...activity,
    metadata: copyMetadata(activity.metadata),
    log: activity.log.map((entry) => ({ ...entry })),
  }
}

function copyMetadata(metadata: Record<string, unknown>): Record<string, unknown> {
  for (const _key in metadata) return cloneJson(metadata)
  return {}
}
