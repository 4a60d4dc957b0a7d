import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryActivityStore } from '../activity/memory-store.js'
import { createActivityTracker } from '../activity/tracker.js'
import { createPool } from './create-pool.js'
import type { Pool } from './types.js'

const pools: Pool[] = []
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close({ timeoutMs: 0 })))
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('a task waiting for its key’s concurrency slot', () => {
  it('says so on its queued activity, then starts as usual; one waiting for the pool only does not', async () => {
    const store = new MemoryActivityStore()
    const activity = createActivityTracker({ store })
    const pool = createPool({ activity, concurrency: 1 })
    pools.push(pool)
    let release = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    const work = pool.task(
      'work',
      { input: z.number(), concurrency: { key: (_, metadata) => String(metadata.tenant), limit: 1 } },
      async ({ input }) => {
        if (input === 1) await held
        return input
      },
    )
    const first = await work.enqueue(1, { metadata: { tenant: 'acme' } })
    const second = await work.enqueue(2, { metadata: { tenant: 'acme' } })
    // Behind the pool's single slot, not its own key's limit.
    const other = await work.enqueue(3, { metadata: { tenant: 'globex' } })
    await sleep(20)
    const waiting = await store.get(second.agentId)
    expect(waiting?.status).toBe('queued')
    expect(waiting?.message).toBe('Waiting for a concurrency slot (work "acme": at most 1 at once)')
    expect(waiting?.log.at(-1)).toMatchObject({ status: 'queued', kind: 'lifecycle' })
    expect(waiting?.startedAt).toBeUndefined()
    expect((await store.get(other.agentId))?.log.map((entry) => entry.message)).toEqual(['Waiting to start'])

    release()
    expect(await work.result(first.agentId)).toBe(1)
    expect(await work.result(second.agentId)).toBe(2)
    expect(await work.result(other.agentId)).toBe(3)
    expect(
      (await store.get(second.agentId))?.log.map((entry) => `${entry.status}: ${entry.message}`),
    ).toEqual([
      'queued: Waiting to start',
      'queued: Waiting for a concurrency slot (work "acme": at most 1 at once)',
      'running: Started',
      'complete: Complete',
    ])
  })
})
