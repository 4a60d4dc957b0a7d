import { z } from 'zod'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { RunnerError } from '../errors/runner-error.js'
import { parseOrThrow } from '../util/zod-issues.js'
import { DurableLocalEngine } from './durable-local-engine.js'
import { crashedOutcome, OutcomeBook, type RunningJob, stopRunning } from './engine-parts.js'
import { FairQueue, type ReadyEntry } from './fair-queue.js'
import type { EngineCloseOptions, JobOutcome, PoolEngine, PoolEngineContext, PoolJob } from './types.js'

/** Options of `localEngine`. */
export interface LocalEngineOptions {
  /**
   * How many finished jobs' outcomes are kept in memory for `pool.result`; the oldest are evicted
   * first (`pool.result` then reads the result stored with the activity). A caller already waiting
   * for a result always gets it. Default 1000.
   */
  keepResults?: number
  /**
   * Keep the queue in the pool's store when it has one (`SqliteActivityStore`,
   * `PostgresActivityStore`): queued tasks survive a restart and a task whose process stopped
   * resumes. Default `'auto'` (durable when the store can); `false` keeps the queue in memory.
   */
  durable?: 'auto' | false
  /** Durable mode: how long a claim on a running job lasts without renewal, in ms (renewed every third). Default 15000. */
  leaseMs?: number
  /** Durable mode: how often the store is checked for jobs submitted or orphaned elsewhere, in ms. Default 1000. */
  pollMs?: number
}

const optionsSchema = z.strictObject({
  keepResults: z
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(0, 'must be 0 or more')
    .optional(),
  durable: z.union([z.literal('auto'), z.literal(false)], { error: "must be 'auto' or false" }).optional(),
  leaseMs: z.number().int('must be an integer').min(100, 'must be at least 100').optional(),
  pollMs: z.number().int('must be an integer').min(10, 'must be at least 10').optional(),
})

/**
 * The default engine: runs jobs in this process. Jobs wait in a priority queue (higher priority
 * first, first-in first-out within a priority, round-robin across the concurrency keys of tasks
 * with `concurrency` within a priority, at most `concurrency.limit` per key), delayed jobs on
 * timers; at most the pool's `concurrency` run at once. Outcomes are kept in memory (`keepResults`). Jobs are copied through
 * JSON on `submit`, as a distributed engine would store them.
 */
export function localEngine(options: LocalEngineOptions = {}): PoolEngine {
  const valid = parseOrThrow(optionsSchema, options, 'localEngine options')
  return new AutoLocalEngine(valid)
}

/** Picks the durable engine (queue in the store) or the in-memory one when the pool starts it. */
class AutoLocalEngine implements PoolEngine {
  readonly name = 'local'
  readonly #options: z.output<typeof optionsSchema>
  #inner: PoolEngine | undefined

  constructor(options: z.output<typeof optionsSchema>) {
    this.#options = options
  }

  /** Whether this engine keeps its queue in the store (known once the pool started it). */
  get durable(): boolean {
    return this.#inner instanceof DurableLocalEngine
  }

