import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryActivityStore } from '../activity/memory-store.js'
import { type ActivityTracker, createActivityTracker } from '../activity/tracker.js'
import { ActivityTransitionError } from '../errors/activity-transition-error.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { RunTimeoutError } from '../errors/run-timeout-error.js'
import { RunnerError } from '../errors/runner-error.js'
import { logLines, waitForActivity, waitForStatus } from '../test/wait-for-activity.js'
import { createPool } from './create-pool.js'
import { localEngine } from './local-engine.js'
import type { Pool, PoolOptions } from './types.js'

const pools: Pool[] = []

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close({ timeoutMs: 0 })))
})

function setup(options: Omit<PoolOptions, 'activity'> & { activity?: ActivityTracker } = {}) {
  const activity = options.activity ?? createActivityTracker({ store: new MemoryActivityStore() })
  const pool = createPool({ ...options, activity })
  pools.push(pool)
  return { activity, pool }
}

const topicSchema = z.object({ topic: z.string().min(1) })

/** Tracks how many handlers run at once. */
function concurrencyMeter() {
  let current = 0
  const meter = {
    max: 0,
    async around<T>(work: () => Promise<T>): Promise<T> {
      current++
      meter.max = Math.max(meter.max, current)
      try {
        return await work()
      } finally {
        current--
      }
    },
  }
  return meter
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A promise that settles when the signal aborts, with its reason. */
const aborted = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason)
    signal.addEventListener('abort', () => reject(signal.reason), { once: true })
  })

describe('createPool', () => {
  it('validates its options', () => {
    expect(() => createPool({ concurrency: 0 })).toThrow(
      expect.objectContaining({ name: 'InvalidOptionsError', field: 'concurrency' }),
    )
    expect(() => createPool({ engine: {} as never })).toThrow(expect.objectContaining({ field: 'engine' }))
  })

  it('refuses an engine already used by another pool', () => {
    const engine = localEngine()
    const { pool } = setup({ engine })
    expect(pool.engine).toBe(engine)
    expect(() => createPool({ engine })).toThrow(/already used by a pool/)
  })
})

describe('pool.task', () => {
  it('refuses a duplicate name, a bad name and bad options, naming the field', () => {
    const { pool } = setup()
    pool.task('research', { input: topicSchema }, async () => 'ok')
    const attempts: [() => unknown, string][] = [
      [() => pool.task('research', { input: topicSchema }, async () => 'ok'), 'name'],
      [() => pool.task('', { input: topicSchema }, async () => 'ok'), 'name'],
      [() => pool.task('a', { input: topicSchema, retries: -1 }, async () => 'ok'), 'retries'],
      [() => pool.task('b', { input: topicSchema, timeoutMs: 0 }, async () => 'ok'), 'timeoutMs'],
      [() => pool.task('c', { input: 'nope' as never }, async () => 'ok'), 'input'],
      [() => pool.task('d', { input: topicSchema, retry: 1 } as never, async () => 'ok'), 'retry'],
      [() => pool.task('e', { input: topicSchema }, 'nope' as never), 'handler'],
    ]
    for (const [attempt, field] of attempts) {
      let caught: unknown
      try {
        attempt()
      } catch (error) {
        caught = error
      }
      expect(InvalidOptionsError.isInstance(caught), `expected InvalidOptionsError on ${field}`).toBe(true)
      expect((caught as InvalidOptionsError).field).toBe(field)
    }
  })
})

