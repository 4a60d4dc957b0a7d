import { createPool, type Pool } from '@runner/core'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { bullmqEngine } from './bullmq-engine.js'
import { logLines, waitForActivity } from './test-helpers/activity.js'
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
import { TcpProxy } from './test-helpers/tcp-proxy.js'
import { killAll, type PhaseMessage, WorkerProcess } from './test-helpers/worker-process.js'
import type { BullMQEngine } from './types.js'

noticeUnless(Boolean(redisUrl && databaseUrl), 'REDIS_URL or DATABASE_URL')

/** Short locks in the children, so that a killed worker's jobs come back within seconds. */
const fastLocks = ['--lock-duration', '2000', '--stalled-interval', '1000']

/**
 * Durable runs across processes: an API in this process and `runner-worker` children on one
 * queue, sharing a PostgreSQL activity store.
 */
describe.skipIf(!(redisUrl && databaseUrl))('durable runs across processes', () => {
  let queue: { queueName: string; prefix: string } | undefined
  let shared: SharedStore | undefined
  let api: Pool | undefined
  let proxy: TcpProxy | undefined
  let redis: Redis | undefined
  const workers: WorkerProcess[] = []

  function setup(label: string) {
    queue = uniqueQueue(label)
    shared = sharedStore(label.replaceAll('-', '_'))
    const pool = createPool({
      activity: shared.activity,
      engine: bullmqEngine({ connection: redisUrl as string, ...queue }),
    })
    api = pool
    return {
      queue,
      shared,
      api: pool,
      tasks: registerTasks(pool),
      queueOf: () => (pool.engine as BullMQEngine).queue,
    }
  }

  function startWorker(
    options: { concurrency?: number; redis?: string; onMessage?: (message: PhaseMessage) => void } = {},
  ): WorkerProcess {
    const worker = new WorkerProcess({
      ...(queue as { queueName: string; prefix: string }),
      redisUrl: options.redis ?? (redisUrl as string),
      storeUrl: (shared as SharedStore).storeUrl,
      concurrency: options.concurrency ?? 1,
      args: fastLocks,
      ...(options.onMessage ? { onMessage: options.onMessage } : {}),
    })
    workers.push(worker)
    return worker
  }

  afterEach(async () => {
    await killAll(workers.splice(0))
    await proxy?.close()
    await api?.close({ timeoutMs: 0 })
    await shared?.cleanup()
    if (queue) await removeQueue(redisUrl as string, queue.queueName, queue.prefix)
    redis?.disconnect()
    queue = shared = api = proxy = redis = undefined
  }, 30_000)

  it('loses no result when a worker is SIGKILLed after its handlers returned, before BullMQ stored their values (10 of 10)', async () => {
    const { shared, api, tasks, queueOf } = setup('killed-after-return')
    // The first worker reaches Redis through a proxy: cut, it cannot record the return values.
    proxy = await TcpProxy.start(redisUrl as string)
    const atGate = new Set<string>()
    const first = startWorker({
      concurrency: 10,
      redis: proxy.url(redisUrl as string),
      onMessage: (message) => {
        if (message.phase === 'gate') atGate.add(message.agentId)
      },
    })
    await first.ready
    const ids: string[] = []
    for (let index = 0; index < 10; index++) {
      ids.push((await tasks.gated.enqueue({ value: `value ${index}` })).agentId)
    }
    const results = Promise.all(ids.map((agentId) => api.result(agentId, { timeoutMs: 60_000 })))
    await eventually(
      () => atGate.size,
      (size) => size === 10,
      'ten handlers at their gate',
      {
        timeoutMs: 20_000,
      },
    )

    proxy.cut()
    for (const agentId of ids) first.openGate(agentId)
    // Every handler returned and its activity completed, with its result, in the store...
    await eventually(
      () => Promise.all(ids.map(async (agentId) => (await shared.activity.detail(agentId)).status)),
      (statuses) => statuses.every((status) => status === 'complete'),
      'the ten activities to complete',
      { timeoutMs: 20_000 },
    )
    // ...and the worker dies before BullMQ heard of it: the jobs come back to another worker.
    await first.kill('SIGKILL')
    await startWorker({ concurrency: 10 }).ready

    expect(await results).toEqual(ids.map((_, index) => ({ value: `value ${index}` })))
    for (const agentId of ids) {
      const job = await eventually(
        () => queueOf().getJob(agentId),
        (found) => Boolean(found?.finishedOn),
        `job ${agentId} to finish`,
      )
      // Delivered again, the job found its activity complete and took the result stored with it.
      expect(job?.stalledCounter).toBeGreaterThanOrEqual(1)
      expect(job?.returnvalue).toMatchObject({ agentId, task: 'gated', status: 'complete', attempts: 1 })
      expect(job?.returnvalue).toHaveProperty('result')
      const lines = logLines(await shared.activity.detail(agentId))
      expect(lines.filter((line) => line.startsWith('complete:'))).toHaveLength(1)
    }
  }, 90_000)

  it('a task waiting for approval frees its worker process; approved from the API process, it completes on another worker', async () => {
    const { queue, shared, api, tasks, queueOf } = setup('approval')
    redis = new Redis(redisUrl as string)
    const effects = { redisUrl: redisUrl as string, key: `${queue.prefix}:effects` }
    const first = startWorker({ concurrency: 1 })
    await first.ready
    const { agentId } = await tasks.approval.enqueue({ to: 'ada@example.org', effects })
    const result = tasks.approval.result(agentId, { timeoutMs: 30_000 })
    await waitForActivity(shared.activity, agentId, (activity) => activity.status === 'waiting', 20_000)
    expect((await shared.store.getRun(agentId))?.pending).toMatchObject([
      { id: 'call-1', kind: 'approval', toolName: 'send_email', input: { to: 'ada@example.org' } },
    ])
    // The worker's one slot is free while the task waits.
    const echo = await tasks.echo.enqueue({ text: 'meanwhile' })
    await expect(tasks.echo.result(echo.agentId, { timeoutMs: 20_000 })).resolves.toMatchObject({
      text: 'meanwhile',
    })

    // The worker that ran it is gone; the approval reaches whichever worker is up.
    await first.kill('SIGKILL')
    const second = startWorker({ concurrency: 1 })
    await second.ready
    await api.approve(agentId, 'call-1', { by: 'ops' })
    await expect(result).resolves.toBe('Sent to ada@example.org.')
    expect(await redis.hgetall(effects.key)).toEqual({ [`${agentId}:call-1`]: '1' })
    const resumed = await eventually(
      () => queueOf().getJob(`${agentId}:resume:1`),
      (job) => Boolean(job?.finishedOn),
      'the resumed job to finish',
    )
    expect(resumed?.processedBy).toContain(`:${second.pid}:`)
    expect(resumed?.returnvalue).toMatchObject({ status: 'complete', result: 'Sent to ada@example.org.' })
    const lines = logLines(await shared.activity.detail(agentId))
    expect(lines).toContainEqual(expect.stringMatching(/^waiting: /))
    expect(lines.filter((line) => line === 'running: Resuming after decisions')).toHaveLength(1)
    expect(lines.at(-1)).toBe('complete: Complete')
    expect((await shared.store.getRun(agentId))?.result).toEqual({ value: 'Sent to ada@example.org.' })
  }, 60_000)
})
