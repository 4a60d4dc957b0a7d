import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createActivityTracker } from '../activity/tracker.js'
import { SqliteActivityStore } from '../sqlite/sqlite-store.js'
import { createPool } from './create-pool.js'
import { localEngine } from './local-engine.js'
import type { Pool } from './types.js'

// Fair concurrency per key on the durable local engine (the queue in a SQLite file): the order of
// starts through a pool, and the limit held by processes that share the file.

const fixture = fileURLToPath(new URL('./test-helpers/fair-pool-process.ts', import.meta.url))
const scratch: string[] = []
const children: ChildProcess[] = []
const pools: Pool[] = []
const stores: SqliteActivityStore[] = []

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL')
  await Promise.all(pools.splice(0).map((pool) => pool.close({ timeoutMs: 0 })))
  await Promise.all(stores.splice(0).map((store) => store.close()))
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'runner-durable-fairness-'))
  scratch.push(dir)
  return dir
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const byTenant = (_: unknown, metadata: Record<string, unknown>) => String(metadata.tenant)

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(5)
  }
}

interface Child {
  process: ChildProcess
  exited: Promise<NodeJS.Signals | number | null>
  output: () => string
}

function start(args: string[]): Child {
  const child = spawn(process.execPath, [fixture, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let output = ''
  child.stdout?.on('data', (chunk) => {
    output += String(chunk)
  })
  child.stderr?.on('data', (chunk) => {
    output += String(chunk)
  })
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  )
  return { process: child, exited, output: () => output }
}

describe('fair concurrency per key on the durable local engine (SQLite)', () => {
  it('starts the 10 tasks of a tenant queued behind 1,000 of another within the first C + 2k starts', async () => {
    const path = join(tempDir(), 'pool.db')
    const store = new SqliteActivityStore({ path })
    stores.push(store)
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
    // The bound: with C slots, the k-th task of the tenant that came second is at most the
    // (C + 2k)-th start of the pool (it gets a free slot while it holds fewer than the other
    // tenant, and every other one once it holds as many), not the 1,000 + k-th.
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
    console.info(`durable fairness (SQLite): the second tenant's tasks started at ${smallAt.join(', ')}`)
  }, 120_000)

  it('limit: 1 holds across two processes sharing the file', async () => {
    const dir = tempDir()
    const path = join(dir, 'pool.db')
    const markers = join(dir, 'markers')
    mkdirSync(markers)
    const tenants = 4
    const perTenant = 8
    const total = tenants * perTenant
    const worker = start([path, 'share', markers, String(total)])
    await until(() => worker.output().includes('ready'), `the worker to start: ${worker.output()}`)
    const enqueuer = start([path, 'share', markers, String(total), `enqueue:${tenants}x${perTenant}`])
    const exits = await Promise.all([enqueuer.exited, worker.exited])
    expect(exits, enqueuer.output() + worker.output()).toEqual([0, 0])
    const db = new DatabaseSync(path, { readOnly: true })
    try {
      const runs = db.prepare('SELECT agent_id, tenant, pid, overlapped FROM runs').all() as Array<{
        agent_id: string
        tenant: string
        pid: number
        overlapped: number
      }>
      expect(new Set(runs.map((run) => run.agent_id)).size, 'every task ran once').toBe(total)
      expect(runs, 'every task ran once').toHaveLength(total)
      expect(
        runs.filter((run) => run.overlapped === 1),
        'no task started while another of its tenant ran, in either process',
      ).toEqual([])
      const pids = new Set(runs.map((run) => run.pid))
      // Each process runs at most 2 tasks at once, and 4 tenants may run at once: both take part.
      expect(pids.size, 'both processes ran tasks').toBe(2)
    } finally {
      db.close()
    }
  }, 120_000)

  it('a key’s slot held by a process that is SIGKILLed is freed when its lease runs out', async () => {
    const path = join(tempDir(), 'pool.db')
    const holder = start([path, 'hold'])
    await until(() => holder.output().includes('started hold-1'), `hold-1 to start: ${holder.output()}`)
    const store = new SqliteActivityStore({ path })
    stores.push(store)
    const activity = createActivityTracker({ store })
    const pool = createPool({
      activity,
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
    expect(holder.process.exitCode, `the holder still runs: ${holder.output()}`).toBeNull()
    expect(starts, 'this process starts no task of the tenant while the other holds its slot').toEqual([])
    expect((await store.get('hold-2'))?.status).toBe('queued')
    holder.process.kill('SIGKILL')
    expect(await holder.exited).toBe('SIGKILL')
    await expect(work.result('hold-1', { timeoutMs: 30_000 })).resolves.toBe(1)
    await expect(work.result('hold-2', { timeoutMs: 30_000 })).resolves.toBe(2)
    expect(starts.sort(), 'both tasks ran here once the lease ran out').toEqual(['hold-1', 'hold-2'])
    expect(most, 'one at a time').toBe(1)
  }, 120_000)
})