describe('pool.enqueue', () => {
  it('creates the queued activity and returns before the handler starts', async () => {
    const { pool, activity } = setup()
    let started = false
    const research = pool.task('research', { input: topicSchema }, async ({ input }) => {
      started = true
      return `found ${input.topic}`
    })

    const { agentId } = await research.enqueue({ topic: 'tides' }, { metadata: { tenant: 'acme' } })

    expect(started).toBe(false)
    const queued = await activity.detail(agentId)
    expect(queued).toMatchObject({
      status: 'queued',
      agentType: 'research',
      metadata: { tenant: 'acme' },
      message: activity.messages.queued,
    })
    await expect(pool.result(agentId)).resolves.toBe('found tides')
    expect(started).toBe(true)
  })

  it('uses the agentId given and refuses one already in use', async () => {
    const { pool, activity } = setup()
    pool.task('research', { input: topicSchema }, async () => 'ok')
    const { agentId } = await pool.enqueue('research', { topic: 'a' }, { agentId: 'job-1' })
    expect(agentId).toBe('job-1')
    await expect(pool.enqueue('research', { topic: 'b' }, { agentId: 'job-1' })).rejects.toMatchObject({
      name: 'InvalidOptionsError',
      field: 'agentId',
    })
    await expect(pool.result('job-1')).resolves.toBe('ok')
    expect((await activity.list()).total).toBe(1)
  })

  it('validates the input with the task schema, naming the field, and creates nothing', async () => {
    const { pool, activity } = setup()
    let calls = 0
    pool.task('research', { input: topicSchema }, async () => {
      calls++
    })
    const error = await pool.enqueue('research', { topic: 42 }).catch((caught: unknown) => caught)
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect((error as InvalidOptionsError).field).toBe('input.topic')
    expect((error as Error).message).toContain('input of task "research"')
    await expect(pool.enqueue('research', {})).rejects.toMatchObject({ field: 'input.topic' })
    expect((await activity.list()).total).toBe(0)
    expect(calls).toBe(0)
  })

  it('refuses an input that does not survive the JSON round trip', async () => {
    const { pool } = setup()
    pool.task('schedule', { input: z.object({ when: z.date() }) }, async () => 'ok')
    pool.task('count', { input: z.object({ value: z.bigint() }) }, async () => 'ok')
    await expect(pool.enqueue('schedule', { when: new Date() })).rejects.toMatchObject({
      name: 'InvalidOptionsError',
      field: 'input.when',
      message: expect.stringContaining('JSON round trip'),
    })
    await expect(pool.enqueue('count', { value: 1n })).rejects.toMatchObject({
      field: 'input.value',
      message: expect.stringContaining('BigInt'),
    })
  })

  it('gives the handler the schema output (defaults and transforms applied)', async () => {
    const { pool } = setup()
    const schema = z.object({
      topic: z.string().transform((topic) => topic.toUpperCase()),
      depth: z.number().default(2),
    })
    const research = pool.task(
      'research',
      { input: schema },
      async ({ input }) => `${input.topic}:${input.depth}`,
    )
    const { agentId } = await research.enqueue({ topic: 'tides' })
    await expect(research.result(agentId)).resolves.toBe('TIDES:2')
  })

  it('refuses an unknown task with a typed error naming the registered ones', async () => {
    const { pool, activity } = setup()
    pool.task('research', { input: topicSchema }, async () => 'ok')
    const error = await pool.enqueue('reserch', { topic: 'a' }).catch((caught: unknown) => caught)
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect((error as InvalidOptionsError).field).toBe('task')
    expect((error as Error).message).toContain('"research"')
    expect((await activity.list()).total).toBe(0)
  })

  it.each([
    ['a fractional priority', { priority: 1.5 }, 'priority'],
    ['a priority out of range', { priority: 10_000_000 }, 'priority'],
    ['a negative delay', { delayMs: -1 }, 'delayMs'],
    ['a delay that is not a number', { delayMs: 'soon' }, 'delayMs'],
    ['metadata that is not an object', { metadata: 'tenant' }, 'metadata'],
    ['metadata with a BigInt', { metadata: { count: 1n } }, 'metadata.count'],
    ['metadata with a function', { metadata: { run: () => 1 } }, 'metadata.run'],
    ['an empty agentId', { agentId: '' }, 'agentId'],
    ['an unknown option', { prority: 1 }, 'prority'],
  ])('refuses %s, naming the field', async (_, options, field) => {
    const { pool, activity } = setup()
    pool.task('research', { input: topicSchema }, async () => 'ok')
    const error = await pool
      .enqueue('research', { topic: 'a' }, options as never)
      .catch((caught: unknown) => caught)
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect((error as InvalidOptionsError).field).toBe(field)
    expect((await activity.list()).total).toBe(0)
  })
})