  start(context: PoolEngineContext): void {
    if (this.#inner) {
      throw new RunnerError(
        'This localEngine() is already used by a pool. Create one localEngine() per pool.',
      )
    }
    const keepResults = this.#options.keepResults ?? 1000
    const queue = this.#options.durable === false ? undefined : context.activity?.store.jobQueue
    if (queue) {
      const engine = new DurableLocalEngine(
        { keepResults, leaseMs: this.#options.leaseMs ?? 15_000, pollMs: this.#options.pollMs ?? 1000 },
        queue,
      )
      this.#inner = engine
      engine.start(context)
      return
    }
    const engine = new LocalEngine(keepResults)
    this.#inner = engine
    engine.start(context)
  }

  #started(): PoolEngine {
    if (!this.#inner) throw new RunnerError('This localEngine() was not started: pass it to createPool().')
    return this.#inner
  }

  submit(job: PoolJob): Promise<void> {
    return this.#started().submit(job)
  }
  submitMany(jobs: PoolJob[]): Promise<void> {
    const inner = this.#started()
    return inner.submitMany
      ? inner.submitMany(jobs)
      : Promise.all(jobs.map((job) => inner.submit(job))).then(() => {})
  }
  cancel(agentId: string): Promise<boolean> {
    return this.#started().cancel(agentId)
  }
  result(agentId: string, signal: AbortSignal): Promise<JobOutcome | undefined> {
    return this.#started().result(agentId, signal)
  }
  close(options: EngineCloseOptions): Promise<void> {
    return this.#inner ? this.#inner.close(options) : Promise.resolve()
  }
}

class LocalEngine implements PoolEngine {
  readonly name = 'local'
  #context: PoolEngineContext | undefined
  readonly #ready = new FairQueue()
  readonly #queued = new Map<string, ReadyEntry>()
  readonly #delayed = new Map<string, { job: PoolJob; timer: NodeJS.Timeout }>()
  readonly #running = new Map<string, RunningJob>()
  readonly #canceling = new Map<string, Promise<JobOutcome>>()
  readonly #book: OutcomeBook
  #seq = 0
  #pumpScheduled = false
  #closing: Promise<void> | undefined

  constructor(keepResults: number) {
    this.#book = new OutcomeBook(keepResults)
  }

  start(context: PoolEngineContext): void {
    if (this.#context) {
      throw new RunnerError(
        'This localEngine() is already used by a pool. Create one localEngine() per pool.',
      )
    }
    this.#context = context
  }

  async submit(job: PoolJob): Promise<void> {
    this.#assertAccepts([job])
    this.#accept(job)
  }

  /** All jobs or none: every check is made before the first job is queued. */
  async submitMany(jobs: PoolJob[]): Promise<void> {
    this.#assertAccepts(jobs)
    for (const job of jobs) this.#accept(job)
  }

  #assertAccepts(jobs: readonly PoolJob[]): void {
    if (!this.#context) throw new RunnerError('This localEngine() was not started: pass it to createPool().')
    if (this.#closing) {
      throw new RunnerError('This localEngine() is closed and accepts no more jobs. Create a new pool.')
    }
    const seen = new Set<string>()
    jobs.forEach((job, index) => {
      if (this.#isPending(job.agentId) || this.#book.get(job.agentId) || seen.has(job.agentId)) {
        throw new InvalidOptionsError(
          [
            {
              field: jobs.length === 1 ? 'agentId' : `jobs[${index}].agentId`,
              message: `a job with agentId "${job.agentId}" was already submitted; use a new id`,
            },
          ],
          { subject: 'job' },
        )
      }
      seen.add(job.agentId)
    })
  }

  #accept(job: PoolJob): void {
    const copy = JSON.parse(JSON.stringify(job)) as PoolJob
    if (copy.delayMs > 0) {
      const timer = setTimeout(() => {
        this.#delayed.delete(copy.agentId)
        this.#makeReady(copy)
      }, copy.delayMs)
      this.#delayed.set(copy.agentId, { job: copy, timer })
    } else {
      this.#makeReady(copy)
    }
  }

