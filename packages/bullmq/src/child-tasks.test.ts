import { createPool, type Pool, RunCanceledError } from '@runner/core'
import { afterEach, describe, expect, it } from 'vitest'
import { bullmqEngine } from './bullmq-engine.js'
import { waitForActivity } from './test-helpers/activity.js'
import {
  databaseUrl,
  eventually,
  noticeUnless,
  redisUrl,
  removeQueue,
  uniqueQueue,
} from './test-helpers/services.js'
import { type SharedStore, sharedStore } from './test-helpers/shared-store.js'
import registerTasks from './test-helpers/tasks.js'
import { killAll, WorkerProcess } from './test-helpers/worker-process.js'

noticeUnless(Boolean(redisUrl && databaseUrl), 'REDIS_URL or DATABASE_URL')

/**
 * Child tasks on BullMQ: a parent task enqueues children from inside a worker; they run on any
 * worker (ordinary jobs of the queue, their activities naming the parent); canceling the parent
 * from the API process cancels them wherever they run.
 */
describe.skipIf(!(redisUrl && databaseUrl))('child tasks across worker processes', () => {
  let queue: { queueName: string; prefix: string }
  let shared: SharedStore
  let api: Pool
  let tasks: ReturnType<typeof registerTasks>
  const workers: WorkerProcess[] = []

  afterEach(async () => {
    await killAll(workers.splice(0))
    await api?.close({ timeoutMs: 0 })
    await shared?.cleanup()
    if (queue) await removeQueue(redisUrl as string, queue.queueName, queue.prefix)
  }, 30_000)

  function setup(label: string) {
    queue = uniqueQueue(label)
    shared = sharedStore(label.replaceAll('-', '_'))
    api = createPool({
      activity: shared.activity,
      engine: bullmqEngine({ connection: redisUrl as string, ...queue }),
    })
    tasks = registerTasks(api)
    for (let index = 0; index < 2; index++) {
      workers.push(
        new WorkerProcess({
          ...queue,
          redisUrl: redisUrl as string,
          storeUrl: shared.storeUrl,
          concurrency: 3,
          args: ['--lock-duration', '2000', '--stalled-interval', '1000'],
        }),
      )
    }
  }

  async function childrenOf(parentId: string) {
    return (await shared.activity.store.list({ metadata: { parentId } })).items
  }

  it('a parent waits for its children, which record it; canceling the parent cancels the children', async () => {
    setup('children')
    await Promise.all(workers.map((worker) => worker.ready))

    const quick = await tasks.family.enqueue({ children: 3, ms: 10 })
    const result = (await tasks.family.result(quick.agentId, { timeoutMs: 30_000 })) as { results: unknown[] }
    expect(result.results).toHaveLength(3)
    const done = await childrenOf(quick.agentId)
    expect(done.map((child) => child.status)).toEqual(['complete', 'complete', 'complete'])
    expect(done.every((child) => child.metadata.parentId === quick.agentId)).toBe(true)
    expect((await shared.activity.detail(quick.agentId)).log.map((entry) => entry.message)).toContain(
      'Children: 3 of 3 done',
    )

    const slow = await tasks.family.enqueue({ children: 3, ms: 60_000 })
    await eventually(
      () => childrenOf(slow.agentId),
      (children) => children.length === 3 && children.every((child) => child.message === 'Sleeping 60000 ms'),
      'three children sleeping',
      { timeoutMs: 30_000 },
    )
    await expect(api.cancel(slow.agentId)).resolves.toBe(true)
    await expect(api.result(slow.agentId)).rejects.toSatisfy(RunCanceledError.isInstance)
    const ended = await eventually(
      () => childrenOf(slow.agentId),
      (children) => children.every((child) => child.status === 'canceled'),
      'the children canceled',
      { timeoutMs: 20_000 },
    )
    expect(ended).toHaveLength(3)
    await waitForActivity(shared.activity, slow.agentId, (activity) => activity.status === 'canceled', 5_000)
  }, 90_000)
})
