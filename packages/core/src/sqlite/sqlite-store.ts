import { DatabaseSync, type SQLInputValue, type SQLOutputValue, type StatementSync } from 'node:sqlite'
import { z } from 'zod'
import {
  applyDecision,
  DEFAULT_MAX_RECORD_BYTES,
  decodeCheckpoint,
  decodeJournalEntry,
  encodeCheckpoint,
  encodeJournalEntry,
  validateDecision,
} from '../activity/run-record.js'
import {
  applyEntry,
  cloneJson,
  decodeCursor,
  encodeCursor,
  logEntryOf,
  matchesMetadata,
  nowIso,
  sortKeyOf,
  statusList,
  validateAppendInput,
  validateCreateInput,
  validateListOptions,
  validateMetadataFilter,
  validateWatchFilter,
} from '../activity/store-helpers.js'
import { assertTransition, isTerminalStatus } from '../activity/transitions.js'
import type {
  Activity,
  ActivityEvent,
  ActivityLogEntry,
  ActivityLogKind,
  ActivityStatus,
  ActivityStore,
  ActivitySummary,
  AppendActivityInput,
  CheckpointInput,
  CreateActivityInput,
  DecisionInput,
  JournalEntryInput,
  ListActivitiesOptions,
  ListActivitiesResult,
  MetadataFilter,
  PendingRequest,
  RecordToolCallOptions,
  RunRecord,
  ScopeOptions,
  Trajectory,
  WatchFilter,
} from '../activity/types.js'
import { ActivityNotFoundError } from '../errors/activity-not-found-error.js'
import { ActivityTransitionError } from '../errors/activity-transition-error.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { RunnerError } from '../errors/runner-error.js'
import { EventHub } from '../util/event-hub.js'
import { parseOrThrow } from '../util/zod-issues.js'
import type { SqliteAccess } from './sqlite-access.js'
import { SqliteDocumentTable } from './sqlite-documents.js'
import { SqliteJobQueue } from './sqlite-job-queue.js'

/** Options of `SqliteActivityStore`. */
export interface SqliteActivityStoreOptions {
  /**
   * Path of the database file, created with its tables if absent (its directory must exist), or
   * `':memory:'` for a private database that disappears on `close()` (tests).
   */
  path: string
  /**
   * How long a write waits for another connection (another process, another store on the same
   * file) to release its lock before failing, in milliseconds. Default 5000.
   */
  busyTimeoutMs?: number
  /**
   * How often `watch` checks for changes committed by other connections, in milliseconds. The
   * check (`PRAGMA data_version`) only runs while at least one watcher exists; changes made through
   * this store are pushed at once. Default 100.
   */
  watchIntervalMs?: number
  /**
   * The largest checkpoint (its `state` as UTF-8 JSON), journaled tool call, queued job or document
   * accepted, in bytes. A larger one is refused (`CheckpointTooLargeError` for the run record,
   * `InvalidOptionsError` for a job or a document) and nothing is written. Default 16 MiB.
   */
  maxRecordBytes?: number
}

const optionsSchema = z.object({
  path: z.string({ error: 'must be a file path or ":memory:"' }).min(1, 'must be a file path or ":memory:"'),
  busyTimeoutMs: z.number().int('must be an integer').min(0, 'must be at least 0').optional(),
  watchIntervalMs: z.number().int('must be an integer').min(1, 'must be at least 1').optional(),
  maxRecordBytes: z
    .number()
    .int('must be an integer number of bytes')
    .min(1024, 'must be at least 1024 bytes')
    .max(512 * 1024 * 1024, 'must be at most 512 MiB (SQLite keeps a value under 1 GB)')
    .optional(),
})

/** The schema version this code writes, kept in `PRAGMA user_version`. */
const SCHEMA_VERSION = 3

/** A migration step: SQL text, or a function for a step that reads the schema first. */
type Migration = string | ((db: DatabaseSync) => void)

/**
 * `migrations[n]` moves a database from schema version `n` to `n + 1`. Each runs once, inside the
 * same write transaction that bumps `user_version`, so two processes opening a new file at the same
 * time cannot both run it. Append new steps; never edit a released one.
 */
