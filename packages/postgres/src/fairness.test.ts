import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createActivityTracker, createPool, localEngine, type Pool } from '@runner/core'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Child } from './test-helpers/child.js'
import { databaseUrl } from './test-helpers/database.js'
import { useStores } from './test-helpers/stores.js'

// Fair concurrency per key on the durable local engine with the queue in PostgreSQL: the order of
// starts through a pool, and the limit held by processes that share the schema.

const { open } = useStores('fair')
const children: Child[] = []
const pools: Pool[] = []
const scratch: string[] = []

afterEach(async () => {
  for (const child of children.splice(0)) child.kill()
  await Promise.all(pools.splice(0).map((pool) => pool.close({ timeoutMs: 0 })))
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const byTenant = (_: unknown, metadata: Record<string, unknown>) => String(metadata.tenant)

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(5)
  }
}

function child(args: string[]): Child {
  const started = new Child('./fair-pool-child.ts', args)
  children.push(started)
  return started
}

describe.skipIf(!databaseUrl)(
  'fair concurrency per key on the durable local engine (PostgreSQL)',
  { timeout: 120_000 },
  () => {
    it('starts the 10 tasks of a tenant queued behind 1,000 of another within the first C + 2k starts', async () => {
      const store = open()
      const concurrency = 4
      // The default engine: durable, since the store has a jobQueue.
      const pool = createPool({ activity: createActivityTracker({ store }), concurrency })
      pools.push(pool)
      const starts: string[] = []
      const running: Array<() => void> = []
      pool.task(
        'work',
        { input: z.number(), concurrency: { key: byTenant } },
        async ({ input, metadata, signal }) => {
          starts.push(`${String(metadata.tenant)}:${input}`)
          await new Promise<void>((resolve) => {
            running.push(resolve)
            signal.addEventListener('abort', () => resolve())
          })
          return input
        },
      )
      const tenant = (name: string, count: number) =>
        Array.from({ length: count }, (_, index) => ({
          task: 'work',
          input: index,
          options: { metadata: { tenant: name } },
        }))
      await pool.enqueueMany(tenant('big', 1000))
      await until(() => starts.length === concurrency, 'the first tenant to fill the slots')
      await pool.enqueueMany(tenant('small', 10))
      // Tasks end one at a time, the longest running first: each frees one slot, and the next
      // start shows whom the queue served.
      while (starts.filter((start) => start.startsWith('small:')).length < 10) {
        const before = starts.length
        running.shift()?.()
        await until(() => starts.length > before, 'the next start')
      }
      const smallAt = starts.flatMap((start, index) => (start.startsWith('small:') ? [index + 1] : []))
      // The bound (as on SQLite): the k-th task of the tenant that came second is at most the
      // (C + 2k)-th start of the pool, not the 1,000 + k-th.
      smallAt.forEach((position, index) => {
        const k = index + 1
        expect(
          position,
          `the ${k}th task of the second tenant started at ${position}: ${starts.join(' ')}`,
        ).toBeLessThanOrEqual(concurrency + 2 * k)
      })
      expect(
        starts.filter((start) => start.startsWith('small:')),
        'within a tenant, first in first out',
      ).toEqual(Array.from({ length: 10 }, (_, index) => `small:${index}`))
      console.info(
        `durable fairness (PostgreSQL): the second tenant's tasks started at ${smallAt.join(', ')}`,
      )
    })

    it('limit: 1 holds across two processes sharing the schema', async () => {
      const store = open()
      await store.countActive()
      // Marker files of the tasks running, one per tenant, shared by both processes.
      const dir = mkdtempSync(join(tmpdir(), 'runner-pg-fairness-'))
      scratch.push(dir)
      const tenants = 4
      const perTenant = 8
      const total = tenants * perTenant
      const worker = child([store.schema, 'share', dir, String(total)])
      await worker.waitForLine('ready', 60_000)
      const enqueuer = child([store.schema, 'share', dir, String(total), `enqueue:${tenants}x${perTenant}`])
      const exits = await Promise.all([enqueuer.exit(90_000), worker.exit(90_000)])
      expect(exits, enqueuer.stderr + worker.stderr).toEqual([0, 0])
      const runs = [enqueuer, worker].flatMap((process, index) =>
        process.lines
          .filter((line) => line.startsWith('ran '))
          .map((line) => {
            const [, agentId, overlapped] = line.split(' ')
            return { agentId, overlapped, process: index }
          }),
      )
      expect(runs, 'every task ran once').toHaveLength(total)
      expect(new Set(runs.map((run) => run.agentId)).size, 'every task ran once').toBe(total)
      expect(
        runs.filter((run) => run.overlapped !== '0'),
        'no task started while another of its tenant ran, in either process',
      ).toEqual([])
      // Each process runs at most 2 tasks at once, and 4 tenants may run at once: both take part.
      expect(new Set(runs.map((run) => run.process)).size, 'both processes ran tasks').toBe(2)
    })

    it('a key’s slot held by a process that is SIGKILLed is freed when its lease runs out', async () => {
      const store = open()
      await store.countActive()
      const holder = child([store.schema, 'hold'])
      await holder.waitForLine('started hold-1', 60_000)
      const pool = createPool({
        activity: createActivityTracker({ store }),
        concurrency: 2,
        engine: localEngine({ leaseMs: 600, pollMs: 20 }),
      })
      pools.push(pool)
      const starts: string[] = []
      let runningNow = 0
      let most = 0
      const work = pool.task(
        'work',
        { input: z.number(), concurrency: { key: byTenant, limit: 1 } },
        async ({ agentId, input }) => {
          starts.push(agentId)
          runningNow++
          most = Math.max(most, runningNow)
          await sleep(50)
          runningNow--
          return input
        },
      )
      // Several lease terms: the holder renews its lease, so the tenant's slot stays taken.
      await sleep(2000)
      expect(holder.process.exitCode, `the holder still runs: ${holder.stderr}`).toBeNull()
      expect(starts, 'this process starts no task of the tenant while the other holds its slot').toEqual([])
      expect((await store.get('hold-2'))?.status).toBe('queued')
      holder.kill()
      await holder.exited
      await expect(work.result('hold-1', { timeoutMs: 30_000 })).resolves.toBe(1)
      await expect(work.result('hold-2', { timeoutMs: 30_000 })).resolves.toBe(2)
      expect(starts.sort(), 'both tasks ran here once the lease ran out').toEqual(['hold-1', 'hold-2'])
      expect(most, 'one at a time').toBe(1)
    })
  },
)
