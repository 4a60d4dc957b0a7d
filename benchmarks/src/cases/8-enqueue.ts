/**
 * Case 8, enqueue: how long 10,000 `pool.enqueue` calls take to return (activities created,
 * jobs stored; nothing run), per engine and store, with one `pool.enqueueMany` and with 10,000
 * `pool.enqueue` calls issued at once. Engines: `localEngine` on the memory store (in-memory
 * queue), and on SQLite and PostgreSQL (the durable queue in the store); `bullmqEngine` with the
 * memory and PostgreSQL stores, on the Redis of `REDIS_URL`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type ActivityStore,
  createActivityTracker,
  createPool,
  localEngine,
  MemoryActivityStore,
  type PoolEngine,
} from '@runner/core'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { z } from 'zod'
import { type BenchCase, size } from '../lib/case.ts'
import { loadOptional } from '../lib/optional.ts'
import { redisOptions } from '../lib/redis-options.ts'
import { type Row, targets, valueRow } from '../lib/results.ts'
import { type Contender, interleavedRounds, series } from '../lib/rounds.ts'
import { openPostgres } from './4-stores.ts'
import { type BullmqModule, obliterate } from './6-bullmq.ts'

/** The figure is per 10,000 enqueues: every value is scaled to it. */
const PER = 10_000

interface OpenedStore {
  store: ActivityStore
  close(): Promise<void>
}

interface Combination {
  engine: 'localEngine' | 'bullmqEngine'
  store: 'memory' | 'SQLite' | 'PostgreSQL'
  /** A fresh store for one batch, or why it cannot run. */
  open(): Promise<OpenedStore | { skipped: string }>
  /** A fresh engine for one batch. */
  makeEngine(): PoolEngine
  /** Cleans up what the engine left outside the store (the BullMQ queue). */
  after?(): Promise<void>
  target?: boolean
}

/**
 * One side of a combination: a fresh store and pool per batch. The pool runs one task at a time,
 * and a first task, enqueued before the timing (connections opened, schema created), holds that
 * slot until the batch is timed, so that the timing holds only the enqueues (the local engine
 * would otherwise run the no-op tasks in the same process meanwhile); no worker is started on
 * BullMQ.
 */
function contender(combination: Combination, mode: 'many' | 'loop', skipped: string[]): Contender {
  return {
    name: mode,
    async prepare(tasks) {
      const opened = await combination.open()
      if ('skipped' in opened) {
        skipped.push(opened.skipped)
        return async () => ({ ms: Number.NaN })
      }
      const gate = Promise.withResolvers<void>()
      const pool = createPool({
        activity: createActivityTracker({ store: opened.store }),
        engine: combination.makeEngine(),
        concurrency: 1,
      })
      pool.task('noop', { input: z.object({ index: z.number() }) }, async ({ input, signal }) => {
        await Promise.race([
          gate.promise,
          new Promise((resolve) => signal.addEventListener('abort', resolve)),
        ])
        return input.index
      })
      // One task first, outside the timing: connections open, the schema ready, the one slot held.
      const warm = await pool.enqueue('noop', { index: -1 })
      await pool.activity.store.get(warm.agentId)
      const items = Array.from({ length: tasks }, (_, index) => ({ task: 'noop', input: { index } }))
      return async () => {
        const start = performance.now()
        if (mode === 'many') await pool.enqueueMany(items)
        else await Promise.all(items.map((item) => pool.enqueue(item.task, item.input)))
        const ms = ((performance.now() - start) * PER) / tasks
        gate.resolve()
        await pool.close({ timeoutMs: 0 })
        await opened.close()
        await combination.after?.()
        return { ms }
      }
    },
  }
}

