import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryActivityStore } from '../activity/memory-store.js'
import { createActivityTracker } from '../activity/tracker.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { SqliteActivityStore } from '../sqlite/sqlite-store.js'
import { rejectionOf } from '../test/rejection-of.js'
import { createPool } from './create-pool.js'
import { PIPELINE_NAMESPACE, pipeline } from './pipeline.js'
import type { Pool } from './types.js'

const pools: Pool[] = []
const dirs: string[] = []
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close({ timeoutMs: 0 })))
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function setup() {
  const store = new MemoryActivityStore()
  const activity = createActivityTracker({ store })
  const pool = createPool({ activity, concurrency: 2 })
  pools.push(pool)
  return { store, pool }
}

describe('pipelines', () => {
  it('runs typed steps in order as one task, with "Step i/n" progress, and returns the last output', async () => {
    const { store, pool } = setup()
    const report = pool.task(
      'report',
      { input: z.object({ topic: z.string() }) },
      pipeline<{ topic: string }>()
        .step('search', ({ topic }) => [`${topic}-1`, `${topic}-2`])
        .step('read', async (links, { report }) => {
          await report('half the links', 50)
          return links.map((link) => link.length)
        })
        .step('write', (lengths) => `total ${lengths.reduce((a, b) => a + b, 0)}`),
    )
    const { agentId } = await report.enqueue({ topic: 'otters' })
    await expect(report.result(agentId)).resolves.toBe('total 16')
    const log = (await store.get(agentId))?.log.map((entry) => `${entry.message} (${entry.percentage})`)
    expect(log).toEqual([
      'Waiting to start (0)',
      'Started (null)',
      'Step 1/3: search (0)',
      'Step 2/3: read (33)',
      'Step 2/3: read: half the links (50)',
      'Step 3/3: write (67)',
      'Complete (100)',
    ])
    // Completed: the kept outputs are gone.
    expect(await store.documents.list(PIPELINE_NAMESPACE)).toEqual([])
  })

  it('retries a failed step alone, and a retry of the task goes on from the failed step', async () => {
    const { store, pool } = setup()
    const calls: string[] = []
    let flaky = 2
    let broken = true
    const task = pool.task(
      'etl',
      { input: z.number(), retries: 1, retryDelayMs: 1 },
      pipeline<number>()
        .step('extract', (n) => {
          calls.push('extract')
          return n + 1
        })
        .step(
          'transform',
          (n) => {
            calls.push('transform')
            if (flaky-- > 0) throw new Error('flaky')
            return n * 10
          },
          { retries: 2, retryDelayMs: 1 },
        )
        .step('load', (n) => {
          calls.push('load')
          if (broken) {
            broken = false
            throw new Error('database down')
          }
          return { loaded: n }
        }),
    )
    const { agentId } = await task.enqueue(1)
    await expect(task.result(agentId)).resolves.toEqual({ loaded: 20 })
    // transform failed twice and was retried alone; load failed once: the task's retry went on
    // from load, without extracting or transforming again.
    expect(calls).toEqual(['extract', 'transform', 'transform', 'transform', 'load', 'load'])
    const log = (await store.get(agentId))?.log.map((entry) => entry.message) ?? []
    expect(log).toContain('Step 2/3: transform: failed (flaky); retrying the step (2 of 3)')
    expect(log).toContain('Steps 1-2 of 3 completed earlier; going on from step 3')
  })

  it('a pipeline whose worker was SIGKILLed mid-step resumes in another process without repeating completed steps', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runner-pipeline-'))
    dirs.push(dir)
    const file = join(dir, 'runs.db')
    const fixture = fileURLToPath(new URL('./test-helpers/pipeline-process.ts', import.meta.url))
    const crashed = spawnSync(process.execPath, [fixture, file, 'enqueue', 'crash'], {
      encoding: 'utf8',
      timeout: 30_000,
    })
    expect(crashed.signal).toBe('SIGKILL')
    expect(crashed.stdout).toContain('enqueued')
    const resumed = spawnSync(process.execPath, [fixture, file, 'work'], {
      encoding: 'utf8',
      timeout: 30_000,
    })
    expect(resumed.stderr).toBe('')
    expect(resumed.status).toBe(0)

    const record = new DatabaseSync(file)
    const steps = record
      .prepare('SELECT name FROM steps ORDER BY rowid')
      .all()
      .map((row) => row.name)
    record.close()
    expect(steps).toEqual(['search', 'read', 'read', 'write'])
    const store = new SqliteActivityStore({ path: file })
    try {
      const activity = await store.get('p1')
      expect(activity?.status).toBe('complete')
      expect(activity?.log.map((entry) => entry.message)).toContain(
        'Steps 1-1 of 3 completed earlier; going on from step 2',
      )
    } finally {
      store.close()
    }
  }, 60_000)

  it('refuses bad steps naming the field, and a step output that is not JSON', async () => {
    const refused = (build: () => unknown) => {
      try {
        build()
      } catch (error) {
        expect(InvalidOptionsError.isInstance(error)).toBe(true)
        return (error as InvalidOptionsError).issues.map((issue) => issue.field)
      }
      return []
    }
    expect(refused(() => pipeline<number>().step('', (n) => n))).toEqual(['steps[0].name'])
    expect(
      refused(() =>
        pipeline<number>()
          .step('a', (n) => n)
          .step('a', (n) => n),
      ),
    ).toEqual(['steps[1].name'])
    expect(refused(() => pipeline<number>().step('a', 'x' as never, { retries: -1 }))).toEqual([
      'steps[0].run',
      'steps[0].retries',
    ])

    const { pool } = setup()
    const task = pool.task(
      'bad',
      { input: z.number() },
      pipeline<number>().step('clock', () => new Map()),
    )
    const { agentId } = await task.enqueue(1)
    expect(String(await rejectionOf(task.result(agentId)))).toContain(
      'Step 1/1: clock returned a value that is not JSON',
    )
  })
})
