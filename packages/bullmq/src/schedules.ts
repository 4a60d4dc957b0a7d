import { RunnerError } from '@runner/core'
import {
  type EngineSchedules,
  missedAfterMs,
  nextScheduleRun,
  type PoolEngineContext,
  type ScheduleDefinition,
  type ScheduleInfo,
} from '@runner/core/engine'
import { type ConnectionOptions, type Job, Queue, type RepeatOptions, Worker } from 'bullmq'
import type { Redis } from 'ioredis'

/**
 * Schedules of a `bullmqEngine` pool, on BullMQ's job schedulers: one scheduler per schedule on
 * the queue `<queueName>-schedules`, whose jobs are the firings. A firing is taken by one process
 * (a worker, or an API process that declared schedules) and becomes a pool task of its own through
 * `context.fireSchedule`: several processes declaring the same schedule fire each tick once
 * (BullMQ keeps one scheduler per id and one job per tick; the task's agentId is the tick's).
 *
 * Cron expressions and intervals are computed by the pool's own `nextScheduleRun` (croner), given
 * to BullMQ as its `repeatStrategy`, so both engines fire on the same ticks; an `every` schedule
 * reaches BullMQ as the pattern `every:<ms>`, which only that strategy reads.
 *
 * Definitions (with their paused flag) are kept in the hash `<prefix>:<queue>:runner:schedules`,
 * the last tick fired of each in `...:schedules:fired`.
 */

/** The queue of a pool queue's schedule firings. */
export function schedulesQueueName(queueName: string): string {
  return `${queueName}-schedules`
}

/** How long finished firing jobs stay in Redis (BullMQ's history of the schedule). */
const keepFirings = { age: 24 * 60 * 60, count: 1000 }

/** What a kept definition looks like in the hash. */
interface Stored {
  definition: ScheduleDefinition
  paused: boolean
}

/** The data of a firing job. */
interface FiringData {
  schedule: string
}

export interface BullMQSchedulesOptions {
  queueName: string
  prefix: string
  bullConnection: ConnectionOptions
  /** The engine's own connection (definitions). */
  redis: Redis
  context: PoolEngineContext
  onError: (error: Error) => void
}

/** The pattern BullMQ keeps for a definition: its cron expression, or `every:<ms>`. */
function patternOf(definition: Pick<ScheduleDefinition, 'cron' | 'every'>): string {
  return definition.every === undefined ? (definition.cron ?? '') : `every:${definition.every}`
}

/** BullMQ's `repeatStrategy` for our patterns: the next tick strictly after `millis`. */
export function repeatStrategy(millis: number, options: RepeatOptions): number | undefined {
  const pattern = options.pattern ?? ''
  const every = pattern.startsWith('every:') ? Number(pattern.slice('every:'.length)) : undefined
  return nextScheduleRun(
    every === undefined ? { cron: pattern, timezone: options.tz ?? 'UTC' } : { every },
    millis,
  )
}

export class BullMQSchedules implements EngineSchedules {
  readonly #options: BullMQSchedulesOptions
  readonly #definitionsKey: string
  readonly #firedKey: string
  #queue: Queue<FiringData> | undefined
  #worker: Worker<FiringData> | undefined
  #firing: Promise<void> | undefined
  #closed = false

  constructor(options: BullMQSchedulesOptions) {
    this.#options = options
    this.#definitionsKey = `${options.prefix}:${options.queueName}:runner:schedules`
    this.#firedKey = `${this.#definitionsKey}:fired`
  }