const migrations: readonly Migration[] = [
  `
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
  `,
  // 1 -> 2: the structured fields of a log entry. Rows written before have neither (NULL), and
  // read back without them.
  `
  ALTER TABLE activity_log ADD COLUMN attempt INTEGER CHECK (attempt BETWEEN 1 AND 1000000);
  ALTER TABLE activity_log ADD COLUMN kind TEXT
    CHECK (kind IN ('lifecycle', 'progress', 'retry', 'fallback', 'resume', 'approval'));
  `,
  // 2 -> 3: durable runs. The status CHECK accepts 'waiting' (SQLite cannot alter a constraint:
  // the table is rebuilt, rows, sequence and indexes kept), the list-order index counts 'waiting'
  // as active, and the run record, the job queue and the document table get their tables.
  (db) => {
    // Indexes and triggers someone added to the table themselves: recreated after the rebuild.
    const extras = db
      .prepare(
        `SELECT sql FROM sqlite_master
         WHERE tbl_name = 'activities' AND type IN ('index', 'trigger') AND sql IS NOT NULL
           AND name NOT IN ('activities_status_seq', 'activities_list_key')`,
      )
      .all()
      .map((row) => row.sql as string)
    db.exec(`
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
    `)
    for (const sql of extras) db.exec(sql)
  },
]

/** Unfinished statuses (the same list as `isActiveStatus`): counted by `countActive`, listed first. */
const ACTIVE = `(status IN ('queued', 'running', 'waiting'))`

/**
 * The list order as one integer, `active * 2^52 + seq`, descending: active first, then newest. The
 * same text as the index `activities_list_key`, so a page (first or after a cursor) is one index
 * range read, however deep.
 */
const LIST_KEY = `(${ACTIVE} * 4503599627370496 + seq)`
const LIST_KEY_ACTIVE_WEIGHT = 4503599627370496

const SUMMARY_COLUMNS =
  'agent_id, agent_type, status, message, percentage, metadata, created_at, updated_at, started_at, finished_at'

/** Rows of the log read per query by `watch` delivery. */
const DELIVERY_BATCH = 500

/** Prepared statements kept for SQL built from filters (keyed by SQL text, which never holds values). */
const MAX_CACHED_STATEMENTS = 200

type Row = Record<string, SQLOutputValue>

/** What the watch hub carries: the log row id, so each watcher only sees rows written after it started. */
interface HubItem {
  id: number
  event: ActivityEvent
}

/**
 * Activities in one SQLite file, through `node:sqlite` (no native dependency). WAL mode: readers
 * never block the writer, and several processes (workers, a dashboard) can share the file.
 *
 * Every change is one transaction that writes the log row and the current row together, after
 * validating the lifecycle move against the status read in that same transaction, so a crash or a
 * concurrent writer can never leave them disagreeing. `watch` sees changes made by other processes
 * and other store instances on the same file too.
 *
 * Runs synchronously on the calling thread (each call takes microseconds to a few milliseconds); a
 * write that finds the file locked by another process waits up to `busyTimeoutMs`.
 *
 * Needs a Node.js whose `node:sqlite` loads without a flag: 22.13 or later (22.5 to 22.12 need
 * `--experimental-sqlite`). Some versions print an ExperimentalWarning when it loads.
 */
export class SqliteActivityStore implements ActivityStore {
  /** The schema version this class creates and reads. */
  static readonly schemaVersion = SCHEMA_VERSION

  readonly #path: string
  readonly #busyTimeoutMs: number
  readonly #watchIntervalMs: number
  readonly #maxRecordBytes: number
  #db: DatabaseSync | undefined
  readonly #statements = new Map<string, StatementSync>()
  readonly #hub = new EventHub<HubItem>()
  #timer: ReturnType<typeof setInterval> | undefined
  /** Highest log id already published to watchers. */
  #lastLogId = 0
  /** Last `PRAGMA data_version` seen; it changes when another connection commits. */
  #dataVersion = 0
  /**
   * The store's durable job queue (`job_queue`): the local engine keeps its jobs here, so queued
   * tasks survive a restart and a lost worker's job is claimed again once its lease runs out.
   */
  readonly jobQueue: SqliteJobQueue
  /** JSON documents by namespace and key (`documents`), beside the runs. */
  readonly documents: SqliteDocumentTable