describe('scheduling', () => {
  it('runs at most `concurrency` handlers at once', async () => {
    const { pool } = setup({ concurrency: 2 })
    const meter = concurrencyMeter()
    const work = pool.task('work', { input: z.number() }, ({ input }) =>
      meter.around(async () => {
        await sleep(5)
        return input * 2
      }),
    )
    const ids = await Promise.all(
      [1, 2, 3, 4, 5, 6].map(async (value) => (await work.enqueue(value)).agentId),
    )
    const results = await Promise.all(ids.map((agentId) => work.result(agentId)))
    expect(results).toEqual([2, 4, 6, 8, 10, 12])
    expect(meter.max).toBe(2)
  })

  it('defaults to 4 at once', async () => {
    const { pool } = setup()
    const meter = concurrencyMeter()
    const work = pool.task('work', { input: z.number() }, () => meter.around(() => sleep(5)))
    const ids = await Promise.all(
      Array.from({ length: 9 }, async (_, value) => (await work.enqueue(value)).agentId),
    )
    await Promise.all(ids.map((agentId) => work.result(agentId)))
    expect(meter.max).toBe(4)
  })

  it('runs higher priority first, first-in first-out within a priority', async () => {
    const { pool, activity } = setup({ concurrency: 1 })
    const gate = Promise.withResolvers<void>()
    const order: string[] = []
    const blocker = pool.task('blocker', { input: z.null() }, () => gate.promise)
    const work = pool.task('work', { input: z.string() }, async ({ input }) => {
      order.push(input)
    })
    const blocking = await blocker.enqueue(null)
    await waitForStatus(activity, blocking.agentId, 'running')

    const enqueued = [
      await work.enqueue('low-a'),
      await work.enqueue('high', { priority: 5 }),
      await work.enqueue('low-b', { priority: 0 }),
      await work.enqueue('negative', { priority: -3 }),
      await work.enqueue('mid', { priority: 2 }),
      await work.enqueue('high-2', { priority: 5 }),
      await work.enqueue('low-c'),
    ]
    gate.resolve()
    await Promise.all(enqueued.map(({ agentId }) => work.result(agentId)))
    expect(order).toEqual(['high', 'high-2', 'mid', 'low-a', 'low-b', 'low-c', 'negative'])
  })

  it('delays the start by delayMs', async () => {
    const { pool, activity } = setup({ concurrency: 1 })
    const order: string[] = []
    const work = pool.task('work', { input: z.string() }, async ({ input }) => {
      order.push(input)
    })
    const enqueuedAt = Date.now()
    const later = await work.enqueue('later', { delayMs: 40 })
    const now = await work.enqueue('now')
    await work.result(now.agentId)
    expect((await activity.detail(later.agentId)).status).toBe('queued')
    await work.result(later.agentId)
    expect(order).toEqual(['now', 'later'])
    // Timers may fire a millisecond early on some platforms.
    expect(Date.now() - enqueuedAt).toBeGreaterThanOrEqual(38)
  })
})

describe('report', () => {
  it('updates the activity (running) with the message and percentage', async () => {
    const { pool, activity } = setup()
    const gate = Promise.withResolvers<void>()
    const research = pool.task('research', { input: topicSchema }, async ({ report }) => {
      await report('Searching the web', 30)
      await report('Reading sources')
      await gate.promise
      return 'done'
    })
    const { agentId } = await research.enqueue({ topic: 'tides' })
    const reading = await waitForActivity(
      activity,
      agentId,
      (current) => current.message === 'Reading sources',
    )
    expect(reading).toMatchObject({ status: 'running', percentage: 30 })
    expect(logLines(reading)).toEqual([
      'queued: Waiting to start',
      'running: Started',
      'running: Searching the web',
      'running: Reading sources',
    ])
    gate.resolve()
    await research.result(agentId)
  })

  it('rejects an invalid percentage inside the handler', async () => {
    const { pool } = setup()
    const research = pool.task('research', { input: topicSchema }, async ({ report }) => {
      await report('Half', 50.5)
    })
    const { agentId } = await research.enqueue({ topic: 'tides' })
    await expect(research.result(agentId)).rejects.toMatchObject({
      name: 'InvalidOptionsError',
      field: 'percentage',
    })
  })
})

