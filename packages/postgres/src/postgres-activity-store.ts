import { createHash } from 'node:crypto'
import {
  type Activity,
  type ActivityEvent,
  ActivityNotFoundError,
  type ActivityStatus,
  type ActivityStore,
  type ListActivitiesOptions,
  type ListActivitiesResult,
  type MetadataFilter,
  RunnerError,
  type Trajectory,
} from '@runner/core'
import {
  ACTIVE_STATUSES,
  ACTIVITY_STATUSES,
  type AppendActivityInput,
  applyDecision,
  type BatchOutcome,
  type CheckpointInput,
  type CreateActivityInput,
  type DecisionInput,
  decodeCheckpoint,
  decodeCursor,
  decodeJournalEntry,
  encodeCursor,
  encodeTrajectory,
  GroupCommit,
  isStorableText,
  type JournalEntryInput,
  type JsonValue,
  type PendingRequest,
  type RecordToolCallOptions,
  type RunRecord,
  type ScopeOptions,
  sortKeyOf,
  statusList,
  validateAppendInput,
  validateCreateInput,
  validateDecision,
  validateListOptions,
  validateMetadataFilter,
  validateWatchFilter,
  type WatchFilter,
} from '@runner/core/store'
import pg, { type Pool, type PoolClient, type QueryConfig, type QueryResultRow } from 'pg'
import { BatchConflict, type WriteItem, type WriteResult, writeBatch } from './batch-write.js'
import { LogListener } from './log-listener.js'
import { type PostgresActivityStoreOptions, type ResolvedOptions, resolveOptions } from './options.js'
import { PostgresDocumentTable } from './postgres-document-table.js'
import { PostgresJobQueue } from './postgres-job-queue.js'
import { logColumn, logOfRow, type SummaryRow, summaryColumns, summaryOfRow } from './rows.js'
import { prepareSchema, rollback, SCHEMA_VERSION } from './schema.js'
import { ACTIVE_KEY_SQL, activeKeyOf, isoText, NOW_MS, type SchemaNames, schemaNames } from './sql.js'
import type { Query, StoreDatabase } from './store-database.js'
import { WatchSubscription } from './watch-subscription.js'

/**
 * Activities in PostgreSQL, shared by every process and machine that points at the same schema.
 *
 * Writes go out by group commit: the creates, appends, checkpoints and journaled tool calls that
 * arrive while a batch is being written form the next batch, written in one transaction that locks
 * their rows (`SELECT ... FOR UPDATE`), validates each lifecycle move against the status read under
 * that lock (items of one activity in submission order), then appends the log rows, updates the
 * current rows and the run records and sends one `NOTIFY`. Each call resolves once its batch has
 * committed. Concurrent writers (several workers updating one activity) never lose an update or
 * apply an illegal move; a refused item writes nothing and leaves the others of its batch alone; a
 * failed transaction writes nothing and fails every call of its batch.
 *
 * `watch` listens on one dedicated connection per store and reads the log after the last row it
 * delivered, so watchers in any process see every change, in commit order, exactly once, also
 * across a lost connection. The schema is created or migrated on first use.
 *
 * Durable runs: a run's record (checkpoint, pending requests, result) and its journal of tool calls
 * live beside the activity and are written in the transaction of the change they belong to; the
 * store also keeps a durable job queue (`jobQueue`, leased claims) and a document table
 * (`documents`).
 *
 * ```ts
 * const store = new PostgresActivityStore({ connectionString: process.env.DATABASE_URL })
 * const activity = createActivityTracker({ store })
 * ```
 */
export class PostgresActivityStore implements ActivityStore {
  /** The schema version this class creates and reads (rows of `<schema>.schema_version`). */
  static readonly schemaVersion = SCHEMA_VERSION

