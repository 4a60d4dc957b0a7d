import { createHash, randomUUID } from 'node:crypto'
import { MAX_CONCURRENCY_KEY_LENGTH, MAX_CONCURRENCY_LIMIT } from '../activity/job-queue-helpers.js'
import type { DurableJobQueue, JsonValue, QueuedJob } from '../activity/types.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { RunnerError } from '../errors/runner-error.js'
import { crashedOutcome, OutcomeBook, type RunningJob, stopRunning } from './engine-parts.js'
import type { EngineCloseOptions, JobOutcome, PoolEngine, PoolEngineContext, PoolJob } from './types.js'

/** Settings of the durable mode of `localEngine`. */
export interface DurableLocalSettings {
  keepResults: number
  leaseMs: number
  pollMs: number
}

/**
 * `localEngine` on a store with a `jobQueue` (SQLite, PostgreSQL): jobs wait in the store, not in
 * memory, so that tasks enqueued before a restart run after it, and a process that stops mid-task
 * leaves a lease that expires: the job is claimed again (here after a restart, or by another
 * process on the same store) and counts as redelivered, so that a durable runner resumes it from
 * its checkpoint. Claims are leases renewed every third of `leaseMs` while a job runs; two
 * processes never hold one job at once. This process is woken at once by its own submissions and
 * its finished jobs, by a timer for delayed ones, and every `pollMs` for jobs submitted or
 * orphaned elsewhere.
 */
export class DurableLocalEngine implements PoolEngine {
  readonly name = 'local'
  readonly #settings: DurableLocalSettings
  readonly #owner = `local-${randomUUID()}`
  #context: PoolEngineContext | undefined
  #queue: DurableJobQueue | undefined
  readonly #running = new Map<string, RunningJob>()
  readonly #book: OutcomeBook
  #pumping: Promise<void> | undefined
  #pumpAgain = false
  #poll: NodeJS.Timeout | undefined
  #heartbeat: NodeJS.Timeout | undefined
  #readyTimer: NodeJS.Timeout | undefined
  #closing: Promise<void> | undefined
  /** A claim or renewal that failed (the store is down): logged once per failure streak. */
  #storeErrors = 0

  constructor(settings: DurableLocalSettings, queue: DurableJobQueue) {
    this.#settings = settings
    this.#queue = queue
    this.#book = new OutcomeBook(settings.keepResults)
  }