describe('success and failure', () => {
  it('completes the activity at 100% and resolves the JSON round-tripped result', async () => {
    const { pool, activity } = setup()
    const returned = { at: new Date('2030-01-02T03:04:05.000Z'), skipped: undefined, items: [1, 'two'] }
    const research = pool.task('research', { input: topicSchema }, async () => returned)
    const { agentId } = await research.enqueue({ topic: 'tides' })
    const result = await research.result(agentId)
    expect(result).toEqual({ at: '2030-01-02T03:04:05.000Z', items: [1, 'two'] })
    expect(result).not.toBe(returned)
    expect(await activity.detail(agentId)).toMatchObject({
      status: 'complete',
      percentage: 100,
      message: 'Complete',
    })
    // A second call gets the same result.
    await expect(pool.result(agentId)).resolves.toEqual(result)
  })

  it('resolves undefined for a handler that returns nothing', async () => {
    const { pool } = setup()
    const chore = pool.task('chore', { input: z.undefined() }, async () => {})
    const { agentId } = await chore.enqueue(undefined)
    await expect(chore.result(agentId)).resolves.toBeUndefined()
  })

  it('fails a task whose result is not JSON, without retrying it', async () => {
    const { pool, activity } = setup()
    let calls = 0
    const research = pool.task('research', { input: topicSchema, retries: 2, retryDelayMs: 0 }, async () => {
      calls++
      return { found: new Map([['a', 1]]) }
    })
    const { agentId } = await research.enqueue({ topic: 'tides' })
    const error = await research.result(agentId).catch((caught: unknown) => caught)
    expect(RunnerError.isInstance(error)).toBe(true)
    expect((error as Error).message).toMatch(/not JSON: result\.found is a Map/)
    expect(calls).toBe(1)
    expect((await activity.detail(agentId)).status).toBe('error')
  })

  it('ends in error with messages.error(err) and rejects with the same error', async () => {
    const { pool, activity } = setup()
    const failure = new Error('search engine down')
    const research = pool.task('research', { input: topicSchema }, async () => {
      throw failure
    })
    const { agentId } = await research.enqueue({ topic: 'tides' })
    await expect(research.result(agentId)).rejects.toBe(failure)
    const ended = await activity.detail(agentId)
    expect(ended).toMatchObject({ status: 'error', message: activity.messages.error(failure) })
    expect(ended.message).toBe('Failed: search engine down')
  })

  it('uses the tracker’s configured error message', async () => {
    const activity = createActivityTracker({
      store: new MemoryActivityStore(),
      messages: { error: (error) => `Oops (${(error as Error).message})` },
    })
    const { pool } = setup({ activity })
    const research = pool.task('research', { input: topicSchema }, async () => {
      throw new Error('boom')
    })
    const { agentId } = await research.enqueue({ topic: 'tides' })
    await expect(research.result(agentId)).rejects.toThrow('boom')
    expect((await activity.detail(agentId)).message).toBe('Oops (boom)')
  })

  it('retries with `attempt n of N` on the activity (kind retry) and a 1-based attempt, then succeeds', async () => {
    const { pool, activity } = setup()
    const attempts: number[] = []
    const research = pool.task(
      'research',
      { input: topicSchema, retries: 2, retryDelayMs: 1 },
      async ({ attempt }) => {
        attempts.push(attempt)
        if (attempt < 3) throw new Error(`flaky ${attempt}`)
        return `ok on ${attempt}`
      },
    )
    const { agentId } = await research.enqueue({ topic: 'tides' })
    await expect(research.result(agentId)).resolves.toBe('ok on 3')
    expect(attempts).toEqual([1, 2, 3])
    expect(logLines(await activity.detail(agentId))).toEqual([
      'queued: Waiting to start',
      'running: Started',
      'running: Retrying (attempt 2 of 3): flaky 1',
      'running: Retrying (attempt 3 of 3): flaky 2',
      'complete: Complete',
    ])
    const retries = (await activity.detail(agentId)).log.filter((entry) => entry.kind === 'retry')
    expect(retries.map((entry) => entry.attempt)).toEqual([2, 3])
  })

  it('ends in error once the retries are spent, rejecting with the last error', async () => {
    const { pool, activity } = setup()
    const research = pool.task(
      'research',
      { input: topicSchema, retries: 1, retryDelayMs: 1 },
      async ({ attempt }) => {
        throw new Error(`fail ${attempt}`)
      },
    )
    const { agentId } = await research.enqueue({ topic: 'tides' })
    await expect(research.result(agentId)).rejects.toThrow('fail 2')
    expect(logLines(await activity.detail(agentId))).toEqual([
      'queued: Waiting to start',
      'running: Started',
      'running: Retrying (attempt 2 of 2): fail 1',
      'error: Failed: fail 2',
    ])
  })

  it('asks retryOn whether to retry, and never retries InvalidOptionsError', async () => {
    const { pool } = setup()
    let fatalCalls = 0
    const fatal = pool.task(
      'fatal',
      {
        input: z.null(),
        retries: 3,
        retryDelayMs: 0,
        retryOn: (error) => !(error as Error).message.includes('fatal'),
      },
      async () => {
        fatalCalls++
        throw new Error('fatal problem')
      },
    )
    let invalidCalls = 0
    const invalid = pool.task('invalid', { input: z.null(), retries: 3, retryDelayMs: 0 }, async () => {
      invalidCalls++
      throw new InvalidOptionsError([{ field: 'model', message: 'unknown model' }])
    })
    const first = await fatal.enqueue(null)
    const second = await invalid.enqueue(null)
    await expect(fatal.result(first.agentId)).rejects.toThrow('fatal problem')
    await expect(invalid.result(second.agentId)).rejects.toThrow('unknown model')
    expect([fatalCalls, invalidCalls]).toEqual([1, 1])
  })

  it.each([
    ['a string', 'plain failure', 'Failed: plain failure', /non-Error value: plain failure/],
    ['an object', { code: 42 }, 'Failed: {"code":42}', /non-Error value: \{"code":42\}/],
    ['undefined', undefined, 'Failed: undefined', /non-Error value: undefined/],
  ])(
    'ends in error with a readable message when the handler throws %s',
    async (_, thrown, message, pattern) => {
      const { pool, activity } = setup()
      const research = pool.task('research', { input: topicSchema }, async () => {
        throw thrown
      })
      const { agentId } = await research.enqueue({ topic: 'tides' })
      const error = await research.result(agentId).catch((caught: unknown) => caught)
      expect(RunnerError.isInstance(error)).toBe(true)
      expect((error as Error).message).toMatch(pattern)
      expect((error as Error).cause).toBe(thrown)
      expect(await activity.detail(agentId)).toMatchObject({ status: 'error', message })
    },
  )

  it('ends in error, never running, when a retryOn callback throws', async () => {
    const { pool, activity } = setup()
    const research = pool.task(
      'research',
      {
        input: topicSchema,
        retries: 2,
        retryOn: () => {
          throw new Error('retryOn broke')
        },
      },
      async () => {
        throw new Error('first failure')
      },
    )
    const { agentId } = await research.enqueue({ topic: 'tides' })
    await expect(research.result(agentId)).rejects.toThrow('retryOn broke')
    expect(await activity.detail(agentId)).toMatchObject({
      status: 'error',
      message: 'Failed: retryOn broke',
    })
  })

  it('fails a handler that throws synchronously', async () => {
    const { pool, activity } = setup()
    const research = pool.task('research', { input: topicSchema }, () => {
      throw new Error('sync failure')
    })
    const { agentId } = await research.enqueue({ topic: 'tides' })
    await expect(research.result(agentId)).rejects.toThrow('sync failure')
    expect((await activity.detail(agentId)).status).toBe('error')
  })
})

