/**
 * Case 3, pool fairness: throughput of the local engine (in-memory queue, memory store) running
 * no-op tasks of 100 tenants, with per-key fairness on (`concurrency: { key: tenant, limit: 2 }`)
 * vs off (the same task without `concurrency`). Each batch enqueues every task with one
 * `enqueueMany` and is timed until the last one has ended.
 */
import { createActivityTracker, createPool, MemoryActivityStore } from '@runner/core'
import { z } from 'zod'
import { type BenchCase, size } from '../lib/case.ts'
import { compareRow, targets } from '../lib/results.ts'
import { type Contender, interleavedRounds, series } from '../lib/rounds.ts'

const TENANTS = 100

function contender(name: 'on' | 'off'): Contender {
  return {
    name,
    prepare(tasks) {
      const pool = createPool({
        activity: createActivityTracker({ store: new MemoryActivityStore() }),
        concurrency: 4,
      })
      const all = Promise.withResolvers<void>()
      let ended = 0
      pool.task(
        'noop',
        {
          input: z.object({ index: z.number() }),
          ...(name === 'on'
            ? {
                concurrency: {
                  key: (_: unknown, metadata: Record<string, unknown>) => String(metadata.tenant),
                  limit: 2,
                },
              }
            : {}),
        },
        async ({ input }) => {
          if (++ended === tasks) all.resolve()
          return input.index
        },
      )
      const items = Array.from({ length: tasks }, (_, index) => ({
        task: 'noop',
        input: { index },
        options: { metadata: { tenant: `t${index % TENANTS}` } },
      }))
      return async () => {
        const start = performance.now()
        await pool.enqueueMany(items)
        await all.promise
        const seconds = (performance.now() - start) / 1000
        await pool.close({ timeoutMs: 0 })
        return { perSecond: tasks / seconds }
      }
    },
  }
}

export const poolFairnessCase: BenchCase = {
  id: '3-pool-fairness',
  group: 3,
  title: 'Pool throughput with per-key fairness on vs off (local engine)',
  async run(context) {
    const settings = { tasks: size(context, 2_000, 20_000), rounds: size(context, 3, 5), tenants: TENANTS }
    context.log('3-pool-fairness')
    const samples = await interleavedRounds([contender('on'), contender('off')], {
      rounds: settings.rounds,
      runs: settings.tasks,
      warmupRuns: 500,
    })
    return {
      settings,
      rows: [
        compareRow({
          measure: 'pool throughput with per-key fairness on vs off (local engine)',
          unit: 'tasks/s',
          subject: series(samples, 'on', 'perSecond'),
          reference: series(samples, 'off', 'perSecond'),
          referenceName: 'fairness off',
          target: targets.fairnessThroughput,
          note: `${TENANTS} tenants, concurrency 4, limit 2 per tenant; no-op tasks on the memory store.`,
        }),
      ],
    }
  },
}