  start(context: PoolEngineContext): void {
    this.#context = context
    this.#poll = setInterval(() => this.#schedulePump(), this.#settings.pollMs)
    this.#poll.unref()
    this.#heartbeat = setInterval(
      () => void this.#renew(),
      Math.max(1, Math.floor(this.#settings.leaseMs / 3)),
    )
    this.#heartbeat.unref()
    // Jobs queued before a restart, and orphans whose lease expired, start now.
    this.#schedulePump()
  }

  async submit(job: PoolJob): Promise<void> {
    const queue = this.#accepting()
    await queue.push(queuedJob(job, Date.now()))
    this.#schedulePump()
  }

  /**
   * All jobs or none: in one transaction where the store's queue has `pushMany`; otherwise one
   * `push` each, and those pushed are removed again when one is refused.
   */
  async submitMany(jobs: PoolJob[]): Promise<void> {
    const queue = this.#accepting()
    const now = Date.now()
    const queued = jobs.map((job) => queuedJob(job, now))
    if (queue.pushMany) {
      await queue.pushMany(queued)
    } else {
      const pushed = await Promise.allSettled(queued.map((job) => queue.push(job)))
      const failed = pushed.find((result) => result.status === 'rejected')
      if (failed) {
        await Promise.all(
          queued.map((job, index) =>
            pushed[index]?.status === 'fulfilled' ? queue.remove(job.agentId).catch(() => false) : false,
          ),
        )
        throw failed.reason
      }
    }
    this.#schedulePump()
  }

  #accepting(): DurableJobQueue {
    const queue = this.#queue
    if (!queue) throw new RunnerError('This localEngine() was not started: pass it to createPool().')
    if (this.#closing)
      throw new RunnerError('This localEngine() is closed and accepts no more jobs. Create a new pool.')
    return queue
  }

  async cancel(agentId: string): Promise<boolean> {
    const running = this.#running.get(agentId)
    if (running) {
      if (running.controller.signal.aborted) {
        await running.done
        return false
      }
      running.controller.abort(new RunCanceledError('The task was canceled with pool.cancel().'))
      return (await running.done).status === 'canceled'
    }
    const context = this.#context as PoolEngineContext
    // Queued, or held by another process: taken out of the store's queue and its activity
    // canceled (a process running it stops at its next write, which finds the activity final).
    if (!(await (this.#queue as DurableJobQueue).remove(agentId))) return false
    const activity = await context.activity.store.get(agentId)
    if (!activity) return false
    const job: PoolJob = {
      agentId,
      task: activity.agentType,
      priority: 0,
      delayMs: 0,
      attempt: 1,
      enqueuedAt: activity.createdAt,
    }
    const outcome = await context.cancelJob(job, {
      reason:
        activity.status === 'queued'
          ? 'The task was canceled with pool.cancel() before it started.'
          : 'The task was canceled with pool.cancel().',
    })
    this.#finish(outcome)
    return outcome.status === 'canceled'
  }

  result(agentId: string, signal: AbortSignal): Promise<JobOutcome | undefined> {
    const outcome = this.#book.get(agentId)
    if (outcome) return Promise.resolve(outcome)
    // Only a job running here can be waited for here; the pool reads the others from the store.
    if (!this.#running.has(agentId)) return Promise.resolve(undefined)
    return this.#book.wait(agentId, signal)
  }

  close(options: EngineCloseOptions): Promise<void> {
    this.#closing ??= this.#close(options.timeoutMs)
    return this.#closing
  }

  async #close(timeoutMs: number): Promise<void> {
    clearInterval(this.#poll)
    clearTimeout(this.#readyTimer)
    await this.#pumping
    // Queued jobs stay in the store: the next process on it runs them.
    await stopRunning(this.#running, timeoutMs)
    clearInterval(this.#heartbeat)
  }

  #schedulePump(): void {
    if (this.#closing) return
    if (this.#pumping) {
      this.#pumpAgain = true
      return
    }
    this.#pumping = this.#pump().finally(() => {
      this.#pumping = undefined
      if (this.#pumpAgain) {
        this.#pumpAgain = false
        this.#schedulePump()
      }
    })
  }

  async #pump(): Promise<void> {
    const context = this.#context as PoolEngineContext
    const queue = this.#queue as DurableJobQueue
    try {
      while (!this.#closing && this.#running.size < context.concurrency) {
        const claimed = await queue.claim(
          this.#owner,
          context.concurrency - this.#running.size,
          this.#settings.leaseMs,
        )
        this.#storeErrors = 0
        if (claimed.length === 0) break
        for (const entry of claimed) this.#start(context, entry.job as unknown as PoolJob, entry.redelivered)
      }
      await this.#armReadyTimer(queue)
    } catch (error) {
      // The store is down: the poll tries again. Jobs stay where they are.
      if (this.#storeErrors++ === 0)
        process.emitWarning(`localEngine: claiming jobs failed: ${String(error)}`)
    }
  }

  /** Wakes the engine when the earliest delayed job becomes ready. */
  async #armReadyTimer(queue: DurableJobQueue): Promise<void> {
    clearTimeout(this.#readyTimer)
    const next = await queue.nextReadyAt()
    if (next === undefined || this.#closing) return
    const wait = Math.max(0, next - Date.now())
    if (wait >= this.#settings.pollMs) return
    this.#readyTimer = setTimeout(() => this.#schedulePump(), wait + 1)
    this.#readyTimer.unref()
  }

  #start(context: PoolEngineContext, job: PoolJob, redelivered: boolean): void {
    const controller = new AbortController()
    const done = context
      .runJob(job, { signal: controller.signal, ...(redelivered ? { redelivered: true } : {}) })
      .catch((error: unknown) => crashedOutcome(job, error))
      .then(async (outcome) => {
        // Off the queue once it ended (or waits for decisions: it is submitted again then).
        await (this.#queue as DurableJobQueue).remove(job.agentId).catch(() => false)
        this.#running.delete(job.agentId)
        this.#finish(outcome)
        this.#schedulePump()
        return outcome
      })
    this.#running.set(job.agentId, { controller, done })
  }

  async #renew(): Promise<void> {
    if (this.#running.size === 0) return
    const queue = this.#queue as DurableJobQueue
    try {
      const lost = await queue.renew(this.#owner, [...this.#running.keys()], this.#settings.leaseMs)
      // Another process holds it now (this one stalled past its lease): stop our copy.
      for (const agentId of lost) {
        this.#running
          .get(agentId)
          ?.controller.abort(
            new RunCanceledError('The job’s lease was lost to another process; it runs there.'),
          )
      }
    } catch {
      // The store is down: the next heartbeat tries again (the lease is longer than three beats).
    }
  }

  #finish(outcome: JobOutcome): void {
    this.#book.finish(outcome)
  }
}

/**
 * A job as the store's queue keeps it: a JSON copy, ready `delayMs` after `now`; a job with a
 * concurrency key is queued in its group (task and key, as the in-memory queue groups them) with
 * the task's limit, so that the store's claims are fair across keys and hold the limit across
 * every process on the store.
 */
function queuedJob(job: PoolJob, now: number): QueuedJob {
  return {
    agentId: job.agentId,
    job: JSON.parse(JSON.stringify(job)) as JsonValue,
    priority: job.priority,
    readyAt: now + job.delayMs,
    ...(job.concurrencyKey === undefined ? {} : { concurrencyKey: groupOf(job.task, job.concurrencyKey) }),
    ...(job.concurrencyKey === undefined || job.concurrencyLimit === undefined
      ? {}
      : { concurrencyLimit: Math.min(job.concurrencyLimit, MAX_CONCURRENCY_LIMIT) }),
  }
}

/**
 * The queue's group of a key of a task: `["task","key"]` (as the in-memory queue groups jobs), or,
 * when that is longer than a store takes (a long task name and a key full of characters JSON
 * escapes), its SHA-256.
 */
function groupOf(task: string, key: string): string {
  const group = JSON.stringify([task, key])
  return group.length <= MAX_CONCURRENCY_KEY_LENGTH
    ? group
    : `sha256:${createHash('sha256').update(group).digest('hex')}`
}
