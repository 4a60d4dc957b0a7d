/**
 * Case 6, distributed engine: no-op tasks per second through a pool on `bullmqEngine`
 * (`@runner/bullmq`) against bare BullMQ jobs with the same no-op work, on the Redis of
 * `REDIS_URL`. Same process, same concurrency; unique queue names, obliterated afterwards.
 */
import { createActivityTracker, createPool, type PoolEngine } from '@runner/core'
import { Queue, QueueEvents, Worker } from 'bullmq'
import { z } from 'zod'
import { type BenchCase, size } from '../lib/case.ts'
import { loadOptional } from '../lib/optional.ts'
import { type RedisOptions, redisOptions } from '../lib/redis-options.ts'
import { compareRow, targets } from '../lib/results.ts'
import { type Contender, interleavedRounds, series } from '../lib/rounds.ts'

export interface BullmqModule {
  bullmqEngine: (options: Record<string, unknown>) => PoolEngine
  /** Makes this process a worker of the pool's queue. */
  startWorker: (options: {
    pool: unknown
    concurrency: number
    signals: false
  }) => Promise<{ close(options?: { timeoutMs?: number }): Promise<void> }>
}

const CONCURRENCY = 16
const TIMEOUT_MS = 120_000

export async function obliterate(name: string, connection: RedisOptions): Promise<void> {
  const queue = new Queue(name, { connection })
  await queue.obliterate({ force: true }).catch(() => {})
  await queue.close()
}

/** `promise`, or a rejection naming `what` after two minutes. */
export function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not finish within ${TIMEOUT_MS / 1000} s`)),
      TIMEOUT_MS,
    )
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export function bullmqContenders(
  module: BullmqModule,
  connection: RedisOptions,
  queues: string[],
): Contender[] {
  const queueName = (side: string, tag: string) => {
    const name = `runner-bench-${side}-${process.pid}-${tag}`
    queues.push(name)
    return name
  }
  return [
    {
      name: 'bare',
      async prepare(tasks, tag) {
        const name = queueName('bare', tag)
        const queue = new Queue(name, { connection })
        let completed = 0
        let finish: () => void = () => {}
        const allDone = new Promise<void>((resolve) => {
          finish = resolve
        })
        const worker = new Worker(name, async (job) => ({ index: (job.data as { index: number }).index }), {
          connection,
          concurrency: CONCURRENCY,
        })
        // Completions as a producer in another process sees them, as `pool.result` does.
        const events = new QueueEvents(name, { connection })
        events.on('completed', () => {
          if (++completed === tasks) finish()
        })
        await Promise.all([worker.waitUntilReady(), events.waitUntilReady()])
        return async () => {
          const start = performance.now()
          await Promise.all(Array.from({ length: tasks }, (_, index) => queue.add('noop', { index })))
          await withTimeout(allDone, 'bare BullMQ')
          const perSecond = tasks / ((performance.now() - start) / 1000)
          await Promise.all([worker.close(), events.close()])
          await queue.close()
          return { perSecond }
        }
      },
    },
    {
      name: 'runner',
      async prepare(tasks, tag) {
        const name = queueName('runner', tag)
        const engine = module.bullmqEngine({ connection, queueName: name })
        const pool = createPool({ activity: createActivityTracker(), engine, concurrency: CONCURRENCY })
        pool.task('noop', { input: z.object({ index: z.number() }) }, async ({ input }) => ({
          index: input.index,
        }))
        const worker = await module.startWorker({ pool, concurrency: CONCURRENCY, signals: false })
        return async () => {
          const start = performance.now()
          const ids = await Promise.all(
            Array.from(
              { length: tasks },
              async (_, index) => (await pool.enqueue('noop', { index })).agentId,
            ),
          )
          await withTimeout(Promise.all(ids.map((agentId) => pool.result(agentId))), 'bullmqEngine pool')
          const perSecond = tasks / ((performance.now() - start) / 1000)
          await worker.close()
          await pool.close({ timeoutMs: 5000 })
          return { perSecond }
        }
      },
    },
  ]
}

export const bullmqCase: BenchCase = {
  id: '6-bullmq',
  group: 6,
  title: 'Distributed engine: bullmqEngine vs bare BullMQ',
  async run(context) {
    const redisUrl = process.env.REDIS_URL
    if (!redisUrl) return { skipped: 'REDIS_URL is not set' }
    const loaded = await loadOptional<BullmqModule>('@runner/bullmq', ['bullmqEngine', 'startWorker'])
    if (!loaded.ok) return { skipped: loaded.reason }
    const settings = {
      tasks: size(context, 500, 5000),
      rounds: size(context, 3, 5),
      concurrency: CONCURRENCY,
    }
    const connection = redisOptions(redisUrl)
    const queues: string[] = []
    try {
      const samples = await interleavedRounds(bullmqContenders(loaded.module, connection, queues), {
        rounds: settings.rounds,
        runs: settings.tasks,
        warmupRuns: Math.min(200, settings.tasks),
      })
      return {
        settings,
        rows: [
          compareRow({
            measure: 'pool on bullmqEngine vs bare BullMQ: no-op tasks per second',
            unit: 'tasks/s',
            subject: series(samples, 'runner', 'perSecond'),
            reference: series(samples, 'bare', 'perSecond'),
            referenceName: 'bare BullMQ (Queue.add + Worker)',
            target: targets.bullmqThroughput,
          }),
        ],
        notes: [
          `All tasks enqueued at once, then awaited (pool: \`enqueue\` + \`result\`, with an activity per task in the memory store; bare: \`queue.add\`, completions counted from \`QueueEvents\`, which is how a producer in another process learns of them). One worker in this process (\`startWorker\`), concurrency ${CONCURRENCY}.`,
        ],
      }
    } finally {
      for (const name of queues) await obliterate(name, connection)
    }
  },
}
