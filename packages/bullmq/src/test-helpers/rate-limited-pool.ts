/**
 * A tasks module (the CLI's second form: it exports its own pool) whose task runs an
 * `OpenAIRunner` against the protocol fake the test gives, through a rate limiter on Redis that
 * every worker process shares. Each process names itself in an `x-worker` header, so that the fake
 * sees which process sent each request. Loaded by the CLI with Node's type stripping: packages only,
 * no relative imports.
 */
import { bullmqEngine } from '@runner/bullmq'
import { createActivityTracker, createPool, defineTool } from '@runner/core'
import { createRateLimiter } from '@runner/core/adapter'
import { OpenAIRunner } from '@runner/openai'
import { PostgresActivityStore } from '@runner/postgres'
import { Redis } from 'ioredis'
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
  concurrency: Number(env('TEST_CONCURRENCY')),
})

/** One limiter per process, its counts in the Redis all of them share. */
const rateLimiter = createRateLimiter({
  limits: { openai: { requestsPerMinute: Number(env('TEST_RPM')) } },
  windowMs: Number(env('TEST_WINDOW_MS')),
  redis: new Redis(env('TEST_REDIS_URL')),
  keyPrefix: env('TEST_RATE_PREFIX'),
})

const runner = new OpenAIRunner({
  apiKey: 'test-key',
  baseURL: env('TEST_OPENAI_BASE_URL'),
  defaultHeaders: { 'x-worker': String(process.pid) },
  logLevel: 'off',
  activity: pool.activity,
  rateLimiter,
})

const search = defineTool({
  name: 'search',
  description: 'Searches the web',
  inputSchema: z.object({ query: z.string() }),
  execute: async ({ query }) => `results for ${query}`,
})

pool.task('research', { input: z.object({ model: z.string() }) }, async ({ agentId, input }) => {
  // The task's agentId: the run joins the task (one activity).
  const result = await runner.run({ model: input.model, api: 'chat', tools: [search] }, 'Research otters', {
    agentId,
  })
  return result.text
})

export default pool
