/**
 * What the API and the workers share: the activity store (PostgreSQL), the queue (Redis, BullMQ)
 * and the task module. Each process builds its own pool from it.
 */
import { bullmqEngine } from '@runner/bullmq'
import { createActivityTracker, createPool } from '@runner/core'
import { PostgresActivityStore } from '@runner/postgres'
import registerTasks from './tasks.ts'

export interface Settings {
  redisUrl: string
  databaseUrl: string
  /** BullMQ queue name: the API and its workers must agree on it. */
  queueName: string
  /** PostgreSQL schema of the activities. */
  schema: string
}

/** Reads the settings from the environment (`main.ts` sets them for its child processes). */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): Settings {
  const redisUrl = env.REDIS_URL
  const databaseUrl = env.DATABASE_URL
  if (!redisUrl || !databaseUrl) {
    throw new Error(
      'Set REDIS_URL and DATABASE_URL, e.g. REDIS_URL=redis://127.0.0.1:6379 DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres',
    )
  }
  return {
    redisUrl,
    databaseUrl,
    queueName: env.DISTRIBUTED_QUEUE ?? 'research',
    schema: env.DISTRIBUTED_SCHEMA ?? 'runner_distributed',
  }
}

/** A pool on the shared queue and store, with the tasks registered. */
export function createDistributedPool(settings: Settings, concurrency = 2) {
  const store = new PostgresActivityStore({ connectionString: settings.databaseUrl, schema: settings.schema })
  const activity = createActivityTracker({ store })
  const engine = bullmqEngine({
    connection: settings.redisUrl,
    queueName: settings.queueName,
    // A lost worker is noticed within ~10 s here; production defaults are 30 s.
    worker: { lockDurationMs: 10_000, stalledIntervalMs: 5_000 },
  })
  const pool = createPool({ activity, engine, concurrency })
  return { pool, store, activity, tasks: registerTasks(pool) }
}
