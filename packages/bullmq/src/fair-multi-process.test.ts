import { createPool, type Pool } from '@runner/core'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { bullmqEngine } from './bullmq-engine.js'
import { logLines } from './test-helpers/activity.js'
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
import { killAll, type PhaseMessage, WorkerProcess } from './test-helpers/worker-process.js'

noticeUnless(Boolean(redisUrl && databaseUrl), 'REDIS_URL or DATABASE_URL')

/** Short locks (and so leases) in the children, so that a killed worker's slot comes back within seconds. */
const fastLocks = ['--lock-duration', '2000', '--stalled-interval', '1000']

interface Record {
  tenant: string
  agentId: string
  phase: 'start' | 'end' | 'marker'
  pid: number
  at: number
}

/**
 * Fair concurrency per key with `runner-worker` child processes on one queue: the limit per key
 * holds across processes, a small tenant is not starved by a large one, and a killed worker's
 * slot comes back.
 */
describe.skipIf(!(redisUrl && databaseUrl))('fair concurrency per key across worker processes', () => {
  let queue: { queueName: string; prefix: string }
  let shared: SharedStore
  let api: Pool
  let tasks: ReturnType<typeof registerTasks>
  let redis: Redis
  let sink: { redisUrl: string; key: string }
  const workers: WorkerProcess[] = []
  const messages: PhaseMessage[] = []

  function setup(label: string) {
    queue = uniqueQueue(label)
    shared = sharedStore(label.replaceAll('-', '_'))
    api = createPool({
      activity: shared.activity,
      engine: bullmqEngine({ connection: redisUrl as string, ...queue }),
    })
    tasks = registerTasks(api)
    redis = new Redis(redisUrl as string)
    sink = { redisUrl: redisUrl as string, key: `${queue.prefix}:sink` }
  }

  function startWorker(concurrency: number): WorkerProcess {
    const worker = new WorkerProcess({
      ...queue,
      redisUrl: redisUrl as string,
      storeUrl: shared.storeUrl,
      concurrency,
      args: fastLocks,
      onMessage: (message) => messages.push(message),
    })
    workers.push(worker)
    return worker
  }

  async function records(): Promise<Record[]> {
    return (await redis.lrange(sink.key, 0, -1)).map((line) => JSON.parse(line) as Record)
  }

  afterEach(async () => {
    await killAll(workers.splice(0))
    messages.length = 0
    await api?.close({ timeoutMs: 0 })
    redis?.disconnect()
    await shared?.cleanup()
    if (queue) await removeQueue(redisUrl as string, queue.queueName, queue.prefix)
  }, 60_000)

  it('starts a 10-task tenant queued behind a 1,000-task one within the dispatch window plus one slot per task', async () => {
    setup('fair-bound')
    const processes = 3
    const concurrency = 2
    for (let index = 0; index < processes; index++) startWorker(concurrency)
    await Promise.all(workers.map((worker) => worker.ready))
    await api.enqueueMany(
      Array.from({ length: 1000 }, () => ({ task: 'fair', input: { tenant: 'big', ms: 20, sink } })),
    )
    // Every worker busy with the big tenant (each registered its concurrency in the window).
    await eventually(
      records,
      (list) =>
        new Set(list.filter((record) => record.phase === 'start').map((record) => record.pid)).size ===
        processes,
      'every worker to run tasks of the big tenant',
      { timeoutMs: 30_000, intervalMs: 50 },
    )
    await redis.rpush(sink.key, JSON.stringify({ phase: 'marker' }))
    const small = await api.enqueueMany(
      Array.from({ length: 10 }, () => ({ task: 'fair', input: { tenant: 'small', ms: 20, sink } })),
    )
    for (const { agentId } of small) await api.result(agentId, { timeoutMs: 60_000 })
    const list = await records()
    const marker = list.findIndex((record) => record.phase === 'marker')
    const starts = list.slice(marker + 1).filter((record) => record.phase === 'start')
    const lastSmall = starts.findLastIndex((record) => record.tenant === 'small')
    const bigBefore = starts.slice(0, lastSmall).filter((record) => record.tenant === 'big').length
    // The bound (README): after its enqueue, at most W + k − 1 tasks of the big tenant are
    // released before the k-th of the small one, W the dispatch window (the workers' summed
    // concurrency: 6 here), and tasks start in release order. The starts are recorded by the
    // handlers, in parallel on every slot: up to one per slot started before the marker and
    // recorded after it, and up to one per other slot started after the last small task and
    // recorded before it. Without the fair dispatch it would be about 990.
    const window = processes * concurrency
    const slots = processes * concurrency
    expect(bigBefore).toBeLessThanOrEqual(window + small.length - 1 + 2 * slots)
    // And the big tenant was not starved meanwhile: it kept running between the small tasks.
    expect(bigBefore).toBeGreaterThan(0)
  }, 120_000)

  it('runs one task of a key at a time across processes (limit: 1), other keys alongside', async () => {
    setup('fair-limit')
    for (let index = 0; index < 3; index++) startWorker(2)
    await Promise.all(workers.map((worker) => worker.ready))
    const enqueued = await api.enqueueMany(
      ['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b', 'a', 'b'].map((tenant) => ({
        task: 'locked',
        input: { tenant, ms: 150, sink },
      })),
    )
    for (const { agentId } of enqueued) await api.result(agentId, { timeoutMs: 60_000 })
    const list = await records()
    for (const tenant of ['a', 'b']) {
      let running = 0
      let most = 0
      for (const record of list.filter((entry) => entry.tenant === tenant)) {
        running += record.phase === 'start' ? 1 : -1
        most = Math.max(most, running)
      }
      expect(most).toBe(1)
    }
    // The two keys overlapped (limit per key, not per queue), across processes.
    let running = 0
    let most = 0
    for (const record of list) {
      running += record.phase === 'start' ? 1 : -1
      most = Math.max(most, running)
    }
    expect(most).toBe(2)
    expect(new Set(list.map((record) => record.pid)).size).toBeGreaterThan(1)
  }, 90_000)

  it('gives back the slot of a worker killed mid-task: its task and the key’s next ones run elsewhere', async () => {
    setup('fair-kill')
    const doomed = startWorker(2)
    await doomed.ready
    const hung = await tasks.locked.enqueue({ tenant: 'a', ms: 1, sink, hang: true })
    await eventually(
      () => messages,
      (list) => list.some((message) => message.agentId === hung.agentId && message.phase === 'start'),
      'the hanging task to start',
      { timeoutMs: 30_000 },
    )
    const next = await tasks.locked.enqueue({ tenant: 'a', ms: 1, sink })
    await doomed.kill('SIGKILL')
    startWorker(2)
    startWorker(2)
    // The hung task is redelivered (attempt 2 runs to its end); the next one runs too.
    await expect(tasks.locked.result(hung.agentId, { timeoutMs: 60_000 })).resolves.toEqual({
      tenant: 'a',
      attempt: 2,
    })
    await expect(tasks.locked.result(next.agentId, { timeoutMs: 60_000 })).resolves.toEqual({
      tenant: 'a',
      attempt: 1,
    })
    expect(logLines(await shared.activity.detail(hung.agentId))).toContainEqual(
      expect.stringMatching(/^running: Worker lost; retrying \(attempt 2 of 2\)/),
    )
    // Never two at once among the live workers: each start of key "a" follows the previous end.
    const live = (await records()).filter((record) => record.pid !== doomed.pid)
    expect(live).toHaveLength(4)
    expect(live.map((record) => record.phase)).toEqual(['start', 'end', 'start', 'end'])
    expect(live[1]?.agentId).toBe(live[0]?.agentId)
    expect(live[3]?.agentId).toBe(live[2]?.agentId)
    expect(new Set(live.map((record) => record.agentId))).toEqual(new Set([hung.agentId, next.agentId]))
  }, 120_000)
})