describe('timeoutMs', () => {
  it('aborts the handler signal, ends in error with the timedOut message and rejects with RunTimeoutError', async () => {
    const { pool, activity } = setup()
    let reason: unknown
    const research = pool.task('research', { input: topicSchema, timeoutMs: 20 }, async ({ signal }) => {
      await aborted(signal).catch((error: unknown) => {
        reason = error
      })
      return 'too late'
    })
    const { agentId } = await research.enqueue({ topic: 'tides' })
    const error = await research.result(agentId).catch((caught: unknown) => caught)
    expect(RunTimeoutError.isInstance(error)).toBe(true)
    expect((error as RunTimeoutError).timeoutMs).toBe(20)
    expect(RunTimeoutError.isInstance(reason)).toBe(true)
    expect(await activity.detail(agentId)).toMatchObject({
      status: 'error',
      message: 'Timed out after 20 ms',
    })
  })

  it('ends promptly even when the handler ignores its signal', async () => {
    const { pool, activity } = setup({ concurrency: 1 })
    const never = Promise.withResolvers<string>()
    const stuck = pool.task('stuck', { input: z.null(), timeoutMs: 20 }, () => never.promise)
    const next = pool.task('next', { input: z.null() }, async () => 'next ran')
    const first = await stuck.enqueue(null)
    const second = await next.enqueue(null)
    await expect(stuck.result(first.agentId)).rejects.toSatisfy(RunTimeoutError.isInstance)
    // The slot was released although the stuck handler still runs.
    await expect(next.result(second.agentId)).resolves.toBe('next ran')
    never.resolve('finally')
    expect((await activity.detail(first.agentId)).status).toBe('error')
  })

  it('retries a timed-out attempt while retries remain', async () => {
    const { pool, activity } = setup()
    const research = pool.task(
      'research',
      { input: topicSchema, timeoutMs: 20, retries: 1, retryDelayMs: 1 },
      async ({ attempt, signal }) => {
        if (attempt === 1) await aborted(signal)
        return `ok on ${attempt}`
      },
    )
    const { agentId } = await research.enqueue({ topic: 'tides' })
    await expect(research.result(agentId)).resolves.toBe('ok on 2')
    expect(logLines(await activity.detail(agentId))).toEqual([
      'queued: Waiting to start',
      'running: Started',
      'running: Retrying (attempt 2 of 2): Timed out after 20 ms',
      'complete: Complete',
    ])
  })
})