export const enqueueCase: BenchCase = {
  id: '8-enqueue',
  group: 8,
  title: 'Enqueue 10,000 tasks: enqueueMany vs enqueue, per engine and store',
  async run(context) {
    const settings = {
      tasks: size(context, 1_000, 10_000),
      rounds: 2,
    }
    const scratch = mkdtempSync(join(tmpdir(), 'runner-bench-enqueue-'))
    const notes: string[] = []
    const rows: Row[] = []
    const redisUrl = process.env.REDIS_URL
    const bullmq = redisUrl
      ? await loadOptional<BullmqModule>('@runner/bullmq', ['bullmqEngine', 'startWorker'])
      : ({ ok: false, reason: 'REDIS_URL is not set' } as const)
    const queues: string[] = []
    let files = 0
    const memory = async (): Promise<OpenedStore> => ({
      store: new MemoryActivityStore(),
      close: async () => {},
    })
    const sqlite = async (): Promise<OpenedStore> => {
      const store = new SqliteActivityStore({ path: join(scratch, `activities-${files++}.db`) })
      return { store, close: () => store.close() }
    }
    const postgres = () => openPostgres(context)
    const bullEngine = (): PoolEngine => {
      if (!bullmq.ok || !redisUrl) throw new Error('unreachable')
      const queueName = `runner-bench-enqueue-${process.pid}-${queues.length}`
      queues.push(queueName)
      return bullmq.module.bullmqEngine({ connection: redisOptions(redisUrl), queueName })
    }
    const dropQueues = async () => {
      if (!redisUrl) return
      for (const name of queues.splice(0)) await obliterate(name, redisOptions(redisUrl))
    }
    const combinations: Combination[] = [
      { engine: 'localEngine', store: 'memory', open: memory, makeEngine: () => localEngine() },
      { engine: 'localEngine', store: 'SQLite', open: sqlite, makeEngine: () => localEngine() },
      { engine: 'localEngine', store: 'PostgreSQL', open: postgres, makeEngine: () => localEngine() },
      { engine: 'bullmqEngine', store: 'memory', open: memory, makeEngine: bullEngine, after: dropQueues },
      {
        engine: 'bullmqEngine',
        store: 'PostgreSQL',
        open: postgres,
        makeEngine: bullEngine,
        after: dropQueues,
        target: true,
      },
    ]
    try {
      for (const combination of combinations) {
        const label = `${combination.engine} + ${combination.store}`
        if (combination.engine === 'bullmqEngine' && !bullmq.ok) {
          notes.push(`${label} skipped: ${bullmq.reason}.`)
          continue
        }
        context.log(`8-enqueue: ${label}`)
        const skipped: string[] = []
        const samples = await interleavedRounds(
          [contender(combination, 'many', skipped), contender(combination, 'loop', skipped)],
          { rounds: settings.rounds, runs: settings.tasks, warmupRuns: Math.min(200, settings.tasks) },
        )
        if (skipped.length > 0) {
          notes.push(`${label} skipped: ${skipped[0]}.`)
          continue
        }
        const target = combination.target ? { target: targets.enqueue10k } : {}
        rows.push(
          valueRow({
            measure: `${label}: enqueue 10,000 with one enqueueMany`,
            unit: 'ms',
            values: series(samples, 'many'),
            ...target,
          }),
          valueRow({
            measure: `${label}: enqueue 10,000 with enqueue, all at once`,
            unit: 'ms',
            values: series(samples, 'loop'),
            ...target,
          }),
        )
      }
    } finally {
      await dropQueues()
      rmSync(scratch, { recursive: true, force: true })
    }
    notes.push(
      `Time until every enqueue has returned (activities created \`queued\`, jobs stored), for ${settings.tasks.toLocaleString('en-US')} tasks, scaled to 10,000. A fresh store and pool per batch; the pool's one slot is held by its first task until the batch is timed, so nothing else runs meanwhile (no BullMQ worker). "All at once": ${settings.tasks.toLocaleString('en-US')} \`pool.enqueue\` calls issued in a loop, then awaited together.`,
    )
    return { settings, rows, notes }
  },
}
