import { InvalidOptionsError, RunCanceledError, RunnerError } from '@runner/core'
import { parseOrThrow, raceAbort } from '@runner/core/adapter'
import {
  concurrencyWaitMessage,
  type EngineCloseOptions,
  type JobOutcome,
  type PoolEngineContext,
  type PoolJob,
  type SerializedJobOutcome,
  serializeJobOutcome,
} from '@runner/core/engine'
import { type ConnectionOptions, type JobsOptions, Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import { createRedis, toBullMQConnection } from './connection.js'
import { cancelReason, EngineWorker } from './engine-worker.js'
import { FairDispatch, type HeldJob, isFair, parkDelayMs } from './fair.js'
import {
  agentIdOf,
  failedOutcome,
  isValidJobId,
  jobIdOf,
  parseOutcome,
  readPoolJob,
  resumeJobId,
} from './job-data.js'
import { type RunnerKeys, runnerKeys } from './keys.js'
import { engineOptionsSchema } from './options.js'
import { type OutcomeRead, OutcomeWatcher } from './outcome-watcher.js'
import { toBullMQPriority } from './priority.js'
import { BullMQSchedules } from './schedules.js'
import type { BullMQConnection, BullMQEngine, BullMQEngineOptions, WorkerStartOptions } from './types.js'

/** The method through which `startWorker` starts a worker on an engine (a symbol: not public API). */
export const startWorkerOnEngine = Symbol.for('runner.bullmq.startWorker')

/**
 * The method through which the pool learns that a job is held back because its concurrency key
 * is at its limit (a symbol: not public API): `engine[onConcurrencyHeld](listener)` returns an
 * unsubscribe. Told at submit (the key was at its limit then) and when a worker that took the job
 * had to park it again; in the process where that happened.
 */
export const onConcurrencyHeld = Symbol.for('runner.bullmq.onConcurrencyHeld')

/** A `BullMQEngine` as `startWorker` sees it. */
export interface WorkerCapableEngine extends BullMQEngine {
  [startWorkerOnEngine](options: WorkerStartOptions): Promise<EngineWorker>
}

/** Whether `engine` is a `bullmqEngine()` (of any copy of this package). */
export function isBullMQEngine(engine: unknown): engine is WorkerCapableEngine {
  return (
    typeof engine === 'object' &&
    engine !== null &&
    typeof (engine as Record<symbol, unknown>)[startWorkerOnEngine] === 'function'
  )
}

/**
 * A task engine on BullMQ (Redis) for `createPool`: jobs wait in a Redis queue and run in worker
 * processes on any number of machines, each running the same task code (`startWorker`, or the
 * `runner-worker` CLI). A process that only enqueues (an API) creates the pool and never starts a
 * worker; `pool.result`, `pool.cancel` and the activity store work from any process.
 *
 * - At least once: a job whose worker dies (crash, SIGKILL, lost network) is redelivered once its
 *   lock expires. The job runner resumes it from the attempt after the last one its activity's log
 *   entries record and logs `Worker lost; retrying (attempt n of N)` (kind `retry`).
 * - Retries are the task's (`retries`, backoff, `retryOn`: the pool's job runner owns them, the same
 *   as on `localEngine`); BullMQ never retries a job itself.
 * - `cancel(agentId)` removes a queued or delayed job, or reaches the worker running it on any
 *   machine (Redis pub/sub) and aborts its signal; a canceled task is never retried.
 * - Priorities and delays map onto BullMQ's; progress (the handler's reports and `report_status` of
 *   a runner inside the task) is mirrored to `job.updateProgress`; the outcome is the job's return
 *   value, kept for `keepResults`. The result is also kept with the activity: when BullMQ lost the
 *   return value (the worker died, or was cut off from Redis past its lock, after the handler
 *   returned), `pool.result` reads it from the store.
 * - Durable runs: a redelivered job resumes a durable runner inside it from its checkpoint (tool
 *   calls in its journal are not run again). A task whose runner waits for decisions ends its job
 *   with a `waiting` outcome (its slot is freed; `pool.result` keeps waiting); `pool.approve` /
 *   `deny` / `respond` / `resume` submit it again as the job `<agentId>:resume:<n>`.
 * - The engine never writes an activity: the pool's job runner does, on every engine.
 *
 * ```ts
 * const pool = createPool({ activity, engine: bullmqEngine({ connection: process.env.REDIS_URL, queueName: 'research' }) })
 * registerTasks(pool)
 * await startWorker({ pool }) // only in worker processes
 * ```
 */
export function bullmqEngine(options: BullMQEngineOptions): BullMQEngine {
  const valid = parseOrThrow(engineOptionsSchema, options, 'bullmqEngine options')
  return new BullMQEngineImpl(valid)
}

/** Defaults of the worker settings and of `keepResults`. */
const defaults = {
  prefix: 'bull',
  maxAgeMs: 24 * 60 * 60 * 1000,
  maxCount: 10_000,
  lockDurationMs: 30_000,
  stalledIntervalMs: 30_000,
  maxStalledCount: 3,
}

interface Started {
  context: PoolEngineContext
  queue: Queue<PoolJob, SerializedJobOutcome>
  redis: Redis
  watcher: OutcomeWatcher
  fair: FairDispatch
}

class BullMQEngineImpl implements WorkerCapableEngine {
  readonly name = 'bullmq' as const
  readonly queueName: string
  readonly prefix: string
  readonly #connection: BullMQConnection
  readonly #bullConnection: ConnectionOptions
  readonly #keys: RunnerKeys
  readonly #keepMs: number
  readonly #keepCount: number
  readonly #worker: {
    lockDurationMs: number
    stalledIntervalMs: number
    maxStalledCount: number
    limiter: { max: number; durationMs: number } | undefined
  }
  readonly #onError: (error: Error) => void
  #started: Started | undefined
  #engineWorker: EngineWorker | undefined
  #closing: Promise<void> | undefined
  #schedules: BullMQSchedules | undefined

  constructor(options: BullMQEngineOptions) {
    this.queueName = options.queueName
    this.prefix = options.prefix ?? defaults.prefix
    this.#connection = options.connection
    this.#bullConnection = toBullMQConnection(options.connection)
    this.#keys = runnerKeys(this.prefix, this.queueName)
    this.#keepMs = options.keepResults?.maxAgeMs ?? defaults.maxAgeMs
    this.#keepCount = options.keepResults?.maxCount ?? defaults.maxCount
    this.#worker = {
      lockDurationMs: options.worker?.lockDurationMs ?? defaults.lockDurationMs,
      stalledIntervalMs: options.worker?.stalledIntervalMs ?? defaults.stalledIntervalMs,
      maxStalledCount: options.worker?.maxStalledCount ?? defaults.maxStalledCount,
      limiter: options.worker?.limiter,
    }
    this.#onError =
      options.onError ??
      ((error) => console.error(`[@runner/bullmq] queue "${this.queueName}": ${error.message}`))
  }

  get queue(): Queue<PoolJob, SerializedJobOutcome> {
    return this.#use().queue
  }

  /** The pool's schedules, on BullMQ job schedulers (see schedules.ts). */
  get schedules(): BullMQSchedules | undefined {
    return this.#schedules
  }

  start(context: PoolEngineContext): void {
    if (this.#started) {
      throw new RunnerError(
        'This bullmqEngine() is already used by a pool. Create one bullmqEngine() per pool.',
      )
    }
    const queue = new Queue<PoolJob, SerializedJobOutcome>(this.queueName, {
      connection: this.#bullConnection,
      prefix: this.prefix,
    })
    queue.on('error', (error) => this.#onError(error))
    const redis = createRedis(this.#connection, `${this.prefix}:${this.queueName}:runner`)
    redis.on('error', (error: Error) => this.#onError(error))
    const watcher = new OutcomeWatcher({
      queueName: this.queueName,
      prefix: this.prefix,
      connection: this.#bullConnection,
      redis,
      eventsKey: this.#keys.events,
      read: (agentId) => this.#read(agentId),
      agentIdOf,
      onError: this.#onError,
    })
    const fair = new FairDispatch({
      redis,
      queue,
      prefix: this.prefix,
      queueName: this.queueName,
      leaseMs: this.#worker.lockDurationMs,
      fallbackWindow: context.concurrency,
      onError: this.#onError,
    })
    this.#started = { context, queue, redis, watcher, fair }
    // A job held back by its key's limit says so on its queued activity.
    fair.onHeld((held) => {
      void context.noteQueued(held.job, concurrencyWaitMessage(held.job, held.limit))
    })
    this.#schedules = new BullMQSchedules({
      queueName: this.queueName,
      prefix: this.prefix,
      bullConnection: this.#bullConnection,
      redis,
      context,
      onError: this.#onError,
    })
  }

  /** See `onConcurrencyHeld`. */
  [onConcurrencyHeld](listener: (held: HeldJob) => void): () => void {
    return this.#use().fair.onHeld(listener)
  }

  async submit(job: PoolJob): Promise<void> {
    const { queue, watcher } = this.#use()
    this.#assertAccepts([job])
    const { name, data, opts } = this.#bullJob(job)
    // Expected before the add: its end may be told by an event before the add returns.
    const expected = (await watcher.listen()) ? fresh([job]) : []
    watcher.expect(expected)
    try {
      await queue.add(name, data, opts)
    } catch (error) {
      watcher.forget(expected)
      throw error
    }
    await this.#park([job], expected)
    await this.#raiseResumed([job])
  }

  /**
   * Records the parked jobs among `jobs` (added to BullMQ parked) for the fair dispatch, which may
   * release some at once. On failure they are removed again before this rejects.
   */
  async #park(jobs: readonly PoolJob[], expected: string[]): Promise<void> {
    const parked = jobs.filter((job) => parks(job))
    if (parked.length === 0) return
    const { queue, watcher, fair } = this.#use()
    try {
      await fair.park(parked)
    } catch (error) {
      watcher.forget(expected)
      await Promise.all(jobs.map((job) => queue.remove(jobIdOf(job)).catch(() => 0)))
      throw error
    }
  }

  /**
   * All jobs in one `Queue.addBulk` (one pipeline: one round trip to Redis). Checked first, none
   * sent if one is refused. BullMQ pipelines the adds without a transaction: when Redis fails
   * mid-batch, the jobs of the batch that reached it are removed again before this rejects (a
   * worker that took one meanwhile finds its activity ended by the pool and does not run it).
   */
  async submitMany(jobs: PoolJob[]): Promise<void> {
    const { queue, watcher } = this.#use()
    this.#assertAccepts(jobs)
    if (jobs.length === 0) return
    const expected = (await watcher.listen()) ? fresh(jobs) : []
    watcher.expect(expected)
    try {
      await queue.addBulk(jobs.map((job) => this.#bullJob(job)))
    } catch (error) {
      watcher.forget(expected)
      await Promise.all(jobs.map((job) => queue.remove(jobIdOf(job)).catch(() => 0)))
      throw error
    }
    await this.#park(jobs, expected)
    await this.#raiseResumed(jobs)
  }

  #assertAccepts(jobs: readonly PoolJob[]): void {
    if (this.#closing) {
      throw new RunnerError('This bullmqEngine() is closed and accepts no more jobs. Create a new pool.')
    }
    jobs.forEach((job, index) => {
      if (!isValidJobId(job.agentId)) {
        throw new InvalidOptionsError(
          [
            {
              field: jobs.length === 1 ? 'agentId' : `jobs[${index}].agentId`,
              message: `"${job.agentId}" cannot be a BullMQ job id: with bullmqEngine, an agentId must not contain ":" nor be an integer`,
            },
          ],
          { subject: 'job' },
        )
      }
    })
  }

  /** The BullMQ job of a pool job: name, data and options. */
  #bullJob(job: PoolJob): { name: string; data: PoolJob; opts: JobsOptions } {
    const keep = { age: Math.ceil(this.#keepMs / 1000), count: this.#keepCount }
    const resumed = job.resumed !== undefined
    return {
      name: job.task,
      data: job,
      opts: {
        // A task that waited for decisions comes back as a job of its own (the first one is kept
        // with its `waiting` outcome); two processes submitting the same resume add it once.
        jobId: jobIdOf(job),
        priority: toBullMQPriority(job.priority),
        // The delay was the first start's; a resume runs as soon as a worker is free. A job with
        // a concurrency key waits parked (far in the future) until the fair dispatch releases it.
        ...(parks(job) ? { delay: parkDelayMs } : job.delayMs > 0 && !resumed ? { delay: job.delayMs } : {}),
        // Retries belong to the task (the pool's job runner); BullMQ only redelivers lost jobs.
        attempts: 1,
        removeOnComplete: keep,
        removeOnFail: keep,
      },
    }
  }

  /** From now on the task's cancel, result and progress go to its resumed job (never back to an older one). */
  async #raiseResumed(jobs: readonly PoolJob[]): Promise<void> {
    const { redis } = this.#use()
    await Promise.all(
      jobs.flatMap((job) =>
        job.resumed === undefined
          ? []
          : [redis.eval(raiseResumed, 1, this.#keys.resumed(job.agentId), job.resumed, this.#keepMs)],
      ),
    )
  }

  async cancel(agentId: string): Promise<boolean> {
    const { context, queue, redis } = this.#use()
    if (!isValidJobId(agentId)) return false
    const marker = this.#keys.cancelMarker(agentId)
    // The marker first: a worker that takes the job from now on sees it and cancels instead of
    // running. Already set: another cancel is under way, and this one changes nothing.
    const first = (await redis.set(marker, '1', 'PX', this.#keepMs, 'NX')) === 'OK'
    const jobId = await this.#currentJobId(agentId)
    const job = await queue.getJob(jobId)
    const state = job ? await job.getState() : 'unknown'
    if (!job || state === 'completed' || state === 'failed' || state === 'unknown') {
      if (first) await redis.del(marker)
      return false
    }
    if (first && (state === 'waiting' || state === 'prioritized' || state === 'delayed')) {
      const data = readPoolJob(job)
      // Stored before the removal, so that whoever sees the job gone finds how it ended; invisible
      // as long as the job exists.
      const outcomeKey = this.#keys.outcome(agentId)
      const canceled: JobOutcome = {
        agentId,
        task: data.task,
        status: 'canceled',
        attempts: 0,
        error: new RunCanceledError('The task was canceled with pool.cancel() before it started.'),
      }
      await redis.set(outcomeKey, JSON.stringify(serializeJobOutcome(canceled)), 'PX', this.#keepMs)
      if ((await queue.remove(jobId)) === 1) {
        if (isFair(data))
          await this.#use()
            .fair.end(data)
            .catch((error: unknown) => this.#onError(asError(error)))
        const outcome = await context.cancelJob(data, {
          reason: 'The task was canceled with pool.cancel() before it started.',
        })
        await redis.set(outcomeKey, JSON.stringify(serializeJobOutcome(outcome)), 'PX', this.#keepMs)
        await redis.del(marker)
        return outcome.status === 'canceled'
      }
      // A worker took it meanwhile (it will see the marker): cancel it as a running job.
      await redis.del(outcomeKey)
    }
    // Running (or about to be): reach the worker that runs it, in this process or any other.
    this.#engineWorker?.abortLocal(agentId, cancelReason)
    await redis.publish(this.#keys.cancelChannel, agentId)
    const outcome = await this.result(agentId, new AbortController().signal)
    if (first) await redis.del(marker).catch(() => 0)
    return first && outcome?.status === 'canceled'
  }

  /**
   * The task's outcome as BullMQ keeps it: `waiting` while it waits for decisions, `undefined` when
   * the job is gone. Where BullMQ lost the return value and kept the outcome of a later delivery
   * that did not run the handler, that outcome carries the result stored with the activity (or,
   * without one, the pool reads the store itself).
   */
  async result(agentId: string, signal: AbortSignal): Promise<JobOutcome | undefined> {
    const { watcher } = this.#use()
    const local = this.#engineWorker?.outcomeOf(agentId)
    if (local) return raceAbort(local, signal)
    if (!isValidJobId(agentId)) return undefined
    return watcher.wait(agentId, signal)
  }

  close(options: EngineCloseOptions): Promise<void> {
    this.#closing ??= this.#close(options.timeoutMs)
    return this.#closing
  }

  async [startWorkerOnEngine](options: WorkerStartOptions): Promise<EngineWorker> {
    const { context, redis, fair } = this.#use()
    if (this.#closing) {
      throw new RunnerError('This pool is closed: a closed pool cannot start a worker. Create a new pool.')
    }
    if (this.#engineWorker) {
      throw new RunnerError(
        'This pool already started a worker: one worker per pool (its concurrency runs jobs in parallel). Start more processes to run more jobs.',
      )
    }
    const concurrency = options.concurrency ?? context.concurrency
    if (concurrency > context.concurrency) {
      throw new InvalidOptionsError(
        [
          {
            field: 'concurrency',
            message: `must be at most the pool's concurrency (${context.concurrency}); create the pool with createPool({ concurrency: ${concurrency} })`,
          },
        ],
        { subject: 'startWorker options' },
      )
    }
    const worker = new EngineWorker({
      fair,
      queueName: this.queueName,
      prefix: this.prefix,
      bullConnection: this.#bullConnection,
      connection: this.#connection,
      redis,
      keys: this.#keys,
      context,
      concurrency,
      ...this.#worker,
      onError: this.#onError,
    })
    this.#engineWorker = worker
    try {
      await worker.start()
    } catch (error) {
      await worker.close({ timeoutMs: 0 }).catch(() => {})
      this.#engineWorker = undefined
      throw error
    }
    // A worker also takes the firings of the queue's schedules.
    await this.#schedules?.startFiring()
    return worker
  }

  async #close(timeoutMs: number): Promise<void> {
    const started = this.#started
    if (!started) return
    // Both stop taking jobs at once: the worker's tasks, and the firings of the schedules.
    await Promise.all([this.#engineWorker?.close({ timeoutMs }), this.#schedules?.close()])
    await started.watcher.close(
      new RunnerError(
        'The pool closed while waiting for this result; the task keeps its place in the queue. Wait from a pool that is open, or read its activity.',
      ),
    )
    const results = await Promise.allSettled([started.queue.close(), started.redis.quit()])
    for (const result of results) {
      if (result.status === 'rejected') this.#onError(asError(result.reason))
    }
  }

  /**
   * Reads how the task's current job ended: its return value or failure, or the stored outcome of
   * a job removed on cancel.
   */
  async #read(agentId: string): Promise<OutcomeRead> {
    const { queue, redis } = this.#use()
    // One round trip first: whether the first job exists and has finished (two fields of its
    // hash, not the whole job), and the resume counter. Most waits find a job not finished yet.
    const [peek, counter] = await Promise.all([
      redis.hmget(queue.toKey(agentId), 'finishedOn', 'name'),
      redis.get(this.#keys.resumed(agentId)),
    ])
    const resumed = currentJobId(agentId, counter)
    if (resumed === agentId && peek[1] !== null && peek[0] === null) return { kind: 'pending' }
    const job = resumed === agentId && peek[1] === null ? undefined : await queue.getJob(resumed)
    if (job) {
      if (!job.finishedOn) return { kind: 'pending' }
      const outcome = parseOutcome(job.returnvalue)
      if (outcome) return { kind: 'done', outcome }
      return { kind: 'done', outcome: failedOutcome(job) }
    }
    const stored = await redis.get(this.#keys.outcome(agentId))
    const outcome = stored === null ? undefined : parseOutcome(JSON.parse(stored))
    return outcome ? { kind: 'done', outcome } : { kind: 'unknown' }
  }

  /** The BullMQ job id of the task's latest submission: `agentId`, or its latest resume. */
  async #currentJobId(agentId: string): Promise<string> {
    const { redis } = this.#use()
    return currentJobId(agentId, await redis.get(this.#keys.resumed(agentId)))
  }

  #use(): Started {
    if (!this.#started) throw new RunnerError('This bullmqEngine() was not started: pass it to createPool().')
    return this.#started
  }
}

/** Sets KEYS[1] to ARGV[1] (for ARGV[2] ms) unless it holds a higher number: resumes only move forward. */
const raiseResumed = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
`

/**
 * Whether a job is added to BullMQ parked, for the fair dispatch to release: its task has a
 * concurrency key, and it has no delay of its own (a delayed job waits in BullMQ for its delay,
 * and is claimed when a worker takes it).
 */
function parks(job: PoolJob): boolean {
  return isFair(job) && !(job.delayMs > 0 && job.resumed === undefined)
}

/**
 * The agentIds of the first submissions among `jobs`: their job is the task's current one. (A
 * resume is read when waited for: its task's earlier job ended with events of its own.)
 */
function fresh(jobs: readonly PoolJob[]): string[] {
  return jobs.flatMap((job) => (job.resumed === undefined ? [job.agentId] : []))
}

/** The BullMQ job id of a task whose resume counter (`RunnerKeys.resumed`) holds `counter`. */
function currentJobId(agentId: string, counter: string | null): string {
  const resumed = Number(counter)
  return Number.isInteger(resumed) && resumed >= 1 ? resumeJobId(agentId, resumed) : agentId
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new RunnerError(String(value), { cause: value })
}