describe('pool.cancel', () => {
  it('removes a queued task and cancels its activity; the handler never runs', async () => {
    const { pool, activity } = setup({ concurrency: 1 })
    const gate = Promise.withResolvers<void>()
    const ran: string[] = []
    const work = pool.task('work', { input: z.string() }, async ({ input }) => {
      ran.push(input)
      if (input === 'first') await gate.promise
    })
    const first = await work.enqueue('first')
    const second = await work.enqueue('second')
    await waitForStatus(activity, first.agentId, 'running')

    await expect(pool.cancel(second.agentId)).resolves.toBe(true)
    expect((await activity.detail(second.agentId)).status).toBe('canceled')
    await expect(pool.result(second.agentId)).rejects.toSatisfy(RunCanceledError.isInstance)

    gate.resolve()
    await work.result(first.agentId)
    expect(ran).toEqual(['first'])
  })

  it('cancels a delayed task', async () => {
    const { pool, activity } = setup()
    let ran = false
    const work = pool.task('work', { input: z.null() }, async () => {
      ran = true
    })
    const { agentId } = await work.enqueue(null, { delayMs: 30 })
    await expect(pool.cancel(agentId)).resolves.toBe(true)
    expect((await activity.detail(agentId)).status).toBe('canceled')
    await sleep(50)
    expect(ran).toBe(false)
  })

  it('aborts a running task’s signal and cancels its activity', async () => {
    const { pool, activity } = setup()
    let reason: unknown
    const handlerStarted = Promise.withResolvers<void>()
    const research = pool.task('research', { input: topicSchema }, async ({ signal }) => {
      handlerStarted.resolve()
      await aborted(signal).catch((error: unknown) => {
        reason = error
        throw error
      })
    })
    const { agentId } = await research.enqueue({ topic: 'tides' })
    // The activity is running before the handler is called: wait for the handler itself.
    await handlerStarted.promise
    await expect(pool.cancel(agentId)).resolves.toBe(true)
    expect(await activity.detail(agentId)).toMatchObject({ status: 'canceled', message: 'Canceled' })
    expect(RunCanceledError.isInstance(reason)).toBe(true)
    await expect(pool.result(agentId)).rejects.toSatisfy(RunCanceledError.isInstance)
  })

  it('cancels promptly and frees the slot when the handler ignores its signal', async () => {
    const { pool, activity } = setup({ concurrency: 1 })
    const stuck = Promise.withResolvers<void>()
    const lateReportDone = Promise.withResolvers<void>()
    const handlerStarted = Promise.withResolvers<void>()
    const ignoring = pool.task('ignoring', { input: z.null() }, async ({ report }) => {
      handlerStarted.resolve()
      await stuck.promise
      // Still running in the background after the cancel: its report does nothing.
      await report('Still going', 90)
      lateReportDone.resolve()
      return 'ignored result'
    })
    const next = pool.task('next', { input: z.null() }, async () => 'next ran')
    const first = await ignoring.enqueue(null)
    const second = await next.enqueue(null)
    await handlerStarted.promise

    await expect(pool.cancel(first.agentId)).resolves.toBe(true)
    expect((await activity.detail(first.agentId)).status).toBe('canceled')
    await expect(next.result(second.agentId)).resolves.toBe('next ran')

    stuck.resolve()
    await lateReportDone.promise
    expect(await activity.detail(first.agentId)).toMatchObject({ status: 'canceled', message: 'Canceled' })
    await expect(pool.result(first.agentId)).rejects.toSatisfy(RunCanceledError.isInstance)
  })

  it('cancels a task waiting to retry', async () => {
    const { pool, activity } = setup()
    const research = pool.task(
      'research',
      { input: topicSchema, retries: 3, retryDelayMs: 60_000 },
      async () => {
        throw new Error('flaky')
      },
    )
    const { agentId } = await research.enqueue({ topic: 'tides' })
    await waitForActivity(activity, agentId, (current) => current.log.some((entry) => entry.kind === 'retry'))
    await expect(pool.cancel(agentId)).resolves.toBe(true)
    expect((await activity.detail(agentId)).status).toBe('canceled')
    await expect(pool.result(agentId)).rejects.toSatisfy(RunCanceledError.isInstance)
  })

  it('returns false for a finished or unknown task', async () => {
    const { pool, activity } = setup()
    const research = pool.task('research', { input: topicSchema }, async () => 'ok')
    const { agentId } = await research.enqueue({ topic: 'tides' })
    await research.result(agentId)
    await expect(pool.cancel(agentId)).resolves.toBe(false)
    await expect(pool.cancel('no-such-task')).resolves.toBe(false)
    expect((await activity.detail(agentId)).status).toBe('complete')
  })
})