  constructor(options: string | SqliteActivityStoreOptions) {
    const valid = parseOrThrow(
      optionsSchema,
      typeof options === 'string' ? { path: options } : options,
      'SqliteActivityStore options',
    )
    this.#path = valid.path
    this.#busyTimeoutMs = valid.busyTimeoutMs ?? 5000
    this.#watchIntervalMs = valid.watchIntervalMs ?? 100
    this.#maxRecordBytes = valid.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES
    const access: SqliteAccess = {
      statement: (sql) => this.#statement(sql),
      write: (work) => this.#write(work),
      maxRecordBytes: this.#maxRecordBytes,
    }
    this.jobQueue = new SqliteJobQueue(access)
    this.documents = new SqliteDocumentTable(access)
    let db: DatabaseSync
    try {
      db = new DatabaseSync(valid.path)
    } catch (error) {
      throw new RunnerError(
        `Cannot open the SQLite activity database "${valid.path}": ${messageOf(error)}. Check that its directory exists and is writable.`,
        { cause: error },
      )
    }
    try {
      db.exec(`PRAGMA busy_timeout = ${this.#busyTimeoutMs}`)
      db.prepare('PRAGMA journal_mode = WAL').get()
      db.exec('PRAGMA synchronous = NORMAL')
      db.exec('PRAGMA foreign_keys = OFF')
      migrate(db, valid.path)
      db.exec('PRAGMA foreign_keys = ON')
    } catch (error) {
      db.close()
      if (RunnerError.isInstance(error)) throw error
      throw new RunnerError(
        `Cannot prepare the SQLite activity database "${valid.path}": ${messageOf(error)}. Is it a database created by SqliteActivityStore?`,
        { cause: error },
      )
    }
    this.#db = db
  }

