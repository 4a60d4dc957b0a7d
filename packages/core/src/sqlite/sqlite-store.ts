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
} from '../activity/store-helpers.js'
import { isStorableText } from '../activity/text-policy.js'
import {
  ACTIVE_STATUSES,
  ACTIVITY_STATUSES,
  assertTransition,
  isActiveStatus,
  isTerminalStatus,
} from '../activity/transitions.js'
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
import { RunnerError } from '../errors/runner-error.js'
import type { SqliteStoreError } from '../errors/sqlite-store-error.js'
import { EventHub } from '../util/event-hub.js'
import { type BatchOutcome, GroupCommit } from '../util/group-commit.js'
import { parseOrThrow } from '../util/zod-issues.js'
import type { SqliteAccess } from './sqlite-access.js'
import { SqliteDocumentTable } from './sqlite-documents.js'
import { type SqliteStage, sqliteStoreError } from './sqlite-errors.js'
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
  /**
   * How hard a commit pushes to disk (`PRAGMA synchronous`). `'normal'` (default): a commit is in
   * the write-ahead log before its call resolves, so it survives the process being killed; the last
   * commits before a power loss or an operating-system crash may be lost (the file stays
   * consistent). `'full'`: every commit is flushed to the disk (`fsync`) before its call resolves,
   * so it survives those too, at the price of one flush per batch of writes.
   */
  synchronous?: 'normal' | 'full'
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
  synchronous: z.enum(['normal', 'full'], { error: 'must be "normal" or "full"' }).optional(),
})

