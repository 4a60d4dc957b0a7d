import { RunnerError } from '@runner/core'
import type { JobOutcome } from '@runner/core/engine'
import { type ConnectionOptions, QueueEvents } from 'bullmq'
import type { Redis } from 'ioredis'
import { parseOutcome } from './job-data.js'

/** What is known about a job's outcome. */
export type OutcomeRead =
  | { kind: 'done'; outcome: JobOutcome }
  | { kind: 'pending' }
  /** No job and no stored outcome: never submitted, or removed from Redis. */
  | { kind: 'unknown' }

/** Options of `OutcomeWatcher`. */
export interface OutcomeWatcherOptions {
  queueName: string
  prefix: string
  connection: ConnectionOptions
  /** The engine's own connection, to find where the event stream stands. */
  redis: Redis
  /** BullMQ's event stream key of the queue. */
  eventsKey: string
  /** Reads the outcome of a task's current job from Redis. */
  read(agentId: string): Promise<OutcomeRead>
  /** The agentId of a BullMQ job id (a task that waited for decisions has one job per submission). */
  agentIdOf(jobId: string): string
  onError(error: Error): void
  /**
   * How often pending waiters re-read their job, in ms: a safety net for an event that never
   * arrives (a job removed by hand, the event stream trimmed). Events do the real work.
   */
  recheckIntervalMs?: number
}

/** Most jobs `expect` keeps track of. */
const maxExpected = 100_000

interface Waiter {
  resolve(outcome: JobOutcome | undefined): void
  reject(error: unknown): void
}

/**
 * Waits for tasks' outcomes from any process: BullMQ's `QueueEvents` (one blocking connection,
 * opened on the first wait) pushes `completed`, `failed` and `removed`, upon which the task's
 * current job is read; each waiter reads its job after subscribing, so an outcome that came first is not missed. The event stream is read from
 * the position it had when the watcher started, so no event between that moment and the first
 * blocking read is lost.
 */
export class OutcomeWatcher {
  readonly #options: OutcomeWatcherOptions
  readonly #waiters = new Map<string, Set<Waiter>>()
  /** Jobs submitted here while listening whose end no event has told yet (see `expect`). */
  readonly #expected = new Set<string>()
  #events: QueueEvents | undefined
  #started: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined
  #closed: Error | undefined

  constructor(options: OutcomeWatcherOptions) {
    this.#options = options
  }