  readonly #options: ResolvedOptions
  readonly #pool: Pool
  readonly #ownsPool: boolean
  readonly #names: SchemaNames
  readonly #listener: LogListener
  /** A queue kept in the database, shared by every process on this schema (leased claims). */
  readonly jobQueue: PostgresJobQueue
  /** JSON documents kept beside the runs, by namespace and key. */
  readonly documents: PostgresDocumentTable
  #prepared: Promise<void> | undefined
  /** Starts of watchers in progress: calls made after `watch()` wait for them (see `watch`). */
  readonly #watchStarts = new Set<Promise<void>>()
  #closing: Promise<void> | undefined
  /** Group commit of every write that changes an activity or its run record. */
  readonly #commits: GroupCommit<WriteItem, WriteResult>

  constructor(options: string | PostgresActivityStoreOptions) {
    const resolved = resolveOptions(options)
    const report = resolved.onError
    // Called from pg's event handlers: an exception there would crash the process.
    const onError = (error: Error) => {
      try {
        report(error)
      } catch {
        // The application's handler failed; nothing more to do with the error.
      }
    }
    this.#options = { ...resolved, onError }
    this.#names = schemaNames(this.#options.schema, this.#options.notifyChannel)
    if (this.#options.pool) {
      this.#pool = this.#options.pool
      this.#ownsPool = false
    } else {
      this.#pool = new pg.Pool({
        keepAlive: true,
        application_name: 'runner-postgres',
        ...this.#options.poolConfig,
        connectionString: this.#options.connectionString,
      })
      // An idle connection dropped by the server must not crash the process: pg emits it here.
      this.#pool.on('error', (error) => this.#options.onError(error))
      this.#ownsPool = true
    }
    this.#listener = new LogListener({
      pool: this.#pool,
      names: this.#names,
      prepare: () => this.#prepare(),
      onError: this.#options.onError,
    })
    const query: Query = (text, values, prepared) => this.#query(this.#pool, text, values, prepared)
    const database: StoreDatabase = {
      names: this.#names,
      maxRecordBytes: this.#options.maxRecordBytes,
      query: async (text, values, prepared) => {
        this.#assertOpen()
        await this.#ready()
        return query(text, values, prepared)
      },
      transaction: async (work) => {
        this.#assertOpen()
        await this.#ready()
        return this.#transaction((client) =>
          work((text, values, prepared) => this.#query(client, text, values, prepared)),
        )
      },
    }
    this.#commits = new GroupCommit({
      maxBatch: MAX_BATCH,
      write: (batch) => this.#writeBatch(batch),
    })
    this.jobQueue = new PostgresJobQueue(database)
    this.documents = new PostgresDocumentTable(database)
  }

  /** The PostgreSQL schema holding this store's tables. */
  get schema(): string {
    return this.#names.schema
  }

  /**
   * Creates an activity (queued). Goes out with the other writes of its batch (group commit, see
   * the class comment); resolves once that batch has committed.
   */
  async create(input: CreateActivityInput): Promise<Activity> {
    this.#assertOpen()
    const valid = validateCreateInput(input)
    const metadataJson = JSON.stringify(valid.metadata ?? {})
    await this.#ready()
    return (await this.#commits.submit({
      kind: 'create',
      agentId: valid.agentId,
      agentType: valid.agentType,
      message: valid.message,
      metadataJson,
    })) as Activity
  }

  /**
   * Appends an entry with the parts of the run record it carries: the checkpoint, the pending
   * requests (with `waiting`; cleared by any move out of it), their expiry and the result (with
   * `complete`), in the transaction of its batch. A refused part (an illegal move, a checkpoint over
   * `maxRecordBytes`) writes nothing of this append; a failed transaction writes nothing of its
   * batch. Resolves once the batch has committed.
   */
  async append(agentId: string, input: AppendActivityInput): Promise<Activity> {
    this.#assertOpen()
    const valid = validateAppendInput(input)
    if (!isStorableId(agentId)) throw new ActivityNotFoundError(String(agentId))
    await this.#ready()
    return (await this.#commits.submit({ kind: 'append', agentId, input: valid })) as Activity
  }

  async get(agentId: string, options: ScopeOptions = {}): Promise<Activity | undefined> {
    this.#assertOpen()
    const filter = validateMetadataFilter(options.metadata)
    if (!isStorableId(agentId)) return undefined
    await this.#ready()
    const parameters: unknown[] = [agentId]
    const scope = metadataSql('a', filter, parameters)
    const result = await this.#query<SummaryRow & { log: string }>(
      this.#pool,
      `SELECT ${summaryColumns('a')}, ${logColumn(this.#names.log, 'a')}
       FROM ${this.#names.activities} a WHERE a.agent_id = $1::text${scope ? ` AND ${scope}` : ''}`,
      parameters,
    )
    const row = result.rows[0]
    return row ? { ...summaryOfRow(row), log: logOfRow(row) } : undefined
  }

  /**
   * One statement (the total and the page from one snapshot). The page is read per status, newest
   * first, from an index: `(status, seq)` of the activities, or with a metadata filter the primary
   * key `(key, value, status, seq)` of the metadata index (its first key; further keys are checked
   * on the activity row); the branches are merged in the list order. So a first page reads about
   * `limit` index entries per status, however many activities the store holds. The total counts
   * the matches in the same indexes (its cost grows with the number of matches).
   */
  async list(options: ListActivitiesOptions = {}): Promise<ListActivitiesResult> {
    this.#assertOpen()
    const valid = validateListOptions(options)
    const limit = valid.limit ?? 50
    const after = valid.cursor === undefined ? undefined : decodeCursor(valid.cursor)
    await this.#ready()
    const statuses = statusList(valid.status) ?? ACTIVITY_STATUSES
    const parameters: unknown[] = [statuses, limit + 1]
    const source = this.#filteredSource(valid.metadata, parameters)
    const branches: string[] = []
    for (const status of statuses) {
      const active = activeKeyOf(status)
      // Branches wholly before the cursor are left out; the cursor's own group reads after its seq.
      if (after && active > after.active) continue
      parameters.push(status)
      let where = `${source.status} = $${parameters.length}::text`
      if (after && active === after.active) {
        parameters.push(after.seq)
        where += ` AND ${source.seq} < $${parameters.length}::bigint`
      }
      branches.push(
        `(SELECT ${source.seq} AS seq FROM ${source.from} WHERE ${source.where}${where} ORDER BY ${source.seq} DESC LIMIT $2)`,
      )
    }
    const page =
      branches.length === 0
        ? `SELECT NULL::text AS seq, NULL::int AS active_key WHERE false`
        : `SELECT a.seq::text AS seq, ${ACTIVE_KEY_SQL} AS active_key, ${summaryColumns('a')}
           FROM (${branches.join(' UNION ALL ')}) b JOIN ${this.#names.activities} a ON a.seq = b.seq
           ORDER BY ${ACTIVE_KEY_SQL} DESC, a.seq DESC LIMIT $2`
    const result = await this.#query<
      Partial<SummaryRow> & { total: number; seq: string | null; active_key: number | null }
    >(
      this.#pool,
      `SELECT t.total, p.* FROM (
         SELECT count(*)::int AS total FROM ${source.from} WHERE ${source.where}${source.status} = ANY($1::text[])
       ) t LEFT JOIN LATERAL (${page}) p ON true
       ORDER BY p.active_key DESC, p.seq::bigint DESC`,
      parameters,
    )
    const total = result.rows[0]?.total ?? 0
    const rows = result.rows.filter((row) => row.seq !== null)
    const items = rows.slice(0, limit)
    const list: ListActivitiesResult = { items: items.map((row) => summaryOfRow(row as SummaryRow)), total }
    const last = items.at(-1)
    if (last && rows.length > limit) {
      list.nextCursor = encodeCursor(sortKeyOf(last.status as ActivityStatus, Number(last.seq)))
    }
    return list
  }

  /** Counts the unfinished activities in the indexes `list` reads (its cost grows with the count). */
  async countActive(options: ScopeOptions = {}): Promise<number> {
    this.#assertOpen()
    const filter = validateMetadataFilter(options.metadata)
    await this.#ready()
    const parameters: unknown[] = [ACTIVE_STATUSES]
    const source = this.#filteredSource(filter, parameters)
    const result = await this.#query<{ count: number }>(
      this.#pool,
      `SELECT count(*)::int AS count FROM ${source.from} WHERE ${source.where}${source.status} = ANY($1::text[])`,
      parameters,
    )
    return result.rows[0]?.count ?? 0
  }

  /**
   * Where `list` and `countActive` read matching activities: the activities themselves without a
   * metadata filter, the metadata index with one (its first key; the others on the activity row).
   * `where` ends with `AND ` when not empty.
   */
  #filteredSource(
    filter: MetadataFilter | undefined,
    parameters: unknown[],
  ): { from: string; where: string; status: string; seq: string } {
    const entries = filter ? Object.entries(filter) : []
    const [first] = entries
    if (!first) return { from: `${this.#names.activities} a`, where: '', status: 'a.status', seq: 'a.seq' }
    parameters.push(first[0], JSON.stringify(first[1]))
    let where = `m.key = $${parameters.length - 1}::text AND m.value = $${parameters.length}::jsonb AND `
    let from = `${this.#names.metadata} m`
    if (entries.length > 1) {
      parameters.push(JSON.stringify(filter))
      from += ` JOIN ${this.#names.activities} a ON a.seq = m.seq`
      where += `a.metadata @> $${parameters.length}::jsonb AND `
    }
    return { from, where, status: 'm.status', seq: 'm.seq' }
  }

  async saveTrajectory(agentId: string, trajectory: Trajectory): Promise<void> {
    this.#assertOpen()
    const json = encodeTrajectory(trajectory)
    if (!isStorableId(agentId)) throw new ActivityNotFoundError(String(agentId))
    await this.#ready()
    const result = await this.#query(
      this.#pool,
      `INSERT INTO ${this.#names.trajectories} (agent_id, trajectory, saved_at)
       SELECT a.agent_id, $2::jsonb, now() FROM ${this.#names.activities} a WHERE a.agent_id = $1::text
       ON CONFLICT (agent_id) DO UPDATE SET trajectory = excluded.trajectory, saved_at = excluded.saved_at`,
      [agentId, json],
      true,
    )
    if (result.rowCount === 0) throw new ActivityNotFoundError(agentId)
  }

  async getTrajectory(agentId: string, options: ScopeOptions = {}): Promise<Trajectory | undefined> {
    this.#assertOpen()
    const filter = validateMetadataFilter(options.metadata)
    if (!isStorableId(agentId)) return undefined
    await this.#ready()
    const parameters: unknown[] = [agentId]
    const scope = metadataSql('a', filter, parameters)
    const result = await this.#query<{ trajectory: string }>(
      this.#pool,
      `SELECT t.trajectory::text AS trajectory
       FROM ${this.#names.trajectories} t JOIN ${this.#names.activities} a ON a.agent_id = t.agent_id
       WHERE t.agent_id = $1::text${scope ? ` AND ${scope}` : ''}`,
      parameters,
    )
    const row = result.rows[0]
    return row ? (JSON.parse(row.trajectory) as Trajectory) : undefined
  }

  /**
   * Saves (replaces) a run's checkpoint, in a transaction that holds a share lock on the activity:
   * refused for an unknown id (`ActivityNotFoundError`), a final activity (`ActivityTransitionError`
   * to its own status) and a checkpoint over `maxRecordBytes` (`CheckpointTooLargeError`), with
   * nothing written.
   */
  async saveCheckpoint(agentId: string, checkpoint: CheckpointInput): Promise<void> {
    this.#assertOpen()
    if (!isStorableId(agentId)) throw new ActivityNotFoundError(String(agentId))
    await this.#ready()
    await this.#commits.submit({ kind: 'checkpoint', agentId, checkpoint })
  }

  /**
   * Records a completed tool call (`INSERT ... ON CONFLICT DO NOTHING` on `(agent_id,
   * tool_call_id)`: the first record of a call wins, also between processes). Refused like
   * `saveCheckpoint`.
   */
  async recordToolCall(
    agentId: string,
    entry: JournalEntryInput,
    options: RecordToolCallOptions = {},
  ): Promise<void> {
    this.#assertOpen()
    if (!isStorableId(agentId)) throw new ActivityNotFoundError(String(agentId))
    await this.#ready()
    await this.#commits.submit({ kind: 'tool-call', agentId, entry, checkpoint: options.checkpoint })
  }

  /**
   * Records a decision on one pending request, atomically: the activity's row is locked
   * (`SELECT ... FOR UPDATE`) and the pending requests read after the lock, so two decisions on
   * different requests of one run, from any processes, both land, and a second decision on one
   * request is refused with `DecisionError`. Decisions do not notify watchers (the activity does
   * not change).
   */
  async decide(agentId: string, requestId: string, decision: DecisionInput): Promise<RunRecord> {
    this.#assertOpen()
    if (!isStorableId(agentId)) throw new ActivityNotFoundError(String(agentId))
    await this.#ready()
    return this.#transaction(async (client) => {
      const locked = await this.#query<{ status: ActivityStatus; now: string }>(
        client,
        `SELECT status, ${isoText(NOW_MS)} AS now FROM ${this.#names.activities}
         WHERE agent_id = $1::text FOR UPDATE`,
        [agentId],
        true,
      )
      const activity = locked.rows[0]
      if (!activity) throw new ActivityNotFoundError(agentId)
      const stamped = validateDecision(decision, activity.now)
      // A statement of its own, after the lock: it sees a decision committed while this one waited.
      const stored = await this.#query<{ pending: string | null }>(
        client,
        `SELECT pending::text AS pending FROM ${this.#names.runs} WHERE agent_id = $1::text`,
        [agentId],
        true,
      )
      const text = stored.rows[0]?.pending
      const pending = text === null || text === undefined ? undefined : (JSON.parse(text) as PendingRequest[])
      const next = applyDecision(agentId, activity.status, pending, String(requestId), stamped)
      await this.#query(
        client,
        `UPDATE ${this.#names.runs} SET pending = $2::jsonb, updated_at = $3::timestamptz WHERE agent_id = $1::text`,
        [agentId, JSON.stringify(next), activity.now],
        true,
      )
      return (await this.#readRun(client, agentId, undefined))!
    })
  }

  /** A run's record, read in one statement (one snapshot), or `undefined` if absent or out of scope. */
  async getRun(agentId: string, options: ScopeOptions = {}): Promise<RunRecord | undefined> {
    this.#assertOpen()
    const filter = validateMetadataFilter(options.metadata)
    if (!isStorableId(agentId)) return undefined
    await this.#ready()
    return this.#readRun(this.#pool, agentId, filter)
  }

  /**
   * Every change from now on, from any process writing to this schema, in commit order, each
   * exactly once. The first watcher opens one `LISTEN` connection (from the pool), shared by all
   * watchers of this store and released when the last one ends; a lost connection is reopened and
   * the changes made meanwhile are delivered then.
   *
   * The watcher starts asynchronously; any call made on this store after `watch()` returns waits
   * until it has started, so a change this process makes after `watch()` is always delivered. Each
   * event's `activity` is the summary right after its change.
   */
  watch(filter: WatchFilter, signal: AbortSignal): AsyncIterable<ActivityEvent> {
    this.#assertOpen()
    const valid = validateWatchFilter(filter)
    if ((this.#pool as { options?: { max?: unknown } }).options?.max === 1) {
      throw new RunnerError(
        `PostgresActivityStore.watch needs a pool of at least 2 connections: it holds one for LISTEN while any watcher is open, and every other call needs another. This store's pool has max: 1.`,
      )
    }
    const subscription = new WatchSubscription(valid)
    if (signal.aborted) {
      subscription.end()
      return subscription
    }
    const onAbort = () => subscription.end()
    signal.addEventListener('abort', onAbort, { once: true })
    subscription.onEnd = () => {
      signal.removeEventListener('abort', onAbort)
      this.#listener.remove(subscription)
    }
    const started = this.#listener.add(subscription)
    this.#watchStarts.add(started)
    void started.finally(() => this.#watchStarts.delete(started))
    return subscription
  }

  /**
   * Ends every `watch` iteration, releases the `LISTEN` connection and, when the store created its
   * pool from `connectionString`, ends that pool (a pool passed in stays open). Later calls throw.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // Writes already submitted go out (or fail) before the pool ends.
      await this.#commits.idle()
      await this.#listener.close()
      if (this.#ownsPool) await this.#pool.end()
    })()
    return this.#closing
  }

  #assertOpen(): void {
    if (this.#closing) throw this.#closedError()
  }

  #closedError(cause?: unknown): RunnerError {
    return new RunnerError(
      `This PostgresActivityStore (schema "${this.#names.schema}") is closed; create a new PostgresActivityStore to use the database again.`,
      cause === undefined ? {} : { cause },
    )
  }

  /** Waits for watchers being started, then for the schema. */
  async #ready(): Promise<void> {
    if (this.#watchStarts.size > 0) await Promise.all(this.#watchStarts)
    await this.#prepare()
  }

  /** Creates or checks the schema, once per store (again after a failure, such as no database yet). */
  #prepare(): Promise<void> {
    this.#prepared ??= prepareSchema(this.#pool, this.#names, this.#options.migrate).catch(
      (error: unknown) => {
        this.#prepared = undefined
        if (RunnerError.isInstance(error)) throw error
        throw new RunnerError(
          `Cannot open the PostgreSQL activity store (schema "${this.#names.schema}"): ${messageOf(error)}. ${preparationAdvice(error)}`,
          { cause: error },
        )
      },
    )
    return this.#prepared
  }

  /** Runs `work` in one transaction on one connection; rolls back on any error. */
  async #transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#whileOpen(this.#pool.connect())
    // A connection that fails between two queries emits 'error' on the client: never unhandled.
    const swallow = () => {}
    client.on('error', swallow)
    let broken: Error | undefined
    try {
      await client.query('BEGIN')
      const result = await work(client)
      await client.query('COMMIT')
      return result
    } catch (error) {
      broken = await rollback(client)
      throw error
    } finally {
      client.off('error', swallow)
      client.release(broken)
    }
  }

  /** The record of a run, in one statement; `undefined` when the activity is absent or out of scope. */
  async #readRun(
    on: Pool | PoolClient,
    agentId: string,
    filter: MetadataFilter | undefined,
  ): Promise<RunRecord | undefined> {
    const parameters: unknown[] = [agentId]
    const scope = metadataSql('a', filter, parameters)
    // Journal entries are JSON texts without a raw line break (JSON.stringify escapes them): one
    // text, split on line breaks.
    const result = await this.#query<{
      status: ActivityStatus
      checkpoint: string | null
      pending: string | null
      expires_at: string | null
      result: string | null
      journal: string | null
    }>(
      on,
      `SELECT a.status, r.checkpoint, r.pending::text AS pending, r.expires_at, r.result,
              (SELECT string_agg(j.entry, E'\\n' ORDER BY j.seq) FROM ${this.#names.journal} j
               WHERE j.agent_id = a.agent_id) AS journal
       FROM ${this.#names.activities} a LEFT JOIN ${this.#names.runs} r ON r.agent_id = a.agent_id
       WHERE a.agent_id = $1::text${scope ? ` AND ${scope}` : ''}`,
      parameters,
      true,
    )
    const row = result.rows[0]
    if (!row) return undefined
    const record: RunRecord = {
      agentId,
      status: row.status,
      journal: row.journal === null ? [] : row.journal.split('\n').map(decodeJournalEntry),
    }
    if (row.checkpoint !== null) record.checkpoint = decodeCheckpoint(row.checkpoint)
    if (row.pending !== null) record.pending = JSON.parse(row.pending) as PendingRequest[]
    if (row.expires_at !== null) record.expiresAt = row.expires_at
    if (row.result !== null) record.result = { value: JSON.parse(row.result) as JsonValue }
    return record
  }

  /**
   * Writes one batch in one transaction (see `writeBatch`). A batch is written again, whole, when
   * a create lost its id to another process after the lock read, or when PostgreSQL broke a
   * deadlock by failing it (only possible with writers outside this store's batches).
   */
  async #writeBatch(batch: readonly WriteItem[]): Promise<readonly BatchOutcome<WriteResult>[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#batchTransaction(batch)
      } catch (error) {
        const retry =
          error instanceof BatchConflict || (error as { code?: unknown } | null)?.code === DEADLOCK_DETECTED
        if (!retry || attempt >= MAX_BATCH_ATTEMPTS) throw error
      }
    }
  }

  /**
   * One batch's transaction. `BEGIN` is queued with the lock read and `COMMIT` with the write
   * statement (pg sends each as soon as the one before is answered, without waiting for this
   * process's event loop): the log lock is held for the write and the commit only.
   */
  async #batchTransaction(batch: readonly WriteItem[]): Promise<readonly BatchOutcome<WriteResult>[]> {
    const client = await this.#whileOpen(this.#pool.connect())
    const swallow = () => {}
    client.on('error', swallow)
    let broken: Error | undefined
    try {
      const begin = this.#query(client, 'BEGIN', [])
      begin.catch(swallow)
      const outcomes = await writeBatch(
        (text, values, prepared) => this.#query(client, text, values, prepared),
        this.#names,
        this.#options.maxRecordBytes,
        batch,
      )
      await begin
      return outcomes
    } catch (error) {
      // After a failed write the queued COMMIT already ended the transaction (as a rollback): this
      // one only finds out whether the connection is still usable.
      broken = await rollback(client)
      throw error
    } finally {
      client.off('error', swallow)
      client.release(broken)
    }
  }

  /**
   * Runs one statement. `prepared` statements (fixed text) are named, so each connection parses
   * and plans them once.
   */
  #query<R extends QueryResultRow = QueryResultRow>(
    on: Pool | PoolClient,
    text: string,
    values: unknown[],
    prepared = false,
  ) {
    const config: QueryConfig = { text, values }
    if (prepared) config.name = statementName(text)
    return this.#whileOpen(on.query<R>(config))
  }

  /** A call that raced `close()` fails with the "closed" error rather than the pool's own. */
  async #whileOpen<T>(promise: Promise<T>): Promise<T> {
    try {
      return await promise
    } catch (error) {
      if (this.#closing && this.#ownsPool && !RunnerError.isInstance(error)) throw this.#closedError(error)
      throw error
    }
  }
}

