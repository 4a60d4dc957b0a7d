import { RunCanceledError } from '@runner/core'
import { abortableSleep as sleep } from '@runner/core/adapter'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { logLines, waitForActivity } from './test-helpers/activity.js'
import { eventually, noticeUnless, redisUrl } from './test-helpers/services.js'
import { fastWorker, type QueueSetup, queueSetup } from './test-helpers/setup.js'
import { gateReached, openGate } from './test-helpers/tasks.js'
import { TcpProxy } from './test-helpers/tcp-proxy.js'

noticeUnless(Boolean(redisUrl), 'REDIS_URL')

/**
 * Durable runs on bullmqEngine, with an API pool and worker pools in this process sharing one
 * in-memory store (the multi-process versions are in durable-multi-process.test.ts).
 */
describe.skipIf(!redisUrl)('durable runs on bullmqEngine', () => {
  let setup: QueueSetup | undefined
  let redis: Redis | undefined
  let proxy: TcpProxy | undefined
  afterEach(async () => {
    // The pools first: those behind the proxy close their connections through it.
    await setup?.cleanup()
    await proxy?.close()
    redis?.disconnect()
    setup = undefined
    redis = undefined
    proxy = undefined
  }, 30_000)

  function effectsOf(current: QueueSetup) {
    redis ??= new Redis(redisUrl as string)
    return { redisUrl: redisUrl as string, key: `${current.prefix}:effects` }
  }

  it('a task waiting for approval frees its worker; approved from the API pool, it runs once as <agentId>:resume:1 and completes', async () => {
    setup = queueSetup({ label: 'approval' })
    const { api, tasks, queue } = setup
    const effects = effectsOf(setup)
    const first = await setup.startWorkerPool({ concurrency: 1 })

    const { agentId } = await tasks.approval.enqueue({
      to: 'ada@example.org',
      effects,
      status: { message: 'Sending', percentage: 80 },
    })
    let settled = false
    const result = tasks.approval.result(agentId, { timeoutMs: 30_000 }).finally(() => {
      settled = true
    })
    await waitForActivity(setup.activity, agentId, (activity) => activity.status === 'waiting')
    // The one slot is free: another task runs meanwhile, and the waiting one is not final.
    const echo = await tasks.echo.enqueue({ text: 'meanwhile' })
    await expect(tasks.echo.result(echo.agentId, { timeoutMs: 10_000 })).resolves.toMatchObject({
      text: 'meanwhile',
    })
    expect(settled).toBe(false)
    const waitingJob = await queue.getJob(agentId)
    expect(await waitingJob?.getState()).toBe('completed')
    expect(waitingJob?.returnvalue).toMatchObject({
      status: 'waiting',
      pending: [{ id: 'call-1', kind: 'approval', toolName: 'send_email' }],
    })

    // No worker runs while the decision is made; two processes submitting the resume add one job.
    await first.pool.close()
    const other = setup.peer()
    await api.approve(agentId, 'call-1', { by: 'ops' })
    await expect(other.resume(agentId)).resolves.toBe(true)
    expect(await queue.getJobCounts('waiting', 'prioritized')).toEqual({ waiting: 0, prioritized: 1 })
    expect((await queue.getJob(`${agentId}:resume:1`))?.data).toMatchObject({ agentId, resumed: 1 })

    await setup.startWorkerPool({ concurrency: 1 })
    await expect(result).resolves.toBe('Sent to ada@example.org.')
    expect(await (redis as Redis).hgetall(effects.key)).toEqual({ [`${agentId}:call-1`]: '1' })
    // pool.result came from the store; BullMQ records the resumed job's return value right after.
    const resumed = await eventually(
      () => queue.getJob(`${agentId}:resume:1`),
      (job) => Boolean(job?.finishedOn),
      'the resumed job to finish',
    )
    expect(resumed?.returnvalue).toMatchObject({ status: 'complete', result: 'Sent to ada@example.org.' })
    // Progress of the resumed run is mirrored to its job and to the task's first job.
    expect(resumed?.progress).toEqual({ message: 'Sending', percentage: 80 })
    expect((await queue.getJob(agentId))?.progress).toEqual({ message: 'Sending', percentage: 80 })
    const lines = logLines(await setup.activity.detail(agentId))
    expect(lines.filter((line) => line === 'running: Resuming after decisions')).toHaveLength(1)
    expect(lines.at(-1)).toBe('complete: Complete')
    // Read again later (from the API pool's engine: the resumed job's outcome).
    await expect(api.result(agentId)).resolves.toBe('Sent to ada@example.org.')
  }, 60_000)

  it('pool.cancel finds a resumed task by its agentId and aborts it on its worker', async () => {
    setup = queueSetup({ label: 'cancel-resumed' })
    const { api, tasks } = setup
    const effects = effectsOf(setup)
    await setup.startWorkerPool({ concurrency: 1 })
    const { agentId } = await tasks.approval.enqueue({ to: 'ada@example.org', effects, sendMs: 60_000 })
    await waitForActivity(setup.activity, agentId, (activity) => activity.status === 'waiting')
    await api.approve(agentId, 'call-1')
    // The approved call is sending (60 s) in the resumed job.
    await waitForActivity(setup.activity, agentId, (activity) =>
      activity.log.some((entry) => entry.kind === 'resume' && entry.message.includes('send_email approved')),
    )
    await expect(api.cancel(agentId)).resolves.toBe(true)
    expect((await setup.activity.detail(agentId)).status).toBe('canceled')
    await expect(api.result(agentId)).rejects.toSatisfy(RunCanceledError.isInstance)
    expect(await (redis as Redis).hgetall(effects.key)).toEqual({})
    expect(await (await setup.queue.getJob(`${agentId}:resume:1`))?.getState()).toBe('completed')
  }, 60_000)

  it('loses no result to a Redis outage longer than the lock ("Missing lock for job ... moveToFinished"): pool.result reads it from the store', async () => {
    // Every pool of this test reaches Redis through a proxy that the test cuts: an outage for them
    // only (other tests share the real Redis).
    proxy = await TcpProxy.start(redisUrl as string)
    setup = queueSetup({ label: 'outage', engine: { connection: proxy.url(redisUrl as string) } })
    const { tasks } = setup
    await setup.startWorkerPool({ concurrency: 1 })
    const { agentId } = await tasks.gated.enqueue({ value: 'kept' })
    const result = tasks.gated.result(agentId, { timeoutMs: 60_000 })
    await gateReached(agentId)

    // Redis goes down; the handler returns meanwhile, and its activity completes (the store is not
    // Redis); BullMQ cannot record the return value until Redis is back, past the job's lock.
    proxy.cut()
    openGate(agentId)
    await waitForActivity(setup.activity, agentId, (activity) => activity.status === 'complete')
    await sleep(fastWorker.lockDurationMs * 2, new AbortController().signal)
    proxy.restore()

    await expect(result).resolves.toEqual({ value: 'kept' })
    const direct = new Queue(setup.queueName, {
      connection: { url: redisUrl as string },
      prefix: setup.prefix,
    })
    try {
      const job = await direct.getJob(agentId)
      // The worker's late moveToFinished failed, the job came back, and its second delivery found
      // the activity complete: it took the result stored with it.
      expect(setup.errors.map((error) => error.message)).toContainEqual(
        expect.stringMatching(/^Missing lock for job .+ moveToFinished/),
      )
      expect(job?.stalledCounter).toBeGreaterThanOrEqual(1)
      expect(job?.returnvalue).toEqual({
        agentId,
        task: 'gated',
        status: 'complete',
        attempts: 1,
        result: { value: 'kept' },
      })
    } finally {
      await direct.close()
    }
    const lines = logLines(await setup.activity.detail(agentId))
    expect(lines.filter((line) => line.startsWith('complete:'))).toHaveLength(1)
  }, 60_000)
})
