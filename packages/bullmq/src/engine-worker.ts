import { hostname } from 'node:os'
import { RunCanceledError, RunnerError } from '@runner/core'
import {
  type JobOutcome,
  type PoolEngineContext,
  type PoolJob,
  type SerializedJobOutcome,
  serializeJobOutcome,
} from '@runner/core/engine'
import { type ConnectionOptions, DelayedError, Job, Worker } from 'bullmq'
import type { Redis } from 'ioredis'
import { createRedis } from './connection.js'
import { type FairDispatch, isFair, maxTickIntervalMs, parkDelayMs } from './fair.js'
import { describeFailure, readPoolJob } from './job-data.js'
import type { RunnerKeys } from './keys.js'
import type { BullMQConnection, RunnerWorker } from './types.js'

/** Message of the `RunCanceledError` of a task canceled with `pool.cancel()`, as the local engine words it. */
export const cancelReason = 'The task was canceled with pool.cancel().'

/** How often a worker re-reads the cancel markers of its running jobs: a safety net under pub/sub. */
const cancelSweepIntervalMs = 5000

/** How long a cancel heard for a job not running here is remembered for its start. */
const heardCancelTtlMs = 60_000

/**
 * How long after a reconnection a starting job still reads its cancel marker: a cancel published
 * while the subscriber was reconnecting was lost, and its job may start just after.
 */
const listeningGraceMs = 2000

/** Default of `RunnerWorker.close({ timeoutMs })`. */
const defaultCloseTimeoutMs = 30_000

/** Numbers each worker of this process, for its id. */
let workerCount = 0

/** Settings of an `EngineWorker`, resolved by the engine. */
export interface EngineWorkerOptions {
  queueName: string
  prefix: string
  /** The connection as BullMQ takes it. */
  bullConnection: ConnectionOptions
  /** The connection as given, to open the cancel subscriber. */
  connection: BullMQConnection
  /** The engine's own connection (cancel markers). */
  redis: Redis
  keys: RunnerKeys
  /** The fair dispatch of jobs with a concurrency key. */
  fair: FairDispatch
  context: PoolEngineContext
  concurrency: number
  lockDurationMs: number
  stalledIntervalMs: number
  maxStalledCount: number
  limiter: { max: number; durationMs: number } | undefined
  onError: (error: Error) => void
}

interface RunningJob {
  controller: AbortController
  done: Promise<JobOutcome>
  job: Job<PoolJob, SerializedJobOutcome>
  /** The job's data, as the job runner takes it. */
  data: PoolJob
  /** BullMQ's lock token of this delivery, to hand the job back. */
  token: string | undefined
}

/** Options of `EngineWorker.close`. */
export interface EngineWorkerCloseOptions {
  /** How long running jobs may finish. Default 30000. */
  timeoutMs?: number
  /**
   * What happens to the jobs still running at `timeoutMs`: `cancel` (the pool's contract: their
   * activities end canceled) or `hand-back` (moved back to the queue for another worker; their
   * handlers are abandoned, so the process must exit right after). Default `cancel`.
   */
  atTimeout?: 'cancel' | 'hand-back'
  /**
   * With `hand-back`, runs once the hand-back is logged on the activities and before the jobs go
   * back to the queue: close the activity store there, so that the abandoned handlers can no
   * longer write to activities that another worker now runs.
   */
  beforeHandBack?: () => Promise<void>
}

/** The activity log line of a job handed back to the queue at shutdown. */
export const handedBackMessage = 'Worker shutting down; handed back to the queue'

/**
 * Runs the queue's jobs in this process: a BullMQ `Worker` whose processor hands every job to the
 * pool's job runner, plus a pub/sub subscriber through which `cancel(agentId)` reaches it from
 * any process. Created by `startWorker`. It never writes an activity: every change to a task's
 * activity (the redelivery of a job whose worker was lost, a job BullMQ gave up on, a hand-back
 * at shutdown) goes through the pool's job runner.
 */
export class EngineWorker implements RunnerWorker {
  readonly id: string
  readonly concurrency: number
  readonly closed: Promise<void>
  readonly #options: EngineWorkerOptions
  readonly #running = new Map<string, Set<RunningJob>>()
  readonly #closedResolvers = Promise.withResolvers<void>()
  #bull: Worker<PoolJob, SerializedJobOutcome> | undefined
  #subscriber: Redis | undefined
  #sweep: NodeJS.Timeout | undefined
  #closing: Promise<void> | undefined
  /** Cancels heard on the channel for jobs not running here (yet), with when they were heard. */
  readonly #heardCancels = new Map<string, number>()
  /** When the subscriber last reconnected: messages published while it was away were lost. */
  #reconnectedAt = 0
  /** Jobs with a concurrency key running here (their leases are renewed on every tick), by job id. */
  readonly #fairRunning = new Map<string, PoolJob>()
  /** Slot releases and promotions under way (waited for at close, before the connection goes). */
  readonly #fairEnds = new Set<Promise<void>>()
  /** The fair dispatch's tick, started once this worker meets a job with a key (or finds some parked). */
  #tick: NodeJS.Timeout | undefined

