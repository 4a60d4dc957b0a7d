import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createActivityTracker, createPool, type Pool } from '@runner/core'
import { Queue } from 'bullmq'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { bullmqEngine } from './bullmq-engine.js'
import { schedulesQueueName } from './schedules.js'
import { startWorker } from './start-worker.js'
import {
  databaseUrl,
  eventually,
  noticeUnless,
  redisUrl,
  removeQueue,
  uniqueQueue,
} from './test-helpers/services.js'
import { type SharedStore, sharedStore } from './test-helpers/shared-store.js'
import type { BullMQEngine } from './types.js'

noticeUnless(Boolean(redisUrl && databaseUrl), 'REDIS_URL or DATABASE_URL')

const apiProcess = fileURLToPath(new URL('./test-helpers/schedule-api-process.ts', import.meta.url))

const queues: Array<{ queueName: string; prefix: string }> = []
const pools: Pool[] = []

afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.close({ timeoutMs: 0 })
  for (const queue of queues.splice(0)) {
    await removeQueue(redisUrl as string, queue.queueName, queue.prefix)
    await removeQueue(redisUrl as string, schedulesQueueName(queue.queueName), queue.prefix)
  }
}, 30_000)

/** The tick (ms) of a firing's task, from its agentId `schedule.<name>.<tick>`. */
const tickOf = (agentId: string) => Number(agentId.split('.').at(-1))

describe.skipIf(!redisUrl)('schedules on bullmqEngine', () => {
  it('fires a cron schedule with seconds into tasks that workers run; lists, pauses, resumes and removes it', async () => {
    const queue = uniqueQueue('schedules')
    queues.push(queue)
    const pool = createPool({
      activity: createActivityTracker(),
      engine: bullmqEngine({ connection: redisUrl as string, ...queue }),
    })
    pools.push(pool)
    const ran: Array<{ agentId: string; metadata: Record<string, unknown> }> = []
    const beat = pool.task('beat', { input: z.object({ n: z.number() }) }, ({ agentId, metadata, input }) => {
      ran.push({ agentId, metadata })
      return input.n
    })
    await startWorker({ pool })
    const info = await beat.schedule('heartbeat', {
      cron: '* * * * * *',
      input: { n: 7 },
      metadata: { team: 'ops' },
    })
    expect(info).toMatchObject({
      name: 'heartbeat',
      task: 'beat',
      cron: '* * * * * *',
      timezone: 'UTC',
      paused: false,
    })
    expect(Date.parse(info.nextRunAt as string) % 1000).toBe(0)

    await eventually(
      () => ran.length,
      (count) => count >= 2,
      'two firings run',
      { timeoutMs: 20_000 },
    )
    const first = ran[0]
    if (!first) throw new Error('unreachable')
    expect(first.agentId).toMatch(/^schedule\.heartbeat\.\d+$/)
    expect(first.metadata).toEqual({
      team: 'ops',
      schedule: 'heartbeat',
      scheduledFor: new Date(tickOf(first.agentId)).toISOString(),
    })
    await expect(pool.result(first.agentId)).resolves.toBe(7)
    const [listed] = await pool.schedules()
    expect(listed?.lastFiredAt).toBeDefined()
    expect(listed?.nextRunAt).toBeDefined()

    await expect(pool.pauseSchedule('heartbeat')).resolves.toBe(true)
    const engine = pool.engine as BullMQEngine
    const firings = new Queue(schedulesQueueName(engine.queueName), {
      connection: { url: redisUrl as string },
      prefix: engine.prefix,
    })
    try {
      await expect(firings.getJobScheduler('heartbeat')).resolves.toBeUndefined()
    } finally {
      await firings.close()
    }
    expect(await pool.schedules()).toEqual([expect.objectContaining({ name: 'heartbeat', paused: true })])
    // A firing taken just before the pause may still finish; none after it.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    const whilePaused = ran.length
    await new Promise((resolve) => setTimeout(resolve, 2500))
    expect(ran.length).toBe(whilePaused)

    await expect(pool.resumeSchedule('heartbeat')).resolves.toBe(true)
    await eventually(
      () => ran.length,
      (count) => count > whilePaused,
      'a firing after resume',
      { timeoutMs: 20_000 },
    )

    await expect(pool.removeSchedule('heartbeat')).resolves.toBe(true)
    await expect(pool.schedules()).resolves.toEqual([])
    await expect(pool.removeSchedule('heartbeat')).resolves.toBe(false)
  }, 60_000)
})

