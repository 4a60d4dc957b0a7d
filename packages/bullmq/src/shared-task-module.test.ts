import {
  type ActivityTracker,
  createActivityTracker,
  createPool,
  type Pool,
  RunCanceledError,
} from '@runner/core'
import { describe, expect, it } from 'vitest'
import { logEntries, logLines, waitForActivity } from './test-helpers/activity.js'
import { noticeUnless, redisUrl } from './test-helpers/services.js'
import { queueSetup } from './test-helpers/setup.js'
import registerTasks from './test-helpers/tasks.js'

noticeUnless(Boolean(redisUrl), 'REDIS_URL (for the bullmqEngine half of the shared task module test)')

/** A pool to enqueue into, with the shared task module registered wherever jobs run. */
interface Deployment {
  api: Pool
  activity: ActivityTracker
  cleanup(): Promise<void>
}

const deployments: Array<[string, boolean, () => Promise<Deployment>]> = [
  [
    'localEngine (one process)',
    true,
    async () => {
      const activity = createActivityTracker()
      const api = createPool({ activity, concurrency: 2 })
      registerTasks(api)
      return { api, activity, cleanup: () => api.close({ timeoutMs: 0 }) }
    },
  ],
  [
    'bullmqEngine (an API pool and a worker pool on one queue)',
    Boolean(redisUrl),
    async () => {
      const setup = queueSetup({ label: 'shared' })
      await setup.startWorkerPool({ concurrency: 2 })
      return { api: setup.api, activity: setup.activity, cleanup: () => setup.cleanup() }
    },
  ],
]

describe.each(deployments)('the shared task module on %s', (_name, available, deploy) => {
  it.skipIf(!available)(
    'runs, reports, retries, cancels and returns JSON results the same way',
    async () => {
      const { api, activity, cleanup } = await deploy()
      // The task module is the same file the worker processes load; only the pool around it differs.
      try {
        const echo = await api.enqueue('echo', { text: 'same code' })
        await expect(api.result(echo.agentId, { timeoutMs: 10_000 })).resolves.toEqual({
          text: 'same code',
          upper: 'SAME CODE',
          attempt: 1,
          at: '1970-01-01T00:00:00.000Z',
        })
        const echoed = await activity.detail(echo.agentId)
        expect(logLines(echoed)).toEqual([
          'queued: Waiting to start',
          'running: Started',
          'running: Echoing same code',
          'complete: Complete',
        ])
        expect(echoed.log[2]?.percentage).toBe(50)

        const flaky = await api.enqueue('flaky', { failures: 1 })
        await expect(api.result(flaky.agentId, { timeoutMs: 10_000 })).resolves.toEqual({ attempt: 2 })
        expect(logEntries(await activity.detail(flaky.agentId))).toContainEqual([
          'running',
          'retry',
          2,
          'Retrying (attempt 2 of 3): flaky failure 1',
        ])

        // Two long tasks fill both slots; a third waits, and is canceled before it starts.
        const first = await api.enqueue('sleep', { ms: 60_000 })
        const second = await api.enqueue('sleep', { ms: 60_000 })
        await waitForActivity(activity, first.agentId, (current) => current.status === 'running')
        await waitForActivity(activity, second.agentId, (current) => current.status === 'running')
        const third = await api.enqueue('sleep', { ms: 60_000 })
        await expect(api.cancel(third.agentId)).resolves.toBe(true)
        expect(logLines(await activity.detail(third.agentId))).toEqual([
          'queued: Waiting to start',
          'canceled: Canceled',
        ])

        for (const running of [first, second]) {
          await expect(api.cancel(running.agentId)).resolves.toBe(true)
          await expect(api.result(running.agentId)).rejects.toSatisfy(RunCanceledError.isInstance)
          expect((await activity.detail(running.agentId)).status).toBe('canceled')
        }
        await expect(api.cancel(first.agentId)).resolves.toBe(false)
        expect(await activity.countActive()).toBe(0)
      } finally {
        await cleanup()
      }
    },
    30_000,
  )
})
