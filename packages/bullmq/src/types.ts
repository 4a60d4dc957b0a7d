import type { Pool, PoolEngine } from '@runner/core'
import type { PoolJob, SerializedJobOutcome } from '@runner/core/engine'
import type { Queue } from 'bullmq'
import type { Redis, RedisOptions } from 'ioredis'

/**
 * Where Redis is:
 * - a `redis://` or `rediss://` URL (`RUNNER_REDIS_URL`);
 * - ioredis options (`{ host, port, password, tls, db, ... }`, or `{ url, ...options }`);
 * - an ioredis instance. It is shared, never closed by the engine, and must be created with
 *   `maxRetriesPerRequest: null` (BullMQ's rule for the connections its workers block on); the
 *   engine duplicates it for the connections it needs of its own.
 *
 * Do not use ioredis' `keyPrefix`: use the engine's `prefix`.
 */
export type BullMQConnection = string | RedisOptions | Redis

/** BullMQ's rate limiter: at most `max` jobs start per `durationMs`, across every worker of the queue. */
export interface BullMQRateLimit {
  /** Most jobs started per window. Integer >= 1. */
  max: number
  /** Length of the window, in ms. Integer >= 1. */
  durationMs: number
}

/**
 * How the workers of this engine hold and recover jobs (BullMQ's worker options). Every worker of a
 * queue should use the same settings.
 */
export interface BullMQWorkerSettings {
  /**
   * How long a worker's lock on a running job lasts, in ms; the worker renews it every half of it
   * while the job runs. When a worker dies, its jobs become recoverable once their locks expire,
   * so this bounds how late a crash is noticed. Keep it well above the longest time this
   * process's event loop can be blocked, or a live worker loses its job to another one.
   * BullMQ's `lockDuration`. Default 30000.
   */
  lockDurationMs?: number
  /**
   * How often workers look for jobs whose lock expired (stalled: their worker died) and move them
   * back to the queue, in ms. A crashed job is redelivered after roughly `lockDurationMs` plus up
   * to two of these intervals. BullMQ's `stalledInterval`. Default 30000.
   */
  stalledIntervalMs?: number
  /**
   * How many times a job may be redelivered after losing its worker before it is failed (the
   * activity ends in error, "Worker lost ... giving up"). Bounds the damage of a task that
   * crashes every process it runs in. BullMQ's `maxStalledCount`. Default 3.
   */
  maxStalledCount?: number
  /** Rate limit of the queue (BullMQ's `limiter`; it applies to the whole queue, across workers). Default: none. */
  limiter?: BullMQRateLimit
}

/** How long finished jobs are kept in Redis, where `pool.result` reads them from any process. */
export interface BullMQKeepResults {
  /** Keep results at most this long after the job finished, in ms. Default 86400000 (24 hours). */
  maxAgeMs?: number
  /** Keep at most this many finished jobs (the oldest are removed first). Default 10000. */
  maxCount?: number
}

/** Options of `bullmqEngine`. */
export interface BullMQEngineOptions {
  /** Where Redis is: URL, ioredis options or instance. See `BullMQConnection`. */
  connection: BullMQConnection
  /**
   * Name of the BullMQ queue. Every process that enqueues or works on the same tasks uses the same
   * name (and `prefix`); separate queues keep separate workloads apart. 1..200 characters, no `:`.
   */
  queueName: string
  /**
   * Prefix of every Redis key of the queue (BullMQ's `prefix`). Use a `{hash tag}` such as
   * `{runner}` on Redis Cluster. Default `"bull"`.
   */
  prefix?: string
  /** How long finished jobs (and their results) are kept. */
  keepResults?: BullMQKeepResults
  /** Lock, stalled-job recovery and rate-limit settings of the workers. */
  worker?: BullMQWorkerSettings
  /**
   * Receives errors that no caller can receive: Redis connection errors, a lock that could not be
   * renewed, a cancel message that could not be read. Default: `console.error`.
   */
  onError?: (error: Error) => void
}

/**
 * A `PoolEngine` on BullMQ. Give it to `createPool`: the pool then enqueues into Redis, and
 * `startWorker({ pool })` makes this process run jobs too.
 */
export interface BullMQEngine extends PoolEngine {
  readonly name: 'bullmq'
  /** The BullMQ queue name. */
  readonly queueName: string
  /** The Redis key prefix. */
  readonly prefix: string
  /**
   * The BullMQ `Queue` the engine adds jobs to, for what the pool does not cover (job counts,
   * metrics, dashboards). Available once the engine is given to `createPool`. Do not add jobs to it
   * directly: they would have no activity. Jobs carry the `PoolJob` as data and the serialized
   * outcome as return value.
   */
  readonly queue: Queue<PoolJob, SerializedJobOutcome>
}

/** Options of `startWorker`. */
export interface StartWorkerOptions {
  /** A pool created with `engine: bullmqEngine(...)`, with its tasks registered. */
  pool: Pool
  /**
   * Most tasks this process runs at once. At most the pool's `concurrency`, which is the default.
   * Run more processes (or machines) to run more tasks at once.
   */
  concurrency?: number
  /**
   * Signals that shut the worker down gracefully: the pool closes (`shutdownTimeoutMs`), then
   * `onShutdown` runs, then the process exits (code 0, or 1 if shutting down failed). A second
   * signal exits at once (code 1): running jobs are then recovered like a crash's. `false` installs
   * nothing (shut down yourself with `pool.close`). Default `['SIGTERM', 'SIGINT']`.
   */
  signals?: readonly NodeJS.Signals[] | false
  /**
   * On a signal, how long running tasks may take to finish before they are canceled, in ms. Default
   * 30000 (keep it below your orchestrator's grace period, e.g. Kubernetes'
   * `terminationGracePeriodSeconds`).
   */
  shutdownTimeoutMs?: number
  /**
   * On a signal, what happens to the tasks still running at `shutdownTimeoutMs`. `false`: they are
   * canceled (the pool's `close` contract: activities end `canceled`, never retried). `true`: they
   * are handed back to the queue (`Worker shutting down; handed back to the queue` on their
   * activity) and another worker resumes them at once, from the next attempt, as after a crash but
   * without waiting for a lock to expire. Use it when tasks outlive your grace period and a
   * deployment must not cancel them. Default `false`.
   */
  requeueOnShutdown?: boolean
  /** Runs after the pool closed on a signal, before the process exits: close your activity store here. */
  onShutdown?: () => void | Promise<void>
}

/** A worker started by `startWorker`: this process runs jobs of the queue. */
export interface RunnerWorker {
  /** Name of this worker, recorded by BullMQ on the jobs it processes (`job.processedBy`): `host:pid:n`. */
  readonly id: string
  /** Most jobs this worker runs at once. */
  readonly concurrency: number
  /**
   * Stops this process from taking jobs: running ones may finish for `timeoutMs` (default 30000),
   * then they are canceled (their activities end `canceled`; they are not retried). Jobs still
   * queued stay in Redis for other workers. The pool stays open for `enqueue`; `pool.close()`
   * closes the worker too. Calling it again returns the same promise.
   */
  close(options?: { timeoutMs?: number }): Promise<void>
  /** Resolves once the worker has stopped, whichever way it was closed. */
  readonly closed: Promise<void>
}

/** What the engine needs from `startWorker`, beyond the pool's job runner. */
export interface WorkerStartOptions {
  /** Most jobs at once in this process. Default: the pool's concurrency. */
  concurrency?: number
}
