import { RunCanceledError } from '@runner/core'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { onConcurrencyHeld } from './bullmq-engine.js'
import type { HeldJob } from './fair.js'
import { logLines } from './test-helpers/activity.js'
import { eventually, noticeUnless, redisUrl } from './test-helpers/services.js'
import { type QueueSetup, queueSetup } from './test-helpers/setup.js'

noticeUnless(Boolean(redisUrl), 'REDIS_URL')

interface Record {
  tenant: string
  agentId: string
  phase: 'start' | 'end'
  pid: number
  at: number
}

/** Fair concurrency per key on bullmqEngine, with workers in this process (several processes: fair-multi-process.test.ts). */
describe.skipIf(!redisUrl)('bullmqEngine: fair concurrency per key', () => {
  let setup: QueueSetup
  let redis: Redis
  let sink: { redisUrl: string; key: string }

  function start(label: string) {
    setup = queueSetup({ label })
    redis = new Redis(redisUrl as string)
    sink = { redisUrl: redisUrl as string, key: `${setup.prefix}:sink` }
  }

  async function records(): Promise<Record[]> {
    return (await redis.lrange(sink.key, 0, -1)).map((line) => JSON.parse(line) as Record)
  }

  afterEach(async () => {
    await setup?.cleanup()
    redis?.disconnect()
  })

  it('keeps a task without concurrency on the plain path: no fair-dispatch key in Redis', async () => {
    start('fair-plain')
    await setup.startWorkerPool()
    const { agentId } = await setup.tasks.echo.enqueue({ text: 'plain' })
    await setup.tasks.echo.result(agentId, { timeoutMs: 20_000 })
    expect(await redis.keys(`${setup.prefix}:${setup.queueName}:runner:fair:*`)).toEqual([])
  }, 30_000)

  it('holds a job back while its key is at its limit, says so, and cancels it where it waits', async () => {
    start('fair-cancel')
    const held: HeldJob[] = []
    ;(setup.api.engine as unknown as { [onConcurrencyHeld]: (listener: (h: HeldJob) => void) => void })[
      onConcurrencyHeld
    ]((entry) => held.push(entry))
    await setup.startWorkerPool({ concurrency: 4 })
    const first = await setup.tasks.locked.enqueue({ tenant: 'acme', ms: 60_000, sink })
    await eventually(records, (list) => list.length === 1, 'the first task to start')
    const second = await setup.tasks.locked.enqueue({ tenant: 'acme', ms: 1, sink })
    expect(
      held.map(({ job, key, running, limit }) => ({ agentId: job.agentId, key, running, limit })),
    ).toEqual([{ agentId: second.agentId, key: 'acme', running: 1, limit: 1 }])
    // Parked in BullMQ (delayed), not started, while the worker has free slots; its queued
    // activity says what it waits for.
    expect(await (await setup.queue.getJob(second.agentId))?.getState()).toBe('delayed')
    await eventually(
      () => setup.activity.detail(second.agentId),
      (activity) => activity.message === 'Waiting for a concurrency slot (locked "acme": at most 1 at once)',
      'the waiting line',
    )
    expect((await setup.activity.detail(second.agentId)).status).toBe('queued')
    await expect(setup.api.cancel(second.agentId)).resolves.toBe(true)
    await expect(setup.api.result(second.agentId)).rejects.toSatisfy(RunCanceledError.isInstance)
    await expect(setup.api.cancel(first.agentId)).resolves.toBe(true)
    // Canceled while held: never started, and its key's slot went back (a third task runs).
    const third = await setup.tasks.locked.enqueue({ tenant: 'acme', ms: 1, sink })
    await setup.tasks.locked.result(third.agentId, { timeoutMs: 20_000 })
    const started = (await records())
      .filter((record) => record.phase === 'start')
      .map((record) => record.agentId)
    expect(started).toEqual([first.agentId, third.agentId])
  }, 30_000)

  it('starts one job of a key at a time under limit 1, in priority then arrival order, others alongside', async () => {
    start('fair-order')
    const tasks = setup.tasks
    const gate = await tasks.locked.enqueue({ tenant: 'a', ms: 300, sink })
    const low = await tasks.locked.enqueue({ tenant: 'a', ms: 50, sink }, { priority: -1 })
    const firstNormal = await tasks.locked.enqueue({ tenant: 'a', ms: 50, sink })
    const high = await tasks.locked.enqueue({ tenant: 'a', ms: 50, sink }, { priority: 5 })
    const secondNormal = await tasks.locked.enqueue({ tenant: 'a', ms: 50, sink })
    const other = await tasks.locked.enqueue({ tenant: 'b', ms: 50, sink })
    await setup.startWorkerPool({ concurrency: 3 })
    await setup.startWorkerPool({ concurrency: 3 })
    for (const { agentId } of [gate, low, firstNormal, high, secondNormal, other]) {
      await tasks.locked.result(agentId, { timeoutMs: 20_000 })
    }
    const list = await records()
    const ofA = list.filter((record) => record.tenant === 'a')
    // One at a time: every start of key "a" follows the end of the one before.
    for (let index = 0; index < ofA.length; index += 2) {
      expect(ofA[index]?.phase).toBe('start')
      expect(ofA[index + 1]?.phase).toBe('end')
      expect(ofA[index + 1]?.agentId).toBe(ofA[index]?.agentId)
    }
    expect(ofA.filter((record) => record.phase === 'start').map((record) => record.agentId)).toEqual([
      gate.agentId,
      high.agentId,
      firstNormal.agentId,
      secondNormal.agentId,
      low.agentId,
    ])
    // Key "b" did not wait for key "a": it started while the first task of "a" ran.
    const bStart = list.findIndex((record) => record.tenant === 'b')
    const gateEnd = list.findIndex((record) => record.agentId === gate.agentId && record.phase === 'end')
    expect(bStart).toBeLessThan(gateEnd)
  }, 40_000)

  it('keeps delayMs for a task with a key, and its limit when it comes due', async () => {
    start('fair-delay')
    await setup.startWorkerPool({ concurrency: 2 })
    const running = await setup.tasks.locked.enqueue({ tenant: 'a', ms: 1500, sink })
    const enqueuedAt = Date.now()
    const delayed = await setup.tasks.locked.enqueue({ tenant: 'a', ms: 1, sink }, { delayMs: 500 })
    await setup.tasks.locked.result(delayed.agentId, { timeoutMs: 20_000 })
    const list = await records()
    const delayedStart = list.find((record) => record.agentId === delayed.agentId && record.phase === 'start')
    const runningEnd = list.find((record) => record.agentId === running.agentId && record.phase === 'end')
    expect((delayedStart?.at ?? 0) - enqueuedAt).toBeGreaterThanOrEqual(450)
    // Due at 500 ms while the other task of its key ran: it waited for the slot.
    expect(delayedStart?.at ?? 0).toBeGreaterThanOrEqual(runningEnd?.at ?? Number.POSITIVE_INFINITY)
    // Its activity says why it waited, and shows one start: parking it again at its start did not
    // count as a delivery.
    expect(logLines(await setup.activity.detail(delayed.agentId))).toEqual([
      'queued: Waiting to start',
      'queued: Waiting for a concurrency slot (locked "a": at most 1 at once)',
      'running: Started',
      'complete: Complete',
    ])
  }, 30_000)
})
