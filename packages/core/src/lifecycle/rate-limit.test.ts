import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryActivityStore } from '../activity/memory-store.js'
import { createActivityTracker } from '../activity/tracker.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { RunTimeoutError } from '../errors/run-timeout-error.js'
import type { RunEvent } from '../runner/events.js'
import { rejectionOf } from '../test/rejection-of.js'
import {
  type ScriptedCall,
  ScriptedModel,
  ScriptedRunner,
  type ScriptSource,
  type ScriptStep,
} from '../test/scripted-runner.js'
import { defineTool } from '../tools/define-tool.js'
import { createRateLimiter, type RateLimiter } from './rate-limit.js'

const search = defineTool({
  name: 'search',
  description: 'Searches',
  inputSchema: z.object({ query: z.string() }),
  execute: async ({ query }) => `results for ${query}`,
})

/** A scripted model that records when each call reached it. */
class TimedModel implements ScriptSource {
  readonly model: ScriptedModel
  constructor(
    steps: ScriptStep[],
    readonly at: number[],
  ) {
    this.model = new ScriptedModel(steps)
  }
  next(signal: AbortSignal, request: ScriptedCall): Promise<ScriptStep> {
    this.at.push(Date.now())
    return this.model.next(signal, request)
  }
}

const searchThenAnswer = (): ScriptStep[] => [
  { toolCalls: [{ name: 'search', input: { query: 'otters' } }] },
  { text: 'Otters hold hands.' },
]

function tracked() {
  const store = new MemoryActivityStore()
  return { store, activity: createActivityTracker({ store }) }
}

async function messagesOf(store: MemoryActivityStore, agentId: string): Promise<string[]> {
  return ((await store.get(agentId))?.log ?? []).map((entry) => entry.message)
}

async function drain<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of iterable) items.push(item)
  return items
}

function fieldsOf(error: unknown): string[] {
  expect(InvalidOptionsError.isInstance(error)).toBe(true)
  return (error as InvalidOptionsError).issues.map((issue) => issue.field)
}

/**
 * The most calls admitted in any span of `spanMs` (every span that ends at an admission), from
 * the admission times.
 */
function mostInAnySpan(times: readonly number[], spanMs: number): number {
  const sorted = [...times].sort((a, b) => a - b)
  let most = 0
  let first = 0
  for (let last = 0; last < sorted.length; last++) {
    while ((sorted[first] as number) <= (sorted[last] as number) - spanMs) first++
    most = Math.max(most, last - first + 1)
  }
  return most
}

/**
 * One call, then, most of a window later, a burst of twice the limit, spread over `limiters`: a
 * fixed window lets the rest of its count and the whole next window's through around its
 * boundary (up to twice the limit in one window's span). The admission times of all calls.
 */
async function boundaryBurst(limiters: RateLimiter[], limit: number, windowMs: number): Promise<number[]> {
  const signal = new AbortController().signal
  const call = { provider: 'openai', model: 'gpt-4o-mini', estimatedTokens: 1 }
  const admitted: number[] = []
  const take = async (limiter: RateLimiter) => {
    await limiter.acquire(call, signal, () => undefined)
    admitted.push(performance.now())
  }
  await take(limiters[0] as RateLimiter)
  await new Promise((resolve) => setTimeout(resolve, windowMs * 0.8))
  await Promise.all(
    Array.from({ length: 2 * limit }, (_, index) => take(limiters[index % limiters.length] as RateLimiter)),
  )
  return admitted
}

