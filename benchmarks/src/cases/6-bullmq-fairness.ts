/**
 * Case 6, distributed engine with fair concurrency per key: no-op tasks of 100 tenants through a
 * pool on `bullmqEngine` (`@runner/bullmq`), with per-key fairness on (`concurrency: { key:
 * tenant, limit: 2 }`: parked jobs released by the fair dispatch) vs off (the same task without
 * `concurrency`: BullMQ's queue as is). One worker in this process, concurrency 16, activities in
 * the memory store; each batch enqueues every task with one `enqueueMany` and is timed until the
 * last result. Unique queue names, obliterated afterwards.
 */
import { createActivityTracker, createPool } from '@runner/core'
import { z } from 'zod'
import { type BenchCase, size } from '../lib/case.ts'
import { loadOptional } from '../lib/optional.ts'
import { type RedisOptions, redisOptions } from '../lib/redis-options.ts'
import { compareRow, targets } from '../lib/results.ts'
import { type Contender, interleavedRounds, series } from '../lib/rounds.ts'
import { type BullmqModule, obliterate, withTimeout } from './6-bullmq.ts'

const TENANTS = 100
const CONCURRENCY = 16
const LIMIT = 2

function contender(
  name: 'on' | 'off',
  module: BullmqModule,
  connection: RedisOptions,
  queues: string[],
): Contender {
  return {
    name,
    async prepare(tasks, tag) {
      const queueName = `runner-bench-fair-${name}-${process.pid}-${tag}`
      queues.push(queueName)
      const engine = module.bullmqEngine({ connection, queueName })
      const pool = createPool({ activity: createActivityTracker(), engine, concurrency: CONCURRENCY })
      pool.task(
        'noop',
        {
          input: z.object({ index: z.number() }),
          ...(name === 'on'
            ? {
                concurrency: {
                  key: (_: unknown, metadata: Record<string, unknown>) => String(metadata.tenant),
                  limit: LIMIT,
                },
              }
            : {}),
        },
        async ({ input }) => ({ index: input.index }),
      )
      const worker = await module.startWorker({ pool, concurrency: CONCURRENCY, signals: false })
      const items = Array.from({ length: tasks }, (_, index) => ({
        task: 'noop',
        input: { index },
        options: { metadata: { tenant: `t${index % TENANTS}` } },
      }))
      return async () => {
        const start = performance.now()
        const enqueued = await pool.enqueueMany(items)
        await withTimeout(
          Promise.all(enqueued.map(({ agentId }) => pool.result(agentId))),
          `fairness ${name}`,
        )
        const perSecond = tasks / ((performance.now() - start) / 1000)
        await worker.close()
        await pool.close({ timeoutMs: 5000 })
        return { perSecond }
      }
    },
  }
}

export const bullmqFairnessCase: BenchCase = {
  id: '6-bullmq-fairness',
  group: 6,
  title: 'Pool throughput with per-key fairness on vs off (bullmqEngine)',
  async run(context) {
    const redisUrl = process.env.REDIS_URL
    if (!redisUrl) return { skipped: 'REDIS_URL is not set' }
    const loaded = await loadOptional<BullmqModule>('@runner/bullmq', ['bullmqEngine', 'startWorker'])
    if (!loaded.ok) return { skipped: loaded.reason }
    const settings = {
      tasks: size(context, 1000, 5000),
      rounds: size(context, 3, 5),
      tenants: TENANTS,
      concurrency: CONCURRENCY,
      limit: LIMIT,
    }
    context.log('6-bullmq-fairness')
    const connection = redisOptions(redisUrl)
    const queues: string[] = []
    try {
      const samples = await interleavedRounds(
        [
          contender('on', loaded.module, connection, queues),
          contender('off', loaded.module, connection, queues),
        ],
        { rounds: settings.rounds, runs: settings.tasks, warmupRuns: Math.min(200, settings.tasks) },
      )
      return {
        settings,
        rows: [
          compareRow({
            measure: 'pool throughput with per-key fairness on vs off (bullmqEngine)',
            unit: 'tasks/s',
            subject: series(samples, 'on', 'perSecond'),
            reference: series(samples, 'off', 'perSecond'),
            referenceName: 'fairness off',
            target: targets.bullmqFairnessThroughput,
            note: `${TENANTS} tenants, one worker in this process with concurrency ${CONCURRENCY}, limit ${LIMIT} per tenant; no-op tasks, activities in the memory store.`,
          }),
        ],
      }
    } finally {
      for (const name of queues) await obliterate(name, connection)
    }
  },
}
