import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryActivityStore } from '../activity/memory-store.js'
import { createActivityTracker } from '../activity/tracker.js'
import { ActivityNotFoundError } from '../errors/activity-not-found-error.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { RunnerError } from '../errors/runner-error.js'
import type { JobOutcome, PoolJob, RegisteredTask } from '../pool/types.js'
import { logLines, waitForStatus } from '../test/wait-for-activity.js'
import { createJobRunner } from './job-lifecycle.js'

/** The job runner as an engine sees it, over a real tracker and registry (no engine involved). */
function setup() {
  const activity = createActivityTracker({ store: new MemoryActivityStore() })
  const tasks = new Map<string, RegisteredTask>()
  const runner = createJobRunner({ activity, getTask: (name) => tasks.get(name) })
  const register = (
    name: string,
    handler: RegisteredTask['handler'],
    options: Partial<RegisteredTask> = {},
  ) => {
    tasks.set(name, {
      name,
      input: z.object({ topic: z.string() }),
      retries: 0,
      timeoutMs: undefined,
      retryDelayMs: 0,
      maxRetryDelayMs: 0,
      retryOn: undefined,
      handler,
      ...options,
    })
  }
  /** Creates the activity as `pool.enqueue` would and returns the job for it. */
  const job = async (task: string, input: unknown, overrides: Partial<PoolJob> = {}): Promise<PoolJob> => {
    const agentId = await activity.create(task)
    return {
      agentId,
      task,
      input: input as PoolJob['input'],
      priority: 0,
      delayMs: 0,
      attempt: 1,
      enqueuedAt: new Date().toISOString(),
      ...overrides,
    }
  }
  return { activity, runner, register, job }
}

const signal = () => new AbortController().signal

