import { type ActivityTracker, createActivityTracker, createPool, type Pool } from '@runner/core'
import { bullmqEngine } from '../bullmq-engine.js'
import { startWorker } from '../start-worker.js'
import type { BullMQEngine, BullMQEngineOptions, RunnerWorker } from '../types.js'
import { redisUrl, removeQueue, uniqueQueue } from './services.js'
import registerTasks from './tasks.js'

/** Pools on one test queue, in this process: an API pool that only enqueues, and worker pools. */
export interface QueueSetup {
  queueName: string
  prefix: string
  /** The activity tracker every pool of the setup shares (one in-memory store). */
  activity: ActivityTracker
  /** The pool of an "API": it enqueues and waits, never runs a job. */
  api: Pool
  /** The API engine's BullMQ queue, to look at jobs. */
  readonly queue: BullMQEngine['queue']
  /** The API pool's task handles. */
  tasks: ReturnType<typeof registerTasks>
  /** Errors reported through the engines' `onError`. */
  errors: Error[]
  /** Starts a worker pool on the same queue (same tasks, same store). */
  startWorkerPool(options?: { concurrency?: number; engine?: Partial<BullMQEngineOptions> }): Promise<{
    pool: Pool
    worker: RunnerWorker
  }>
  /** Another API pool on the same queue and store, as another process would have. */
  peer(): Pool
  /** A new engine on the test queue. */
  engine(options?: Partial<BullMQEngineOptions>): BullMQEngine
  /** Closes every pool of the setup and deletes the queue's keys. */
  cleanup(): Promise<void>
}

/** Test settings: short locks and checks, so that a lost worker is noticed within seconds. */
export const fastWorker = { lockDurationMs: 2000, stalledIntervalMs: 1000, maxStalledCount: 3 }

export function queueSetup(options: { label: string; engine?: Partial<BullMQEngineOptions> }): QueueSetup {
  const url = redisUrl as string
  const { queueName, prefix } = uniqueQueue(options.label)
  const activity = createActivityTracker()
  const errors: Error[] = []
  const pools: Pool[] = []
  const engine = (overrides: Partial<BullMQEngineOptions> = {}) =>
    bullmqEngine({
      connection: url,
      queueName,
      prefix,
      worker: fastWorker,
      onError: (error) => errors.push(error),
      ...options.engine,
      ...overrides,
    })
  const api = createPool({ activity, engine: engine(), concurrency: 4 })
  pools.push(api)
  return {
    queueName,
    prefix,
    activity,
    api,
    get queue() {
      return (api.engine as BullMQEngine).queue
    },
    tasks: registerTasks(api),
    errors,
    engine,
    peer() {
      const pool = createPool({ activity, engine: engine(), concurrency: 4 })
      pools.push(pool)
      registerTasks(pool)
      return pool
    },
    async startWorkerPool({ concurrency = 2, engine: overrides } = {}) {
      const pool = createPool({ activity, engine: engine(overrides), concurrency })
      pools.push(pool)
      registerTasks(pool)
      const worker = await startWorker({ pool, signals: false })
      return { pool, worker }
    },
    async cleanup() {
      await Promise.allSettled(pools.map((pool) => pool.close({ timeoutMs: 0 })))
      await removeQueue(url, queueName, prefix)
    },
  }
}