/** The schema version this code writes, kept in `PRAGMA user_version`. */
const SCHEMA_VERSION = 5

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
  // 3 -> 4: indexed metadata filters. One row per (activity, metadata key) whose value is a string,
  // a number, a boolean or null, with the activity's status: a list filtered by status and
  // metadata reads one index range per status, in list order, however many activities the file
  // holds. `activity_counts` keeps how many activities each status has, overall (key '', type '*')
  // and per metadata key and value, for `total` and `countActive`. Triggers keep both in step with
  // `activities`, whichever process or tool writes the table.
  `
  CREATE TABLE activity_metadata (
    key TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('text', 'number', 'true', 'false', 'null')),
    value NOT NULL,
    status TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (key, type, value, status, seq)
  ) WITHOUT ROWID;
  CREATE INDEX activity_metadata_seq ON activity_metadata (seq);
  CREATE TRIGGER activity_metadata_insert AFTER INSERT ON activities BEGIN
    INSERT OR IGNORE INTO activity_metadata (key, type, value, status, seq)
      SELECT key, CASE WHEN type IN ('integer', 'real') THEN 'number' ELSE type END,
             CASE WHEN type IN ('integer', 'real', 'text') THEN atom ELSE '' END, NEW.status, NEW.seq
      FROM json_each(NEW.metadata) WHERE type NOT IN ('object', 'array');
  END;
  CREATE TRIGGER activity_metadata_status AFTER UPDATE OF status ON activities
  WHEN NEW.status IS NOT OLD.status BEGIN
    UPDATE activity_metadata SET status = NEW.status WHERE seq = NEW.seq;
  END;
  CREATE TRIGGER activity_metadata_change AFTER UPDATE OF metadata, seq ON activities
  WHEN NEW.metadata IS NOT OLD.metadata OR NEW.seq IS NOT OLD.seq BEGIN
    DELETE FROM activity_metadata WHERE seq = OLD.seq;
    INSERT OR IGNORE INTO activity_metadata (key, type, value, status, seq)
      SELECT key, CASE WHEN type IN ('integer', 'real') THEN 'number' ELSE type END,
             CASE WHEN type IN ('integer', 'real', 'text') THEN atom ELSE '' END, NEW.status, NEW.seq
      FROM json_each(NEW.metadata) WHERE type NOT IN ('object', 'array');
  END;
  CREATE TRIGGER activity_metadata_delete AFTER DELETE ON activities BEGIN
    DELETE FROM activity_metadata WHERE seq = OLD.seq;
  END;
  INSERT OR IGNORE INTO activity_metadata (key, type, value, status, seq)
    SELECT j.key, CASE WHEN j.type IN ('integer', 'real') THEN 'number' ELSE j.type END,
           CASE WHEN j.type IN ('integer', 'real', 'text') THEN j.atom ELSE '' END, a.status, a.seq
    FROM activities a, json_each(a.metadata) j WHERE j.type NOT IN ('object', 'array');
  CREATE TABLE activity_counts (
    key TEXT NOT NULL,
    type TEXT NOT NULL,
    value NOT NULL,
    status TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (key, type, value, status)
  ) WITHOUT ROWID;
  INSERT INTO activity_counts (key, type, value, status, count)
    SELECT '', '*', '', status, count(*) FROM activities GROUP BY status;
  INSERT INTO activity_counts (key, type, value, status, count)
    SELECT key, type, value, status, count(*) FROM activity_metadata GROUP BY key, type, value, status;
  CREATE TRIGGER activity_counts_insert AFTER INSERT ON activities BEGIN
    INSERT INTO activity_counts (key, type, value, status, count) VALUES ('', '*', '', NEW.status, 1)
      ON CONFLICT (key, type, value, status) DO UPDATE SET count = count + 1;
  END;
  CREATE TRIGGER activity_counts_status AFTER UPDATE OF status ON activities
  WHEN NEW.status IS NOT OLD.status BEGIN
    UPDATE activity_counts SET count = count - 1 WHERE key = '' AND type = '*' AND value = '' AND status = OLD.status;
    INSERT INTO activity_counts (key, type, value, status, count) VALUES ('', '*', '', NEW.status, 1)
      ON CONFLICT (key, type, value, status) DO UPDATE SET count = count + 1;
  END;
  CREATE TRIGGER activity_counts_delete AFTER DELETE ON activities BEGIN
    UPDATE activity_counts SET count = count - 1 WHERE key = '' AND type = '*' AND value = '' AND status = OLD.status;
  END;
  CREATE TRIGGER activity_metadata_counts_insert AFTER INSERT ON activity_metadata BEGIN
    INSERT INTO activity_counts (key, type, value, status, count) VALUES (NEW.key, NEW.type, NEW.value, NEW.status, 1)
      ON CONFLICT (key, type, value, status) DO UPDATE SET count = count + 1;
  END;
  CREATE TRIGGER activity_metadata_counts_update AFTER UPDATE ON activity_metadata BEGIN
    UPDATE activity_counts SET count = count - 1
      WHERE key = OLD.key AND type = OLD.type AND value = OLD.value AND status = OLD.status;
    INSERT INTO activity_counts (key, type, value, status, count) VALUES (NEW.key, NEW.type, NEW.value, NEW.status, 1)
      ON CONFLICT (key, type, value, status) DO UPDATE SET count = count + 1;
  END;
  CREATE TRIGGER activity_metadata_counts_delete AFTER DELETE ON activity_metadata BEGIN
    UPDATE activity_counts SET count = count - 1
      WHERE key = OLD.key AND type = OLD.type AND value = OLD.value AND status = OLD.status;
  END;
  `,
  // 4 -> 5: fair claims across concurrency keys. Each queued job has its group (`''`: unkeyed, as
  // every job queued before) and the group's limit; one index serves both the claims of unkeyed
  // jobs (group '', by priority then push order) and a fair claim's look-up of each group's first
  // jobs (covering: whether a job is claimable is read from the index); a partial index counts
  // the jobs in flight per group, and one on priority tells whether all jobs share one; `job_queue_groups` lists the keyed
  // groups that have jobs and keeps when each group was last served (NULL: never; round-robin
  // among groups with as many jobs in flight; '' is the unkeyed jobs' turn).
  `
  ALTER TABLE job_queue ADD COLUMN concurrency_key TEXT NOT NULL DEFAULT '';
  ALTER TABLE job_queue ADD COLUMN concurrency_limit INTEGER CHECK (concurrency_limit >= 1);
  DROP INDEX job_queue_order;
  CREATE INDEX job_queue_group_order ON job_queue (concurrency_key, priority DESC, seq, ready_at, owner, lease_until);
  CREATE INDEX job_queue_in_flight ON job_queue (concurrency_key, lease_until, concurrency_limit) WHERE owner IS NOT NULL;
  CREATE INDEX job_queue_priority ON job_queue (priority);
  CREATE TABLE job_queue_groups (
    concurrency_key TEXT PRIMARY KEY,
    last_turn INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX job_queue_groups_turn ON job_queue_groups (last_turn);
  `,
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

