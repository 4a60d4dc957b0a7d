import {
  ActivityNotFoundError,
  createActivityTracker,
  createPool,
  InvalidOptionsError,
  RunCanceledError,
  RunnerError,
} from '@runner/core'
import { QueueEvents } from 'bullmq'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { bullmqEngine } from './bullmq-engine.js'
import { toBullMQPriority } from './priority.js'
import { startWorker } from './start-worker.js'
import { logEntries, logLines, waitForActivity } from './test-helpers/activity.js'
import { eventually, noticeUnless, redisUrl } from './test-helpers/services.js'
import { type QueueSetup, queueSetup } from './test-helpers/setup.js'

noticeUnless(Boolean(redisUrl), 'REDIS_URL')

describe('bullmqEngine options (no Redis needed)', () => {
  it('validates its options, naming each bad field', () => {
    expect(() => bullmqEngine({ connection: 'http://cache:6379', queueName: 'q' })).toThrow(
      'Invalid bullmqEngine options: connection: must be a redis:// or rediss:// URL, ioredis options, or an ioredis instance',
    )
    expect(() => bullmqEngine({ connection: 'redis://x', queueName: 'a:b' })).toThrow(
      /queueName: must not contain ":"/,
    )
    const error = (() => {
      try {
        bullmqEngine({
          connection: 'redis://x',
          queueName: 'q',
          worker: { lockDurationMs: 10, limiter: { max: 0, durationMs: 1000 } },
          // @ts-expect-error a typo is refused, not ignored
          prefx: 'p',
        })
      } catch (caught) {
        return caught
      }
    })()
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect((error as InvalidOptionsError).issues.map((issue) => issue.field).sort()).toEqual([
      'prefx',
      'worker.limiter.max',
      'worker.lockDurationMs',
    ])
  })

  it('is a PoolEngine named "bullmq" that exposes its queue name and prefix', () => {
    const engine = bullmqEngine({ connection: 'redis://127.0.0.1:1', queueName: 'research' })
    expect(engine.name).toBe('bullmq')
    expect(engine.queueName).toBe('research')
    expect(engine.prefix).toBe('bull')
    expect(() => engine.queue).toThrow('This bullmqEngine() was not started: pass it to createPool().')
  })

  it('maps pool priorities (higher first) onto BullMQ priorities (1 first), within BullMQ’s range', () => {
    expect(toBullMQPriority(1_000_000)).toBe(1)
    expect(toBullMQPriority(0)).toBe(1_000_001)
    expect(toBullMQPriority(-1_000_000)).toBe(2_000_001)
    expect(toBullMQPriority(-1_000_000)).toBeLessThanOrEqual(2 ** 21 - 1)
    expect(toBullMQPriority(5)).toBeLessThan(toBullMQPriority(4))
  })

  it('refuses startWorker on a pool whose engine is not bullmqEngine', async () => {
    const pool = createPool()
    await expect(startWorker({ pool, signals: false })).rejects.toThrow(
      /pool: its engine is "local"; startWorker needs a pool created with createPool\(\{ engine: bullmqEngine\(\.\.\.\) \}\)/,
    )
    await pool.close()
  })
})

