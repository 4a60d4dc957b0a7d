import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createActivityTracker } from '../activity/tracker.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { RunTimeoutError } from '../errors/run-timeout-error.js'
import { ScriptedModel, ScriptedRunner, type ScriptStep } from '../test/scripted-runner.js'
import { createPool } from './create-pool.js'
import { localEngine } from './local-engine.js'

/** A pool whose task runs a runner on the task's own activity: the way the two are meant to be used together. */
function setup(script: () => ScriptStep[], taskOptions: { timeoutMs?: number; retries?: number } = {}) {
  const activity = createActivityTracker()
  const runner = new ScriptedRunner({ activity })
  const pool = createPool({ activity, concurrency: 2 })
  const task = pool.task(
    'research',
    { input: z.object({ topic: z.string() }), retryDelayMs: 1, ...taskOptions },
    async ({ agentId, input, signal }) => {
      const result = await runner.run({ model: new ScriptedModel(script()) }, input.topic, {
        agentId,
        signal,
      })
      return result.text
    },
  )
  return { activity, pool, task }
}

describe('a pool task that runs a runner on its own activity', () => {
  it('records one lifecycle: queued, started once, the run’s progress, complete', async () => {
    const { activity, pool, task } = setup(() => [
      { toolCalls: [{ name: 'report_status', input: { message: 'Searching', percentage: 40 } }] },
      { text: 'otters' },
    ])
    const { agentId } = await task.enqueue({ topic: 'otters' })
    await expect(task.result(agentId)).resolves.toBe('otters')
    const log = (await activity.detail(agentId)).log.map((entry) => `${entry.status}: ${entry.message}`)
    expect(log).toEqual([
      'queued: Waiting to start',
      'running: Started',
      'running: Searching',
      'complete: Complete',
    ])
    await pool.close()
  })

  it('a task timeout stays a timeout through the runner: activity error with the timedOut message', async () => {
    const { activity, pool, task } = setup(() => [{ hang: true }], { timeoutMs: 50 })
    const { agentId } = await task.enqueue({ topic: 'slow' })
    const error = await task.result(agentId).catch((caught: unknown) => caught)
    expect(RunTimeoutError.isInstance(error)).toBe(true)
    const detail = await activity.detail(agentId)
    expect(detail.status).toBe('error')
    expect(detail.message).toBe('Timed out after 50 ms')
    await pool.close()
  })

  it('pool.cancel of a running task cancels the run and its activity', async () => {
    const { activity, pool, task } = setup(() => [{ hang: true }])
    const { agentId } = await task.enqueue({ topic: 'cancel me' })
    for (let tries = 0; (await activity.detail(agentId)).status !== 'running' && tries < 200; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    await expect(pool.cancel(agentId)).resolves.toBe(true)
    await expect(task.result(agentId)).rejects.toSatisfy(RunCanceledError.isInstance)
    expect((await activity.detail(agentId)).status).toBe('canceled')
    await pool.close()
  })

  it('a run that fails ends the task in error without a pool retry fighting the runner', async () => {
    const { activity, pool, task } = setup(() => [{ error: new Error('model down') }], { retries: 2 })
    const { agentId } = await task.enqueue({ topic: 'broken' })
    await expect(task.result(agentId)).rejects.toThrow('model down')
    const detail = await activity.detail(agentId)
    expect(detail.status).toBe('error')
    expect(detail.log.filter((entry) => entry.status === 'error')).toHaveLength(1)
    await pool.close()
  })
})

describe('who retries what: a runner inside a pool task and the task count on one attempt counter', () => {
  const unavailable = () => Object.assign(new Error('503 Service Unavailable'), { status: 503 })

  it('a runner retry and a pool retry compose: the runner repeats its request, the task re-runs the handler, one counter', async () => {
    const activity = createActivityTracker()
    const runner = new ScriptedRunner({ activity, retry: { attempts: 2, initialDelayMs: 1 } })
    const pool = createPool({ activity })
    const scripts = [
      new ScriptedModel([{ error: unavailable() }, { text: 'first answer' }]),
      new ScriptedModel([{ text: 'second answer' }]),
    ]
    const seen: number[] = []
    const task = pool.task(
      'research',
      { input: z.object({ topic: z.string() }), retries: 2, retryDelayMs: 1 },
      async ({ agentId, input, signal, attempt }) => {
        seen.push(attempt)
        const result = await runner.run({ model: scripts[seen.length - 1]! }, input.topic, {
          agentId,
          signal,
        })
        if (seen.length === 1) throw new Error('post-processing failed')
        return result.text
      },
    )
    const { agentId } = await task.enqueue({ topic: 'otters' })
    await expect(task.result(agentId)).resolves.toBe('second answer')
    expect(seen).toEqual([1, 3])
    const log = (await activity.detail(agentId)).log
    expect(log.map((entry) => [entry.status, entry.kind, entry.attempt, entry.message])).toEqual([
      ['queued', 'lifecycle', undefined, 'Waiting to start'],
      ['running', 'lifecycle', 1, 'Started'],
      // The runner's budget (2) allows one retry of its model request, in place.
      ['running', 'retry', 2, 'Retrying (attempt 2 of 2): 503 Service Unavailable'],
      // The task's budget (3) allows one more attempt: the handler runs again.
      ['running', 'retry', 3, 'Retrying (attempt 3 of 3): post-processing failed'],
      ['complete', 'lifecycle', 3, 'Complete'],
    ])
    await pool.close()
  })

  it('the two layers never multiply: a run that keeps failing makes at most the larger budget of attempts', async () => {
    const activity = createActivityTracker()
    const runner = new ScriptedRunner({ activity, retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 1 } })
    const pool = createPool({ activity })
    const model = new ScriptedModel(Array.from({ length: 9 }, () => ({ error: unavailable() })))
    const task = pool.task(
      'research',
      { input: z.object({ topic: z.string() }), retries: 2, retryDelayMs: 1, retryOn: () => true },
      async ({ agentId, input, signal }) =>
        (await runner.run({ model }, input.topic, { agentId, signal })).text,
    )
    const { agentId } = await task.enqueue({ topic: 'otters' })
    await expect(task.result(agentId)).rejects.toThrow('503 Service Unavailable')
    // Three attempts in all (not 3 runner attempts x 3 task attempts): the runner used the counter up.
    expect(model.calls).toHaveLength(3)
    const detail = await activity.detail(agentId)
    expect(detail.status).toBe('error')
    expect(detail.log.filter((entry) => entry.kind === 'retry').map((entry) => entry.attempt)).toEqual([2, 3])
    await pool.close()
  })

  it('the runner’s report_status reaches the engine’s progress mirror, as the task’s own reports do', async () => {
    const activity = createActivityTracker()
    const runner = new ScriptedRunner({ activity })
    const mirrored: Array<[string, number | undefined]> = []
    const engine = localEngine()
    const start = engine.start.bind(engine)
    engine.start = (context) =>
      start({
        ...context,
        runJob: (job, options) =>
          context.runJob(job, {
            ...options,
            onReport: (message, percentage) => mirrored.push([message, percentage]),
          }),
      })
    const pool = createPool({ activity, engine })
    const task = pool.task(
      'research',
      { input: z.object({ topic: z.string() }) },
      async ({ agentId, input, signal, report }) => {
        await report('Preparing', 5)
        const model = new ScriptedModel([
          { toolCalls: [{ name: 'report_status', input: { message: 'Searching', percentage: 40 } }] },
          { text: 'done' },
        ])
        return (await runner.run({ model }, input.topic, { agentId, signal })).text
      },
    )
    const { agentId } = await task.enqueue({ topic: 'otters' })
    await task.result(agentId)
    expect(mirrored).toEqual([
      ['Preparing', 5],
      ['Searching', 40],
    ])
    await pool.close()
  })
})