  async create(input: CreateActivityInput): Promise<Activity> {
    this.#assertOpen()
    const valid = validateCreateInput(input)
    const metadata = JSON.stringify(valid.metadata ?? {})
    const activity = this.#write(() => {
      if (this.#statement('SELECT 1 FROM activities WHERE agent_id = ?').get(valid.agentId)) {
        throw new InvalidOptionsError(
          [
            {
              field: 'agentId',
              message: `an activity with agentId "${valid.agentId}" already exists; use a new id`,
            },
          ],
          { subject: 'activity' },
        )
      }
      const at = nowIso()
      this.#statement(
        `INSERT INTO activities (agent_id, agent_type, status, message, percentage, metadata, created_at, updated_at)
         VALUES (?, ?, 'queued', ?, 0, ?, ?, ?)`,
      ).run(valid.agentId, valid.agentType, valid.message, metadata, at, at)
      this.#insertLog(
        valid.agentId,
        logEntryOf({ status: 'queued', message: valid.message, percentage: 0, at, kind: 'lifecycle' }),
      )
      return this.#readActivity(valid.agentId, undefined)!
    })
    this.#deliver()
    return activity
  }

  async append(agentId: string, input: AppendActivityInput): Promise<Activity> {
    this.#assertOpen()
    const valid = validateAppendInput(input)
    // Encoded before the write lock is taken (a checkpoint may be megabytes); an encoding error is
    // raised after the checks a missing activity or an illegal move fail first, as in every store.
    const checkpoint =
      valid.checkpoint === undefined
        ? undefined
        : attempt(() => encodeCheckpoint(agentId, valid.checkpoint!, nowIso(), this.#maxRecordBytes))
    const result = valid.result === undefined ? null : JSON.stringify(valid.result)
    const pending = valid.status === 'waiting' ? JSON.stringify(valid.pending ?? []) : null
    const activity = this.#write(() => {
      const current = this.#statement(
        'SELECT status, percentage, started_at, finished_at FROM activities WHERE agent_id = ?',
      ).get(idParameter(agentId))
      if (!current) throw new ActivityNotFoundError(agentId)
      const from = current.status as ActivityStatus
      assertTransition(agentId, from, valid.status)
      const checkpointText = checkpoint?.()
      const entry = logEntryOf({
        status: valid.status,
        message: valid.message,
        percentage: valid.percentage ?? null,
        at: nowIso(),
        attempt: valid.attempt,
        kind: valid.kind,
      })
      const next = applyEntry(
        {
          percentage: current.percentage as number,
          startedAt: optionalText(current.started_at),
          finishedAt: optionalText(current.finished_at),
        },
        entry,
      )
      this.#insertLog(agentId, entry)
      this.#statement(
        `UPDATE activities SET status = ?, message = ?, percentage = ?, updated_at = ?, started_at = ?, finished_at = ?
         WHERE agent_id = ?`,
      ).run(
        next.status,
        next.message,
        next.percentage,
        next.updatedAt,
        next.startedAt ?? null,
        next.finishedAt ?? null,
        agentId,
      )
      // The run record changes with the entry, in this transaction: a checkpoint or a result given
      // with it, the pending requests of a wait, and their removal once the run leaves `waiting`.
      if (checkpointText !== undefined || pending !== null || from === 'waiting') {
        this.#statement(
          `INSERT INTO run_records (agent_id, checkpoint, pending, expires_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (agent_id) DO UPDATE SET
             checkpoint = coalesce(excluded.checkpoint, run_records.checkpoint),
             pending = excluded.pending,
             expires_at = excluded.expires_at`,
        ).run(agentId, checkpointText ?? null, pending, pending === null ? null : (valid.expiresAt ?? null))
      }
      if (result !== null) {
        this.#statement('INSERT OR REPLACE INTO run_results (agent_id, result) VALUES (?, ?)').run(
          agentId,
          result,
        )
      }
      return this.#readActivity(agentId, undefined)!
    })
    this.#deliver()
    return activity
  }

  async get(agentId: string, options: ScopeOptions = {}): Promise<Activity | undefined> {
    this.#assertOpen()
    const filter = validateMetadataFilter(options.metadata)
    return this.#read(() => this.#readActivity(agentId, filter))
  }

  async list(options: ListActivitiesOptions = {}): Promise<ListActivitiesResult> {
    this.#assertOpen()
    const valid = validateListOptions(options)
    const limit = valid.limit ?? 50
    const after = valid.cursor === undefined ? undefined : decodeCursor(valid.cursor)
    const where = new Where()
    const statuses = statusList(valid.status)
    if (statuses) {
      where.add(
        statuses.length === 0 ? '0' : `status IN (${statuses.map(() => '?').join(', ')})`,
        ...statuses,
      )
    }
    where.addMetadata('metadata', valid.metadata)
    const page = where.copy()
    if (after) page.add(`${LIST_KEY} < ?`, after.active * LIST_KEY_ACTIVE_WEIGHT + after.seq)
    return this.#read(() => {
      const total = this.#statement(`SELECT count(*) AS total FROM activities${where.sql}`).get(
        ...where.parameters,
      )!.total as number
      const rows = this.#statement(
        `SELECT seq, ${SUMMARY_COLUMNS} FROM activities${page.sql}
         ORDER BY ${LIST_KEY} DESC LIMIT ?`,
      ).all(...page.parameters, limit + 1)
      const items = rows.slice(0, limit)
      const result: ListActivitiesResult = { items: items.map(summaryOfRow), total }
      const last = items.at(-1)
      if (last && rows.length > limit) {
        result.nextCursor = encodeCursor(sortKeyOf(last.status as ActivityStatus, last.seq as number))
      }
      return result
    })
  }

  async countActive(options: ScopeOptions = {}): Promise<number> {
    this.#assertOpen()
    const where = new Where()
    where.add(ACTIVE)
    where.addMetadata('metadata', validateMetadataFilter(options.metadata))
    return this.#statement(`SELECT count(*) AS count FROM activities${where.sql}`).get(...where.parameters)!
      .count as number
  }

  async saveTrajectory(agentId: string, trajectory: Trajectory): Promise<void> {
    this.#assertOpen()
    if (typeof trajectory !== 'object' || trajectory === null) {
      throw new InvalidOptionsError([{ field: 'trajectory', message: 'must be an object' }], {
        subject: 'trajectory',
      })
    }
    const json = JSON.stringify(trajectory)
    this.#write(() => {
      if (!this.#statement('SELECT 1 FROM activities WHERE agent_id = ?').get(idParameter(agentId))) {
        throw new ActivityNotFoundError(agentId)
      }
      this.#statement(
        'INSERT INTO trajectories (agent_id, json) VALUES (?, ?) ON CONFLICT (agent_id) DO UPDATE SET json = excluded.json',
      ).run(agentId, json)
    })
  }

  async getTrajectory(agentId: string, options: ScopeOptions = {}): Promise<Trajectory | undefined> {
    this.#assertOpen()
    const where = new Where()
    where.add('t.agent_id = ?', idParameter(agentId))
    where.addMetadata('a.metadata', validateMetadataFilter(options.metadata))
    const row = this.#statement(
      `SELECT t.json FROM trajectories t JOIN activities a ON a.agent_id = t.agent_id${where.sql}`,
    ).get(...where.parameters)
    return row ? (JSON.parse(row.json as string) as Trajectory) : undefined
  }

  async saveCheckpoint(agentId: string, checkpoint: CheckpointInput): Promise<void> {
    this.#assertOpen()
    const encoded = attempt(() => encodeCheckpoint(agentId, checkpoint, nowIso(), this.#maxRecordBytes))
    this.#write(() => {
      this.#assertWritable(agentId)
      this.#statement(
        `INSERT INTO run_records (agent_id, checkpoint) VALUES (?, ?)
         ON CONFLICT (agent_id) DO UPDATE SET checkpoint = excluded.checkpoint`,
      ).run(agentId, encoded())
    })
  }

  async recordToolCall(
    agentId: string,
    entry: JournalEntryInput,
    options: RecordToolCallOptions = {},
  ): Promise<void> {
    this.#assertOpen()
    const at = nowIso()
    const encoded = attempt(() => encodeJournalEntry(agentId, entry, at, this.#maxRecordBytes))
    const checkpoint = options.checkpoint
      ? attempt(() =>
          encodeCheckpoint(agentId, options.checkpoint as CheckpointInput, at, this.#maxRecordBytes),
        )
      : undefined
    this.#write(() => {
      this.#assertWritable(agentId)
      const { toolCallId, text } = encoded()
      const checkpointText = checkpoint?.()
      // The first record of a call wins: a second one (a retried write, a replay) is ignored.
      this.#statement(
        'INSERT OR IGNORE INTO run_journal (agent_id, tool_call_id, entry) VALUES (?, ?, ?)',
      ).run(agentId, toolCallId, text)
      if (checkpointText !== undefined) {
        this.#statement(
          `INSERT INTO run_records (agent_id, checkpoint) VALUES (?, ?)
           ON CONFLICT (agent_id) DO UPDATE SET checkpoint = excluded.checkpoint`,
        ).run(agentId, checkpointText)
      }
    })
  }

  async decide(agentId: string, requestId: string, decision: DecisionInput): Promise<RunRecord> {
    this.#assertOpen()
    return this.#write(() => {
      const row = this.#statement(
        `SELECT a.status, r.pending FROM activities a LEFT JOIN run_records r ON r.agent_id = a.agent_id
         WHERE a.agent_id = ?`,
      ).get(idParameter(agentId))
      if (!row) throw new ActivityNotFoundError(agentId)
      const stamped = validateDecision(decision, nowIso())
      const pending =
        typeof row.pending === 'string' ? (JSON.parse(row.pending) as PendingRequest[]) : undefined
      // Read and written under the write lock: two decisions, from any process, never lose one.
      const next = applyDecision(agentId, row.status as ActivityStatus, pending, requestId, stamped)
      this.#statement('UPDATE run_records SET pending = ? WHERE agent_id = ?').run(
        JSON.stringify(next),
        agentId,
      )
      return this.#readRun(agentId, undefined)!
    })
  }

  async getRun(agentId: string, options: ScopeOptions = {}): Promise<RunRecord | undefined> {
    this.#assertOpen()
    const filter = validateMetadataFilter(options.metadata)
    return this.#read(() => this.#readRun(agentId, filter))
  }

  /**
   * Every change from now on. Changes made through this store are pushed right after their write;
   * changes committed by other connections (processes, store instances) arrive within
   * `watchIntervalMs`. Both come from one path that reads the log after the last row delivered, so
   * nothing is delivered twice or skipped, and each watcher sees the changes in log order.
   */
  watch(filter: WatchFilter, signal: AbortSignal): AsyncIterable<ActivityEvent> {
    this.#assertOpen()
    const valid = validateWatchFilter(filter)
    // Rows up to this id were written before the call: never delivered to this watcher.
    const fromId = this.#maxLogId()
    const source = this.#hub.subscribe(
      signal,
      (item) =>
        item.id > fromId &&
        (valid.agentId === undefined || item.event.agentId === valid.agentId) &&
        matchesMetadata(item.event.activity.metadata, valid.metadata),
    )
    if (this.#hub.size > 0) this.#startPolling(fromId)
    const onAbort = () => this.#stopPollingIfIdle()
    signal.addEventListener('abort', onAbort, { once: true })
    const stop = () => {
      signal.removeEventListener('abort', onAbort)
      this.#stopPollingIfIdle()
    }
    return (async function* () {
      try {
        // A copy per watcher: one consumer mutating its event cannot change what another sees.
        for await (const item of source) yield cloneJson(item.event)
      } finally {
        stop()
      }
    })()
  }

  /** Ends every `watch` iteration and closes the database. Later calls on this store throw. */
  async close(): Promise<void> {
    const db = this.#db
    if (!db) return
    this.#db = undefined
    this.#stopPolling()
    this.#hub.close()
    this.#statements.clear()
    db.close()
  }

  #assertOpen(): DatabaseSync {
    if (!this.#db) {
      throw new RunnerError(
        `This SqliteActivityStore ("${this.#path}") is closed; create a new SqliteActivityStore to use the database again.`,
      )
    }
    return this.#db
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql)
    if (!statement) {
      if (this.#statements.size >= MAX_CACHED_STATEMENTS) this.#statements.clear()
      statement = this.#assertOpen().prepare(sql)
      this.#statements.set(sql, statement)
    }
    return statement
  }

  /** Runs `work` in one write transaction (taken at once, so the reads in it see the latest data). */
  #write<T>(work: () => T): T {
    return this.#transaction('BEGIN IMMEDIATE', work)
  }

  /** Runs `work` in one read transaction: its queries see one snapshot, even if another process writes. */
  #read<T>(work: () => T): T {
    return this.#transaction('BEGIN', work)
  }

  #transaction<T>(begin: string, work: () => T): T {
    const db = this.#assertOpen()
    try {
      db.exec(begin)
    } catch (error) {
      throw this.#sqliteError(error)
    }
    try {
      const result = work()
      db.exec('COMMIT')
      return result
    } catch (error) {
      rollback(db)
      throw this.#sqliteError(error)
    }
  }

  /** Explains a lock timeout; every other error is passed through unchanged. */
  #sqliteError(error: unknown): unknown {
    const code = (error as { errcode?: unknown } | null)?.errcode
    const busy = typeof code === 'number' ? (code & 0xff) === 5 : /database is locked/.test(messageOf(error))
    if (busy) {
      return new RunnerError(
        `The SQLite activity database "${this.#path}" stayed locked by another connection for more than busyTimeoutMs (${this.#busyTimeoutMs} ms). Raise busyTimeoutMs, or find the process holding a long transaction.`,
        { cause: error },
      )
    }
    return error
  }

  #insertLog(agentId: string, entry: ActivityLogEntry): void {
    this.#statement(
      'INSERT INTO activity_log (agent_id, status, message, percentage, at, attempt, kind) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ).run(
      agentId,
      entry.status,
      entry.message,
      entry.percentage,
      entry.at,
      entry.attempt ?? null,
      entry.kind ?? null,
    )
  }

  #readActivity(agentId: string, filter: MetadataFilter | undefined): Activity | undefined {
    const where = new Where()
    where.add('agent_id = ?', idParameter(agentId))
    where.addMetadata('metadata', filter)
    const row = this.#statement(`SELECT ${SUMMARY_COLUMNS} FROM activities${where.sql}`).get(
      ...where.parameters,
    )
    if (!row) return undefined
    const log = this.#statement(
      'SELECT status, message, percentage, at, attempt, kind FROM activity_log WHERE agent_id = ? ORDER BY id',
    )
      .all(agentId)
      .map(logEntryOfRow)
    return { ...summaryOfRow(row), log }
  }

  /** Refuses a checkpoint or a journal entry for an unknown activity, or a final one (its record is closed). */
  #assertWritable(agentId: string): void {
    const row = this.#statement('SELECT status FROM activities WHERE agent_id = ?').get(idParameter(agentId))
    if (!row) throw new ActivityNotFoundError(agentId)
    const status = row.status as ActivityStatus
    if (isTerminalStatus(status)) throw new ActivityTransitionError(agentId, status, status)
  }

  #readRun(agentId: string, filter: MetadataFilter | undefined): RunRecord | undefined {
    const where = new Where()
    where.add('a.agent_id = ?', idParameter(agentId))
    where.addMetadata('a.metadata', filter)
    const row = this.#statement(
      `SELECT a.status, r.checkpoint, r.pending, r.expires_at, s.result
       FROM activities a LEFT JOIN run_records r ON r.agent_id = a.agent_id
       LEFT JOIN run_results s ON s.agent_id = a.agent_id${where.sql}`,
    ).get(...where.parameters)
    if (!row) return undefined
    const record: RunRecord = {
      agentId,
      status: row.status as ActivityStatus,
      journal: this.#statement('SELECT entry FROM run_journal WHERE agent_id = ? ORDER BY id')
        .all(agentId)
        .map((entry) => decodeJournalEntry(entry.entry as string)),
    }
    if (typeof row.checkpoint === 'string') record.checkpoint = decodeCheckpoint(row.checkpoint)
    if (typeof row.pending === 'string') record.pending = JSON.parse(row.pending) as PendingRequest[]
    if (typeof row.expires_at === 'string') record.expiresAt = row.expires_at
    if (typeof row.result === 'string') record.result = { value: JSON.parse(row.result) }
    return record
  }

  #maxLogId(): number {
    return this.#statement('SELECT coalesce(max(id), 0) AS id FROM activity_log').get()!.id as number
  }

  #readDataVersion(): number {
    return this.#statement('PRAGMA data_version').get()!.data_version as number
  }

  #startPolling(fromId: number): void {
    if (this.#timer !== undefined) return
    this.#lastLogId = fromId
    this.#dataVersion = this.#readDataVersion()
    this.#timer = setInterval(() => this.#poll(), this.#watchIntervalMs)
    this.#timer.unref()
  }

  #stopPolling(): void {
    if (this.#timer === undefined) return
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  #stopPollingIfIdle(): void {
    if (this.#hub.size === 0) this.#stopPolling()
  }

  #poll(): void {
    if (!this.#db || this.#hub.size === 0) {
      this.#stopPolling()
      return
    }
    try {
      // Read the version before the rows: a commit landing in between is caught on the next tick.
      const version = this.#readDataVersion()
      if (version === this.#dataVersion) return
      this.#dataVersion = version
      this.#deliver()
    } catch {
      // Transient (a lock held during a checkpoint): the rows stay after #lastLogId, read next tick.
    }
  }

  /**
   * Publishes the log rows written after the last one delivered, in id order (the commit order:
   * SQLite has one writer at a time). Each event carries the activity's summary as it is when the
   * row is read, not as it was right after that row: for a local write (delivered right after its
   * commit) that is the same thing; for rows written elsewhere, several rows of one activity read in
   * one batch all carry its latest summary, while `entry` always is the row's own change.
   */
  #deliver(): void {
    if (!this.#db || this.#hub.size === 0 || this.#timer === undefined) return
    try {
      while (true) {
        const rows = this.#statement(
          `SELECT l.id AS log_id, l.status AS log_status, l.message AS log_message,
                  l.percentage AS log_percentage, l.at AS log_at, l.attempt AS log_attempt,
                  l.kind AS log_kind,
                  a.agent_id, a.agent_type, a.status, a.message, a.percentage, a.metadata,
                  a.created_at, a.updated_at, a.started_at, a.finished_at
           FROM activity_log l JOIN activities a ON a.agent_id = l.agent_id
           WHERE l.id > ? ORDER BY l.id LIMIT ?`,
        ).all(this.#lastLogId, DELIVERY_BATCH)
        for (const row of rows) {
          this.#lastLogId = row.log_id as number
          this.#hub.publish({
            id: row.log_id as number,
            event: {
              agentId: row.agent_id as string,
              activity: summaryOfRow(row),
              entry: logEntryOf({
                status: row.log_status as ActivityStatus,
                message: row.log_message as string,
                percentage: row.log_percentage as number | null,
                at: row.log_at as string,
                attempt: row.log_attempt as number | null,
                kind: row.log_kind as ActivityLogKind | null,
              }),
            },
          })
        }
        if (rows.length < DELIVERY_BATCH) return
      }
    } catch {
      // The write that called this has committed; undelivered rows go out on the next delivery.
    }
  }
}

