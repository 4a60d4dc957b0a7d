import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { createActivityTracker } from '../activity/tracker.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { SqliteActivityStore } from '../sqlite/sqlite-store.js'
import { createPool } from './create-pool.js'
import type { Pool } from './types.js'

interface Fired {
  agentId: string
  input: unknown
  metadata: Record<string, unknown>
}

const pools: Pool[] = []
const scratch: string[] = []

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
})

afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.close({ timeoutMs: 0 })
  vi.useRealTimers()
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function reportPool(options: Parameters<typeof createPool>[0] = {}) {
  const pool = createPool(options)
  pools.push(pool)
  const fired: Fired[] = []
  const report = pool.task(
    'report',
    { input: z.object({ kind: z.string() }) },
    ({ agentId, input, metadata }) => {
      fired.push({ agentId, input, metadata })
      return input.kind
    },
  )
  return { pool, report, fired }
}

/** Moves the fake clock forward by `ms`, letting the pool's promises settle along the way. */
async function advance(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms)
  // The firing's writes and the handler run on promises (and, on SQLite, on I/O) after the timer.
  for (let i = 0; i < 20; i++) await vi.advanceTimersByTimeAsync(0)
}

/** Waits (on real I/O) until `check` holds. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) {
    await vi.advanceTimersByTimeAsync(0)
    await new Promise((resolve) => setImmediate(resolve))
  }
  expect(check()).toBe(true)
}

const at = (iso: string) => new Date(iso).getTime()

describe('pool.schedule on the local engine', () => {
  it('an every schedule fires on each multiple of its interval, each firing a task of its own', async () => {
    vi.setSystemTime(new Date('2026-03-02T10:00:30.000Z'))
    const { pool, report, fired } = reportPool()
    const info = await report.schedule('minutely', {
      every: 60_000,
      input: { kind: 'daily' },
      metadata: { tenant: 'acme' },
    })
    expect(info).toMatchObject({
      name: 'minutely',
      task: 'report',
      every: 60_000,
      paused: false,
      missed: 'skip',
      nextRunAt: '2026-03-02T10:01:00.000Z',
    })
    await advance(29_000)
    expect(fired).toHaveLength(0)
    await advance(1000)
    await until(() => fired.length === 1)
    await advance(60_000)
    await until(() => fired.length === 2)
    const tick = at('2026-03-02T10:01:00.000Z')
    expect(fired[0]).toEqual({
      agentId: `schedule.minutely.${tick}`,
      input: { kind: 'daily' },
      metadata: { tenant: 'acme', schedule: 'minutely', scheduledFor: '2026-03-02T10:01:00.000Z' },
    })
    expect(fired[1]?.agentId).toBe(`schedule.minutely.${tick + 60_000}`)
    await expect(pool.result(`schedule.minutely.${tick}`)).resolves.toBe('daily')
    const [listed] = await pool.schedules()
    expect(listed).toMatchObject({
      lastFiredAt: '2026-03-02T10:02:00.000Z',
      nextRunAt: '2026-03-02T10:03:00.000Z',
    })
  })

  it('a cron schedule fires at its time in its time zone (9:00 in Paris is 8:00 UTC in winter)', async () => {
    vi.setSystemTime(new Date('2026-01-15T07:00:00.000Z'))
    const { report, fired } = reportPool()
    const info = await report.schedule('morning', {
      cron: '0 9 * * *',
      timezone: 'Europe/Paris',
      input: { kind: 'morning' },
    })
    expect(info.nextRunAt).toBe('2026-01-15T08:00:00.000Z')
    await advance(59 * 60_000)
    expect(fired).toHaveLength(0)
    await advance(60_000)
    await until(() => fired.length === 1)
    expect(fired[0]?.metadata.scheduledFor).toBe('2026-01-15T08:00:00.000Z')
    // The next day, not an hour later.
    await advance(60 * 60_000)
    expect(fired).toHaveLength(1)
  })

  it('a cron expression with seconds fires every few seconds', async () => {
    vi.setSystemTime(new Date('2026-01-15T07:00:00.500Z'))
    const { report, fired } = reportPool()
    await report.schedule('fast', { cron: '*/2 * * * * *', input: { kind: 'fast' } })
    await advance(1500)
    await until(() => fired.length === 1)
    await advance(2000)
    await until(() => fired.length === 2)
    expect(fired.map((job) => job.metadata.scheduledFor)).toEqual([
      '2026-01-15T07:00:02.000Z',
      '2026-01-15T07:00:04.000Z',
    ])
  })

  it('a paused schedule does not fire until resumed; a removed one never again', async () => {
    vi.setSystemTime(new Date('2026-03-02T10:00:30.000Z'))
    const { pool, report, fired } = reportPool()
    await report.schedule('minutely', { every: 60_000, input: { kind: 'x' } })
    await expect(pool.pauseSchedule('minutely')).resolves.toBe(true)
    expect(await pool.schedules()).toEqual([expect.objectContaining({ name: 'minutely', paused: true })])
    expect((await pool.schedules())[0]?.nextRunAt).toBeUndefined()
    await advance(3 * 60_000)
    expect(fired).toHaveLength(0)

    await expect(pool.resumeSchedule('minutely')).resolves.toBe(true)
    await advance(60_000)
    await until(() => fired.length === 1)
    // Ticks passed while paused are not fired.
    expect(fired[0]?.metadata.scheduledFor).toBe('2026-03-02T10:04:00.000Z')

    await expect(pool.removeSchedule('minutely')).resolves.toBe(true)
    await expect(pool.schedules()).resolves.toEqual([])
    await advance(3 * 60_000)
    expect(fired).toHaveLength(1)
    await expect(pool.pauseSchedule('minutely')).resolves.toBe(false)
    await expect(pool.removeSchedule('minutely')).resolves.toBe(false)
  })

  it('declaring a schedule again replaces it (upsert): one schedule, the new definition', async () => {
    vi.setSystemTime(new Date('2026-03-02T10:00:30.000Z'))
    const { pool, report, fired } = reportPool()
    await report.schedule('job', { every: 60_000, input: { kind: 'old' } })
    await report.schedule('job', { every: 120_000, input: { kind: 'new' } })
    expect(await pool.schedules()).toEqual([expect.objectContaining({ name: 'job', every: 120_000 })])
    await advance(120_000)
    await until(() => fired.length === 1)
    await advance(1000)
    expect(fired).toEqual([expect.objectContaining({ input: { kind: 'new' } })])
  })

  it('close stops the timers', async () => {
    vi.setSystemTime(new Date('2026-03-02T10:00:30.000Z'))
    const { pool, report, fired } = reportPool()
    await report.schedule('job', { every: 60_000, input: { kind: 'x' } })
    await pool.close()
    expect(vi.getTimerCount()).toBe(0)
    await advance(120_000)
    expect(fired).toHaveLength(0)
    await expect(report.schedule('late', { every: 60_000, input: { kind: 'x' } })).rejects.toThrow(/closed/)
  })

  it('refuses bad schedules with errors naming the field and the value', async () => {
    const { pool, report } = reportPool()
    const refused = async (promise: Promise<unknown>) => {
      const error = await promise.then(
        () => undefined,
        (reason: unknown) => reason,
      )
      expect(InvalidOptionsError.isInstance(error)).toBe(true)
      return error as InvalidOptionsError
    }
    const badCron = await refused(report.schedule('a', { cron: '61 * * * *', input: { kind: 'x' } }))
    expect(badCron.field).toBe('cron')
    expect(badCron.message).toContain('"61 * * * *"')
    expect(badCron.message).toMatch(/minute/)
    const badZone = await refused(
      report.schedule('a', { cron: '0 9 * * *', timezone: 'Mars/Olympus', input: { kind: 'x' } }),
    )
    expect(badZone.field).toBe('timezone')
    expect(badZone.message).toContain('"Mars/Olympus"')
    expect((await refused(pool.schedule('a', { task: 'nope', every: 60_000 }))).field).toBe('task')
    expect((await refused(report.schedule('a', { every: 500, input: { kind: 'x' } }))).field).toBe('every')
    expect((await refused(report.schedule('a', { input: { kind: 'x' } }))).message).toMatch(
      /exactly one of cron/,
    )
    expect(
      (await refused(report.schedule('a', { every: 60_000, cron: '* * * * *', input: { kind: 'x' } })))
        .message,
    ).toMatch(/exactly one of cron/)
    expect(
      (await refused(report.schedule('a', { every: 60_000, timezone: 'UTC', input: { kind: 'x' } }))).field,
    ).toBe('timezone')
    expect(
      (await refused(pool.schedule('a', { task: 'report', every: 60_000, input: { kind: 1 } }))).field,
    ).toBe('input.kind')
    expect((await refused(report.schedule('bad name!', { every: 60_000, input: { kind: 'x' } }))).field).toBe(
      'name',
    )
    await expect(pool.schedules()).resolves.toEqual([])
  })
})

