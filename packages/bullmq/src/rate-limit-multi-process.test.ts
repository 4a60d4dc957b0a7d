import { createPool, type Pool } from '@runner/core'
import { type ProtocolFake, type RecordedRequest, scenario, startProtocolFake } from '@runner/testkit'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { bullmqEngine } from './bullmq-engine.js'
import {
  databaseUrl,
  eventually,
  noticeUnless,
  redisUrl,
  removeQueue,
  uniqueQueue,
} from './test-helpers/services.js'
import { type SharedStore, sharedStore } from './test-helpers/shared-store.js'
import { killAll, rateLimitedPoolPath, WorkerProcess } from './test-helpers/worker-process.js'

noticeUnless(Boolean(redisUrl && databaseUrl), 'REDIS_URL or DATABASE_URL')

/** The most requests that reached the fake within any span of `spanMs`. */
function mostInAnySpan(requests: readonly RecordedRequest[], spanMs: number): number {
  const times = requests.map((request) => request.at).sort((a, b) => a - b)
  let most = 0
  let first = 0
  for (let last = 0; last < times.length; last++) {
    while ((times[first] as number) <= (times[last] as number) - spanMs) first++
    most = Math.max(most, last - first + 1)
  }
  return most
}

/**
 * Three `runner-worker` processes on one queue, each task an `OpenAIRunner` whose requests go to a
 * loopback OpenAI fake in this process, each process with its own `createRateLimiter` on the Redis
 * they share: what a deployment with a provider's rate limit looks like.
 */
