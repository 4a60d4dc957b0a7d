import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createActivityTracker } from '../activity/tracker.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { RunTimeoutError } from '../errors/run-timeout-error.js'
import { ScriptedModel, ScriptedRunner, type ScriptStep } from '../runner/test-helpers/scripted-runner.js'
import { createPool } from './create-pool.js'

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
