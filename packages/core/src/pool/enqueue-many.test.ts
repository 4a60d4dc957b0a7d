import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryActivityStore } from '../activity/memory-store.js'
import { type ActivityTracker, createActivityTracker } from '../activity/tracker.js'
import type { ActivityStore } from '../activity/types.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { RunnerError } from '../errors/runner-error.js'
import { SqliteActivityStore } from '../sqlite/sqlite-store.js'
import { createPool } from './create-pool.js'
import { localEngine } from './local-engine.js'
import type { EnqueueManyItem, Pool, PoolEngine, PoolJob } from './types.js'

const cleanups: Array<() => Promise<void> | void> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function tempDatabase(): string {
  const dir = mkdtempSync(join(tmpdir(), 'runner-enqueue-many-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'pool.db')
}

function poolOn(
  store: ActivityStore,
  options: { engine?: PoolEngine; concurrency?: number } = {},
): { pool: Pool; activity: ActivityTracker } {
  const activity = createActivityTracker({ store })
  const pool = createPool({ activity, ...options })
  cleanups.push(() => pool.close({ timeoutMs: 0 }))
  return { pool, activity }
}

const topic = z.object({ topic: z.string().min(1) })

/** Registers `echo`, which records the order handlers start in. */
function echoTask(pool: Pool, started: string[] = []) {
  return pool.task('echo', { input: topic }, async ({ input, metadata }) => {
    started.push(input.topic)
    return { topic: input.topic, tenant: metadata.tenant ?? null }
  })
}

const itemsOf = (topics: string[]): EnqueueManyItem[] =>
  topics.map((name) => ({ task: 'echo', input: { topic: name } }))

/** Every activity of the store (the tests keep them under a page). */
async function allActivities(store: ActivityStore) {
  return (await store.list({ limit: 500 })).items
}

describe('pool.enqueueMany', () => {
  for (const kind of ['memory', 'SQLite file'] as const) {
    it(`local engine, ${kind} store: enqueues every task, returns the ids in order, and each runs with its own options`, async () => {
      const store =
        kind === 'memory' ? new MemoryActivityStore() : new SqliteActivityStore({ path: tempDatabase() })
      if (kind !== 'memory') cleanups.push(() => store.close())
      const { pool, activity } = poolOn(store, { concurrency: 1 })
      const started: string[] = []
      echoTask(pool, started)
      const results = await pool.enqueueMany([
        { task: 'echo', input: { topic: 'low' }, options: { priority: -5 } },
        { task: 'echo', input: { topic: 'tenant' }, options: { metadata: { tenant: 'acme' } } },
        { task: 'echo', input: { topic: 'mine' }, options: { agentId: 'my-own-id' } },
        { task: 'echo', input: { topic: 'high' }, options: { priority: 5 } },
      ])
      expect(results, 'one result per task, in the order given').toHaveLength(4)
      expect(results[2], 'a given agentId is kept').toEqual({ agentId: 'my-own-id' })
      expect(new Set(results.map((result) => result.agentId)).size, 'every task has its own id').toBe(4)
      const values = await Promise.all(
        results.map(({ agentId }) => pool.result(agentId, { timeoutMs: 10_000 })),
      )
      expect(values).toEqual([
        { topic: 'low', tenant: null },
        { topic: 'tenant', tenant: 'acme' },
        { topic: 'mine', tenant: null },
        { topic: 'high', tenant: null },
      ])
      expect(started, 'priorities hold across the batch: higher first, then the order given').toEqual([
        'high',
        'tenant',
        'mine',
        'low',
      ])
      expect(
        (await activity.detail(results[1]!.agentId)).metadata,
        'metadata is stored on the activity',
      ).toEqual({
        tenant: 'acme',
      })
    })
  }

  it('refuses a bad task in the middle, naming its index and field, and enqueues nothing', async () => {
    const store = new MemoryActivityStore()
    const { pool } = poolOn(store)
    const started: string[] = []
    echoTask(pool, started)
    const bad = [...itemsOf(['a', 'b']), { task: 'echo', input: { topic: '' } }, ...itemsOf(['d'])]
    const error = await pool.enqueueMany(bad).catch((caught: unknown) => caught)
    expect(InvalidOptionsError.isInstance(error), String(error)).toBe(true)
    expect((error as InvalidOptionsError).field).toBe('tasks[2].input.topic')
    expect((error as Error).message).toContain('enqueueMany')

    const cases: Array<[unknown, string]> = [
      [[...itemsOf(['a']), { task: 'nope', input: { topic: 'x' } }], 'tasks[1].task'],
      [
        [...itemsOf(['a']), { task: 'echo', input: { topic: 'x' }, options: { priority: 1.5 } }],
        'tasks[1].options.priority',
      ],
      [
        [...itemsOf(['a']), { task: 'echo', input: { topic: 'x' }, options: { prority: 1 } }],
        'tasks[1].options.prority',
      ],
      [[...itemsOf(['a']), { task: 'echo', input: { topic: new Date() } }], 'tasks[1].input.topic'],
      [[...itemsOf(['a']), 42], 'tasks[1]'],
      [[...itemsOf(['a']), { task: 'echo', input: { topic: 'x' }, priority: 3 }], 'tasks[1].priority'],
      [
        [
          { task: 'echo', input: { topic: 'x' }, options: { agentId: 'same' } },
          { task: 'echo', input: { topic: 'y' }, options: { agentId: 'same' } },
        ],
        'tasks[1].options.agentId',
      ],
      ['not an array', 'tasks'],
    ]
    for (const [items, field] of cases) {
      await expect(pool.enqueueMany(items as EnqueueManyItem[]), field).rejects.toMatchObject({
        name: 'InvalidOptionsError',
        field,
      })
    }
    expect(await allActivities(store), 'no activity was created by a refused batch').toEqual([])
    expect(started).toEqual([])
    await expect(pool.enqueueMany([]), 'an empty batch enqueues nothing').resolves.toEqual([])
  })

  it('when the store refuses one create (an agentId in use), no task of the batch runs and the created ones end error', async () => {
    const store = new MemoryActivityStore()
    const { pool, activity } = poolOn(store)
    const started: string[] = []
    echoTask(pool, started)
    const first = await pool.enqueue('echo', { topic: 'earlier' }, { agentId: 'taken' })
    await pool.result(first.agentId)
    const error = await pool
      .enqueueMany([
        { task: 'echo', input: { topic: 'a' }, options: { agentId: 'batch-a' } },
        { task: 'echo', input: { topic: 'b' }, options: { agentId: 'taken' } },
        { task: 'echo', input: { topic: 'c' }, options: { agentId: 'batch-c' } },
      ])
      .catch((caught: unknown) => caught)
    expect(InvalidOptionsError.isInstance(error), String(error)).toBe(true)
    expect((error as InvalidOptionsError).field).toBe('tasks[1].options.agentId')
    for (const agentId of ['batch-a', 'batch-c']) {
      const detail = await activity.detail(agentId)
      expect(detail.status, `${agentId} never stays queued`).toBe('error')
      expect(detail.message).toContain('enqueueMany')
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(started, 'only the earlier task ran').toEqual(['earlier'])
  })

  it('on an engine without submitMany: one submit per job; when one is refused, the accepted ones are taken back and nothing runs', async () => {
    const inner = localEngine({ durable: false })
    const refused = new Set(['batch-b'])
    // An engine of another author, with submit only: it refuses one job.
    const engine: PoolEngine = {
      name: 'submit-only',
      start: (context) => inner.start(context),
      submit: (job: PoolJob) =>
        refused.has(job.agentId) ? Promise.reject(new RunnerError('queue full')) : inner.submit(job),
      cancel: (agentId) => inner.cancel(agentId),
      result: (agentId, signal) => inner.result(agentId, signal),
      close: (options) => inner.close(options),
    }
    const store = new MemoryActivityStore()
    const { pool, activity } = poolOn(store, { engine })
    const started: string[] = []
    echoTask(pool, started)
    await expect(
      pool.enqueueMany(
        ['a', 'b', 'c'].map((name) => ({
          task: 'echo',
          input: { topic: name },
          options: { agentId: `batch-${name}` },
        })),
      ),
    ).rejects.toThrow('queue full')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(started, 'no task of the batch ran').toEqual([])
    for (const agentId of ['batch-a', 'batch-b', 'batch-c']) {
      const status = (await activity.detail(agentId)).status
      expect(['canceled', 'error'], `${agentId} ended (${status})`).toContain(status)
    }
  })

  it('is refused once the pool is closed', async () => {
    const { pool } = poolOn(new MemoryActivityStore())
    echoTask(pool)
    await pool.close()
    await expect(pool.enqueueMany(itemsOf(['a']))).rejects.toThrow('closed')
  })
})

describe('pool.enqueueMany on the durable local engine (SQLite file)', () => {
  it('pushes the batch in one transaction; a restart keeps every queued task, and the next pool runs them all', async () => {
    const file = tempDatabase()
    const store = new SqliteActivityStore({ path: file })
    cleanups.push(() => store.close())
    const activity = createActivityTracker({ store })
    const first = createPool({ activity, engine: localEngine({ pollMs: 20 }), concurrency: 1 })
    const gate = Promise.withResolvers<void>()
    first.task('echo', { input: topic }, async ({ input, signal }) => {
      await Promise.race([gate.promise, new Promise((resolve) => signal.addEventListener('abort', resolve))])
      return input.topic
    })
    const topics = Array.from({ length: 50 }, (_, index) => `t${index}`)
    const results = await first.enqueueMany(itemsOf(topics))
    expect(results).toHaveLength(50)
    // Closed with the first task holding the only slot: the other 49 stay in the store's queue.
    await first.close({ timeoutMs: 0 })
    gate.resolve()
    const statuses = await Promise.all(results.map(async ({ agentId }) => (await store.get(agentId))?.status))
    expect(
      statuses.filter((status) => status === 'queued').length,
      'queued tasks stay queued across the restart',
    ).toBeGreaterThanOrEqual(49)

    const second = createPool({ activity, engine: localEngine({ pollMs: 20 }), concurrency: 4 })
    cleanups.push(() => second.close({ timeoutMs: 0 }))
    second.task('echo', { input: topic }, async ({ input }) => input.topic)
    const queued = results.filter((_, index) => statuses[index] === 'queued')
    const values = await Promise.all(
      queued.map(({ agentId }) => second.result(agentId, { timeoutMs: 20_000 })),
    )
    expect(values).toEqual(topics.filter((_, index) => statuses[index] === 'queued'))
  })

  it('a batch whose job is already in the store queue pushes none of it (the queue refuses it whole)', async () => {
    const store = new SqliteActivityStore({ path: tempDatabase() })
    cleanups.push(() => store.close())
    const queue = store.jobQueue
    await queue.push({
      agentId: 'queued-elsewhere',
      job: { task: 'echo' },
      priority: 0,
      readyAt: Date.now() + 60_000,
    })
    const jobOf = (agentId: string) => ({
      agentId,
      job: { task: 'echo' },
      priority: 0,
      readyAt: Date.now() + 60_000,
    })
    await expect(queue.pushMany([jobOf('x1'), jobOf('queued-elsewhere'), jobOf('x3')])).rejects.toMatchObject(
      {
        name: 'InvalidOptionsError',
        field: 'jobs[1].agentId',
      },
    )
    expect(await queue.remove('x1'), 'nothing of the refused batch was stored').toBe(false)
    expect(await queue.remove('x3')).toBe(false)
  })
})
