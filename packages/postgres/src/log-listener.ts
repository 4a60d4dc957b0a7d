import { RunnerError } from '@runner/core'
import type { Notification, Pool, PoolClient, QueryConfig } from 'pg'
import { eventOfLogRow, LOG_EVENT_COLUMNS, type LogEventRow } from './rows.js'
import { quoteIdentifier, type SchemaNames } from './sql.js'
import type { LogItem, WatchSubscription } from './watch-subscription.js'

/** Log rows read per delivery query. */
const DELIVERY_BATCH = 500
/** First and longest wait before reconnecting the `LISTEN` connection. */
const RECONNECT_MIN_MS = 100
const RECONNECT_MAX_MS = 5000
/** How often the idle `LISTEN` connection is checked (and the log read, as a safety net). */
const HEARTBEAT_MS = 30_000
/** A check that gets no answer within this long means the connection is dead. */
const HEARTBEAT_TIMEOUT_MS = 10_000
/** Wait before reading again when a notification names a row the read did not see yet. */
const NOT_VISIBLE_RETRY_MS = 100
/** Above this many distinct watcher filters, delivery reads every row and filters in memory. */
const MAX_SQL_FILTERS = 50

export interface LogListenerOptions {
  pool: Pool
  names: SchemaNames
  /** Resolves once the schema exists (the store's lazy preparation). */
  prepare: () => Promise<void>
  onError: (error: Error) => void
}

/**
 * The `LISTEN` side of one store: one dedicated connection shared by all its watchers, opened by
 * the first watcher and released when the last one ends.
 *
 * Writers number log rows in commit order (they take a per-schema advisory lock before inserting
 * the row, held until commit), so "every row with an id above the last one delivered" is exactly
 * the set of changes not yet delivered: a notification only says "read again", and after a lost
 * connection the same read catches up. Nothing is skipped and nothing is delivered twice.
 */
export class LogListener {
  readonly #pool: Pool
  readonly #names: SchemaNames
  readonly #prepare: () => Promise<void>
  readonly #onError: (error: Error) => void
  readonly #subscriptions = new Set<WatchSubscription>()
  /** The connected, listening client, if any. */
  #client: PoolClient | undefined
  #connecting: Promise<boolean> | undefined
  /** Highest log id delivered (or skipped as before every watcher); kept across reconnects. */
  #lastId: number | undefined
  /** Highest log id named by a notification. */
  #notifiedId = 0
  #draining = false
  #drainRequested = false
  #backoffMs = RECONNECT_MIN_MS
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined
  #retryTimer: ReturnType<typeof setTimeout> | undefined
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined
  readonly #released = new WeakSet<PoolClient>()
  #closed = false

  constructor(options: LogListenerOptions) {
    this.#pool = options.pool
    this.#names = options.names
    this.#prepare = options.prepare
    this.#onError = options.onError
  }

  /** Number of open watchers. */
  get size(): number {
    return this.#subscriptions.size
  }

  /**
   * Registers a watcher and starts it: connects and listens if needed, then reads the last log id
   * committed so far (the watcher delivers only rows after it). Resolves after the first attempt,
   * whatever its outcome: on failure the watcher starts when a reconnection succeeds. Never rejects.
   */
  async add(subscription: WatchSubscription): Promise<void> {
    if (this.#closed) {
      subscription.end()
      return
    }
    this.#subscriptions.add(subscription)
    if (this.#client) {
      await this.#startPending(this.#client)
      return
    }
    await this.#ensureConnected()
  }