describe('pool.close', () => {
  it('cancels queued tasks, waits for running ones, then refuses enqueue', async () => {
    const { pool, activity } = setup({ concurrency: 1 })
    const gate = Promise.withResolvers<void>()
    const work = pool.task('work', { input: z.string() }, async ({ input }) => {
      if (input === 'running') await gate.promise
      return input
    })
    const running = await work.enqueue('running')
    const queued = await work.enqueue('queued')
    const delayed = await work.enqueue('delayed', { delayMs: 10_000 })
    await waitForStatus(activity, running.agentId, 'running')

    const closed = pool.close({ timeoutMs: 5000 })
    await waitForStatus(activity, queued.agentId, 'canceled')
    await waitForStatus(activity, delayed.agentId, 'canceled')
    expect((await activity.detail(running.agentId)).status).toBe('running')
    gate.resolve()
    await closed

    await expect(work.result(running.agentId)).resolves.toBe('running')
    await expect(work.result(queued.agentId)).rejects.toSatisfy(RunCanceledError.isInstance)
    expect(await activity.countActive()).toBe(0)

    const refused = await work.enqueue('after close').catch((caught: unknown) => caught)
    expect(RunnerError.isInstance(refused)).toBe(true)
    expect((refused as Error).message).toMatch(/pool is closed/)
    expect((await activity.list()).total).toBe(3)
  })

  it('aborts running tasks after timeoutMs, even those that ignore their signal', async () => {
    const { pool, activity } = setup()
    const stuck = Promise.withResolvers<void>()
    let cooperativeReason: unknown
    const ignoring = pool.task('ignoring', { input: z.null() }, () => stuck.promise)
    const cooperative = pool.task('cooperative', { input: z.null() }, async ({ signal }) => {
      await aborted(signal).catch((error: unknown) => {
        cooperativeReason = error
        throw error
      })
    })
    const first = await ignoring.enqueue(null)
    const second = await cooperative.enqueue(null)
    await waitForStatus(activity, first.agentId, 'running')
    await waitForStatus(activity, second.agentId, 'running')

    await pool.close({ timeoutMs: 20 })

    expect(await activity.countActive()).toBe(0)
    expect((await activity.detail(first.agentId)).status).toBe('canceled')
    expect((await activity.detail(second.agentId)).status).toBe('canceled')
    expect(RunCanceledError.isInstance(cooperativeReason)).toBe(true)
    const error = await pool.result(first.agentId).catch((caught: unknown) => caught)
    expect(RunCanceledError.isInstance(error)).toBe(true)
    expect((error as Error).message).toMatch(/did not finish within timeoutMs \(20 ms\)/)
    stuck.resolve()
  })

  it('is idempotent, validates its options and supports `await using`', async () => {
    const { pool } = setup()
    await expect(pool.close({ timeoutMs: -1 })).rejects.toMatchObject({ field: 'timeoutMs' })
    const first = pool.close()
    expect(pool.close()).toBe(first)
    await first
    await expect(pool.cancel('unknown')).resolves.toBe(false)

    let disposed: Pool
    {
      await using scoped = createPool()
      disposed = scoped
      scoped.task('noop', { input: z.null() }, async () => {})
    }
    await expect(disposed.enqueue('noop', null)).rejects.toThrow(/pool is closed/)
  })

  it('never leaves an activity queued when close races with enqueue', async () => {
    const { pool, activity } = setup()
    pool.task('work', { input: z.null() }, async () => 'done')
    const enqueues = Array.from({ length: 5 }, () =>
      pool.enqueue('work', null).catch((error: unknown) => error),
    )
    await pool.close({ timeoutMs: 1000 })
    const settled = await Promise.all(enqueues)
    for (const value of settled) {
      if (value instanceof Error) expect(RunnerError.isInstance(value)).toBe(true)
    }
    expect(await activity.countActive()).toBe(0)
  })
})

