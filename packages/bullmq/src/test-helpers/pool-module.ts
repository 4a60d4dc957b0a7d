/**
 * A tasks module in its second form: it builds its own pool (store and engine from the
 * environment the test gives), and `runner-worker` only starts the worker. Loaded by the CLI with
 * Node's type stripping: packages only, no relative imports.
 */
import { bullmqEngine } from '@runner/bullmq'
import { createActivityTracker, createPool } from '@runner/core'
import { PostgresActivityStore } from '@runner/postgres'
import { z } from 'zod'

function env(name: string): string {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set`)
  return value
}

const store = new PostgresActivityStore({
  connectionString: env('TEST_DATABASE_URL'),
  schema: env('TEST_SCHEMA'),
})

const pool = createPool({
  activity: createActivityTracker({ store }),
  engine: bullmqEngine({
    connection: env('TEST_REDIS_URL'),
    queueName: env('TEST_QUEUE'),
    prefix: env('TEST_PREFIX'),
  }),
  concurrency: 1,
})
pool.task('shout', { input: z.object({ text: z.string() }) }, ({ input }) => `${input.text.toUpperCase()}!`)

export default pool
