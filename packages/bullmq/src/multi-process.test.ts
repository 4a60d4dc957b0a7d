import { createPool, type Pool, RunCanceledError } from '@runner/core'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { bullmqEngine } from './bullmq-engine.js'
import { logEntries, logLines, waitForActivity } from './test-helpers/activity.js'
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
import { killAll, poolModulePath, WorkerProcess } from './test-helpers/worker-process.js'
import type { BullMQEngine } from './types.js'

noticeUnless(Boolean(redisUrl && databaseUrl), 'REDIS_URL or DATABASE_URL')

/** Short locks in the children, so that a killed worker's jobs come back within seconds. */
const fastLocks = ['--lock-duration', '2000', '--stalled-interval', '1000']

/**
 * An "API" in this process (a pool that only enqueues, on the shared PostgreSQL store) and
 * `runner-worker` child processes on the same queue: what a deployment looks like.
 */
describe.skipIf(!(redisUrl && databaseUrl))('workers in other processes', () => {
  let queue: { queueName: string; prefix: string }
  let shared: SharedStore
  let api: Pool
  let tasks: ReturnType<typeof registerTasks>
  const workers: WorkerProcess[] = []

  function setup(label: string) {
    queue = uniqueQueue(label)
    shared = sharedStore(label.replaceAll('-', '_'))
    api = createPool({
      activity: shared.activity,
      engine: bullmqEngine({ connection: redisUrl as string, ...queue }),
    })
    tasks = registerTasks(api)
  }

  function startWorker(args: string[] = fastLocks, concurrency = 2): WorkerProcess {
    const worker = new WorkerProcess({
      ...queue,
      redisUrl: redisUrl as string,
      storeUrl: shared.storeUrl,
      concurrency,
      args,
    })
    workers.push(worker)
    return worker
  }

  afterEach(async () => {
    await killAll(workers.splice(0))
    await api?.close({ timeoutMs: 0 })
    await shared?.cleanup()
    if (queue) await removeQueue(redisUrl as string, queue.queueName, queue.prefix)
  }, 30_000)

  it('runs a task in a worker process and hands its result to the API process', async () => {
    setup('results')
    const worker = startWorker()
    await worker.ready
    const { agentId } = await tasks.echo.enqueue({ text: 'from afar' })
    await expect(tasks.echo.result(agentId, { timeoutMs: 20_000 })).resolves.toEqual({
      text: 'from afar',
      upper: 'FROM AFAR',
      attempt: 1,
      at: '1970-01-01T00:00:00.000Z',
    })
    expect(logLines(await shared.activity.detail(agentId))).toEqual([
      'queued: Waiting to start',
      'running: Started',
      'running: Echoing from afar',
      'complete: Complete',
    ])
    const job = await (api.engine as BullMQEngine).queue.getJob(agentId)
    expect(job?.processedBy).toContain(`:${worker.pid}:`)
  }, 30_000)

  it('cancels from the API a task running in a worker within a second: canceled, never retried', async () => {
    setup('cancel')
    await startWorker().ready
    const { agentId } = await tasks.sleeper.enqueue({ ms: 60_000 })
    await waitForActivity(
      shared.activity,
      agentId,
      (activity) => activity.message === 'Sleeping 60000 ms',
      20_000,
    )
    const started = Date.now()
    await expect(api.cancel(agentId)).resolves.toBe(true)
    const elapsed = Date.now() - started
    expect(elapsed).toBeLessThan(1000)
    const activity = await shared.activity.detail(agentId)
    expect(activity.status).toBe('canceled')
    await expect(api.result(agentId)).rejects.toSatisfy(RunCanceledError.isInstance)
    // Processed as far as BullMQ is concerned (its outcome: canceled), so nothing redelivers it.
    expect(await (await (api.engine as BullMQEngine).queue.getJob(agentId))?.getState()).toBe('completed')
    // Past a lock duration and two stalled checks, it was still never started again.
    await new Promise((resolve) => setTimeout(resolve, 3000))
    const later = await shared.activity.detail(agentId)
    expect(later.status).toBe('canceled')
    expect(logLines(later).filter((line) => line === 'running: Started')).toHaveLength(1)
  }, 30_000)

  it('redelivers the task of a killed worker to another one, from the next attempt, and logs it', async () => {
    setup('crash')
    const first = startWorker()
    await first.ready
    const { agentId } = await tasks.crashThenFail.enqueue({})
    await waitForActivity(shared.activity, agentId, (activity) => activity.message === 'Attempt 1', 20_000)
    await first.kill('SIGKILL')
    await startWorker().ready
    const error = await api.result(agentId, { timeoutMs: 20_000 }).catch((caught: unknown) => caught)
    // retries: 1, and the lost attempt counted: attempt 2 was the last one, its failure final.
    expect((error as Error).message).toBe('failed on attempt 2')
    expect(logEntries(await shared.activity.detail(agentId))).toEqual([
      ['queued', 'lifecycle', undefined, 'Waiting to start'],
      ['running', 'lifecycle', 1, 'Started'],
      ['running', 'progress', 1, 'Attempt 1'],
      ['running', 'retry', 2, 'Worker lost; retrying (attempt 2 of 2)'],
      ['running', 'progress', 2, 'Attempt 2'],
      ['error', 'lifecycle', 2, 'Failed: failed on attempt 2'],
    ])
  }, 30_000)

  it('resumes a task whose worker was lost after the last attempt its log records, its runner’s own retries included', async () => {
    setup('runner-retries')
    const first = startWorker()
    await first.ready
    // Attempt 1: the runner inside the task retries its model request twice in place (attempts 2
    // and 3 of the one counter), reports, then hangs until its worker is killed.
    const { agentId } = await tasks.agent.enqueue({
      failures: 2,
      status: { message: 'Searching', percentage: 30 },
      hangOnFirstAttempt: true,
    })
    await waitForActivity(
      shared.activity,
      agentId,
      (activity) => activity.log.some((entry) => entry.kind === 'progress'),
      20_000,
    )
    // Its report_status call is in the run's journal (it will not be made again).
    await eventually(
      async () => (await shared.store.getRun(agentId))?.journal.map((entry) => entry.toolName),
      (tools) => tools?.includes('report_status') === true,
      'the report_status call in the journal',
    )
    await first.kill('SIGKILL')
    await startWorker().ready
    await expect(tasks.agent.result(agentId, { timeoutMs: 20_000 })).resolves.toEqual({
      attempt: 4,
      text: 'answered on attempt 4',
    })
    expect(logEntries(await shared.activity.detail(agentId))).toEqual([
      ['queued', 'lifecycle', undefined, 'Waiting to start'],
      ['running', 'lifecycle', 1, 'Started'],
      ['running', 'retry', 2, 'Retrying (attempt 2 of 3): model busy 1'],
      ['running', 'retry', 3, 'Retrying (attempt 3 of 3): model busy 2'],
      ['running', 'progress', 3, 'Searching'],
      // The lost worker was on attempt 3 (the runner's retries moved the task's one counter).
      ['running', 'retry', 4, 'Worker lost; retrying (attempt 4 of 5)'],
      // The runner is durable: it continues from its checkpoint (after its first answer).
      [
        'running',
        'resume',
        4,
        'Resumed from its checkpoint at turn 1 after the previous process stopped (the model call in flight is made again; journaled tool calls are not)',
      ],
      // The journaled report_status call is not made again; this process's scripted model starts
      // its script over: it reports once more, then answers.
      ['running', 'progress', 4, 'Searching'],
      ['complete', 'lifecycle', 4, 'Complete'],
    ])
  }, 30_000)

  it('gives up a task that keeps losing its workers after maxStalledCount, ending its activity in error', async () => {
    setup('stalled-limit')
    const strict = [...fastLocks, '--max-stalled-count', '0']
    const first = startWorker(strict)
    await first.ready
    const { agentId } = await tasks.sleeper.enqueue({ ms: 60_000 })
    await waitForActivity(shared.activity, agentId, (activity) => activity.status === 'running', 20_000)
    await first.kill('SIGKILL')
    await startWorker(strict).ready
    const error = await api.result(agentId, { timeoutMs: 20_000 }).catch((caught: unknown) => caught)
    expect((error as Error).message).toMatch(/^Worker lost more times than maxStalledCount allows; giving up/)
    const activity = await waitForActivity(
      shared.activity,
      agentId,
      (current) => current.status === 'error',
      10_000,
    )
    expect(activity.message).toMatch(/^Failed: Worker lost more times than maxStalledCount allows/)
  }, 30_000)

  it('on SIGTERM finishes the running task, then exits 0', async () => {
    setup('sigterm-finish')
    const worker = startWorker([...fastLocks, '--shutdown-timeout', '10000'])
    await worker.ready
    const { agentId } = await tasks.sleeper.enqueue({ ms: 800 })
    await waitForActivity(shared.activity, agentId, (activity) => activity.status === 'running', 20_000)
    const { code } = await worker.kill('SIGTERM')
    expect(code).toBe(0)
    expect(worker.stdout).toMatch(/worker .+ stopped/)
    expect((await shared.activity.detail(agentId)).status).toBe('complete')
    await expect(api.result(agentId)).resolves.toEqual({ slept: 800, label: null })
  }, 30_000)

  it('on SIGTERM cancels a task that outlives the shutdown timeout: nothing is left running', async () => {
    setup('sigterm-cancel')
    const worker = startWorker([...fastLocks, '--shutdown-timeout', '300'])
    await worker.ready
    const { agentId } = await tasks.sleeper.enqueue({ ms: 60_000 })
    await waitForActivity(shared.activity, agentId, (activity) => activity.status === 'running', 20_000)
    const { code } = await worker.kill('SIGTERM')
    expect(code).toBe(0)
    const activity = await shared.activity.detail(agentId)
    expect(activity.status).toBe('canceled')
    const error = await api.result(agentId).catch((caught: unknown) => caught)
    expect((error as Error).message).toBe(
      'The worker shut down and the task did not finish within timeoutMs (300 ms).',
    )
    expect(await shared.activity.countActive()).toBe(0)
  }, 30_000)

  it('cancels a task whose worker died: the redelivered job is canceled, not run again', async () => {
    setup('cancel-lost')
    const first = startWorker()
    await first.ready
    const { agentId } = await tasks.sleeper.enqueue({ ms: 60_000 })
    await waitForActivity(shared.activity, agentId, (activity) => activity.status === 'running', 20_000)
    await first.kill('SIGKILL')
    // No worker runs it now: the cancel is remembered until the job comes back.
    const canceling = api.cancel(agentId)
    await startWorker().ready
    await expect(canceling).resolves.toBe(true)
    const activity = await shared.activity.detail(agentId)
    expect(activity.status).toBe('canceled')
    expect(logLines(activity).filter((line) => line === 'running: Started')).toHaveLength(1)
  }, 30_000)

  it('runs a tasks module that exports its own pool', async () => {
    setup('pool-module')
    const worker = new WorkerProcess({
      ...queue,
      redisUrl: redisUrl as string,
      storeUrl: shared.storeUrl,
      module: poolModulePath,
      args: [],
      env: {
        TEST_DATABASE_URL: databaseUrl as string,
        TEST_SCHEMA: shared.schema,
        TEST_REDIS_URL: redisUrl as string,
        TEST_QUEUE: queue.queueName,
        TEST_PREFIX: queue.prefix,
      },
    })
    workers.push(worker)
    await worker.ready
    api.task('shout', { input: z.object({ text: z.string() }) }, () => 'never here')
    const { agentId } = await api.enqueue('shout', { text: 'hello' })
    await expect(api.result(agentId, { timeoutMs: 20_000 })).resolves.toBe('HELLO!')
  }, 30_000)

  it('with --requeue-on-shutdown hands a task that outlives the shutdown timeout to another worker', async () => {
    setup('sigterm-requeue')
    const leaving = startWorker([...fastLocks, '--shutdown-timeout', '300', '--requeue-on-shutdown'])
    await leaving.ready
    const { agentId } = await tasks.sleeper.enqueue({ ms: 8000 })
    await waitForActivity(shared.activity, agentId, (activity) => activity.status === 'running', 20_000)
    await startWorker().ready
    const stopping = Date.now()
    const { code } = await leaving.kill('SIGTERM')
    expect(code).toBe(0)
    // It leaves at once after the timeout: the abandoned handler is not waited for.
    expect(Date.now() - stopping).toBeLessThan(4000)
    await expect(api.result(agentId, { timeoutMs: 20_000 })).resolves.toEqual({ slept: 8000, label: null })
    expect(logEntries(await shared.activity.detail(agentId))).toEqual([
      ['queued', 'lifecycle', undefined, 'Waiting to start'],
      ['running', 'lifecycle', 1, 'Started'],
      ['running', 'progress', 1, 'Sleeping 8000 ms'],
      ['running', 'lifecycle', undefined, 'Worker shutting down; handed back to the queue'],
      ['running', 'retry', 2, "Worker lost; retrying (attempt 2, past the task's 1)"],
      ['running', 'progress', 2, 'Sleeping 8000 ms'],
      ['complete', 'lifecycle', 2, 'Complete'],
    ])
  }, 30_000)
})
