/**
 * An "API process" of the schedule tests: a pool on `bullmqEngine` (no worker) that declares the
 * schedule `every-second` at start, as every replica of an API would. Run by Node with type
 * stripping: packages only, no relative imports. Prints `scheduled` once declared; closes on SIGTERM.
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
})
const tick = pool.task('tick', { input: z.object({ from: z.string() }) }, ({ input }) => input.from)

await tick.schedule('every-second', { every: 1000, input: { from: 'api' } })
console.log('scheduled')

process.on('SIGTERM', () => {
  void pool
    .close({ timeoutMs: 0 })
    .then(() => store.close())
    .then(() => process.exit(0))
})