describe('rateLimiter: any window', () => {
  const clients: Redis[] = []
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.quit()))
  })
  // Admission times are taken when each wait ends, a little after the limiter admitted the call:
  // spans a little shorter than the window keep that jitter out of the count.
  const jitterMs = 50

  it('in memory, never admits more than the limit in any span of a window, across the boundary of a burst', async () => {
    const limiter = createRateLimiter({ limits: { openai: { requestsPerMinute: 5 } }, windowMs: 1000 })
    const admitted = await boundaryBurst([limiter], 5, 1000)
    expect(admitted).toHaveLength(11)
    expect(mostInAnySpan(admitted, 1000 - jitterMs)).toBe(5)
  })

  it('in Redis, never admits more than the limit in any span of a window, across two limiters sharing it', async () => {
    const keyPrefix = `test:rate:${randomUUID()}`
    const limiters = [0, 1].map(() => {
      const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
      clients.push(redis)
      return createRateLimiter({
        limits: { openai: { requestsPerMinute: 5 } },
        windowMs: 1000,
        redis,
        keyPrefix,
      })
    })
    const admitted = await boundaryBurst(limiters, 5, 1000)
    expect(admitted).toHaveLength(11)
    expect(mostInAnySpan(admitted, 1000 - jitterMs)).toBe(5)
  })
})

describe('rateLimiter: requests per window', () => {
  it('runs of two runners sharing a limiter never make more calls than the limit in any window; waiting shows on the activity and the stream', async () => {
    const limiter = createRateLimiter({ limits: { openai: { requestsPerMinute: 3 } }, windowMs: 1000 })
    const { store, activity } = tracked()
    const first = new ScriptedRunner({ activity, rateLimiter: limiter })
    const second = new ScriptedRunner({ activity, rateLimiter: limiter })
    const at: number[] = []
    const agent = () => ({
      model: new TimedModel(searchThenAnswer(), at),
      tools: [search],
      modelId: 'gpt-4o-mini',
      provider: 'openai',
    })
    const streamed = first.runStreamed(agent(), 'Otters?', { agentId: 'rpm-0' })
    const results = await Promise.all([
      drain(streamed),
      first.run(agent(), 'Otters?', { agentId: 'rpm-1' }),
      second.run(agent(), 'Otters?', { agentId: 'rpm-2' }),
      second.run(agent(), 'Otters?', { agentId: 'rpm-3' }),
    ])
    expect(at).toHaveLength(8)
    at.sort((a, b) => a - b)
    // 8 calls, 3 a window: the 4th call is at least a window after the 1st, the 7th after the 4th (less
    // the time between a window's first slot and its call reaching the model, under load).
    for (let index = 0; index + 3 < at.length; index++)
      expect((at[index + 3] as number) - (at[index] as number)).toBeGreaterThanOrEqual(900)
    expect((at[7] as number) - (at[0] as number)).toBeGreaterThanOrEqual(1900)

    const waited: string[] = []
    for (const id of ['rpm-0', 'rpm-1', 'rpm-2', 'rpm-3'])
      waited.push(
        ...(await messagesOf(store, id)).filter((message) => message.startsWith('Waiting for rate limit')),
      )
    expect(waited.length).toBeGreaterThan(0)
    expect(new Set(waited)).toEqual(new Set(['Waiting for rate limit (openai: 3 requests per 1 s)']))
    for (const id of ['rpm-0', 'rpm-1', 'rpm-2', 'rpm-3'])
      expect((await store.get(id))?.status).toBe('complete')
    // The streamed run's first call never waits; any later wait of it streams as a status-update.
    const events = results[0] as RunEvent[]
    const waits = events.filter(
      (event) => event.type === 'status-update' && event.message.startsWith('Waiting for rate limit'),
    )
    const streamedWaited = (await messagesOf(store, 'rpm-0')).some((message) =>
      message.startsWith('Waiting for rate limit'),
    )
    expect(waits.length > 0).toBe(streamedWaited)
  })

  it('names the limit in RPM with the default minute window, and a call waiting is canceled at once', async () => {
    const limiter = createRateLimiter({ limits: { 'openai/gpt-4o-mini': { requestsPerMinute: 1 } } })
    const { store, activity } = tracked()
    const runner = new ScriptedRunner({ activity, rateLimiter: limiter, retry: { attempts: 1 } })
    const agent = () => ({
      model: new ScriptedModel([{ text: 'ok' }]),
      modelId: 'gpt-4o-mini',
      provider: 'openai',
    })
    await runner.run(agent(), 'first', { agentId: 'rpm-first' })
    // Another model of the same provider is not limited by this key.
    await runner.run({ ...agent(), modelId: 'gpt-4o' }, 'other model', { agentId: 'rpm-other' })

    const controller = new AbortController()
    const model = new ScriptedModel([{ text: 'never' }])
    const waiting = runner.runStreamed({ ...agent(), model }, 'second', {
      agentId: 'rpm-waiting',
      signal: controller.signal,
    })
    const events: RunEvent[] = []
    for await (const event of waiting) {
      events.push(event)
      if (event.type === 'status-update' && event.message.startsWith('Waiting for rate limit')) {
        expect(event.message).toBe('Waiting for rate limit (openai/gpt-4o-mini: 1 RPM)')
        break
      }
    }
    const canceledAt = Date.now()
    controller.abort()
    expect(RunCanceledError.isInstance(await rejectionOf(waiting.result))).toBe(true)
    expect(Date.now() - canceledAt).toBeLessThan(500)
    expect(model.calls).toHaveLength(0)
    expect((await store.get('rpm-waiting'))?.status).toBe('canceled')

    const timedOut = runner.run({ ...agent(), model }, 'third', { timeoutMs: 50 })
    expect(RunTimeoutError.isInstance(await rejectionOf(timedOut))).toBe(true)
    expect(model.calls).toHaveLength(0)
  })
})

