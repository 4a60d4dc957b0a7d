import { InvalidOptionsError } from '@runner/core'
import { afterEach, describe, expect, it } from 'vitest'
import { toBullMQPriority } from './priority.js'
import { noticeUnless, redisUrl } from './test-helpers/services.js'
import { type QueueSetup, queueSetup } from './test-helpers/setup.js'

noticeUnless(Boolean(redisUrl), 'REDIS_URL')

describe.skipIf(!redisUrl)('pool.enqueueMany on bullmqEngine (Redis)', () => {
  let setup: QueueSetup
  afterEach(async () => {
    await setup?.cleanup()
  })

  it('adds every job in one addBulk, with the options of each task, and a worker runs them all', async () => {
    setup = queueSetup({ label: 'enqueue-many' })
    const texts = Array.from({ length: 30 }, (_, index) => `text ${index}`)
    const results = await setup.api.enqueueMany([
      {
        task: 'echo',
        input: { text: 'delayed' },
        options: { priority: 7, delayMs: 60_000, agentId: 'later-one' },
      },
      ...texts.map((text) => ({ task: 'echo', input: { text } })),
    ])
    expect(results).toHaveLength(31)
    expect(results[0]).toEqual({ agentId: 'later-one' })
    const delayed = await setup.queue.getJob('later-one')
    expect(delayed?.name).toBe('echo')
    expect(delayed?.opts.priority).toBe(toBullMQPriority(7))
    expect(delayed?.opts.delay).toBe(60_000)
    expect(delayed?.opts.attempts).toBe(1)
    expect(await delayed?.getState()).toBe('delayed')
    for (const { agentId } of results) {
      expect(
        (await setup.queue.getJob(agentId))?.data.agentId,
        `job ${agentId} is stored under its agentId`,
      ).toBe(agentId)
    }

    await setup.startWorkerPool({ concurrency: 4 })
    const values = await Promise.all(
      results
        .slice(1)
        .map(({ agentId }) => setup.api.result<{ text: string }>(agentId, { timeoutMs: 20_000 })),
    )
    expect(values.map((value) => value.text)).toEqual(texts)
    expect((await setup.activity.detail('later-one')).status).toBe('queued')
    await expect(setup.api.cancel('later-one')).resolves.toBe(true)
  })

  it('refuses a bad task in the middle, naming its index and field, and adds nothing to Redis', async () => {
    setup = queueSetup({ label: 'enqueue-many-bad' })
    const error = await setup.api
      .enqueueMany([
        { task: 'echo', input: { text: 'a' }, options: { agentId: 'good-a' } },
        { task: 'echo', input: { text: 42 }, options: { agentId: 'bad-b' } },
        { task: 'echo', input: { text: 'c' }, options: { agentId: 'good-c' } },
      ])
      .catch((caught: unknown) => caught)
    expect(InvalidOptionsError.isInstance(error), String(error)).toBe(true)
    expect((error as InvalidOptionsError).field).toBe('tasks[1].input.text')
    expect(await setup.queue.getJobCounts('waiting', 'prioritized', 'delayed')).toEqual({
      waiting: 0,
      prioritized: 0,
      delayed: 0,
    })
    expect((await setup.activity.store.list()).total, 'no activity was created').toBe(0)

    // An agentId BullMQ cannot take (an integer) is refused by the engine before anything is sent;
    // the activities created for the batch end error.
    await expect(
      setup.api.enqueueMany([
        { task: 'echo', input: { text: 'a' }, options: { agentId: 'fine-a' } },
        { task: 'echo', input: { text: 'b' }, options: { agentId: '12345' } },
      ]),
    ).rejects.toMatchObject({ name: 'InvalidOptionsError', field: 'jobs[1].agentId' })
    expect(await setup.queue.getJob('fine-a'), 'no job of the refused batch reached Redis').toBeUndefined()
    expect((await setup.activity.detail('fine-a')).status).toBe('error')
  })
})