  /** Forgets a watcher that ended; releases the connection when none is left. */
  remove(subscription: WatchSubscription): void {
    this.#subscriptions.delete(subscription)
    if (this.#subscriptions.size === 0) this.#idle()
  }

  /** Ends every watcher and releases the connection. */
  async close(): Promise<void> {
    this.#closed = true
    for (const subscription of [...this.#subscriptions]) subscription.end()
    this.#subscriptions.clear()
    this.#idle()
    await this.#connecting
  }

  #ensureConnected(): Promise<boolean> {
    if (this.#client) return Promise.resolve(true)
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined
    })
    return this.#connecting
  }

  async #connect(): Promise<boolean> {
    let client: PoolClient | undefined
    try {
      await this.#prepare()
      if (this.#closed || this.#subscriptions.size === 0) return false
      client = await this.#pool.connect()
      const connected = client
      connected.on('error', (error: Error) => this.#lost(connected, error))
      connected.on('end', () => this.#lost(connected, new Error('the connection ended')))
      connected.on('notification', (message: Notification) => this.#notified(connected, message))
      await connected.query(`LISTEN ${quoteIdentifier(this.#names.channel)}`)
    } catch (error) {
      if (client) this.#destroy(client, asError(error))
      if (!this.#closed && this.#subscriptions.size > 0) {
        this.#onError(
          new RunnerError(
            `PostgresActivityStore (schema "${this.#names.schema}") cannot open its LISTEN connection for watch: ${messageOf(error)}. Retrying in ${this.#backoffMs} ms.`,
            { cause: error },
          ),
        )
        this.#scheduleReconnect()
      }
      return false
    }
    if (this.#closed || this.#subscriptions.size === 0) {
      this.#destroy(client)
      return false
    }
    this.#client = client
    this.#heartbeatTimer = setInterval(() => void this.#heartbeat(client), HEARTBEAT_MS)
    this.#heartbeatTimer.unref()
    if (!(await this.#startPending(client))) return false
    // Catch up: rows committed while there was no connection (a reconnect) are read now.
    this.#requestDrain()
    return true
  }

  /**
   * Gives every pending watcher its starting point: the highest log id now committed. Run on the
   * listening connection, after `LISTEN`, so a row committed later is always notified. Returns
   * false if the connection was lost (the watchers then start after the reconnection).
   */
  async #startPending(client: PoolClient): Promise<boolean> {
    const pending = [...this.#subscriptions].filter((subscription) => subscription.pending)
    let maxId: number
    try {
      const result = await client.query<{ id: string }>(
        `SELECT coalesce(max(id), 0)::text AS id FROM ${this.#names.log}`,
      )
      maxId = Number(result.rows[0]!.id)
    } catch (error) {
      this.#lost(client, asError(error))
      return false
    }
    if (client !== this.#client) return false
    if (this.#lastId !== undefined && maxId < this.#lastId) {
      // The log lost rows this store had delivered: a failover to a replica that missed the last
      // commits, or a restore. New rows may reuse those ids; go on from what the database has.
      this.#onError(
        new RunnerError(
          `PostgresActivityStore (schema "${this.#names.schema}"): the activity log now ends at id ${maxId}, before id ${this.#lastId} already delivered to watchers (a failover that lost commits, or a restore). Watchers go on from id ${maxId}; changes delivered before may be missing from the database.`,
        ),
      )
      this.#lastId = maxId
      for (const subscription of this.#subscriptions) subscription.rewind(maxId)
    }
    this.#lastId ??= maxId
    for (const subscription of pending) subscription.start(maxId)
    return true
  }

  #notified(client: PoolClient, message: Notification): void {
    if (client !== this.#client || message.channel !== this.#names.channel) return
    const id = notifiedLogId(message.payload)
    if (id !== undefined) {
      if (this.#lastId !== undefined && id <= this.#lastId) return
      if (id > this.#notifiedId) this.#notifiedId = id
    }
    this.#requestDrain()
  }

  #requestDrain(): void {
    this.#drainRequested = true
    if (!this.#draining) {
      this.#drain().catch((error: unknown) => {
        // Not a query failure (those drop the connection and catch up after reconnecting): a row
        // that cannot be turned into an event. Report it; the next notification reads again.
        this.#onError(asError(error))
      })
    }
  }

  /**
   * Reads and publishes new log rows until no request is left; one read at a time. A request made
   * while a read on an older connection was failing is served on the current one.
   */
  async #drain(): Promise<void> {
    this.#draining = true
    try {
      while (this.#drainRequested) {
        this.#drainRequested = false
        const client = this.#client
        // Without a started connection the request waits: (re)connecting requests a read itself.
        if (!client || this.#lastId === undefined || this.#subscriptions.size === 0) continue
        await this.#deliver(client)
      }
    } finally {
      this.#draining = false
    }
    // A notification named a row this read did not see yet (not visible to it): read once more.
    if (this.#client && this.#lastId !== undefined && this.#notifiedId > this.#lastId) {
      this.#notifiedId = this.#lastId
      clearTimeout(this.#retryTimer)
      this.#retryTimer = setTimeout(() => this.#requestDrain(), NOT_VISIBLE_RETRY_MS)
    }
  }

  /**
   * Publishes every committed log row after `#lastId`, in id order, then moves `#lastId` to the
   * highest id committed when the read ran (rows no watcher wants are skipped in SQL). Returns
   * false if the connection was lost: the rows stay after `#lastId` for the reconnection.
   */
  async #deliver(client: PoolClient): Promise<boolean> {
    while (true) {
      const parameters: unknown[] = [this.#lastId, DELIVERY_BATCH]
      const filter = this.#filterSql(parameters)
      let rows: Array<LogEventRow & { upper: string }>
      try {
        const result = await client.query<LogEventRow & { upper: string }>(
          `WITH upper AS (SELECT coalesce(max(id), 0) AS id FROM ${this.#names.log})
           SELECT upper.id::text AS upper, r.* FROM upper LEFT JOIN LATERAL (
             SELECT ${LOG_EVENT_COLUMNS}
             FROM ${this.#names.log} l JOIN ${this.#names.activities} a ON a.agent_id = l.agent_id
             WHERE l.id > $1 AND l.id <= upper.id${filter ? ` AND (${filter})` : ''}
             ORDER BY l.id LIMIT $2
           ) r ON true
           ORDER BY r.id::bigint`,
          parameters,
        )
        rows = result.rows
      } catch (error) {
        this.#lost(client, asError(error))
        return false
      }
      if (client !== this.#client) return false
      this.#backoffMs = RECONNECT_MIN_MS
      const found = rows.filter((row) => row.id !== null)
      for (const row of found) {
        const item: LogItem = { id: Number(row.id), event: eventOfLogRow(row) }
        for (const subscription of this.#subscriptions) subscription.push(item)
      }
      if (found.length === DELIVERY_BATCH) {
        this.#lastId = Number(found.at(-1)!.id)
        continue
      }
      this.#lastId = Math.max(this.#lastId ?? 0, Number(rows[0]?.upper ?? 0))
      return true
    }
  }

  /**
   * The union of the watchers' filters as SQL (values bound, never interpolated), or undefined
   * when some watcher wants everything. Each watcher still applies its own filter to what is read.
   */
  #filterSql(parameters: unknown[]): string | undefined {
    const terms = new Map<string, string>()
    for (const { filter } of this.#subscriptions) {
      const metadata =
        filter.metadata && Object.keys(filter.metadata).length > 0
          ? JSON.stringify(filter.metadata)
          : undefined
      if (filter.agentId === undefined && metadata === undefined) return undefined
      const key = JSON.stringify([filter.agentId, metadata])
      if (terms.has(key)) continue
      if (terms.size >= MAX_SQL_FILTERS) return undefined
      const parts: string[] = []
      if (filter.agentId !== undefined) {
        parameters.push(filter.agentId)
        parts.push(`l.agent_id = $${parameters.length}::text`)
      }
      if (metadata !== undefined) {
        parameters.push(metadata)
        parts.push(`a.metadata @> $${parameters.length}::jsonb`)
      }
      terms.set(key, `(${parts.join(' AND ')})`)
    }
    return terms.size === 0 ? undefined : [...terms.values()].join(' OR ')
  }

  /** Checks an idle connection (a silently dropped one is found here) and reads anything missed. */
  async #heartbeat(client: PoolClient): Promise<void> {
    if (client !== this.#client) return
    try {
      // pg supports query_timeout per query; its typings only list it on the client config.
      const check: QueryConfig & { query_timeout: number } = {
        text: 'SELECT 1',
        query_timeout: HEARTBEAT_TIMEOUT_MS,
      }
      await client.query(check)
    } catch (error) {
      this.#lost(client, asError(error))
      return
    }
    this.#requestDrain()
  }

  /** The connection failed: drop it, and reconnect while watchers are left. */
  #lost(client: PoolClient, error: Error): void {
    if (client === this.#client) {
      this.#client = undefined
      this.#stopTimers()
      this.#destroy(client, error)
      if (!this.#closed && this.#subscriptions.size > 0) {
        this.#onError(
          new RunnerError(
            `PostgresActivityStore (schema "${this.#names.schema}") lost its LISTEN connection: ${error.message}. Reconnecting; changes made meanwhile are delivered after it.`,
            { cause: error },
          ),
        )
        this.#scheduleReconnect()
      }
      return
    }
    this.#destroy(client, error)
  }

  #scheduleReconnect(): void {
    if (this.#reconnectTimer !== undefined || this.#closed || this.#subscriptions.size === 0) return
    const delay = this.#backoffMs
    this.#backoffMs = Math.min(this.#backoffMs * 2, RECONNECT_MAX_MS)
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined
      if (!this.#closed && this.#subscriptions.size > 0) void this.#ensureConnected()
    }, delay)
  }

  /** No watcher left (or closing): release the connection and forget the position. */
  #idle(): void {
    this.#stopTimers()
    clearTimeout(this.#reconnectTimer)
    this.#reconnectTimer = undefined
    this.#lastId = undefined
    this.#notifiedId = 0
    this.#backoffMs = RECONNECT_MIN_MS
    const client = this.#client
    this.#client = undefined
    if (client) this.#destroy(client)
  }

  #stopTimers(): void {
    clearInterval(this.#heartbeatTimer)
    this.#heartbeatTimer = undefined
    clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
  }

  /** Closes a listening connection instead of returning it to the pool (it holds a LISTEN). */
  #destroy(client: PoolClient, error?: Error): void {
    if (this.#released.has(client)) return
    this.#released.add(client)
    try {
      client.release(error ?? true)
    } catch {
      // Already released by pg after a fatal error.
    }
  }
}

/** The log id in a notification payload (`{"agentId": "...", "id": 42}`), if it has one. */
function notifiedLogId(payload: string | undefined): number | undefined {
  if (!payload) return undefined
  try {
    const id = (JSON.parse(payload) as { id?: unknown }).id
    return typeof id === 'number' && Number.isSafeInteger(id) ? id : undefined
  } catch {
    return undefined
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