describe('handlers that drive their own activity (runners)', () => {
  it('keeps an activity the handler completed and resolves the result', async () => {
    const { pool, activity } = setup()
    const research = pool.task('research', { input: topicSchema }, async ({ agentId }) => {
      await activity.update(agentId, 'Runner working', { percentage: 50 })
      await activity.complete(agentId, 'Runner finished')
      return 'runner output'
    })
    const { agentId } = await research.enqueue({ topic: 'tides' })
    await expect(research.result(agentId)).resolves.toBe('runner output')
    const ended = await activity.detail(agentId)
    expect(ended).toMatchObject({ status: 'complete', message: 'Runner finished', percentage: 100 })
    expect(ended.log.filter((entry) => entry.status === 'complete')).toHaveLength(1)
  })

  it('keeps an activity the handler failed, rejects with its error and does not retry', async () => {
    const { pool, activity } = setup()
    let calls = 0
    const failure = new Error('model refused')
    const research = pool.task(
      'research',
      { input: topicSchema, retries: 3, retryDelayMs: 0 },
      async ({ agentId }) => {
        calls++
        await activity.error(agentId, failure)
        throw failure
      },
    )
    const { agentId } = await research.enqueue({ topic: 'tides' })
    const error = await research.result(agentId).catch((caught: unknown) => caught)
    expect(error).toBe(failure)
    expect(ActivityTransitionError.isInstance(error)).toBe(false)
    expect(calls).toBe(1)
    expect(logLines(await activity.detail(agentId))).toEqual([
      'queued: Waiting to start',
      'running: Started',
      'error: Failed: model refused',
    ])
  })

  it('rejects when the handler returns but its activity ended in error', async () => {
    const { pool, activity } = setup()
    const research = pool.task('research', { input: topicSchema, retries: 2 }, async ({ agentId }) => {
      await activity.error(agentId, 'quota exceeded')
      return 'partial'
    })
    const { agentId } = await research.enqueue({ topic: 'tides' })
    const error = await research.result(agentId).catch((caught: unknown) => caught)
    expect(RunnerError.isInstance(error)).toBe(true)
    expect((error as Error).message).toContain('Failed: quota exceeded')
    expect((await activity.detail(agentId)).status).toBe('error')
  })

  it('rejects with RunCanceledError when the handler canceled its activity', async () => {
    const { pool, activity } = setup()
    let calls = 0
    const research = pool.task('research', { input: topicSchema, retries: 2 }, async ({ agentId }) => {
      calls++
      await activity.cancel(agentId)
      throw new Error('stopped')
    })
    const { agentId } = await research.enqueue({ topic: 'tides' })
    await expect(research.result(agentId)).rejects.toSatisfy(RunCanceledError.isInstance)
    expect(calls).toBe(1)
    expect((await activity.detail(agentId)).status).toBe('canceled')
  })

  it('keeps a completed activity when the handler throws afterwards, and rejects', async () => {
    const { pool, activity } = setup()
    const research = pool.task('research', { input: topicSchema, retries: 2 }, async ({ agentId }) => {
      await activity.complete(agentId)
      throw new Error('post-processing failed')
    })
    const { agentId } = await research.enqueue({ topic: 'tides' })
    await expect(research.result(agentId)).rejects.toThrow('post-processing failed')
    expect((await activity.detail(agentId)).status).toBe('complete')
  })

  it('does not run a task whose activity was canceled while it was queued', async () => {
    const { pool, activity } = setup()
    let ran = false
    const research = pool.task('research', { input: topicSchema }, async () => {
      ran = true
    })
    const { agentId } = await research.enqueue({ topic: 'tides' })
    await activity.cancel(agentId)
    await expect(research.result(agentId)).rejects.toSatisfy(RunCanceledError.isInstance)
    expect(ran).toBe(false)
  })
})