describe('missed firings across a restart (SQLite)', () => {
  function tempDatabase(): string {
    const dir = mkdtempSync(join(tmpdir(), 'runner-schedules-'))
    scratch.push(dir)
    return join(dir, 'pool.db')
  }

  async function run(
    file: string,
    missed: 'skip' | 'run-once' | undefined,
    steps: (fired: Fired[]) => Promise<void>,
  ) {
    const store = new SqliteActivityStore({ path: file })
    const { pool, report, fired } = reportPool({ activity: createActivityTracker({ store }) })
    await report.schedule('hourly', { every: 3_600_000, input: { kind: 'h' }, ...(missed ? { missed } : {}) })
    await steps(fired)
    await pool.close()
    pools.splice(pools.indexOf(pool), 1)
    await store.close()
    return fired
  }

  it.each([
    ['run-once', 1],
    ['skip', 0],
  ] as const)(
    'missed: %s fires the ticks missed while down %i time(s) at start',
    async (missed, expected) => {
      const file = tempDatabase()
      vi.setSystemTime(new Date('2026-03-02T09:59:00.000Z'))
      await run(file, missed, async (fired) => {
        await advance(60_000)
        await until(() => fired.length === 1)
      })
      // Down from 10:00 to 13:30: the ticks of 11:00, 12:00 and 13:00 were missed.
      vi.setSystemTime(new Date('2026-03-02T13:30:00.000Z'))
      const after = await run(file, missed, async (fired) => {
        if (expected > 0) await until(() => fired.length === expected)
        await advance(1000)
        expect(fired).toHaveLength(expected)
        if (expected > 0) expect(fired[0]?.metadata.scheduledFor).toBe('2026-03-02T11:00:00.000Z')
        // Then on schedule again.
        await advance(30 * 60_000)
        await until(() => fired.length === expected + 1)
        expect(fired.at(-1)?.metadata.scheduledFor).toBe('2026-03-02T14:00:00.000Z')
      })
      expect(after).toHaveLength(expected + 1)
    },
  )

  it('a tick passed just now (under 60 s) is fired at start whatever the policy', async () => {
    const file = tempDatabase()
    vi.setSystemTime(new Date('2026-03-02T09:59:00.000Z'))
    await run(file, undefined, async (fired) => {
      await advance(60_000)
      await until(() => fired.length === 1)
    })
    vi.setSystemTime(new Date('2026-03-02T11:00:20.000Z'))
    await run(file, undefined, async (fired) => {
      await until(() => fired.length === 1)
      expect(fired[0]?.metadata.scheduledFor).toBe('2026-03-02T11:00:00.000Z')
    })
  })

  it('two pools on one store fire each tick once; a pause in one is seen by the other', async () => {
    const file = tempDatabase()
    vi.setSystemTime(new Date('2026-03-02T09:59:30.000Z'))
    const stores = [new SqliteActivityStore({ path: file }), new SqliteActivityStore({ path: file })]
    const [a, b] = stores.map((store) => reportPool({ activity: createActivityTracker({ store }) }))
    if (!a || !b) throw new Error('unreachable')
    await a.report.schedule('minutely', { every: 60_000, input: { kind: 'm' } })
    await b.report.schedule('minutely', { every: 60_000, input: { kind: 'm' } })
    for (let minute = 1; minute <= 3; minute++) {
      await advance(60_000)
      await until(() => a.fired.length + b.fired.length === minute)
      await advance(1000)
      expect(a.fired.length + b.fired.length).toBe(minute)
    }
    await a.pool.pauseSchedule('minutely')
    await expect(b.pool.schedules()).resolves.toEqual([expect.objectContaining({ paused: true })])
    await advance(3 * 60_000)
    expect(a.fired.length + b.fired.length).toBe(3)
    // Resumed in one, fired once per tick again; removed in one, gone from the other at its next tick.
    await a.pool.resumeSchedule('minutely')
    await advance(60_000)
    await until(() => a.fired.length + b.fired.length === 4)
    await a.pool.removeSchedule('minutely')
    await advance(3 * 60_000)
    expect(a.fired.length + b.fired.length).toBe(4)
    await expect(b.pool.schedules()).resolves.toEqual([])
    for (const pool of [a.pool, b.pool]) {
      await pool.close()
      pools.splice(pools.indexOf(pool), 1)
    }
    for (const store of stores) await store.close()
  })
})