  constructor(options: EngineWorkerOptions) {
    this.#options = options
    this.concurrency = options.concurrency
    this.id = `${hostname()}:${process.pid}:${++workerCount}`
    this.closed = this.#closedResolvers.promise
  }

  /** Subscribes to cancels, then starts taking jobs (in that order: no cancel can be missed). */
  async start(): Promise<void> {
    const options = this.#options
    const subscriber = createRedis(options.connection, `${options.prefix}:${options.queueName}:runner:cancel`)
    this.#subscriber = subscriber
    subscriber.on('error', (error: Error) => options.onError(error))
    subscriber.on('message', (channel: string, agentId: string) => {
      if (channel !== options.keys.cancelChannel) return
      // Heard before the job is registered here (a cancel publishes once the job is active, which
      // can be just before its processor starts): remembered for the job's start.
      if (!this.abortLocal(agentId)) this.#heard(agentId)
    })
    // A reconnection (every `ready` after the first) may have lost messages: see #listening.
    let connected = false
    subscriber.on('ready', () => {
      if (connected) this.#reconnectedAt = Date.now()
      connected = true
    })
    await subscriber.subscribe(options.keys.cancelChannel)
    if (this.#closing) return

    const bull = new Worker<PoolJob, SerializedJobOutcome>(
      options.queueName,
      (job, token) => this.#process(job, token),
      {
        connection: options.bullConnection,
        prefix: options.prefix,
        name: this.id,
        autorun: false,
        concurrency: options.concurrency,
        lockDuration: options.lockDurationMs,
        stalledInterval: options.stalledIntervalMs,
        maxStalledCount: options.maxStalledCount,
        ...(options.limiter
          ? { limiter: { max: options.limiter.max, duration: options.limiter.durationMs } }
          : {}),
      },
    )
    this.#bull = bull
    bull.on('error', (error) => options.onError(error))
    bull.on('failed', (job, error) => {
      if (job) void this.#settleFailed(job, error)
    })
    bull.run().catch((error: unknown) => options.onError(asError(error)))
    await bull.waitUntilReady()
    this.#sweep = setInterval(() => void this.#sweepCancels(), cancelSweepIntervalMs)
    this.#sweep.unref()
    // One read at start: a worker that joins a queue with parked jobs helps release them.
    if (await options.fair.active().catch(() => false)) this.#startTicking()
  }

  /** `<concurrency>|<id>`: how this worker registers for the fair dispatch's window. */
  get #member(): string {
    return `${this.concurrency}|${this.id}`
  }

