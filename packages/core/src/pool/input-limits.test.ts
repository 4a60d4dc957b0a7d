import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryActivityStore } from '../activity/memory-store.js'
import { DEFAULT_MAX_RECORD_BYTES } from '../activity/run-record.js'
import { createActivityTracker } from '../activity/tracker.js'
import type { ActivityStore } from '../activity/types.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { ValueTooLargeError } from '../errors/value-too-large-error.js'
import { SqliteActivityStore } from '../sqlite/sqlite-store.js'
import { rejectionOf } from '../test/rejection-of.js'
import { MAX_JSON_DEPTH } from '../util/json-limits.js'
import { createPool } from './create-pool.js'
import type { PoolOptions } from './types.js'

const cleanups: Array<() => Promise<void> | void> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** `levels` objects nested in one another: `{ a: { a: ... leaf } }`. */
function nested(levels: number, leaf: unknown = 1): unknown {
  let value = leaf
  for (let level = 0; level < levels; level++) value = { a: value }
  return value
}

function sqliteStore(): SqliteActivityStore {
  const dir = mkdtempSync(join(tmpdir(), 'runner-input-limits-'))
  const store = new SqliteActivityStore({ path: join(dir, 'pool.db') })
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  cleanups.push(() => store.close())
  return store
}

function setup(
  store: ActivityStore = new MemoryActivityStore(),
  options: Omit<PoolOptions, 'activity'> = {},
) {
  const activity = createActivityTracker({ store })
  const pool = createPool({ activity, ...options })
  cleanups.push(() => pool.close({ timeoutMs: 0 }))
  let runs = 0
  const echo = pool.task('echo', { input: z.unknown() }, async ({ input }) => {
    runs++
    return input
  })
  return { activity, pool, echo, runs: () => runs }
}

function tooLarge(error: unknown): ValueTooLargeError {
  expect(ValueTooLargeError.isInstance(error)).toBe(true)
  return error as ValueTooLargeError
}

describe('pool input and result limits', () => {
  it.each([[5_000], [1_000_000]])(
    'refuses an input nested %i levels deep with ValueTooLargeError naming input; no activity',
    async (levels) => {
      const { activity, echo, runs } = setup()
      const error = tooLarge(await rejectionOf(echo.enqueue({ payload: nested(levels) })))
      expect(error).toMatchObject({ field: 'input', unit: 'levels', limit: 512, actual: 513 })
      expect(error.message).toBe(
        'Invalid input of task "echo": input: is nested more than 512 levels deep (the limit); flatten it (task inputs cross processes as JSON)',
      )
      expect((await activity.list()).total).toBe(0)
      expect(runs()).toBe(0)
    },
  )

  it('refuses a too deep input before a recursive schema walks it', async () => {
    const { activity, pool } = setup()
    type Tree = { a?: Tree }
    const tree: z.ZodType<Tree> = z.lazy(() => z.object({ a: tree.optional() }))
    pool.task('tree', { input: tree }, async () => 'ok')
    const error = tooLarge(await rejectionOf(pool.enqueue('tree', nested(1_000_000, {}))))
    expect(error.field).toBe('input')
    expect((await activity.list()).total).toBe(0)
  })

  it('refuses an input made too deep by toJSON', async () => {
    const { activity, echo } = setup()
    const error = tooLarge(await rejectionOf(echo.enqueue({ toJSON: () => nested(5_000) })))
    expect(error).toMatchObject({ field: 'input', unit: 'levels', limit: 512 })
    expect((await activity.list()).total).toBe(0)
  })

  it('refuses a too deep task of enqueueMany naming tasks[i].input, and enqueues none', async () => {
    const { activity, pool, runs } = setup()
    const error = tooLarge(
      await rejectionOf(
        pool.enqueueMany([
          { task: 'echo', input: { fine: true } },
          { task: 'echo', input: nested(5_000) },
        ]),
      ),
    )
    expect(error).toMatchObject({ field: 'tasks[1].input', unit: 'levels', limit: 512 })
    expect(error.message).toMatch(
      /^Invalid enqueueMany tasks: tasks\[1\]\.input: is nested more than 512 levels/,
    )
    expect((await activity.list()).total).toBe(0)
    expect(runs()).toBe(0)
  })

  it.each([
    ['in memory', () => new MemoryActivityStore()],
    ['on the durable SQLite queue', sqliteStore],
  ])('runs an input and returns a result nested exactly at the limit (%s)', async (_, store) => {
    const { pool, echo } = setup(store())
    const input = nested(MAX_JSON_DEPTH)
    const { agentId } = await echo.enqueue(input)
    await expect(echo.result(agentId)).resolves.toEqual(input)
    const [many] = await pool.enqueueMany([{ task: 'echo', input }])
    await expect(pool.result(many?.agentId as string)).resolves.toEqual(input)
  })

  it('fails a task whose result is too deep with ValueTooLargeError naming result; the activity ends error', async () => {
    const { activity, pool } = setup()
    pool.task('deep', { input: z.object({}) }, async () => nested(5_000))
    const { agentId } = await pool.enqueue('deep', {})
    const error = tooLarge(await rejectionOf(pool.result(agentId)))
    expect(error).toMatchObject({ field: 'result', unit: 'levels', limit: 512 })
    expect(error.message).toContain('Invalid result of task "deep": result: is nested more than 512 levels')
    expect(await activity.detail(agentId)).toMatchObject({ status: 'error' })
  })

  it('refuses an input over maxInputBytes (UTF-8 JSON) with unit bytes; one at the limit is enqueued', async () => {
    const { activity, echo } = setup(new MemoryActivityStore(), { maxInputBytes: 100 })
    // {"text":"…"} is 11 bytes around the text; é is 2 bytes in UTF-8.
    const error = tooLarge(await rejectionOf(echo.enqueue({ text: 'é'.repeat(45) })))
    expect(error).toMatchObject({ field: 'input', unit: 'bytes', actual: 101, limit: 100 })
    expect(error.message).toMatch(/input: is 101 bytes as JSON, over the limit of 100 bytes; make it smaller/)
    expect((await activity.list()).total).toBe(0)
    const atLimit = { text: `${'é'.repeat(44)}x` }
    const { agentId } = await echo.enqueue(atLimit)
    await expect(echo.result(agentId)).resolves.toEqual(atLimit)
  })

  it('limits inputs to 16 MiB by default', async () => {
    const { activity, echo } = setup()
    const error = tooLarge(await rejectionOf(echo.enqueue('x'.repeat(DEFAULT_MAX_RECORD_BYTES))))
    expect(error).toMatchObject({ unit: 'bytes', limit: 16 * 1024 * 1024, actual: 16 * 1024 * 1024 + 2 })
    expect((await activity.list()).total).toBe(0)
  })

  it('validates maxInputBytes', () => {
    for (const maxInputBytes of [0, 1.5, '1mb']) {
      expect(() => createPool({ maxInputBytes } as never)).toThrow(
        expect.objectContaining({ name: 'InvalidOptionsError', field: 'maxInputBytes' }),
      )
    }
  })

  it('refuses metadata nested too deep, naming it', async () => {
    const { activity, echo } = setup()
    const error = await rejectionOf(echo.enqueue({}, { metadata: { tree: nested(5_000) } }))
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ field: 'metadata' })
    expect((error as Error).message).toContain('is nested more than 512 levels deep')
    expect((await activity.list()).total).toBe(0)
  })
})