describe.skipIf(!redisUrl)('bullmqEngine with Redis', () => {
  let setup: QueueSetup
  afterEach(async () => {
    await setup?.cleanup()
  })

  it('stores a job per enqueue: id = agentId, name = task, data = the PoolJob, priority and delay mapped, one attempt', async () => {
    setup = queueSetup({ label: 'submit' })
    const { agentId } = await setup.tasks.echo.enqueue({ text: 'hi' }, { priority: 7, delayMs: 60_000 })
    const job = await setup.queue.getJob(agentId)
    expect(job).toBeDefined()
    expect(job?.id).toBe(agentId)
    expect(job?.name).toBe('echo')
    expect(job?.data).toEqual({
      agentId,
      task: 'echo',
      input: { text: 'hi' },
      priority: 7,
      delayMs: 60_000,
      attempt: 1,
      enqueuedAt: expect.any(String),
    })
    expect(job?.opts.priority).toBe(toBullMQPriority(7))
    expect(job?.opts.delay).toBe(60_000)
    expect(job?.opts.attempts).toBe(1)
    expect(await job?.getState()).toBe('delayed')
    expect((await setup.activity.detail(agentId)).status).toBe('queued')
  })

  it('runs a job in a worker pool and gives its result to the API pool, after the JSON round trip', async () => {
    setup = queueSetup({ label: 'result' })
    await setup.startWorkerPool()
    const { agentId } = await setup.tasks.echo.enqueue({ text: 'otters' })
    await expect(setup.tasks.echo.result(agentId, { timeoutMs: 10_000 })).resolves.toEqual({
      text: 'otters',
      upper: 'OTTERS',
      attempt: 1,
      at: '1970-01-01T00:00:00.000Z',
    })
    const activity = await setup.activity.detail(agentId)
    expect(logLines(activity)).toEqual([
      'queued: Waiting to start',
      'running: Started',
      'running: Echoing otters',
      'complete: Complete',
    ])
    // A finished job answers at once, from Redis.
    await expect(setup.api.result(agentId)).resolves.toMatchObject({ text: 'otters' })
  })

  it('mirrors reports to BullMQ job progress', async () => {
    setup = queueSetup({ label: 'progress' })
    await setup.startWorkerPool()
    const { agentId } = await setup.tasks.echo.enqueue({ text: 'progress' })
    await setup.api.result(agentId, { timeoutMs: 10_000 })
    const job = await setup.queue.getJob(agentId)
    expect(job?.progress).toEqual({ message: 'Echoing progress', percentage: 50 })
  })

  it('mirrors report_status of a runner inside the task to BullMQ job progress', async () => {
    setup = queueSetup({ label: 'runner-progress' })
    await setup.startWorkerPool()
    const progress: unknown[] = []
    const events = new QueueEvents(setup.queueName, {
      connection: { url: redisUrl as string },
      prefix: setup.prefix,
    })
    try {
      events.on('progress', ({ data }) => progress.push(data))
      await events.waitUntilReady()
      const { agentId } = await setup.tasks.agent.enqueue({
        status: { message: 'Reading sources', percentage: 40 },
      })
      await expect(setup.api.result(agentId, { timeoutMs: 10_000 })).resolves.toEqual({
        attempt: 1,
        text: 'answered on attempt 1',
      })
      // The handler reports nothing itself: the runner's report_status is the task's progress.
      const activity = await setup.activity.detail(agentId)
      expect(activity.log.filter((entry) => entry.kind === 'progress')).toMatchObject([
        { status: 'running', message: 'Reading sources', percentage: 40, attempt: 1 },
      ])
      const job = await setup.queue.getJob(agentId)
      expect(job?.progress).toEqual({ message: 'Reading sources', percentage: 40 })
      await eventually(
        () => progress,
        (seen) => seen.length > 0,
        'the progress event',
      )
      expect(progress).toEqual([{ message: 'Reading sources', percentage: 40 }])
    } finally {
      await events.close()
    }
  })

  it('rejects result() for an unknown agentId with ActivityNotFoundError, and times out with a RunnerError', async () => {
    setup = queueSetup({ label: 'unknown' })
    await expect(setup.api.result('no-such-agent')).rejects.toSatisfy(ActivityNotFoundError.isInstance)
    const { agentId } = await setup.tasks.echo.enqueue({ text: 'never run' })
    const error = await setup.api.result(agentId, { timeoutMs: 100 }).catch((caught: unknown) => caught)
    expect(RunnerError.isInstance(error)).toBe(true)
    expect((error as Error).message).toMatch(/waited timeoutMs \(100 ms\)/)
  })

  it('cancels a queued job: removed from Redis, activity canceled, result rejects, a second cancel is false', async () => {
    setup = queueSetup({ label: 'cancel-queued' })
    const { agentId } = await setup.tasks.echo.enqueue({ text: 'queued' })
    const waiting = setup.api.result(agentId).catch((caught: unknown) => caught)
    await expect(setup.api.cancel(agentId)).resolves.toBe(true)
    expect(await setup.queue.getJob(agentId)).toBeUndefined()
    const activity = await setup.activity.detail(agentId)
    expect(activity.status).toBe('canceled')
    expect(RunCanceledError.isInstance(await waiting)).toBe(true)
    await expect(setup.api.result(agentId)).rejects.toSatisfy(RunCanceledError.isInstance)
    await expect(setup.api.cancel(agentId)).resolves.toBe(false)
    // A worker started afterwards never runs it.
    await setup.startWorkerPool()
    expect(logLines(await setup.activity.detail(agentId))).toEqual([
      'queued: Waiting to start',
      'canceled: Canceled',
    ])
  })

  it('cancels a delayed job', async () => {
    setup = queueSetup({ label: 'cancel-delayed' })
    await setup.startWorkerPool()
    const { agentId } = await setup.tasks.echo.enqueue({ text: 'later' }, { delayMs: 60_000 })
    await expect(setup.api.cancel(agentId)).resolves.toBe(true)
    expect((await setup.activity.detail(agentId)).status).toBe('canceled')
  })

  it('cancels a running job from another pool within a second; it is not retried', async () => {
    setup = queueSetup({ label: 'cancel-running' })
    const { pool: workerPool } = await setup.startWorkerPool()
    const { agentId } = await setup.tasks.sleeper.enqueue({ ms: 60_000 })
    await waitForActivity(setup.activity, agentId, (activity) => activity.message.startsWith('Sleeping'))
    const started = Date.now()
    await expect(setup.api.cancel(agentId)).resolves.toBe(true)
    expect(Date.now() - started).toBeLessThan(1000)
    expect((await setup.activity.detail(agentId)).status).toBe('canceled')
    await expect(setup.api.result(agentId)).rejects.toSatisfy(RunCanceledError.isInstance)
    await expect(workerPool.result(agentId)).rejects.toSatisfy(RunCanceledError.isInstance)
    // BullMQ recorded the job as processed (its outcome: canceled): nothing retries it.
    const job = await setup.queue.getJob(agentId)
    expect(await job?.getState()).toBe('completed')
    expect(job?.returnvalue).toMatchObject({ status: 'canceled', attempts: 1 })
  })

  it('cancels promptly even a handler that ignores its signal, freeing the slot', async () => {
    setup = queueSetup({ label: 'cancel-stubborn' })
    await setup.startWorkerPool({ concurrency: 1 })
    const { agentId } = await setup.tasks.stubborn.enqueue({ ms: 3000 })
    await waitForActivity(setup.activity, agentId, (activity) => activity.message === 'Not listening')
    const started = Date.now()
    await expect(setup.api.cancel(agentId)).resolves.toBe(true)
    expect(Date.now() - started).toBeLessThan(1000)
    const next = await setup.tasks.echo.enqueue({ text: 'next' })
    await expect(setup.api.result(next.agentId, { timeoutMs: 2000 })).resolves.toMatchObject({ text: 'next' })
  })

  it('runs higher priorities first, first-in first-out within a priority', async () => {
    setup = queueSetup({ label: 'priority' })
    const enqueued: Array<{ agentId: string; label: string }> = []
    for (const [label, priority] of [
      ['low', -5],
      ['normal-1', 0],
      ['high', 1_000_000],
      ['normal-2', 0],
      ['lowest', -1_000_000],
      ['higher', 10],
    ] as const) {
      const { agentId } = await setup.tasks.sleeper.enqueue({ ms: 1, label }, { priority })
      enqueued.push({ agentId, label })
    }
    // The order in which activities start, as the store pushes it.
    const order: string[] = []
    const watching = new AbortController()
    void (async () => {
      for await (const event of setup.activity.watch({}, watching.signal)) {
        if (event.entry.message === 'Started') {
          order.push(enqueued.find((job) => job.agentId === event.agentId)?.label ?? event.agentId)
        }
      }
    })()
    // One worker with one slot, started once everything is queued: the queue's order is the run order.
    await setup.startWorkerPool({ concurrency: 1 })
    await Promise.all(enqueued.map(({ agentId }) => setup.api.result(agentId, { timeoutMs: 10_000 })))
    watching.abort()
    expect(order).toEqual(['high', 'higher', 'normal-1', 'normal-2', 'low', 'lowest'])
  })

  it('delays the start by delayMs', async () => {
    setup = queueSetup({ label: 'delay' })
    await setup.startWorkerPool()
    const enqueuedAt = Date.now()
    const { agentId } = await setup.tasks.echo.enqueue({ text: 'late' }, { delayMs: 700 })
    expect(await (await setup.queue.getJob(agentId))?.getState()).toBe('delayed')
    await setup.api.result(agentId, { timeoutMs: 10_000 })
    const activity = await setup.activity.detail(agentId)
    expect(Date.parse(activity.startedAt ?? '') - enqueuedAt).toBeGreaterThanOrEqual(650)
  })

  it('leaves retries to the task (retry lines with the attempt that follows), never to BullMQ', async () => {
    setup = queueSetup({ label: 'retries' })
    await setup.startWorkerPool()
    const { agentId } = await setup.tasks.flaky.enqueue({ failures: 2 })
    await expect(setup.api.result(agentId, { timeoutMs: 10_000 })).resolves.toEqual({ attempt: 3 })
    expect(logEntries(await setup.activity.detail(agentId))).toEqual([
      ['queued', 'lifecycle', undefined, 'Waiting to start'],
      ['running', 'lifecycle', 1, 'Started'],
      ['running', 'retry', 2, 'Retrying (attempt 2 of 3): flaky failure 1'],
      ['running', 'retry', 3, 'Retrying (attempt 3 of 3): flaky failure 2'],
      ['complete', 'lifecycle', 3, 'Complete'],
    ])
    const job = await setup.queue.getJob(agentId)
    expect(job?.attemptsStarted).toBe(1)
    expect(job?.opts.attempts).toBe(1)

    const failing = await setup.tasks.flaky.enqueue({ failures: 5 })
    const error = await setup.api
      .result(failing.agentId, { timeoutMs: 10_000 })
      .catch((caught: unknown) => caught)
    expect((error as Error).message).toBe('flaky failure 3')
    expect((await setup.activity.detail(failing.agentId)).status).toBe('error')
    expect(await (await setup.queue.getJob(failing.agentId))?.getState()).toBe('completed')
  })

  it('fails a job whose task the worker does not know, without retrying it', async () => {
    setup = queueSetup({ label: 'unknown-task' })
    setup.api.task('only-in-the-api', { input: z.object({}) }, () => 'never')
    await setup.startWorkerPool()
    const { agentId } = await setup.api.enqueue('only-in-the-api', {})
    const error = await setup.api.result(agentId, { timeoutMs: 10_000 }).catch((caught: unknown) => caught)
    expect((error as Error).message).toMatch(/No task named "only-in-the-api" is registered on this pool/)
    expect((await setup.activity.detail(agentId)).status).toBe('error')
  })

  it('fails a foreign job added to the queue without a pool, and keeps working', async () => {
    setup = queueSetup({ label: 'foreign' })
    await setup.startWorkerPool()
    const foreign = await setup.queue.add('echo', { hello: 'world' } as never, { jobId: 'foreign-job' })
    await eventually(
      () => foreign.getState(),
      (state) => state === 'failed',
      'the foreign job to fail',
    )
    expect((await setup.queue.getJob('foreign-job'))?.failedReason).toMatch(/is not a task of a @runner pool/)
    const { agentId } = await setup.tasks.echo.enqueue({ text: 'still here' })
    await expect(setup.api.result(agentId, { timeoutMs: 10_000 })).resolves.toMatchObject({
      text: 'still here',
    })
  })

  it('refuses an agentId BullMQ cannot take and fails its activity, so it is never left queued', async () => {
    setup = queueSetup({ label: 'bad-id' })
    const error = await setup.tasks.echo
      .enqueue({ text: 'x' }, { agentId: 'tenant:42' })
      .catch((caught: unknown) => caught)
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect((error as InvalidOptionsError).field).toBe('agentId')
    expect((await setup.activity.detail('tenant:42')).status).toBe('error')
    await expect(setup.tasks.echo.enqueue({ text: 'x' }, { agentId: '42' })).rejects.toThrow(
      /must not contain ":" nor be an integer/,
    )
  })

  it('rate-limits the queue with the limiter', async () => {
    setup = queueSetup({ label: 'limiter', engine: { worker: { limiter: { max: 1, durationMs: 400 } } } })
    await setup.startWorkerPool({ concurrency: 3 })
    const ids = await Promise.all([1, 2, 3].map((n) => setup.tasks.echo.enqueue({ text: `n${n}` })))
    await Promise.all(ids.map(({ agentId }) => setup.api.result(agentId, { timeoutMs: 10_000 })))
    const starts = (
      await Promise.all(
        ids.map(async ({ agentId }) => Date.parse((await setup.activity.detail(agentId)).startedAt ?? '')),
      )
    ).sort((a, b) => a - b)
    expect((starts[2] ?? 0) - (starts[0] ?? 0)).toBeGreaterThanOrEqual(700)
  })

  it('starts one worker per pool, at most at the pool’s concurrency', async () => {
    setup = queueSetup({ label: 'one-worker' })
    const pool = createPool({ activity: createActivityTracker(), engine: setup.engine(), concurrency: 2 })
    await expect(startWorker({ pool, concurrency: 3, signals: false })).rejects.toThrow(
      "concurrency: must be at most the pool's concurrency (2); create the pool with createPool({ concurrency: 3 })",
    )
    const worker = await startWorker({ pool, signals: false })
    expect(worker.concurrency).toBe(2)
    expect(worker.id).toMatch(/^.+:\d+:\d+$/)
    await expect(startWorker({ pool, signals: false })).rejects.toThrow(/already started a worker/)
    await pool.close({ timeoutMs: 0 })
    await worker.closed
  })
})