  #startTicking(): void {
    if (this.#tick || this.#closing) return
    const intervalMs = Math.max(50, Math.min(maxTickIntervalMs, Math.floor(this.#options.lockDurationMs / 3)))
    let ticking = false
    const tick = async () => {
      if (ticking) return
      ticking = true
      try {
        await this.#options.fair.tick(this.#member, [...this.#fairRunning.values()])
      } catch (error) {
        this.#options.onError(asError(error))
      } finally {
        ticking = false
      }
    }
    this.#tick = setInterval(() => void tick(), intervalMs)
    this.#tick.unref()
    void tick()
  }

  /** Aborts the job(s) `agentId` running in this process, if any. */
  abortLocal(agentId: string, reason = cancelReason): boolean {
    const entries = this.#running.get(agentId)
    if (!entries) return false
    for (const entry of entries) {
      if (!entry.controller.signal.aborted) entry.controller.abort(new RunCanceledError(reason))
    }
    return true
  }

  /** The outcome of `agentId` if it is running in this process. */
  outcomeOf(agentId: string): Promise<JobOutcome> | undefined {
    const entries = this.#running.get(agentId)
    if (!entries) return undefined
    return Promise.all([...entries].map((entry) => entry.done)).then(
      (outcomes) => outcomes.at(-1) as JobOutcome,
    )
  }

  close(options: EngineWorkerCloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close(options).finally(() => this.#closedResolvers.resolve())
    return this.#closing
  }

  async #close(options: EngineWorkerCloseOptions): Promise<void> {
    const timeoutMs = options.timeoutMs ?? defaultCloseTimeoutMs
    const { onError } = this.#options
    clearInterval(this.#sweep)
    clearInterval(this.#tick)
    if (this.#tick)
      await this.#options.fair.unregister(this.#member).catch((error: unknown) => onError(asError(error)))
    const bull = this.#bull
    if (bull) {
      // BullMQ stops taking jobs at once, then waits for the running ones.
      const stopped = bull.close()
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs)
      })
      const finished = await Promise.race([
        stopped.then(
          () => 'stopped' as const,
          () => 'stopped' as const,
        ),
        timedOut,
      ])
      clearTimeout(timer)
      if (finished === 'timeout' && options.atTimeout === 'hand-back' && this.#running.size > 0) {
        // Back to the queue, at once: another worker resumes them from the next attempt. Their
        // handlers here are abandoned and the process exits next, so BullMQ's close (which would
        // wait for them) is not waited for.
        await this.#handBack(options.beforeHandBack)
        stopped.catch((error: unknown) => onError(asError(error)))
      } else {
        if (finished === 'timeout') {
          // The pool's contract: running tasks are canceled (never left running); the job runner
          // ends them at once, and their outcome (canceled) is recorded as the job's result.
          const reason = `The worker shut down and the task did not finish within timeoutMs (${timeoutMs} ms).`
          for (const agentId of this.#running.keys()) this.abortLocal(agentId, reason)
        }
        await stopped.catch((error: unknown) => onError(asError(error)))
      }
    }
    await Promise.all(this.#fairEnds)
    await this.#subscriber?.quit().catch((error: unknown) => onError(asError(error)))
  }

  /** Logs the hand-back on each running job's activity, then moves the jobs back to the queue. */
  async #handBack(beforeHandBack: (() => Promise<void>) | undefined): Promise<void> {
    const { context, onError } = this.#options
    const entries = [...this.#running.values()].flatMap((set) => [...set])
    // Never rejects; a job already ended is left as it is, and the move below still returns the
    // job if it is active.
    await Promise.all(entries.map(({ data }) => context.handBackJob(data, handedBackMessage)))
    await beforeHandBack?.().catch((error: unknown) => onError(asError(error)))
    await Promise.all(
      entries.map(({ job, token }) =>
        job.moveToWait(token).catch((error: unknown) => onError(asError(error))),
      ),
    )
  }

  async #process(
    job: Job<PoolJob, SerializedJobOutcome>,
    token: string | undefined,
  ): Promise<SerializedJobOutcome> {
    const data = readPoolJob(job)
    const { agentId } = data
    // A job with a concurrency key runs only if the fair dispatch admits it; otherwise it goes
    // back to BullMQ parked, keeping its place (it never touched its activity).
    let parks = 0
    if (isFair(data)) {
      this.#startTicking()
      const claim = await this.#options.fair.claim(data)
      if (!claim.run) {
        await job
          .moveToDelayed(Date.now() + parkDelayMs, token)
          .catch((error: unknown) => this.#options.onError(asError(error)))
        await claim.promote()
        throw new DelayedError()
      }
      parks = claim.parks
      this.#fairRunning.set(job.id as string, data)
      this.#track(claim.promote())
    }
    const controller = new AbortController()
    const done = Promise.withResolvers<JobOutcome>()
    done.promise.catch(() => {})
    const entry: RunningJob = { controller, done: done.promise, job, data, token }
    let entries = this.#running.get(agentId)
    if (!entries) {
      entries = new Set()
      this.#running.set(agentId, entries)
    }
    entries.add(entry)
    try {
      // Delivered again: the worker that ran it was lost (killed, crashed, cut off from Redis) or
      // handed it back at shutdown. The job runner reads from the activity's log entries which
      // attempt that worker had reached, resumes from the next one and logs it.
      // (A job parked again at its start was taken by BullMQ without running: not a delivery.)
      const redelivered = job.attemptsStarted - parks > 1 || job.stalledCounter > 0
      // Registered before this check: a cancel publishes once the job is active, so its message
      // either came before (remembered) or finds this job running. The marker is read instead for
      // a redelivered job (its cancel may have been published long before, to the lost worker),
      // and while the subscriber is not connected or just reconnected (a message may be lost).
      const canceled =
        this.#cancelHeard(agentId) ||
        ((redelivered || !this.#listening()) && (await this.#cancelRequested(agentId)))
      if (canceled) controller.abort(new RunCanceledError(cancelReason))
      const progress = mirrorProgress(await this.#progressJobs(job, data))
      const outcome = await this.#options.context.runJob(data, {
        signal: controller.signal,
        onReport: progress.report,
        redelivered,
      })
      await progress.flush()
      done.resolve(outcome)
      return serializeJobOutcome(outcome)
    } catch (error) {
      // The job runner never rejects; this is a bug, and BullMQ fails the job (see #settleFailed).
      done.reject(error)
      throw error
    } finally {
      entries.delete(entry)
      if (entries.size === 0) this.#running.delete(agentId)
      if (isFair(data)) {
        this.#fairRunning.delete(job.id as string)
        // Not waited for: the job's completion need not wait for its slot's release (a job of
        // the key that starts first is claimed against the lease, never over the limit).
        this.#track(this.#options.fair.end(data))
      }
    }
  }

  /** Keeps a fair-dispatch call under way until it settles (close waits for it); never rejects. */
  #track(call: Promise<void>): void {
    const tracked = call
      .catch((error: unknown) => this.#options.onError(asError(error)))
      .finally(() => this.#fairEnds.delete(tracked))
    this.#fairEnds.add(tracked)
  }

  /**
   * The jobs a delivery mirrors its progress to: itself and, for the resume of a task that waited
   * for decisions, the task's first job (`<agentId>`, if still kept), where whoever looks a task up
   * by its agentId finds it.
   */
  async #progressJobs(job: Job, data: PoolJob): Promise<Job[]> {
    if (data.resumed === undefined || !this.#bull) return [job]
    const first = await Job.fromId(this.#bull, data.agentId).catch(() => undefined)
    return first ? [job, first] : [job]
  }

  #heard(agentId: string): void {
    const now = Date.now()
    // Deleted first, so that the map stays in the order heard (the pruning below relies on it).
    this.#heardCancels.delete(agentId)
    this.#heardCancels.set(agentId, now)
    // Kept long enough for a job that was active when its cancel was published to start here.
    for (const [id, at] of this.#heardCancels) {
      if (now - at < heardCancelTtlMs) break
      this.#heardCancels.delete(id)
    }
  }

  #cancelHeard(agentId: string): boolean {
    const at = this.#heardCancels.get(agentId)
    if (at === undefined) return false
    this.#heardCancels.delete(agentId)
    return Date.now() - at < heardCancelTtlMs
  }

  /**
   * Whether no cancel of a job starting now can have been missed: the subscriber is connected,
   * and did not just reconnect. (Subscribed before the first job was taken, a cancel published
   * earlier concerns a job another worker held: it comes here only redelivered.)
   */
  #listening(): boolean {
    return this.#subscriber?.status === 'ready' && Date.now() - this.#reconnectedAt >= listeningGraceMs
  }

  /** Whether `cancel(agentId)` was called; a Redis failure counts as no (pub/sub still reaches the job). */
  async #cancelRequested(agentId: string): Promise<boolean> {
    try {
      return (await this.#options.redis.exists(this.#options.keys.cancelMarker(agentId))) === 1
    } catch (error) {
      this.#options.onError(asError(error))
      return false
    }
  }

  /**
   * A job BullMQ failed without running it to its end (it lost its worker more than
   * `maxStalledCount` times) or whose processor threw: the job runner ends its activity in error,
   * so it never stays queued or running (one already ended is left as it is). A job that is not
   * a pool job has no activity.
   */
  async #settleFailed(job: Job, error: Error): Promise<void> {
    let data: PoolJob
    try {
      data = readPoolJob(job)
    } catch {
      return
    }
    if (isFair(data)) {
      await this.#options.fair.end(data).catch((error: unknown) => this.#options.onError(asError(error)))
    }
    await this.#options.context.failJob(
      data,
      new RunnerError(describeFailure(job.failedReason || error.message)),
    )
  }

  /** Aborts running jobs whose cancel marker is set, in case a pub/sub message was lost (reconnection). */
  async #sweepCancels(): Promise<void> {
    const agentIds = [...this.#running.keys()]
    if (agentIds.length === 0) return
    try {
      const markers = await this.#options.redis.mget(
        agentIds.map((id) => this.#options.keys.cancelMarker(id)),
      )
      markers.forEach((marker, index) => {
        const agentId = agentIds[index]
        if (marker !== null && agentId !== undefined) this.abortLocal(agentId)
      })
    } catch (error) {
      this.#options.onError(asError(error))
    }
  }
}

/**
 * Mirrors the task's reports to BullMQ's job progress (`{ message, percentage }`, the percentage
 * kept from the last report that had one) of `jobs`, in order; failures are ignored (the activity
 * has it).
 */
function mirrorProgress(jobs: readonly Job[]): {
  report: (message: string, percentage: number | undefined) => void
  flush: () => Promise<void>
} {
  let percentage: number | null = null
  let last = Promise.resolve()
  return {
    report(message, reported) {
      if (reported !== undefined) percentage = reported
      const progress = { message, percentage }
      last = last
        .then(() => Promise.all(jobs.map((job) => job.updateProgress(progress).catch(() => {}))))
        .then(() => {})
    },
    flush: () => last,
  }
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new RunnerError(String(value), { cause: value })
}