/** The most writes of concurrent callers committed in one transaction; the rest go in the next. */
const MAX_BATCH = 512

/** Activities whose log `append` keeps in memory (the most recently written ones). */
const LOG_CACHE_SIZE = 1024

/**
 * Set on every connection (the README's SQLite section says why): 64 MiB of page cache (the
 * default is 2 MiB: a list over a large file would go back to the operating system for index
 * pages), temporary b-trees in memory, and reads through a memory map of up to 256 MiB of the file
 * (no copy per page read). Writes still go through the write-ahead log.
 */
const TUNING_PRAGMAS = [
  'PRAGMA cache_size = -65536',
  'PRAGMA temp_store = MEMORY',
  'PRAGMA mmap_size = 268435456',
]

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
  /** Set by `close()`: every later call is refused, while the writes already queued finish. */
  #closed = false
  /** Every write goes through it: the writes of concurrent callers share one transaction. */
  readonly #commit = new GroupCommit<() => unknown, unknown>({
    write: (batch) => this.#writeBatch(batch),
    maxBatch: MAX_BATCH,
  })
  #savepoint: { begin: StatementSync; release: StatementSync; rollback: StatementSync } | undefined
  readonly #statements = new Map<string, StatementSync>()
  readonly #hub = new EventHub<HubItem>()
  /** The logs of the activities this store wrote last, so that `append` need not read them back. */
  readonly #logs = new LogCache(LOG_CACHE_SIZE)
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
      read: (work) => this.#read(work),
      write: (work) => this.#submit(work),
      maxRecordBytes: this.#maxRecordBytes,
    }
    this.jobQueue = new SqliteJobQueue(access)
    this.documents = new SqliteDocumentTable(access)
    let db: DatabaseSync
    try {
      db = new DatabaseSync(valid.path)
    } catch (error) {
      throw (
        this.#fileError(error, 'open') ??
        new RunnerError(
          `Cannot open the SQLite activity database "${valid.path}": ${messageOf(error)}. Check that its directory exists and is writable.`,
          { cause: error },
        )
      )
    }
    try {
      db.exec(`PRAGMA busy_timeout = ${this.#busyTimeoutMs}`)
      db.prepare('PRAGMA journal_mode = WAL').get()
      db.exec(`PRAGMA synchronous = ${valid.synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
      db.exec('PRAGMA foreign_keys = OFF')
      migrate(db, valid.path)
      db.exec('PRAGMA foreign_keys = ON')
      for (const pragma of TUNING_PRAGMAS) db.exec(pragma)
    } catch (error) {
      db.close()
      if (RunnerError.isInstance(error)) throw error
      // Any other error comes from the SQL of the schema: the file is an SQLite database, but its
      // tables are not the ones this store creates (another program's database).
      throw (
        this.#fileError(error, 'open') ??
        new RunnerError(
          `Cannot prepare the SQLite activity database "${valid.path}": ${messageOf(error)}. The file is an SQLite database, but its tables are not those of SqliteActivityStore: was it created by another program?`,
          { cause: error },
        )
      )
    }
    this.#db = db
  }

  async create(input: CreateActivityInput): Promise<Activity> {
    this.#assertOpen()
    const valid = validateCreateInput(input)
    const metadata = JSON.stringify(valid.metadata ?? {})
    return this.#submit(() => {
      const at = nowIso()
      // The unique agent_id refuses a second activity with the id (nothing written).
      const inserted = this.#statement(
        `INSERT INTO activities (agent_id, agent_type, status, message, percentage, metadata, created_at, updated_at)
         VALUES (?, ?, 'queued', ?, 0, ?, ?, ?) ON CONFLICT (agent_id) DO NOTHING`,
      ).run(valid.agentId, valid.agentType, valid.message, metadata, at, at)
      if (Number(inserted.changes) === 0) {
        throw duplicateActivityError(valid.agentId)
      }
      const entry = queuedEntry(valid.message, at)
      const logId = this.#insertLog(valid.agentId, entry)
      const activity: Activity = {
        agentId: valid.agentId,
        agentType: valid.agentType,
        status: 'queued',
        message: valid.message,
        percentage: 0,
        metadata: JSON.parse(metadata) as Record<string, unknown>,
        createdAt: at,
        updatedAt: at,
        log: [entry],
      }
      this.#logs.remember(valid.agentId, logId, [entry])
      activity.log = [copyEntry(entry)]
      return activity
    }) as Promise<Activity>
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
    return this.#submit(() => {
      const current = this.#statement(
        `SELECT ${SUMMARY_COLUMNS},
                (SELECT max(id) FROM activity_log l WHERE l.agent_id = a.agent_id) AS last_log_id
         FROM activities a WHERE agent_id = ?`,
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
      // The log so far, read before this entry's row is written (from memory when it is known).
      const log = this.#readLog(agentId, current.last_log_id as number | null)
      const logId = this.#insertLog(agentId, entry)
      // Without `status` when it stays the same: its indexes are then left untouched.
      this.#statement(
        next.status === from
          ? `UPDATE activities SET message = ?, percentage = ?, updated_at = ?, started_at = ?, finished_at = ?
             WHERE agent_id = ?`
          : `UPDATE activities SET status = ?, message = ?, percentage = ?, updated_at = ?, started_at = ?, finished_at = ?
             WHERE agent_id = ?`,
      ).run(
        ...(next.status === from ? [] : [next.status]),
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
      log.push(entry)
      this.#logs.remember(agentId, logId, log)
      const summary = summaryOfRow({
        ...current,
        status: next.status,
        message: next.message,
        percentage: next.percentage,
        updated_at: next.updatedAt,
        started_at: next.startedAt ?? null,
        finished_at: next.finishedAt ?? null,
      })
      const activity: Activity = { ...summary, log: log.map(copyEntry) }
      return activity
    }) as Promise<Activity>
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
    const statuses = statusList(valid.status)
    const metadata = metadataTerms(valid.metadata)
    if (statuses === undefined && metadata.length === 0) {
      return this.#read(() => {
        const total = this.#counted(undefined, ACTIVITY_STATUSES)
        const rows = this.#statement(
          `SELECT seq, ${SUMMARY_COLUMNS} FROM activities${after ? ` WHERE ${LIST_KEY} < ?` : ''}
           ORDER BY ${LIST_KEY} DESC LIMIT ?`,
        ).all(...(after ? [after.active * LIST_KEY_ACTIVE_WEIGHT + after.seq] : []), limit + 1)
        return pageOf(rows, limit, total)
      })
    }
    // Filtered: one index range per status, read in list order (within one status, newest first),
    // the first `limit + 1` of each merged; `total` is counted on the same indexes.
    const wanted = [...new Set(statuses ?? ACTIVITY_STATUSES)]
    return this.#read(() => {
      const query = new FilterQuery(metadata)
      // Kept counts for a status and at most one metadata key; several keys are counted row by row.
      let total = metadata.length <= 1 ? this.#counted(metadata[0], wanted) : 0
      const found: { active: 0 | 1; seq: number }[] = []
      for (const status of wanted) {
        if (metadata.length > 1) {
          total += this.#statement(query.countSql()).get(...query.countParameters(status))!.count as number
        }
        const active: 0 | 1 = isActiveStatus(status) ? 1 : 0
        // After the cursor: the rows of this status that come later in the list order.
        if (after && active > after.active) continue
        const before = after && active === after.active ? after.seq : undefined
        for (const row of this.#statement(query.pageSql(before !== undefined)).all(
          ...query.pageParameters(status, before, limit + 1),
        )) {
          found.push({ active, seq: row.seq as number })
        }
      }
      found.sort((a, b) => b.active - a.active || b.seq - a.seq)
      const page = found.slice(0, limit + 1)
      if (page.length === 0) return { items: [], total }
      const bySeq = new Map<number, Row>()
      for (const row of this.#statement(
        `SELECT seq, ${SUMMARY_COLUMNS} FROM activities WHERE seq IN (SELECT value FROM json_each(?))`,
      ).all(JSON.stringify(page.map((item) => item.seq)))) {
        bySeq.set(row.seq as number, row)
      }
      return pageOf(
        page.map((item) => bySeq.get(item.seq)!),
        limit,
        total,
      )
    })
  }

  async countActive(options: ScopeOptions = {}): Promise<number> {
    this.#assertOpen()
    const metadata = metadataTerms(validateMetadataFilter(options.metadata))
    if (metadata.length <= 1) return this.#read(() => this.#counted(metadata[0], [...ACTIVE_STATUSES]))
    const query = new FilterQuery(metadata)
    return this.#read(() => {
      let count = 0
      for (const status of ACTIVE_STATUSES) {
        count += this.#statement(query.countSql()).get(...query.countParameters(status))!.count as number
      }
      return count
    })
  }

  async saveTrajectory(agentId: string, trajectory: Trajectory): Promise<void> {
    this.#assertOpen()
    const json = encodeTrajectory(trajectory)
    await this.#submit(() => {
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
    const row = this.#read(() =>
      this.#statement(
        `SELECT t.json FROM trajectories t JOIN activities a ON a.agent_id = t.agent_id${where.sql}`,
      ).get(...where.parameters),
    )
    return row ? (JSON.parse(row.json as string) as Trajectory) : undefined
  }

  async saveCheckpoint(agentId: string, checkpoint: CheckpointInput): Promise<void> {
    this.#assertOpen()
    const encoded = attempt(() => encodeCheckpoint(agentId, checkpoint, nowIso(), this.#maxRecordBytes))
    await this.#submit(() => {
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
    await this.#submit(() => {
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
    return this.#submit(() => {
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
    }) as Promise<RunRecord>
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
    const fromId = this.#read(() => this.#maxLogId())
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
    if (this.#closed) return
    this.#closed = true
    // The writes already queued are written (their callers are waiting for them).
    await this.#commit.idle()
    const db = this.#db
    if (!db) return
    this.#db = undefined
    this.#savepoint = undefined
    this.#stopPolling()
    this.#hub.close()
    this.#statements.clear()
    this.#logs.clear()
    db.close()
  }

  #assertOpen(): DatabaseSync {
    if (this.#closed || !this.#db) {
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
      const db = this.#db
      if (!db) this.#assertOpen()
      statement = db!.prepare(sql)
      this.#statements.set(sql, statement)
    }
    return statement
  }

  /**
   * Queues `work` for the next write transaction (`BEGIN IMMEDIATE`: the reads in it see the
   * latest data) and resolves with its value once that transaction has committed. The work of
   * concurrent callers shares one transaction; each runs inside a savepoint of its own, so one
   * that throws is undone alone and rejects alone.
   */
  #submit<T>(work: () => T): Promise<T> {
    this.#assertOpen()
    return this.#commit.submit(work) as Promise<T>
  }

  /** Writes one batch of queued work in one transaction (called by the group commit, one batch at a time). */
  #writeBatch(batch: readonly (() => unknown)[]): BatchOutcome<unknown>[] {
    const db = this.#db
    if (!db) this.#assertOpen()
    try {
      db!.exec('BEGIN IMMEDIATE')
    } catch (error) {
      throw this.#sqliteError(error)
    }
    const outcomes: BatchOutcome<unknown>[] = []
    try {
      if (batch.length === 1) {
        // Alone in its transaction: a failure rolls the transaction back (no savepoint needed).
        outcomes.push({ ok: true, value: batch[0]!() })
      } else {
        const savepoint = this.#savepointStatements(db!)
        for (const work of batch) {
          savepoint.begin.run()
          try {
            const value = work()
            savepoint.release.run()
            outcomes.push({ ok: true, value })
          } catch (error) {
            // An error that ended the whole transaction (SQLite rolls back on some I/O errors)
            // takes the work before it with it: the batch fails as one.
            if (!db!.isTransaction) throw error
            savepoint.rollback.run()
            savepoint.release.run()
            outcomes.push({ ok: false, error: this.#sqliteError(error) })
          }
        }
      }
      db!.exec('COMMIT')
    } catch (error) {
      rollback(db!)
      // Ids of rolled-back log rows may be handed out again: forget the logs of this batch.
      this.#logs.clear()
      if (batch.length === 1 && outcomes.length === 0) return [{ ok: false, error: this.#sqliteError(error) }]
      throw this.#sqliteError(error)
    }
    this.#deliver()
    return outcomes
  }

  #savepointStatements(db: DatabaseSync): {
    begin: StatementSync
    release: StatementSync
    rollback: StatementSync
  } {
    this.#savepoint ??= {
      begin: db.prepare('SAVEPOINT item'),
      release: db.prepare('RELEASE item'),
      rollback: db.prepare('ROLLBACK TO item'),
    }
    return this.#savepoint
  }

  /**
   * Runs `work` in one read transaction: its queries see one snapshot, even if another process
   * writes. An error of the file comes out as a `SqliteStoreError`.
   */
  #read<T>(work: () => T): T {
    const db = this.#assertOpen()
    try {
      db.exec('BEGIN')
    } catch (error) {
      throw this.#sqliteError(error, 'read')
    }
    try {
      const result = work()
      db.exec('COMMIT')
      return result
    } catch (error) {
      rollback(db)
      throw this.#sqliteError(error, 'read')
    }
  }

  /**
   * The `SqliteStoreError` of an error that comes from the file (locked, read-only, full, not a
   * database, corrupt, failing I/O); every other error is passed through unchanged.
   */
  #sqliteError(error: unknown, stage: SqliteStage = 'write'): unknown {
    if (RunnerError.isInstance(error)) return error
    return this.#fileError(error, stage) ?? error
  }

  #fileError(error: unknown, stage: SqliteStage): SqliteStoreError | undefined {
    return sqliteStoreError(error, this.#path, stage, this.#busyTimeoutMs)
  }

  /**
   * How many activities have one of `statuses` (and the metadata `term`, if given), from the
   * counts the triggers keep in `activity_counts`: one index lookup per status.
   */
  #counted(term: MetadataTerm | undefined, statuses: readonly ActivityStatus[]): number {
    const row = this.#statement(
      `SELECT coalesce(sum(count), 0) AS count FROM activity_counts
       WHERE key = ? AND type = ? AND value = ? AND status IN (SELECT value FROM json_each(?))`,
    ).get(term?.key ?? '', term?.type ?? '*', term?.value ?? '', JSON.stringify(statuses))!
    return row.count as number
  }

  /** Inserts one log row; returns its id. */
  #insertLog(agentId: string, entry: ActivityLogEntry): number {
    return Number(
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
      ).lastInsertRowid,
    )
  }

  /**
   * The log of an activity, oldest first, as a new array. From memory when this store wrote the
   * activity's latest row itself (the id of the latest row tells whether another connection wrote
   * one since); read from the database otherwise.
   */
  #readLog(agentId: string, latest: number | null): ActivityLogEntry[] {
    const known = this.#logs.get(agentId, latest)
    if (known) return known
    return this.#statement(
      'SELECT status, message, percentage, at, attempt, kind FROM activity_log WHERE agent_id = ? ORDER BY id',
    )
      .all(agentId)
      .map(logEntryOfRow)
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

/** One term of a metadata filter, as `activity_metadata` keeps it: the key, the value's type and value. */
interface MetadataTerm {
  key: string
  type: 'text' | 'number' | 'true' | 'false' | 'null'
  value: string | number
}

function metadataTerms(filter: MetadataFilter | undefined): MetadataTerm[] {
  if (!filter) return []
  return Object.entries(filter).map(([key, value]): MetadataTerm => {
    if (typeof value === 'string') return { key, type: 'text', value }
    if (typeof value === 'number') return { key, type: 'number', value }
    return { key, type: value === null ? 'null' : value ? 'true' : 'false', value: '' }
  })
}

/**
 * The statements of a filtered list for one status: without metadata, a range of the index
 * `activities_status_seq`; with metadata, a range of `activity_metadata` for the first key, the
 * others checked by primary-key lookups of their own rows.
 */
class FilterQuery {
  readonly #terms: MetadataTerm[]

  constructor(terms: MetadataTerm[]) {
    this.#terms = terms
  }

  #where(): string {
    if (this.#terms.length === 0) return 'status = ?'
    const others = this.#terms
      .slice(1)
      .map(
        () =>
          ' AND EXISTS (SELECT 1 FROM activity_metadata o WHERE o.key = ? AND o.type = ? AND o.value = ? AND o.status = m.status AND o.seq = m.seq)',
      )
      .join('')
    return `m.key = ? AND m.type = ? AND m.value = ? AND m.status = ?${others}`
  }

  #from(): string {
    return this.#terms.length === 0 ? 'activities' : 'activity_metadata m'
  }

  #parameters(status: ActivityStatus): SQLInputValue[] {
    if (this.#terms.length === 0) return [status]
    const [first, ...others] = this.#terms
    return [
      first!.key,
      first!.type,
      first!.value,
      status,
      ...others.flatMap((term) => [term.key, term.type, term.value]),
    ]
  }

  countSql(): string {
    return `SELECT count(*) AS count FROM ${this.#from()} WHERE ${this.#where()}`
  }

  countParameters(status: ActivityStatus): SQLInputValue[] {
    return this.#parameters(status)
  }

  pageSql(after: boolean): string {
    const seq = this.#terms.length === 0 ? 'seq' : 'm.seq'
    return `SELECT ${seq} AS seq FROM ${this.#from()} WHERE ${this.#where()}${after ? ` AND ${seq} < ?` : ''}
            ORDER BY ${seq} DESC LIMIT ?`
  }

  pageParameters(status: ActivityStatus, before: number | undefined, limit: number): SQLInputValue[] {
    return [...this.#parameters(status), ...(before === undefined ? [] : [before]), limit]
  }
}

/** A page of rows read in list order (`limit + 1` of them when there is a next page). */
function pageOf(rows: Row[], limit: number, total: number): ListActivitiesResult {
  const items = rows.slice(0, limit)
  const result: ListActivitiesResult = { items: items.map(summaryOfRow), total }
  const last = items.at(-1)
  if (last && rows.length > limit) {
    result.nextCursor = encodeCursor(sortKeyOf(last.status as ActivityStatus, last.seq as number))
  }
  return result
}

/**
 * Binds ids of any type safely: a non-string id, or one no store can hold (a NUL, a lone
 * surrogate, which SQLite would look up as U+FFFD), matches nothing, like a missing one.
 */
function idParameter(agentId: unknown): SQLInputValue {
  return isStorableText(agentId) ? agentId : null
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

/** A log entry's own copy, for a caller that may change it. */
function copyEntry(entry: ActivityLogEntry): ActivityLogEntry {
  return { ...entry }
}

/**
 * The logs of the activities written last, by agentId, with the id of each log's latest row. A log
 * is only used while that id is still the latest row of the activity in the database: a row
 * written by another connection meanwhile sends `append` back to the database. Least recently
 * written first out.
 */
class LogCache {
  readonly #size: number
  readonly #logs = new Map<string, { lastId: number; entries: ActivityLogEntry[] }>()

  constructor(size: number) {
    this.#size = size
  }

  /** A copy of the log of `agentId` (its entries shared), if kept and its latest row is `lastId`. */
  get(agentId: string, lastId: number | null): ActivityLogEntry[] | undefined {
    const known = this.#logs.get(agentId)
    if (!known) return undefined
    if (known.lastId !== lastId) {
      this.#logs.delete(agentId)
      return undefined
    }
    return known.entries.slice()
  }

  /** Keeps `entries` (owned by the cache from now on) as the log of `agentId` up to row `lastId`. */
  remember(agentId: string, lastId: number, entries: ActivityLogEntry[]): void {
    this.#logs.delete(agentId)
    this.#logs.set(agentId, { lastId, entries })
    if (this.#logs.size > this.#size) this.#logs.delete(this.#logs.keys().next().value!)
  }

  clear(): void {
    this.#logs.clear()
  }
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