  /** Resolves with the outcome once the job has ended, `undefined` if Redis knows nothing of it. */
  async wait(agentId: string, signal: AbortSignal): Promise<JobOutcome | undefined> {
    if (signal.aborted) throw signal.reason
    if (this.#closed) throw this.#closed
    await this.#start()
    return new Promise<JobOutcome | undefined>((resolve, reject) => {
      const onAbort = () => {
        this.#remove(agentId, waiter)
        reject(signal.reason)
      }
      const waiter: Waiter = {
        resolve: (outcome) => {
          signal.removeEventListener('abort', onAbort)
          resolve(outcome)
        },
        reject: (error) => {
          signal.removeEventListener('abort', onAbort)
          reject(error)
        },
      }
      if (signal.aborted) return reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
      let waiters = this.#waiters.get(agentId)
      if (!waiters) {
        waiters = new Set()
        this.#waiters.set(agentId, waiters)
      }
      waiters.add(waiter)
      this.#scheduleRecheck()
      // A job submitted here after the watcher started, whose end no event has told yet: its end
      // is still to come through the event stream, so there is nothing to read.
      if (this.#expected.has(agentId)) return
      // Subscribed first: whatever happens from now on is either read here or pushed by an event.
      this.#check(agentId, { settleUnknown: true, failOnError: true })
    })
  }

  /**
   * Starts listening (once) before the engine submits jobs, so that every event of the jobs it
   * submits from then on reaches this watcher: `expect` them. Resolves `false` if it cannot start
   * (the jobs are then read when waited for, as any other).
   */
  async listen(): Promise<boolean> {
    if (this.#closed) return false
    try {
      await this.#start()
      return true
    } catch {
      return false
    }
  }

  /**
   * Notes jobs this process is about to submit, once `listen` resolved `true` (noted before the
   * add: an event may tell their end before the add returns): their end comes as an event, so a
   * wait for one that has not ended reads nothing. At most `maxExpected` are noted (the oldest
   * forgotten first: those are read when waited for).
   */
  expect(agentIds: readonly string[]): void {
    for (const agentId of agentIds) {
      this.#expected.delete(agentId)
      this.#expected.add(agentId)
    }
    while (this.#expected.size > maxExpected) {
      this.#expected.delete(this.#expected.values().next().value as string)
    }
  }

  /** Forgets jobs noted by `expect` that were not submitted after all. */
  forget(agentIds: readonly string[]): void {
    for (const agentId of agentIds) this.#expected.delete(agentId)
  }

  /** Rejects every pending waiter with `error` and stops listening. */
  async close(error: Error): Promise<void> {
    this.#closed ??= error
    clearTimeout(this.#timer)
    for (const waiters of this.#waiters.values()) for (const waiter of waiters) waiter.reject(error)
    this.#waiters.clear()
    await this.#started?.catch(() => {})
    await this.#events?.close().catch((failure: unknown) => this.#options.onError(asError(failure)))
  }

  #start(): Promise<void> {
    this.#started ??= (async () => {
      const options = this.#options
      const last = await options.redis.xrevrange(options.eventsKey, '+', '-', 'COUNT', 1)
      const events = new QueueEvents(options.queueName, {
        connection: options.connection,
        prefix: options.prefix,
        lastEventId: last[0]?.[0] ?? '0-0',
      })
      this.#events = events
      events.on('error', (error) => options.onError(asError(error)))
      // Each event only says that one of a task's jobs moved: the task's current job is read again
      // (an event of an earlier submission of a task that waited for decisions must not settle it).
      // A job canceled while queued is removed once its outcome is stored (see cancel); a job
      // removed by anyone else is settled `undefined` by the next recheck.
      const moved = ({ jobId }: { jobId: string }) => {
        const agentId = options.agentIdOf(jobId)
        this.#expected.delete(agentId)
        if (this.#waiters.has(agentId)) this.#check(agentId, { settleUnknown: false, failOnError: false })
      }
      // A completed job's event carries its return value: a final outcome (complete, error,
      // canceled) settles the task from the event, with no read. Any job of a task may bring it:
      // a task is resumed only while it waits, so a final outcome is the task's last. A `waiting`
      // outcome (or anything else) is read again as above.
      const completed = ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }) => {
        const agentId = options.agentIdOf(jobId)
        this.#expected.delete(agentId)
        if (!this.#waiters.has(agentId)) return
        const outcome = parseOutcome(returnvalue)
        if (outcome && outcome.status !== 'waiting') this.#settle(agentId, outcome)
        else this.#check(agentId, { settleUnknown: false, failOnError: false })
      }
      events.on('completed', completed)
      events.on('failed', moved)
      events.on('removed', moved)
      await events.waitUntilReady()
    })()
    this.#started.catch(() => {
      this.#started = undefined
    })
    return this.#started
  }

  /**
   * Reads the job and settles its waiters if it has ended (or, with `settleUnknown`, if Redis does
   * not know it). A failed read rejects the waiters with `failOnError` (the first read: the caller
   * learns that Redis is unreachable), and is only reported otherwise (the next recheck retries).
   */
  #check(
    agentId: string,
    { settleUnknown, failOnError }: { settleUnknown: boolean; failOnError: boolean },
  ): void {
    this.#options.read(agentId).then(
      (read) => {
        if (read.kind === 'done') this.#settle(agentId, read.outcome)
        else if (read.kind === 'unknown' && settleUnknown) this.#settle(agentId, undefined)
      },
      (error: unknown) => {
        if (!failOnError) return this.#options.onError(asError(error))
        const waiters = this.#waiters.get(agentId)
        this.#waiters.delete(agentId)
        for (const waiter of waiters ?? []) waiter.reject(error)
      },
    )
  }

  #settle(agentId: string, outcome: JobOutcome | undefined): void {
    const waiters = this.#waiters.get(agentId)
    this.#waiters.delete(agentId)
    for (const waiter of waiters ?? []) waiter.resolve(outcome)
  }

  #remove(agentId: string, waiter: Waiter): void {
    const waiters = this.#waiters.get(agentId)
    waiters?.delete(waiter)
    if (waiters?.size === 0) this.#waiters.delete(agentId)
  }

  #scheduleRecheck(): void {
    if (this.#timer !== undefined || this.#closed) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      for (const agentId of this.#waiters.keys()) {
        this.#check(agentId, { settleUnknown: true, failOnError: false })
      }
      if (this.#waiters.size > 0) this.#scheduleRecheck()
    }, this.#options.recheckIntervalMs ?? 5000)
    this.#timer.unref()
  }
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new RunnerError(String(value), { cause: value })
}