  async upsert(definition: ScheduleDefinition): Promise<ScheduleInfo> {
    const { redis } = this.#options
    const previous = await this.#stored(definition.name)
    const paused = previous?.paused ?? false
    const stored: Stored = { definition, paused }
    await redis.hset(this.#definitionsKey, definition.name, JSON.stringify(stored))
    // Declared again as it is (every start of every process): the scheduler is left alone, so
    // that its pending tick, missed while no process ran, meets the missed policy (an upsert
    // would replace it with the next tick).
    const same = previous !== undefined && JSON.stringify(previous.definition) === JSON.stringify(definition)
    if (!paused && !(same && (await this.#use().getJobScheduler(definition.name))))
      await this.#upsertScheduler(definition)
    await this.startFiring()
    return this.#info(stored)
  }

  async list(): Promise<ScheduleInfo[]> {
    const { redis } = this.#options
    const all = await redis.hgetall(this.#definitionsKey)
    const infos = await Promise.all(
      Object.values(all).flatMap((text) => {
        const stored = parseStored(text)
        return stored ? [this.#info(stored)] : []
      }),
    )
    return infos.sort((a, b) => a.name.localeCompare(b.name))
  }

  async pause(name: string): Promise<boolean> {
    const stored = await this.#stored(name)
    if (!stored) return false
    await this.#options.redis.hset(this.#definitionsKey, name, JSON.stringify({ ...stored, paused: true }))
    await this.#use().removeJobScheduler(name)
    return true
  }

  async resume(name: string): Promise<boolean> {
    const stored = await this.#stored(name)
    if (!stored) return false
    await this.#options.redis.hset(this.#definitionsKey, name, JSON.stringify({ ...stored, paused: false }))
    await this.#upsertScheduler(stored.definition)
    await this.startFiring()
    return true
  }

  async remove(name: string): Promise<boolean> {
    const { redis } = this.#options
    const removed = await redis.hdel(this.#definitionsKey, name)
    await redis.hdel(this.#firedKey, name)
    await this.#use().removeJobScheduler(name)
    return removed === 1
  }

  /**
   * Takes firings in this process from now on (idempotent): called by the first `upsert` or
   * `resume`, and by `startWorker`.
   */
  startFiring(): Promise<void> {
    this.#firing ??= this.#startFiring()
    return this.#firing
  }

  async #startFiring(): Promise<void> {
    const { queueName, prefix, bullConnection, onError } = this.#options
    if (this.#closed) return
    const worker = new Worker<FiringData>(schedulesQueueName(queueName), (job) => this.#fire(job), {
      connection: bullConnection,
      prefix,
      concurrency: 1,
      settings: { repeatStrategy },
    })
    worker.on('error', (error) => onError(error))
    worker.on('failed', (job, error) =>
      onError(new RunnerError(`schedule "${job?.data.schedule}": the firing failed: ${error.message}`)),
    )
    this.#worker = worker
    await worker.waitUntilReady()
  }

  /** One firing: enqueued as a pool task unless the schedule is gone, paused, or missed with `skip`. */
  async #fire(job: Job<FiringData>): Promise<string> {
    const stored = await this.#stored(job.data.schedule)
    if (!stored) return 'removed'
    if (stored.paused) return 'paused'
    const tick = tickOf(job)
    if (Date.now() - tick > missedAfterMs && stored.definition.missed === 'skip') return 'missed'
    const fired = await this.#options.context.fireSchedule(stored.definition, tick)
    await this.#options.redis.hset(this.#firedKey, stored.definition.name, String(tick))
    return fired ? 'fired' : 'fired already'
  }

  async close(): Promise<void> {
    this.#closed = true
    await this.#firing?.catch(() => {})
    const results = await Promise.allSettled([this.#worker?.close(), this.#queue?.close()])
    for (const result of results) {
      if (result.status === 'rejected') this.#options.onError(asError(result.reason))
    }
  }

  async #upsertScheduler(definition: ScheduleDefinition): Promise<void> {
    const repeat: Omit<RepeatOptions, 'key'> = {
      pattern: patternOf(definition),
      ...(definition.timezone === undefined ? {} : { tz: definition.timezone }),
    }
    await this.#use().upsertJobScheduler(definition.name, repeat, {
      name: definition.name,
      data: { schedule: definition.name },
      opts: { attempts: 1, removeOnComplete: keepFirings, removeOnFail: keepFirings },
    })
  }

  async #info(stored: Stored): Promise<ScheduleInfo> {
    const { definition, paused } = stored
    const [scheduler, fired] = await Promise.all([
      paused ? undefined : this.#use().getJobScheduler(definition.name),
      this.#options.redis.hget(this.#firedKey, definition.name),
    ])
    const info: ScheduleInfo = { ...definition, paused }
    if (scheduler?.next !== undefined) info.nextRunAt = new Date(scheduler.next).toISOString()
    if (fired !== null) info.lastFiredAt = new Date(Number(fired)).toISOString()
    return info
  }

  async #stored(name: string): Promise<Stored | undefined> {
    const text = await this.#options.redis.hget(this.#definitionsKey, name)
    return text === null ? undefined : parseStored(text)
  }

  #use(): Queue<FiringData> {
    if (this.#closed)
      throw new RunnerError('This pool is closed: its schedules cannot be changed. Create a new pool.')
    this.#queue ??= this.#openQueue()
    return this.#queue
  }

  #openQueue(): Queue<FiringData> {
    const { queueName, prefix, bullConnection, onError } = this.#options
    const queue = new Queue<FiringData>(schedulesQueueName(queueName), {
      connection: bullConnection,
      prefix,
      settings: { repeatStrategy },
    })
    queue.on('error', (error) => onError(error))
    return queue
  }
}

/** The time of a firing's tick: the scheduler's millis, the last part of its job id `repeat:<id>:<millis>`. */
function tickOf(job: Job): number {
  const fromId = Number(job.id?.split(':').at(-1))
  if (Number.isSafeInteger(fromId) && fromId > 0) return fromId
  return job.opts.prevMillis ?? job.timestamp + (job.delay ?? 0)
}

function parseStored(text: string): Stored | undefined {
  try {
    const value = JSON.parse(text) as Stored
    return typeof value === 'object' && value !== null && typeof value.definition?.name === 'string'
      ? value
      : undefined
  } catch {
    return undefined
  }
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new RunnerError(String(value), { cause: value })
}