describe('rateLimiter: Retry-After', () => {
  it('a 429 with Retry-After pauses the key for another run sharing the limiter', async () => {
    const limiter = createRateLimiter({ limits: { 'openai/gpt-4o-mini': { requestsPerMinute: 100 } } })
    const { store, activity } = tracked()
    const runner = new ScriptedRunner({ activity, rateLimiter: limiter })
    const rateLimited = Object.assign(new Error('Rate limit reached for gpt-4o-mini'), {
      status: 429,
      headers: { 'retry-after': '1' },
    })
    let failedAt = 0
    const firstAt: number[] = []
    const first = runner.run(
      {
        model: new TimedModel([{ error: rateLimited }, { text: 'ok' }], firstAt),
        modelId: 'gpt-4o-mini',
        provider: 'openai',
      },
      'first',
      {
        agentId: 'got-429',
        hooks: {
          onRetry: () => {
            failedAt = Date.now()
          },
        },
      },
    )
    await expect.poll(() => failedAt, { interval: 5 }).toBeGreaterThan(0)
    const otherAt: number[] = []
    const other = runner.run(
      { model: new TimedModel([{ text: 'ok' }], otherAt), modelId: 'gpt-4o-mini', provider: 'openai' },
      'other',
      { agentId: 'paused' },
    )
    await Promise.all([first, other])
    expect((otherAt[0] as number) - failedAt).toBeGreaterThanOrEqual(900)
    expect(await messagesOf(store, 'paused')).toContain(
      'Waiting for rate limit (openai/gpt-4o-mini: 100 RPM)',
    )
    expect(firstAt).toHaveLength(2)
  })
})