  async cancel(agentId: string): Promise<boolean> {
    const queued = this.#queued.get(agentId)
    const delayed = this.#delayed.get(agentId)
    if (queued || delayed) {
      let job: PoolJob
      if (queued) {
        this.#ready.delete(queued)
        this.#queued.delete(agentId)
        job = queued.job
      } else {
        const entry = delayed as { job: PoolJob; timer: NodeJS.Timeout }
        clearTimeout(entry.timer)
        this.#delayed.delete(agentId)
        job = entry.job
      }
      const outcome = await this.#endUnstarted(
        job,
        'The task was canceled with pool.cancel() before it started.',
      )
      return outcome.status === 'canceled'
    }
    const running = this.#running.get(agentId)
    if (running) {
      if (running.controller.signal.aborted) {
        await running.done
        return false
      }
      running.controller.abort(new RunCanceledError('The task was canceled with pool.cancel().'))
      const outcome = await running.done
      return outcome.status === 'canceled'
    }
    const canceling = this.#canceling.get(agentId)
    if (canceling) await canceling
    return false
  }

  result(agentId: string, signal: AbortSignal): Promise<JobOutcome | undefined> {
    const outcome = this.#book.get(agentId)
    if (outcome) return Promise.resolve(outcome)
    if (!this.#isPending(agentId)) return Promise.resolve(undefined)
    return this.#book.wait(agentId, signal)
  }

  close(options: EngineCloseOptions): Promise<void> {
    this.#closing ??= this.#close(options.timeoutMs)
    return this.#closing
  }

  async #close(timeoutMs: number): Promise<void> {
    const unstarted = [
      ...[...this.#delayed.values()].map((entry) => {
        clearTimeout(entry.timer)
        return entry.job
      }),
      ...this.#ready.drain().map((entry) => entry.job),
    ]
    this.#delayed.clear()
    this.#queued.clear()
    await Promise.all(
      unstarted.map((job) => this.#endUnstarted(job, 'The pool closed before the task started.')),
    )

    await stopRunning(this.#running, timeoutMs)
    await Promise.all(this.#canceling.values())
  }

  #isPending(agentId: string): boolean {
    return (
      this.#queued.has(agentId) ||
      this.#delayed.has(agentId) ||
      this.#running.has(agentId) ||
      this.#canceling.has(agentId)
    )
  }

  #makeReady(job: PoolJob): void {
    const entry = { job, seq: this.#seq++ }
    this.#ready.push(entry)
    this.#queued.set(job.agentId, entry)
    const context = this.#context
    if (job.concurrencyKey !== undefined && context) {
      // The pool has room for it but its key is at its limit: the activity says which key it
      // waits for. (Behind the pool's own slots as well, it stays `Waiting to start`: no write
      // per job for a backlog.)
      const { running, waiting, limit } = this.#ready.usage(job)
      if (running + waiting > limit && this.#running.size + this.#ready.size <= context.concurrency)
        void context.noteQueued(job, concurrencyWaitMessage(job, limit))
    }
    this.#schedulePump()
  }

  /**
   * Starts jobs on a later turn of the event loop, never inside `submit`: the caller of
   * `enqueue` always gets control back before the handler starts, and jobs submitted together
   * start in priority order.
   */
  #schedulePump(): void {
    if (this.#pumpScheduled) return
    this.#pumpScheduled = true
    setImmediate(() => {
      this.#pumpScheduled = false
      this.#pump()
    })
  }

  #pump(): void {
    const context = this.#context
    if (!context || this.#closing) return
    while (this.#running.size < context.concurrency) {
      const entry = this.#ready.shift()
      if (!entry) return
      this.#queued.delete(entry.job.agentId)
      this.#start(context, entry.job)
    }
  }

  #start(context: PoolEngineContext, job: PoolJob): void {
    const controller = new AbortController()
    const done = context
      .runJob(job, { signal: controller.signal })
      .catch((error: unknown) => crashedOutcome(job, error))
      .then((outcome) => {
        this.#running.delete(job.agentId)
        this.#ready.ended(job)
        this.#finish(outcome)
        this.#schedulePump()
        return outcome
      })
    this.#running.set(job.agentId, { controller, done })
  }

  /** Ends a job that never started, through the job runner; pending until its outcome is known. */
  #endUnstarted(job: PoolJob, reason: string): Promise<JobOutcome> {
    const context = this.#context as PoolEngineContext
    const done = context
      .cancelJob(job, { reason })
      .catch((error: unknown) => crashedOutcome(job, error))
      .then((outcome) => {
        this.#canceling.delete(job.agentId)
        this.#finish(outcome)
        return outcome
      })
    this.#canceling.set(job.agentId, done)
    return done
  }

  #finish(outcome: JobOutcome): void {
    this.#book.finish(outcome)
  }
}

/** `Waiting for a concurrency slot (research "acme": at most 2 at once)`: the line of a job behind its key's limit. */
export function concurrencyWaitMessage(job: PoolJob, limit: number): string {
  return `Waiting for a concurrency slot (${job.task} ${JSON.stringify(job.concurrencyKey)}: at most ${limit} at once)`
}