/**
 * Creates or upgrades the schema, once, under the write lock. Foreign keys must be off on `db`
 * (they cannot change inside a transaction): a table rebuild drops the old table, which would
 * otherwise delete the rows that refer to it.
 */
function migrate(db: DatabaseSync, path: string): void {
  const readVersion = () => db.prepare('PRAGMA user_version').get()!.user_version as number
  const tooNew = (version: number) =>
    new RunnerError(
      `The SQLite activity database "${path}" has schema version ${version}, newer than this @runner/core supports (${SCHEMA_VERSION}). Upgrade @runner/core.`,
    )
  let version = readVersion()
  if (version > SCHEMA_VERSION) throw tooNew(version)
  if (version === SCHEMA_VERSION) return
  db.exec('BEGIN IMMEDIATE')
  try {
    version = readVersion()
    if (version > SCHEMA_VERSION) throw tooNew(version)
    const brokenReferences = () => db.prepare('PRAGMA foreign_key_check').all().length
    const brokenBefore = version === 0 ? 0 : brokenReferences()
    for (; version < SCHEMA_VERSION; version++) {
      const step = migrations[version]!
      if (typeof step === 'string') db.exec(step)
      else step(db)
    }
    // A rebuilt table must leave every reference as it was (checked before the commit, not after).
    const brokenAfter = brokenReferences()
    if (brokenAfter > brokenBefore) {
      throw new RunnerError(
        `Cannot upgrade the SQLite activity database "${path}": the upgrade would leave ${brokenAfter - brokenBefore} row(s) referring to activities that do not exist. Nothing was changed; please report this with the file's schema (sqlite3 "${path}" .schema).`,
      )
    }
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`)
    db.exec('COMMIT')
  } catch (error) {
    rollback(db)
    throw error
  }
}

/**
 * Runs `work` now and keeps its outcome for later: the returned function gives its value, or
 * throws its error. Lets a store do the costly encoding before a transaction while reporting its
 * error after the checks that come first.
 */
function attempt<T>(work: () => T): () => T {
  try {
    const value = work()
    return () => value
  } catch (error) {
    return () => {
      throw error
    }
  }
}

/** Ends the open transaction, if any, without hiding the error that led here. */
function rollback(db: DatabaseSync): void {
  try {
    db.exec('ROLLBACK')
  } catch {
    // No transaction was open (SQLite already rolled back, or BEGIN never ran).
  }
}

/** A WHERE clause built from parts, with its bound values (never interpolated). */
class Where {
  readonly #parts: string[] = []
  readonly parameters: SQLInputValue[] = []

  get sql(): string {
    return this.#parts.length === 0 ? '' : ` WHERE ${this.#parts.join(' AND ')}`
  }

  add(sql: string, ...parameters: SQLInputValue[]): void {
    this.#parts.push(sql)
    this.parameters.push(...parameters)
  }

  copy(): Where {
    const copy = new Where()
    copy.#parts.push(...this.#parts)
    copy.parameters.push(...this.parameters)
    return copy
  }

  /**
   * Key equality on a JSON column with the type of the filter value: the string "1" does not match
   * the number 1, `true` matches only JSON true, `null` only a JSON null (not a missing key). The
   * key is quoted as a JSON string in the path, so dots, brackets and quotes in it are literal.
   */
  addMetadata(column: string, filter: MetadataFilter | undefined): void {
    if (!filter) return
    for (const [key, value] of Object.entries(filter)) {
      const path = `$.${JSON.stringify(key)}`
      if (value === null) {
        this.add(`json_type(${column}, ?) = 'null'`, path)
      } else if (typeof value === 'boolean') {
        this.add(`json_type(${column}, ?) = ?`, path, value ? 'true' : 'false')
      } else if (typeof value === 'number') {
        this.add(
          `json_type(${column}, ?) IN ('integer', 'real') AND json_extract(${column}, ?) = ?`,
          path,
          path,
          value,
        )
      } else {
        this.add(`json_type(${column}, ?) = 'text' AND json_extract(${column}, ?) = ?`, path, path, value)
      }
    }
  }
}

/** Binds ids of any type safely: a non-string id matches nothing, like a missing one. */
function idParameter(agentId: unknown): SQLInputValue {
  return typeof agentId === 'string' ? agentId : null
}

function optionalText(value: SQLOutputValue | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined
}

/** The summary of an `activities` row: the same shape as every store (absent, not null, when unset). */
function summaryOfRow(row: Row): ActivitySummary {
  const summary: ActivitySummary = {
    agentId: row.agent_id as string,
    agentType: row.agent_type as string,
    status: row.status as ActivityStatus,
    message: row.message as string,
    percentage: row.percentage as number,
    metadata: JSON.parse(row.metadata as string) as Record<string, unknown>,
    createdAt: row.created_at as string,
    updatedAt: row.updated_at as string,
  }
  const startedAt = optionalText(row.started_at)
  if (startedAt !== undefined) summary.startedAt = startedAt
  const finishedAt = optionalText(row.finished_at)
  if (finishedAt !== undefined) summary.finishedAt = finishedAt
  return summary
}

function logEntryOfRow(row: Row): ActivityLogEntry {
  return logEntryOf({
    status: row.status as ActivityStatus,
    message: row.message as string,
    percentage: row.percentage as number | null,
    at: row.at as string,
    attempt: row.attempt as number | null,
    kind: row.kind as ActivityLogKind | null,
  })
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