describe('rateLimiter: tokens per window', () => {
  const clients: Redis[] = []
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.quit()))
  })
  const stores = {
    memory: () => ({}),
    Redis: () => {
      const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
      clients.push(redis)
      return { redis, keyPrefix: `test:rate:${randomUUID()}` }
    },
  }

  it.each(Object.keys(stores) as Array<keyof typeof stores>)(
    '(%s) estimates a call before it is sent and counts its real usage after it',
    async (where) => {
      const limiter = createRateLimiter({
        limits: { openai: { tokensPerMinute: 1000 } },
        windowMs: 1000,
        ...stores[where](),
      })
      const { store, activity } = tracked()
      const runner = new ScriptedRunner({ activity, rateLimiter: limiter })
      const agent = (usage: number) => ({
        model: new ScriptedModel([
          { text: 'ok', usage: { inputTokens: usage, outputTokens: 0, totalTokens: usage } },
        ]),
        modelId: 'gpt-4o-mini',
        provider: 'openai',
      })
      // Estimated at a few hundred tokens (4 characters of the request a token), used 950.
      await runner.run(agent(950), 'first', { agentId: 'tpm-first' })
      const started = Date.now()
      await runner.run(agent(10), 'second', { agentId: 'tpm-second' })
      // 950 counted: the second call's estimate does not fit until the window ends.
      expect(Date.now() - started).toBeGreaterThanOrEqual(300)
      expect(await messagesOf(store, 'tpm-second')).toContain(
        'Waiting for rate limit (openai: 1000 tokens per 1 s)',
      )
      // A call that used less than its estimate gives the rest back: the next one does not wait.
      await runner.run(agent(1), 'third', { agentId: 'tpm-third' })
      await runner.run(agent(1), 'fourth', { agentId: 'tpm-fourth' })
      expect(await messagesOf(store, 'tpm-fourth')).not.toContain(
        'Waiting for rate limit (openai: 1000 tokens per 1 s)',
      )
    },
  )
})

describe('rateLimiter: Redis', () => {
  const clients: Redis[] = []
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.quit()))
  })

  it('two limiters on the same Redis share the count', async () => {
    const keyPrefix = `test:rate:${randomUUID()}`
    const limiters = [0, 1].map(() => {
      const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
      clients.push(redis)
      return createRateLimiter({ limits: { openai: { requestsPerMinute: 2 } }, redis, keyPrefix })
    })
    const { store, activity } = tracked()
    const [first, second] = limiters.map((limiter) => new ScriptedRunner({ activity, rateLimiter: limiter }))
    const agent = () => ({
      model: new ScriptedModel(searchThenAnswer()),
      tools: [search],
      modelId: 'gpt-4o-mini',
      provider: 'openai',
    })
    await first?.run(agent(), 'two calls', { agentId: 'redis-first' })
    const model = new ScriptedModel([{ text: 'never' }])
    const waiting = second?.run({ ...agent(), model }, 'third call', {
      agentId: 'redis-second',
      timeoutMs: 500,
    })
    expect(RunTimeoutError.isInstance(await rejectionOf(waiting as Promise<unknown>))).toBe(true)
    expect(model.calls).toHaveLength(0)
    expect(await messagesOf(store, 'redis-second')).toContain('Waiting for rate limit (openai: 2 RPM)')
  })
})

describe('rateLimiter: options', () => {
  it('refuses bad options with InvalidOptionsError naming the field', () => {
    const invalid = [
      [{ limits: { openai: { requestsPerMinute: 0 } } }, 'limits.openai.requestsPerMinute'],
      [{ limits: { openai: { tokensPerMinute: 1.5 } } }, 'limits.openai.tokensPerMinute'],
      [{ limits: { openai: {} } }, 'limits.openai'],
      [{ limits: { openai: { rpm: 5 } } }, 'limits.openai'],
      [{ limits: { openai: { requestsPerMinute: 5 } }, windowMs: 1500 }, 'windowMs'],
      [{ limits: { openai: { requestsPerMinute: 5 } }, redis: 'redis://localhost' }, 'redis'],
      [{}, 'limits'],
    ] as const
    for (const [options, field] of invalid) {
      let error: unknown
      try {
        createRateLimiter(options as never)
      } catch (caught) {
        error = caught
      }
      expect(fieldsOf(error)).toContain(field)
    }
    let error: unknown
    try {
      new ScriptedRunner({ rateLimiter: { limits: {} } as never })
    } catch (caught) {
      error = caught
    }
    expect(fieldsOf(error)).toContain('rateLimiter')
  })
})