describe.skipIf(!redisUrl)('missed firings on bullmqEngine', () => {
  /**
   * Declares a 1 s schedule, closes the pool (no process takes firings), waits past the 60 s after
   * which a firing is missed, declares it again in a new pool: the ticks fired for the downtime.
   */
  async function downtime(missed: 'skip' | 'run-once'): Promise<number[]> {
    const queue = uniqueQueue(`missed-${missed}`)
    queues.push(queue)
    const activity = createActivityTracker()
    const open = () => {
      const pool = createPool({
        activity,
        engine: bullmqEngine({ connection: redisUrl as string, ...queue }),
      })
      pools.push(pool)
      return { pool, tick: pool.task('tick', { input: z.object({}) }, () => null) }
    }
    const tasks = new Queue(queue.queueName, {
      connection: { url: redisUrl as string },
      prefix: queue.prefix,
    })
    const ticks = async () =>
      (await tasks.getJobs(['wait', 'prioritized', 'active', 'completed'])).map((job) =>
        tickOf(job.id as string),
      )
    try {
      const first = open()
      await first.tick.schedule('beat', { every: 1000, input: {}, missed })
      await eventually(ticks, (fired) => fired.length >= 1, 'a first firing', { timeoutMs: 20_000 })
      await first.pool.close()
      const downAt = Date.now()
      await new Promise((resolve) => setTimeout(resolve, 63_000))
      const restartAt = Date.now()
      await open().tick.schedule('beat', { every: 1000, input: {}, missed })
      await eventually(
        ticks,
        (fired) => fired.some((tick) => tick > restartAt),
        'a firing after the restart',
        {
          timeoutMs: 20_000,
        },
      )
      return (await ticks()).filter((tick) => tick >= downAt && tick < restartAt)
    } finally {
      await tasks.close()
    }
  }

  it('a tick missed while no process took firings is run once (run-once) or dropped (skip)', async () => {
    const [runOnce, skip] = await Promise.all([downtime('run-once'), downtime('skip')])
    expect(runOnce).toHaveLength(1)
    expect(skip).toEqual([])
  }, 150_000)
})

describe.skipIf(!(redisUrl && databaseUrl))('schedules across API processes', () => {
  let shared: SharedStore | undefined
  const children: ChildProcess[] = []

  afterEach(async () => {
    await Promise.all(children.splice(0).map(stop))
    await shared?.cleanup()
    shared = undefined
  }, 30_000)

  function startApi(queue: { queueName: string; prefix: string }, store: SharedStore) {
    const child = spawn(process.execPath, [apiProcess], {
      env: {
        ...process.env,
        TEST_DATABASE_URL: databaseUrl as string,
        TEST_SCHEMA: store.schema,
        TEST_REDIS_URL: redisUrl as string,
        TEST_QUEUE: queue.queueName,
        TEST_PREFIX: queue.prefix,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(child)
    let output = ''
    const scheduled = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += String(chunk)
        if (output.includes('scheduled')) resolve()
      }
      child.stdout?.on('data', onData)
      child.stderr?.on('data', onData)
      child.once('exit', (code) =>
        reject(new Error(`API process exited (${code}) before scheduling: ${output}`)),
      )
    })
    return { child, scheduled }
  }

  it('two API processes declaring the same 1 s schedule enqueue exactly one task per tick', async () => {
    const queue = uniqueQueue('schedules-two')
    queues.push(queue)
    shared = sharedStore('schedules_two')
    const a = startApi(queue, shared)
    const b = startApi(queue, shared)
    await Promise.all([a.scheduled, b.scheduled])

    const tasks = new Queue(queue.queueName, {
      connection: { url: redisUrl as string },
      prefix: queue.prefix,
    })
    const firings = new Queue(schedulesQueueName(queue.queueName), {
      connection: { url: redisUrl as string },
      prefix: queue.prefix,
    })
    try {
      // No worker runs the tasks: each firing's task waits in the queue, where it is counted.
      await eventually(
        () => tasks.getJobCountByTypes('wait', 'prioritized'),
        (n) => n >= 5,
        'five ticks enqueued',
        {
          timeoutMs: 30_000,
          intervalMs: 200,
        },
      )
      await Promise.all(children.splice(0).map(stop))

      const jobs = await tasks.getJobs(['wait', 'prioritized', 'delayed', 'active', 'completed', 'failed'])
      const ids = jobs.map((job) => job.id as string)
      expect(new Set(ids).size).toBe(ids.length)
      for (const id of ids) {
        expect(id).toMatch(/^schedule\.every-second\.\d+$/)
        expect(tickOf(id) % 1000).toBe(0)
      }
      // Every firing BullMQ handed out was the first of its tick (none found its task already
      // enqueued by the other process), and each enqueued one task.
      const fired = await firings.getJobs(['completed'])
      expect(fired.map((job) => job.returnvalue)).toEqual(fired.map(() => 'fired'))
      expect(
        fired.map((job) => `schedule.every-second.${Number(String(job.id).split(':').at(-1))}`).sort(),
      ).toEqual([...ids].sort())
      // One activity per task.
      const activities = await shared.store.list({ metadata: { schedule: 'every-second' }, limit: 1000 })
      expect(activities.items.map((item) => item.agentId).sort()).toEqual([...ids].sort())
      // Both processes declared it; one scheduler exists.
      await expect(firings.getJobSchedulersCount()).resolves.toBe(1)
    } finally {
      await Promise.all([tasks.close(), firings.close()])
    }
  }, 90_000)
})

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}
