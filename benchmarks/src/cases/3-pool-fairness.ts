/**
 * Case 3, pool fairness: throughput of the local engine running no-op tasks of 100 tenants, with
 * per-key fairness on (`concurrency: { key: tenant, limit: 2 }`) vs off (the same task without
 * `concurrency`), twice: with the in-memory queue on the memory store, and with the durable queue
 * in a SQLite file (the default engine on a `SqliteActivityStore`: fair claims in the file vs
 * plain ones). Each batch enqueues every task with one `enqueueMany` and is timed until the last
 * one has ended.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createActivityTracker, createPool, MemoryActivityStore } from '@runner/core'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { z } from 'zod'
import { type BenchCase, size } from '../lib/case.ts'
import { compareRow, targets } from '../lib/results.ts'
import { type Contender, interleavedRounds, series } from '../lib/rounds.ts'

const TENANTS = 100

/** `scratch`: a folder for the SQLite files of the durable queue; without it, the memory store. */
function contender(name: 'on' | 'off', scratch?: string): Contender {
  let files = 0
  return {
    name,
    prepare(tasks) {
      const store = scratch
        ? new SqliteActivityStore({ path: join(scratch, `${name}-${files++}.db`) })
        : new MemoryActivityStore()
      const pool = createPool({ activity: createActivityTracker({ store }), concurrency: 4 })
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
        await store.close()
        return { perSecond: tasks / seconds }
      }
    },
  }
}

export const poolFairnessCase: BenchCase = {
  id: '3-pool-fairness',
  group: 3,
  title: 'Pool throughput with per-key fairness on vs off (local engine, in memory and durable on SQLite)',
  async run(context) {
    const settings = {
      tasks: size(context, 2_000, 20_000),
      durableTasks: size(context, 1_000, 5_000),
      rounds: size(context, 3, 5),
      tenants: TENANTS,
    }
    context.log('3-pool-fairness')
    const samples = await interleavedRounds([contender('on'), contender('off')], {
      rounds: settings.rounds,
      runs: settings.tasks,
      warmupRuns: 500,
    })
    context.log('3-pool-fairness: durable queue on SQLite')
    const scratch = mkdtempSync(join(tmpdir(), 'runner-bench-fairness-'))
    let durable: Awaited<ReturnType<typeof interleavedRounds>>
    try {
      durable = await interleavedRounds([contender('on', scratch), contender('off', scratch)], {
        rounds: settings.rounds,
        runs: settings.durableTasks,
        warmupRuns: 200,
      })
    } finally {
      rmSync(scratch, { recursive: true, force: true })
    }
    return {
      settings,
      rows: [
        compareRow({
          measure: 'pool throughput with per-key fairness on vs off (durable local engine, SQLite)',
          unit: 'tasks/s',
          subject: series(durable, 'on', 'perSecond'),
          reference: series(durable, 'off', 'perSecond'),
          referenceName: 'fairness off',
          target: targets.fairnessThroughput,
          note: `${TENANTS} tenants, concurrency 4, limit 2 per tenant; no-op tasks, the queue and the activities in a SQLite file (fair claims vs plain claims).`,
        }),
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