describe.skipIf(!redisUrl)('closing', () => {
  let setup: QueueSetup
  afterEach(async () => {
    await setup?.cleanup()
  })

  it('lets running jobs finish within timeoutMs; queued jobs stay in the queue for other workers', async () => {
    setup = queueSetup({ label: 'close-finish' })
    const { pool, worker } = await setup.startWorkerPool({ concurrency: 1 })
    const running = await setup.tasks.sleeper.enqueue({ ms: 300 })
    await waitForActivity(setup.activity, running.agentId, (activity) => activity.status === 'running')
    const queued = await setup.tasks.echo.enqueue({ text: 'next worker' })
    await pool.close({ timeoutMs: 5000 })
    await worker.closed
    expect((await setup.activity.detail(running.agentId)).status).toBe('complete')
    expect((await setup.activity.detail(queued.agentId)).status).toBe('queued')
    expect(await (await setup.queue.getJob(queued.agentId))?.getState()).toBe('prioritized')
    // Another worker takes it.
    await setup.startWorkerPool()
    await expect(setup.api.result(queued.agentId, { timeoutMs: 10_000 })).resolves.toMatchObject({
      text: 'next worker',
    })
  })

  it('cancels the jobs still running at timeoutMs: no activity is left running, and none is retried', async () => {
    setup = queueSetup({ label: 'close-cancel' })
    const { pool } = await setup.startWorkerPool({ concurrency: 2 })
    const slow = await setup.tasks.sleeper.enqueue({ ms: 60_000 })
    const stubborn = await setup.tasks.stubborn.enqueue({ ms: 3000 })
    await waitForActivity(setup.activity, slow.agentId, (activity) => activity.status === 'running')
    await waitForActivity(setup.activity, stubborn.agentId, (activity) => activity.status === 'running')
    const started = Date.now()
    await pool.close({ timeoutMs: 200 })
    expect(Date.now() - started).toBeLessThan(2000)
    for (const { agentId } of [slow, stubborn]) {
      const activity = await setup.activity.detail(agentId)
      expect(activity.status).toBe('canceled')
      const error = await setup.api.result(agentId).catch((caught: unknown) => caught)
      expect(RunCanceledError.isInstance(error)).toBe(true)
      expect((error as Error).message).toBe(
        'The worker shut down and the task did not finish within timeoutMs (200 ms).',
      )
    }
    expect(await setup.activity.countActive()).toBe(0)
  })

  it('rejects waiting result() calls of a closed API pool, and refuses new jobs', async () => {
    setup = queueSetup({ label: 'close-api' })
    const { agentId } = await setup.tasks.echo.enqueue({ text: 'waiting' })
    const waiting = setup.api.result(agentId).catch((caught: unknown) => caught)
    await new Promise((resolve) => setTimeout(resolve, 50))
    await setup.api.close()
    expect(((await waiting) as Error).message).toMatch(/The pool closed while waiting for this result/)
    await expect(setup.tasks.echo.enqueue({ text: 'x' })).rejects.toThrow(/This pool is closed/)
    expect((await setup.activity.detail(agentId)).status).toBe('queued')
  })
})