describe.skipIf(!(redisUrl && databaseUrl))('rate limits shared by worker processes', () => {
  let queue: { queueName: string; prefix: string }
  let shared: SharedStore
  let api: Pool
  let fake: ProtocolFake
  const workers: WorkerProcess[] = []
  let ratePrefix: string

  async function setup(
    label: string,
    limit: { requestsPerMinute: number; windowMs: number; concurrency: number },
  ) {
    queue = uniqueQueue(label)
    shared = sharedStore(label.replaceAll('-', '_'))
    fake = await startProtocolFake()
    // Under the queue's prefix: removeQueue deletes the limiter's keys with the queue's.
    ratePrefix = `${queue.prefix}:rate`
    api = createPool({
      activity: shared.activity,
      engine: bullmqEngine({ connection: redisUrl as string, ...queue }),
    })
    // The API only enqueues: the handler runs in the workers.
    api.task('research', { input: z.object({ model: z.string() }) }, () => 'never here')
    for (let index = 0; index < 3; index++) {
      workers.push(
        new WorkerProcess({
          ...queue,
          redisUrl: redisUrl as string,
          storeUrl: shared.storeUrl,
          module: rateLimitedPoolPath,
          args: [],
          env: {
            TEST_DATABASE_URL: databaseUrl as string,
            TEST_SCHEMA: shared.schema,
            TEST_REDIS_URL: redisUrl as string,
            TEST_QUEUE: queue.queueName,
            TEST_PREFIX: queue.prefix,
            TEST_CONCURRENCY: String(limit.concurrency),
            TEST_RPM: String(limit.requestsPerMinute),
            TEST_WINDOW_MS: String(limit.windowMs),
            TEST_RATE_PREFIX: ratePrefix,
            TEST_OPENAI_BASE_URL: fake.openaiBaseURL,
          },
        }),
      )
    }
    await Promise.all(workers.map((worker) => worker.ready))
  }

  afterEach(async () => {
    await killAll(workers.splice(0))
    await api?.close({ timeoutMs: 0 })
    await fake?.close()
    await shared?.cleanup()
    if (queue) await removeQueue(redisUrl as string, queue.queueName, queue.prefix)
  }, 30_000)

  it('never lets more than the limit reach the provider in any window, across three processes (60 RPM, scaled to 4 per 3 s)', async () => {
    // The 60 RPM property, scaled down so that the test takes seconds: 4 requests per 3 s window.
    const limit = 4
    const windowMs = 3000
    await setup('rate-window', { requestsPerMinute: limit, windowMs, concurrency: 2 })
    const research = () => scenario().toolCall('search', { query: 'otters' }).text('Otters hold hands.')

    // One task first, then a burst most of a window later: fixed windows would let the rest of
    // the first window's count and the whole next window's through around its boundary.
    const first = fake.play(research())
    const firstTask = await api.enqueue('research', { model: first.model })
    await eventually(
      () => fake.requests.length,
      (count) => count >= 1,
      'the first request',
      { timeoutMs: 20_000 },
    )
    await new Promise((resolve) => setTimeout(resolve, windowMs * 0.8))
    const rest = Array.from({ length: 5 }, () => fake.play(research()))
    const tasks = [
      firstTask,
      ...(await Promise.all(rest.map(({ model }) => api.enqueue('research', { model })))),
    ]

    for (const { agentId } of tasks)
      await expect(api.result(agentId, { timeoutMs: 60_000 })).resolves.toBe('Otters hold hands.')
    expect(fake.requests).toHaveLength(12)
    // The limiter holds at admission; a request reaches the fake some time after its admission
    // (the SDK, the HTTP call), up to most of a second on a loaded 2-core machine: spans a second
    // shorter than the window keep that jitter out of the count. Fixed windows would still show:
    // the first task's two calls open a window, two more go through most of a window later and
    // four at its boundary (six within about half a second; core's rate-limit.test.ts measures it).
    expect(mostInAnySpan(fake.requests, windowMs - 1000)).toBe(limit)
    // The calls came from all three processes.
    expect(new Set(fake.requests.map((request) => request.headers['x-worker'])).size).toBe(3)
    fake.assertDone()
  }, 120_000)

  it('a 429 with Retry-After: 2 in one process pauses all three, then every run finishes', async () => {
    // A generous limit: only the pause holds requests back.
    await setup('rate-retry-after', { requestsPerMinute: 1000, windowMs: 60_000, concurrency: 1 })
    // Nine turns (maxTurns is 10), each answered in 0.3 s.
    const loop = () => {
      const script = scenario()
      for (let call = 0; call < 8; call++) script.toolCall('search', { query: `otters ${call}` }).slow(300)
      return script.text('Otters hold hands.')
    }
    // One run gets the 429 on its second request; the others are in the middle of their tool loops.
    const limited = fake.play(
      scenario()
        .toolCall('search', { query: 'otters' })
        .slow(800)
        .error(429, 'Rate limit reached for requests', { retryAfterSeconds: 2 })
        .text('Otters hold hands.'),
    )
    const others = [fake.play(loop()), fake.play(loop())]
    const tasks = await Promise.all(
      [limited, ...others].map(({ model }) => api.enqueue('research', { model })),
    )
    for (const { agentId } of tasks)
      await expect(api.result(agentId, { timeoutMs: 60_000 })).resolves.toBe('Otters hold hands.')

    const got429 = fake.requestsFor(limited.model)[1] as RecordedRequest
    const senders = (from: number, to: number) =>
      new Set(
        fake.requests
          .filter((request) => request.at >= from && request.at < to)
          .map((request) => request.headers['x-worker']),
      )
    // Each of the three processes ran one of the runs, and two of them were sending when the 429 came.
    expect(new Set(fake.requests.map((request) => request.headers['x-worker'])).size).toBe(3)
    expect(senders(got429.at - 1000, got429.at).size).toBeGreaterThanOrEqual(2)
    // Requests already sent when the 429 came may still arrive just after it (a quarter of a
    // second is plenty); then nothing from any process until the pause ends.
    const paused = fake.requests.filter(
      (request) => request.at > got429.at + 250 && request.at < got429.at + 1900,
    )
    expect(paused.map((request) => [request.headers['x-worker'], request.at - got429.at])).toEqual([])
    // After it, every process sends again: the runs finish.
    expect(senders(got429.at + 1900, Number.POSITIVE_INFINITY).size).toBe(3)
    fake.assertDone()
  }, 120_000)
})