describe('createJobRunner', () => {
  it('runs a job through queued -> running -> complete and returns a JSON outcome', async () => {
    const { activity, runner, register, job } = setup()
    register('research', async ({ input }) => ({ found: (input as { topic: string }).topic }))
    const tides = await job('research', { topic: 'tides' })
    const outcome = await runner.runJob(tides, { signal: signal() })
    expect(outcome).toEqual({
      agentId: tides.agentId,
      task: 'research',
      status: 'complete',
      attempts: 1,
      result: { found: 'tides' },
    })
    expect(logLines(await activity.detail(tides.agentId))).toEqual([
      'queued: Waiting to start',
      'running: Started',
      'complete: Complete',
    ])
  })

  it('never runs a job whose activity is already terminal, and leaves it as it is', async () => {
    const { activity, runner, register, job } = setup()
    let calls = 0
    register('research', async () => {
      calls++
    })
    const canceled = await job('research', { topic: 'a' })
    await activity.cancel(canceled.agentId)
    const failed = await job('research', { topic: 'b' })
    await activity.error(failed.agentId, 'broken upstream')

    const canceledOutcome = await runner.runJob(canceled, { signal: signal() })
    const failedOutcome = await runner.runJob(failed, { signal: signal() })

    expect(calls).toBe(0)
    expect(canceledOutcome.status).toBe('canceled')
    expect(RunCanceledError.isInstance((canceledOutcome as { error: Error }).error)).toBe(true)
    expect(failedOutcome.status).toBe('error')
    expect((failedOutcome as { error: Error }).error.message).toContain('Failed: broken upstream')
    expect((await activity.detail(canceled.agentId)).log).toHaveLength(2)
    expect((await activity.detail(failed.agentId)).log).toHaveLength(2)
  })

  it('fails a job whose task is not registered in this process', async () => {
    const { activity, runner, job } = setup()
    const orphan = await job('unregistered', { topic: 'a' })
    const outcome = await runner.runJob(orphan, { signal: signal() })
    expect(outcome.status).toBe('error')
    const error = (outcome as { error: Error }).error
    expect(RunnerError.isInstance(error)).toBe(true)
    expect(error.message).toMatch(/No task named "unregistered"/)
    expect((await activity.detail(orphan.agentId)).status).toBe('error')
  })

  it('validates the job input again, naming the field', async () => {
    const { activity, runner, register, job } = setup()
    let calls = 0
    register('research', async () => {
      calls++
    })
    const bad = await job('research', { topic: 7 })
    const outcome = await runner.runJob(bad, { signal: signal() })
    expect(calls).toBe(0)
    expect(outcome.status).toBe('error')
    const error = (outcome as { error: Error }).error
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect((error as InvalidOptionsError).field).toBe('input.topic')
    expect((await activity.detail(bad.agentId)).status).toBe('error')
  })

  it('starts from the job attempt, so a redelivered job keeps its retry budget', async () => {
    const { activity, runner, register, job } = setup()
    const attempts: number[] = []
    register(
      'research',
      async ({ attempt }) => {
        attempts.push(attempt)
        throw new Error(`fail ${attempt}`)
      },
      { retries: 2 },
    )
    const redelivered = await job('research', { topic: 'a' }, { attempt: 2 })
    const outcome = await runner.runJob(redelivered, { signal: signal() })
    expect(attempts).toEqual([2, 3])
    expect(outcome).toMatchObject({ status: 'error', attempts: 3 })
    const log = (await activity.detail(redelivered.agentId)).log
    expect(log.map((entry) => [entry.status, entry.message, entry.attempt])).toEqual([
      ['queued', 'Waiting to start', undefined],
      ['running', 'Started', 2],
      ['running', 'Retrying (attempt 3 of 3): fail 2', 3],
      ['error', 'Failed: fail 3', 3],
    ])
  })

  it('passes reports to onReport after writing them, and the metadata to the handler', async () => {
    const { activity, runner, register } = setup()
    const reported: [string, number | undefined][] = []
    let metadata: unknown
    register('research', async ({ report, metadata: given }) => {
      metadata = given
      await report('Halfway', 50)
      await report('Almost')
    })
    const agentId = await activity.create('research', { metadata: { tenant: 'acme' } })
    const outcome = await runner.runJob(
      {
        agentId,
        task: 'research',
        input: { topic: 'a' },
        priority: 0,
        delayMs: 0,
        attempt: 1,
        enqueuedAt: new Date().toISOString(),
      },
      { signal: signal(), onReport: (message, percentage) => reported.push([message, percentage]) },
    )
    expect(outcome.status).toBe('complete')
    expect(reported).toEqual([
      ['Halfway', 50],
      ['Almost', undefined],
    ])
    expect(metadata).toEqual({ tenant: 'acme' })
  })

  it('cancels at once when the signal aborts, without waiting for the handler', async () => {
    const { activity, runner, register, job } = setup()
    const never = Promise.withResolvers<void>()
    register('stuck', () => never.promise)
    const stuck = await job('stuck', { topic: 'a' })
    const controller = new AbortController()
    const running = runner.runJob(stuck, { signal: controller.signal })
    await waitForStatus(activity, stuck.agentId, 'running')
    const reason = new RunCanceledError('stop now')
    controller.abort(reason)
    const outcome: JobOutcome = await running
    expect(outcome).toMatchObject({ status: 'canceled', error: reason })
    expect((await activity.detail(stuck.agentId)).status).toBe('canceled')
    never.resolve()
  })

  it('cancels without running when the signal is already aborted', async () => {
    const { activity, runner, register, job } = setup()
    let calls = 0
    register('research', async () => {
      calls++
    })
    const queued = await job('research', { topic: 'a' })
    const outcome = await runner.runJob(queued, { signal: AbortSignal.abort() })
    expect(outcome).toMatchObject({ status: 'canceled', attempts: 0 })
    expect(calls).toBe(0)
    expect((await activity.detail(queued.agentId)).status).toBe('canceled')
  })

  it('cancelJob cancels the activity of a job that never ran', async () => {
    const { activity, runner, job } = setup()
    const queued = await job('research', { topic: 'a' })
    const outcome = await runner.cancelJob(queued, { reason: 'The pool closed.' })
    expect(outcome).toMatchObject({ status: 'canceled', attempts: 0 })
    expect((outcome as { error: Error }).error.message).toBe('The pool closed.')
    expect((await activity.detail(queued.agentId)).status).toBe('canceled')
  })

  it('cancelJob leaves a terminal activity as it is and reports what it says', async () => {
    const { activity, runner, job } = setup()
    const failed = await job('research', { topic: 'a' })
    await activity.error(failed.agentId, 'gone')
    const outcome = await runner.cancelJob(failed)
    expect(outcome.status).toBe('error')
    expect((await activity.detail(failed.agentId)).status).toBe('error')
  })

  it('reports a job whose activity does not exist as an error', async () => {
    const { runner, register } = setup()
    register('research', async () => 'never')
    const outcome = await runner.runJob(
      {
        agentId: 'missing',
        task: 'research',
        input: { topic: 'a' },
        priority: 0,
        delayMs: 0,
        attempt: 1,
        enqueuedAt: new Date().toISOString(),
      },
      { signal: signal() },
    )
    expect(outcome.status).toBe('error')
    expect(ActivityNotFoundError.isInstance((outcome as { error: Error }).error)).toBe(true)
  })

  it('ends the activity in error when the store fails mid-run, and never rejects', async () => {
    const store = new MemoryActivityStore()
    const activity = createActivityTracker({ store })
    const tasks = new Map<string, RegisteredTask>()
    const runner = createJobRunner({ activity, getTask: (name) => tasks.get(name) })
    tasks.set('research', {
      name: 'research',
      input: z.unknown(),
      retries: 0,
      timeoutMs: undefined,
      retryDelayMs: 0,
      maxRetryDelayMs: 0,
      retryOn: undefined,
      handler: async () => {
        await store.close()
        return 'done'
      },
    })
    const agentId = await activity.create('research')
    const outcome = await runner.runJob(
      { agentId, task: 'research', input: null, priority: 0, delayMs: 0, attempt: 1, enqueuedAt: '' },
      { signal: signal() },
    )
    expect(outcome.status).toBe('error')
    expect((outcome as { error: Error }).error.message).toMatch(/closed/)
  })
})
