import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryActivityStore } from '../activity/memory-store.js'
import { createActivityTracker } from '../activity/tracker.js'
import { ActivityNotFoundError } from '../errors/activity-not-found-error.js'
import { RunTimeoutError } from '../errors/run-timeout-error.js'
import { RunnerError } from '../errors/runner-error.js'
import { waitForStatus } from '../test/wait-for-activity.js'
import { createPool } from './create-pool.js'
import { localEngine } from './local-engine.js'
import type { Pool } from './types.js'

const pools: Pool[] = []

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close({ timeoutMs: 0 })))
})

function setup(keepResults?: number) {
  const activity = createActivityTracker({ store: new MemoryActivityStore() })
  const engine = localEngine(keepResults === undefined ? {} : { keepResults })
  const pool = createPool({ activity, engine })
  pools.push(pool)
  return { activity, engine, pool }
}

describe('localEngine', () => {
  it('validates its options', () => {
    expect(() => localEngine({ keepResults: -1 })).toThrow(expect.objectContaining({ field: 'keepResults' }))
    expect(() => localEngine({ keep: 1 } as never)).toThrow(expect.objectContaining({ field: 'keep' }))
  })

  it('keeps the latest `keepResults` results in memory; an evicted one is read from the store, where it was written with complete', async () => {
    const { pool, activity } = setup(2)
    const echo = pool.task('echo', { input: z.number() }, async ({ input }) => input)
    const ids: string[] = []
    for (const value of [1, 2, 3]) {
      const { agentId } = await echo.enqueue(value)
      await echo.result(agentId)
      ids.push(agentId)
    }
    const [first, second, third] = ids as [string, string, string]
    await expect(pool.result(first)).resolves.toBe(1)
    expect((await activity.store.getRun(first))?.result).toEqual({ value: 1 })
    await expect(pool.result(second)).resolves.toBe(2)
    await expect(pool.result(third)).resolves.toBe(3)
    // The activity itself is still there.
    expect((await activity.detail(first)).status).toBe('complete')
  })

  it('still delivers the result to a caller already waiting when keepResults is 0', async () => {
    const { pool } = setup(0)
    const gate = Promise.withResolvers<void>()
    const echo = pool.task('echo', { input: z.number() }, async ({ input }) => {
      await gate.promise
      return input
    })
    const { agentId } = await echo.enqueue(7)
    const waiting = echo.result(agentId)
    gate.resolve()
    await expect(waiting).resolves.toBe(7)
    // Not kept in memory, still in the store.
    await expect(echo.result(agentId)).resolves.toBe(7)
  })

  it('rejects result() for an unknown agentId with ActivityNotFoundError', async () => {
    const { pool } = setup()
    await expect(pool.result('nobody')).rejects.toSatisfy(ActivityNotFoundError.isInstance)
  })

  it('stops waiting after result timeoutMs with a RunnerError (not RunTimeoutError); the task keeps running', async () => {
    const { pool, activity } = setup()
    const gate = Promise.withResolvers<void>()
    const slow = pool.task('slow', { input: z.null() }, async () => {
      await gate.promise
      return 'finally'
    })
    const { agentId } = await slow.enqueue(null)
    const error = await slow.result(agentId, { timeoutMs: 10 }).catch((caught: unknown) => caught)
    expect(RunnerError.isInstance(error)).toBe(true)
    expect(RunTimeoutError.isInstance(error)).toBe(false)
    expect((error as Error).message).toMatch(/keeps running/)
    expect((await activity.detail(agentId)).status).toBe('running')
    gate.resolve()
    await expect(slow.result(agentId)).resolves.toBe('finally')
  })

  it('stops waiting when the result signal aborts, with its reason', async () => {
    const { pool, activity } = setup()
    const gate = Promise.withResolvers<void>()
    const slow = pool.task('slow', { input: z.null() }, () => gate.promise)
    const { agentId } = await slow.enqueue(null)
    const controller = new AbortController()
    const waiting = pool.result(agentId, { signal: controller.signal })
    const reason = new Error('caller gave up')
    controller.abort(reason)
    await expect(waiting).rejects.toBe(reason)
    await expect(pool.result(agentId, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
    expect((await activity.detail(agentId)).status).not.toBe('canceled')
    gate.resolve()
    await pool.result(agentId)
  })

  it('answers a second cancel of the same task with false', async () => {
    const { pool, activity } = setup()
    const slow = pool.task('slow', { input: z.null() }, ({ signal }) => {
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
    })
    const { agentId } = await slow.enqueue(null)
    await waitForStatus(activity, agentId, 'running')
    const [first, second] = await Promise.all([pool.cancel(agentId), pool.cancel(agentId)])
    expect([first, second]).toEqual([true, false])
  })

  it('refuses jobs after close', async () => {
    const { engine } = setup()
    await engine.close({ timeoutMs: 0 })
    await expect(
      engine.submit({
        agentId: 'late',
        task: 'echo',
        input: 1,
        priority: 0,
        delayMs: 0,
        attempt: 1,
        enqueuedAt: new Date().toISOString(),
      }),
    ).rejects.toThrow(/closed/)
  })

  it('fails the activity when the engine refuses the job, so it is never left queued', async () => {
    const { pool, engine, activity } = setup()
    pool.task('echo', { input: z.number() }, async ({ input }) => input)
    // Closing the engine alone (not the pool) makes submit fail after the activity exists.
    await engine.close({ timeoutMs: 0 })
    await expect(pool.enqueue('echo', 1)).rejects.toThrow(/closed/)
    const { items } = await activity.list()
    expect(items).toHaveLength(1)
    expect(items[0]?.status).toBe('error')
  })
})