/** The most writes in one batch (one transaction). */
const MAX_BATCH = 1000
/** Attempts of a batch that met a conflict or a deadlock, before its writes fail. */
const MAX_BATCH_ATTEMPTS = 5
const DEADLOCK_DETECTED = '40P01'

/** The metadata scope as `@>` containment (type-exact for primitives), or undefined for none. */
function metadataSql(
  alias: string,
  filter: MetadataFilter | undefined,
  parameters: unknown[],
): string | undefined {
  if (!filter || Object.keys(filter).length === 0) return undefined
  parameters.push(JSON.stringify(filter))
  return `${alias}.metadata @> $${parameters.length}::jsonb`
}

/** What to do about an error met while preparing the schema, by its PostgreSQL error code. */
function preparationAdvice(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  if (code === '42501') {
    return 'The role lacks a privilege the migration needs: grant it CREATE on the database (or on an existing schema it owns), or create the schema once with a privileged role and pass migrate: false here.'
  }
  if (code === '28P01' || code === '28000') return 'Check the user name and password.'
  if (code === '3D000')
    return 'The database does not exist: create it, or fix the database name in the connection settings.'
  return 'Check that PostgreSQL is reachable and the connection settings (connectionString or pool) are right.'
}

/** An id that can exist in the table: anything else matches nothing. */
function isStorableId(agentId: unknown): agentId is string {
  return isStorableText(agentId)
}

const statementNames = new Map<string, string>()

function statementName(text: string): string {
  let name = statementNames.get(text)
  if (name === undefined) {
    name = `runner_activity_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`
    if (statementNames.size > 1000) statementNames.clear()
    statementNames.set(text, name)
  }
  return name
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
