import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryActivityStore } from '../activity/memory-store.js'
import { createActivityTracker } from '../activity/tracker.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { createPool } from './create-pool.js'
import { localEngine } from './local-engine.js'
import type { Pool, PoolEngine, PoolJob, PoolOptions } from './types.js'

const pools: Pool[] = []

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close({ timeoutMs: 0 })))
})

function setup(options: Omit<PoolOptions, 'activity'> = {}) {
  const activity = createActivityTracker({ store: new MemoryActivityStore() })
  const pool = createPool({ ...options, activity })
  pools.push(pool)
  return { activity, pool }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const byTenant = (_: unknown, metadata: Record<string, unknown>) => String(metadata.tenant)

/** A promise and its resolve, to hold handlers until a test lets them go. */
function gate() {
  let open = () => {}
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  return { promise, open }
}

/** Counts handlers running at once, in total and per key. */
function meter() {
  const running = new Map<string, number>()
  let total = 0
  const state = { max: 0, maxPerKey: new Map<string, number>() }
  return {
    state,
    async around<T>(key: string, work: () => Promise<T>): Promise<T> {
      total++
      running.set(key, (running.get(key) ?? 0) + 1)
      state.max = Math.max(state.max, total)
      state.maxPerKey.set(key, Math.max(state.maxPerKey.get(key) ?? 0, running.get(key) ?? 0))
      try {
        return await work()
      } finally {
        total--
        running.set(key, (running.get(key) ?? 1) - 1)
      }
    },
  }
}

describe('fair concurrency per key (local engine)', () => {
  it('starts every task of a tenant queued behind 1,000 of another within one turn per other key', async () => {
    const { pool } = setup({ concurrency: 4 })
    const starts: string[] = []
    const work = pool.task(
      'work',
      { input: z.number(), concurrency: { key: byTenant } },
      async ({ input, metadata }) => {
        starts.push(`${String(metadata.tenant)}:${input}`)
        await sleep(1)
        return input
      },
    )
    await pool.enqueueMany(
      Array.from({ length: 1000 }, (_, index) => ({
        task: 'work',
        input: index,
        options: { metadata: { tenant: 'big' } },
      })),
    )
    // The first tenant's tasks are running when the second one's arrive.
    while (starts.length < 4) await sleep(1)
    const small = await pool.enqueueMany(
      Array.from({ length: 10 }, (_, index) => ({
        task: 'work',
        input: index,
        options: { metadata: { tenant: 'small' } },
      })),
    )
    // Started (or running) before the small tenant's tasks were queued.
    const startedBefore = starts.length
    await Promise.all(small.map(({ agentId }) => work.result(agentId)))

    const smallAt = starts.flatMap((start, index) => (start.startsWith('small:') ? [index] : []))
    expect(smallAt).toHaveLength(10)
    smallAt.forEach((position, k) => {
      // Its (k+1)th task waits for at most one start of the other key per task of its own ahead
      // of it (and the first one for none): the tasks already started, then one turn each.
      expect(position - k).toBeLessThanOrEqual(startedBefore + k)
    })
    // The stated guarantee: all 10 start before the big tenant's 4 + 10 + 4th task.
    const bigBeforeLast = (smallAt[9] as number) - 9
    expect(bigBeforeLast).toBeLessThan(4 + 10 + 4)
    // Within a key, first-in first-out.
    expect(starts.filter((start) => start.startsWith('small:'))).toEqual(
      Array.from({ length: 10 }, (_, index) => `small:${index}`),
    )
  }, 30_000)

  it('without a concurrency key, the later tenant waits behind the earlier one (first-in first-out)', async () => {
    const { pool } = setup({ concurrency: 4 })
    const starts: string[] = []
    const work = pool.task('work', { input: z.number() }, async ({ input, metadata }) => {
      starts.push(String(metadata.tenant))
      await sleep(1)
      return input
    })
    await pool.enqueueMany(
      Array.from({ length: 40 }, (_, index) => ({
        task: 'work',
        input: index,
        options: { metadata: { tenant: 'big' } },
      })),
    )
    const { agentId } = await work.enqueue(0, { metadata: { tenant: 'small' } })
    await work.result(agentId)
    expect(starts.indexOf('small')).toBe(40)
  })

  it('limit: 1 runs one task per key at a time while other keys run', async () => {
    const { pool } = setup({ concurrency: 4 })
    const m = meter()
    const work = pool.task(
      'work',
      { input: z.number(), concurrency: { key: byTenant, limit: 1 } },
      ({ metadata }) => m.around(String(metadata.tenant), () => sleep(5)),
    )
    const ids = await pool.enqueueMany(
      ['acme', 'acme', 'acme', 'globex', 'globex', 'globex', 'initech', 'initech'].map((tenant, index) => ({
        task: 'work',
        input: index,
        options: { metadata: { tenant } },
      })),
    )
    await Promise.all(ids.map(({ agentId }) => work.result(agentId)))
    expect(m.state.maxPerKey).toEqual(
      new Map([
        ['acme', 1],
        ['globex', 1],
        ['initech', 1],
      ]),
    )
    expect(m.state.max).toBe(3)
  })

  it('limit: 2 holds per key and the pool concurrency still holds over all keys', async () => {
    const { pool } = setup({ concurrency: 3 })
    const m = meter()
    const work = pool.task(
      'work',
      { input: z.number(), concurrency: { key: byTenant, limit: 2 } },
      ({ metadata }) => m.around(String(metadata.tenant), () => sleep(5)),
    )
    const ids = await pool.enqueueMany(
      Array.from({ length: 24 }, (_, index) => ({
        task: 'work',
        input: index,
        options: { metadata: { tenant: `t${index % 2}` } },
      })),
    )
    await Promise.all(ids.map(({ agentId }) => work.result(agentId)))
    // 2 keys with 2 slots each, 3 slots in the pool.
    expect(m.state.max).toBe(3)
    expect(m.state.maxPerKey).toEqual(
      new Map([
        ['t0', 2],
        ['t1', 2],
      ]),
    )
    // Many keys: the pool's 3 slots bound them all.
    const many = await pool.enqueueMany(
      Array.from({ length: 24 }, (_, index) => ({
        task: 'work',
        input: index,
        options: { metadata: { tenant: `u${index % 8}` } },
      })),
    )
    await Promise.all(many.map(({ agentId }) => work.result(agentId)))
    expect(m.state.max).toBe(3)
  })

  it('keys are per task: the same key in two tasks is two groups', async () => {
    const { pool } = setup({ concurrency: 4 })
    const m = meter()
    const options = { input: z.number(), concurrency: { key: () => 'shared', limit: 1 } }
    const one = pool.task('one', options, () => m.around('any', () => sleep(20)))
    const two = pool.task('two', options, () => m.around('any', () => sleep(20)))
    const [a, b] = await pool.enqueueMany([
      { task: 'one', input: 1 },
      { task: 'two', input: 2 },
    ])
    await Promise.all([one.result(a?.agentId as string), two.result(b?.agentId as string)])
    expect(m.state.max).toBe(2)
  })

  it('a queued task waiting for its key can be canceled, and the key keeps its slots', async () => {
    const { pool, activity } = setup({ concurrency: 4 })
    const held = gate()
    const started: number[] = []
    const work = pool.task(
      'work',
      { input: z.number(), concurrency: { key: () => 'acme', limit: 1 } },
      async ({ input }) => {
        started.push(input)
        if (input === 1) await held.promise
        return input
      },
    )
    const first = await work.enqueue(1)
    const second = await work.enqueue(2)
    await sleep(10)
    expect(started).toEqual([1])
    expect(await pool.cancel(second.agentId)).toBe(true)
    expect((await activity.detail(second.agentId)).status).toBe('canceled')
    const third = await work.enqueue(3)
    held.open()
    expect(await work.result(first.agentId)).toBe(1)
    expect(await work.result(third.agentId)).toBe(3)
    expect(started).toEqual([1, 3])

    // Canceling a running task frees its key's slot too.
    const blocking = gate()
    const slow = pool.task(
      'slow',
      { input: z.number(), concurrency: { key: () => 'k', limit: 1 } },
      async ({ input, signal }) => {
        if (input === 1)
          await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
        await blocking.promise
        return input
      },
    )
    const running = await slow.enqueue(1)
    const next = await slow.enqueue(2)
    await sleep(10)
    expect(await pool.cancel(running.agentId)).toBe(true)
    blocking.open()
    expect(await slow.result(next.agentId)).toBe(2)
  })

  it('priority comes first across keys; keys of the same priority take turns', async () => {
    const { pool } = setup({ concurrency: 1 })
    const held = gate()
    const starts: string[] = []
    const work = pool.task(
      'work',
      { input: z.string(), concurrency: { key: byTenant } },
      async ({ input, metadata }) => {
        starts.push(`${String(metadata.tenant)}:${input}`)
        if (input === 'hold') await held.promise
      },
    )
    const hold = await work.enqueue('hold', { metadata: { tenant: 'x' } })
    await sleep(10)
    const ids = await pool.enqueueMany([
      { task: 'work', input: 'a1', options: { metadata: { tenant: 'a' } } },
      { task: 'work', input: 'a2', options: { metadata: { tenant: 'a' } } },
      { task: 'work', input: 'a3', options: { metadata: { tenant: 'a' } } },
      { task: 'work', input: 'b1', options: { metadata: { tenant: 'b' } } },
      { task: 'work', input: 'b2', options: { metadata: { tenant: 'b' } } },
      { task: 'work', input: 'urgent', options: { metadata: { tenant: 'b' }, priority: 5 } },
    ])
    held.open()
    await work.result(hold.agentId)
    await Promise.all(ids.map(({ agentId }) => work.result(agentId)))
    expect(starts).toEqual(['x:hold', 'b:urgent', 'a:a1', 'b:b1', 'a:a2', 'b:b2', 'a:a3'])
  })

  it('the key is computed at enqueue and carried on the job', async () => {
    const jobs: PoolJob[] = []
    const inner = localEngine()
    const engine: PoolEngine = {
      name: 'recording',
      start: (context) => inner.start(context),
      submit: (job) => {
        jobs.push(job)
        return inner.submit(job)
      },
      cancel: (agentId) => inner.cancel(agentId),
      result: (agentId, signal) => inner.result(agentId, signal),
      close: (options) => inner.close(options),
    }
    const { pool } = setup({ engine })
    const work = pool.task(
      'work',
      {
        input: z.object({ org: z.string().transform((org) => org.toUpperCase()) }),
        concurrency: { key: (input, metadata) => `${input.org}/${String(metadata.user)}`, limit: 2 },
      },
      () => 'ok',
    )
    const plain = pool.task('plain', { input: z.number() }, () => 'ok')
    const { agentId } = await work.enqueue({ org: 'acme' }, { metadata: { user: 'ann' } })
    await work.result(agentId)
    const other = await plain.enqueue(1)
    await plain.result(other.agentId)
    expect(jobs[0]).toMatchObject({ concurrencyKey: 'ACME/ann', concurrencyLimit: 2 })
    expect(jobs[1]).not.toHaveProperty('concurrencyKey')
    expect(jobs[1]).not.toHaveProperty('concurrencyLimit')
  })

  describe('bad options', () => {
    it('refuses a bad concurrency option naming the field', () => {
      const { pool } = setup()
      const field = (options: unknown) => {
        try {
          pool.task(`t${Math.random()}`, { input: z.number(), concurrency: options } as never, () => 1)
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidOptionsError)
          return (error as InvalidOptionsError).field
        }
        throw new Error('accepted')
      }
      expect(field({ key: 'tenant' })).toBe('concurrency.key')
      expect(field({ key: byTenant, limit: 0 })).toBe('concurrency.limit')
      expect(field({ key: byTenant, limit: 1.5 })).toBe('concurrency.limit')
      expect(field({ key: byTenant, limitt: 2 })).toMatch(/^concurrency/)
      expect(field(4)).toBe('concurrency')
    })

    it('refuses an enqueue whose key is not a non-empty string, before creating anything', async () => {
      const { pool, activity } = setup()
      const work = pool.task(
        'work',
        { input: z.number(), concurrency: { key: (_, metadata) => metadata.tenant as string } },
        () => 1,
      )
      const throwing = pool.task(
        'throwing',
        {
          input: z.number(),
          concurrency: {
            key: () => {
              throw new Error('no tenant')
            },
          },
        },
        () => 1,
      )
      await expect(work.enqueue(1)).rejects.toMatchObject({
        name: 'InvalidOptionsError',
        field: 'concurrency.key',
        message: expect.stringContaining('returned undefined'),
      })
      await expect(work.enqueue(1, { metadata: { tenant: '' } })).rejects.toMatchObject({
        field: 'concurrency.key',
        message: expect.stringContaining('an empty string'),
      })
      await expect(work.enqueue(1, { metadata: { tenant: 'x'.repeat(201) } })).rejects.toMatchObject({
        field: 'concurrency.key',
      })
      await expect(throwing.enqueue(1)).rejects.toMatchObject({
        field: 'concurrency.key',
        message: expect.stringContaining('no tenant'),
      })
      await expect(
        pool.enqueueMany([
          { task: 'work', input: 1, options: { metadata: { tenant: 'ok' } } },
          { task: 'work', input: 2, options: { metadata: { tenant: 7 } } },
        ]),
      ).rejects.toMatchObject({ field: 'tasks[1].concurrency.key' })
      expect((await activity.list()).items).toHaveLength(0)
    })
  })
})
