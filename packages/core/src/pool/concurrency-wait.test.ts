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
  it('says so on its queued activity while the pool has room, then starts as usual; one waiting for the pool keeps its line', async () => {
    const store = new MemoryActivityStore()
    const activity = createActivityTracker({ store })
    const pool = createPool({ activity, concurrency: 2 })
    pools.push(pool)
    const releases: Array<() => void> = []
    const work = pool.task(
      'work',
      { input: z.number(), concurrency: { key: (_, metadata) => String(metadata.tenant), limit: 1 } },
      async ({ input }) => {
        if (input < 10) await new Promise<void>((resolve) => releases.push(resolve))
        return input
      },
    )
    const first = await work.enqueue(1, { metadata: { tenant: 'acme' } })
    await until(() => releases.length === 1)
    // The pool has a free slot, but acme is at its limit.
    const second = await work.enqueue(2, { metadata: { tenant: 'acme' } })
    // The line is written in the background: wait for it.
    await untilAsync(async () => (await store.get(second.agentId))?.log.length === 2)
    const waiting = await store.get(second.agentId)
    expect(waiting?.status).toBe('queued')
    expect(waiting?.message).toBe('Waiting for a concurrency slot (work "acme": at most 1 at once)')
    expect(waiting?.log.at(-1)).toMatchObject({ status: 'queued', kind: 'lifecycle' })
    expect(waiting?.startedAt).toBeUndefined()

    // globex takes the pool's last slot; initech then waits for the pool only.
    const globex = await work.enqueue(3, { metadata: { tenant: 'globex' } })
    await until(() => releases.length === 2)
    const other = await work.enqueue(40, { metadata: { tenant: 'initech' } })
    await sleep(20)
    expect((await store.get(other.agentId))?.log.map((entry) => entry.message)).toEqual(['Waiting to start'])

    for (const release of releases.splice(0)) release()
    expect(await work.result(first.agentId)).toBe(1)
    expect(await work.result(globex.agentId)).toBe(3)
    expect(await work.result(other.agentId)).toBe(40)
    await until(() => releases.length === 1)
    releases[0]?.()
    expect(await work.result(second.agentId)).toBe(2)
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

async function untilAsync(check: () => Promise<boolean>): Promise<void> {
  for (let tries = 0; !(await check()); tries++) {
    if (tries > 1000) throw new Error('timed out')
    await sleep(5)
  }
}

async function until(check: () => boolean): Promise<void> {
  for (let tries = 0; !check(); tries++) {
    if (tries > 500) throw new Error('timed out')
    await sleep(5)
  }
}
