import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryActivityStore } from '../activity/memory-store.js'
import { createActivityTracker } from '../activity/tracker.js'
import type { ActivityStore } from '../activity/types.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { RunnerError } from '../errors/runner-error.js'
import { SqliteActivityStore } from '../sqlite/sqlite-store.js'
import { rejectionOf } from '../test/rejection-of.js'
import { createPool } from './create-pool.js'

const stores: Array<[string, () => ActivityStore]> = [
  ['memory', () => new MemoryActivityStore()],
  [
    'SQLite',
    () =>
      new SqliteActivityStore({
        path: path.join(mkdtempSync(path.join(tmpdir(), 'runner-retry-')), 'runs.db'),
      }),
  ],
]

describe.each(stores)('pool.retry (%s)', (_name, makeStore) => {
  it('enqueues a failed task again with its input, priority and metadata, marked retryOf; once', async () => {
    const store = makeStore()
    const activity = createActivityTracker({ store })
    const pool = createPool({ activity })
    let calls = 0
    const task = pool.task('flaky', { input: z.object({ topic: z.string() }) }, async ({ input }) => {
      calls++
      if (calls === 1) throw new Error('upstream down')
      return `done: ${input.topic}`
    })
    const { agentId } = await task.enqueue({ topic: 'otters' }, { metadata: { tenant: 'acme' }, priority: 3 })
    await rejectionOf(task.result(agentId))
    expect((await activity.detail(agentId)).status).toBe('error')

    const retried = await pool.retry(agentId)
    expect(retried.agentId).not.toBe(agentId)
    await expect(task.result(retried.agentId)).resolves.toBe('done: otters')
    expect((await activity.detail(retried.agentId)).metadata).toEqual({ tenant: 'acme', retryOf: agentId })
    // A second retry of the same failure finds nothing to retry.
    expect(await rejectionOf(pool.retry(agentId))).toSatisfy(RunnerError.isInstance)
    // Only a failed task can be retried.
    const error = await rejectionOf(pool.retry(retried.agentId))
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect((error as InvalidOptionsError).message).toContain('is complete: only a task that failed')
    await pool.close()
    await store.close()
  })
})
