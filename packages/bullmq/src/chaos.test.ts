import { createPool } from '@runner/core'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { bullmqEngine } from './bullmq-engine.js'
import { databaseUrl, noticeUnless, redisUrl, removeQueue, uniqueQueue } from './test-helpers/services.js'
import { sharedStore } from './test-helpers/shared-store.js'
import registerTasks from './test-helpers/tasks.js'
import { killAll, type PhaseMessage, WorkerProcess } from './test-helpers/worker-process.js'

noticeUnless(Boolean(redisUrl && databaseUrl), 'REDIS_URL or DATABASE_URL')

const taskCount = 200
const workerCount = 3
const concurrency = 3
/** Each chaos task: three steps of this length, then its side effect. */
const stepMs = 100
/** A kill becomes due once this many tasks are done (then at the next mid-run moment of a worker). */
const killAfter = [40, 110]

describe.skipIf(!(redisUrl && databaseUrl))('chaos', () => {
  it(`runs ${taskCount} tasks on ${workerCount} worker processes, two of them killed mid-run: every task completes exactly once`, async () => {
    const queue = uniqueQueue('chaos')
    const shared = sharedStore('chaos')
    const effectsKey = `${queue.prefix}:effects`
    const redis = new Redis(redisUrl as string)
    const api = createPool({
      activity: shared.activity,
      engine: bullmqEngine({ connection: redisUrl as string, ...queue }),
    })
    const tasks = registerTasks(api)
    const workers: WorkerProcess[] = []
    const watching = new AbortController()
    try {
      /** Where each task stands, by IPC from its worker, until the store shows it complete. */
      const inFlight = new Map<string, { pid: number; phase: PhaseMessage['phase'] }>()
      const completed = new Set<string>()
      const kills: Array<{ pid: number; interrupted: string[] }> = []
      let done = 0
      let replacing = false

      const alive = () =>
        workers.filter((worker) => worker.child.exitCode === null && worker.child.signalCode === null)
      const spawnWorker = () => {
        const worker = new WorkerProcess({
          ...queue,
          redisUrl: redisUrl as string,
          storeUrl: shared.storeUrl,
          concurrency,
          args: ['--lock-duration', '4000', '--stalled-interval', '1000', '--max-stalled-count', '5'],
          onMessage,
        })
        workers.push(worker)
        return worker
      }

      /**
       * Kills `pid` if a kill is due and none of its tasks is near its side effect (`late`, or
       * `done` and not yet seen complete): a kill in that window would make an at-least-once
       * engine run a finished handler again, which is allowed but not what this test counts.
       */
      const maybeKill = (pid: number) => {
        const next = killAfter[kills.length]
        if (next === undefined || done < next || replacing || alive().length < workerCount) return
        const victim = alive().find((worker) => worker.pid === pid)
        if (!victim) return
        const mine = [...inFlight].filter(([, job]) => job.pid === pid)
        if (mine.some(([, job]) => job.phase === 'late' || job.phase === 'done')) return
        victim.child.kill('SIGKILL')
        kills.push({ pid, interrupted: mine.map(([agentId]) => agentId) })
        replacing = true
        // Restarted, as an orchestrator would: at least two workers are always up.
        void victim.exited.then(async () => {
          await spawnWorker().ready
          replacing = false
        })
      }

      function onMessage(message: PhaseMessage) {
        if (message.type !== 'phase' || completed.has(message.agentId)) return
        inFlight.set(message.agentId, { pid: message.pid, phase: message.phase })
        if (message.phase === 'done') done++
        if (message.phase === 'mid') maybeKill(message.pid)
      }

      const watched = (async () => {
        for await (const event of shared.activity.watch({}, watching.signal)) {
          if (event.activity.status === 'complete') {
            completed.add(event.agentId)
            inFlight.delete(event.agentId)
          }
        }
      })()

      for (let index = 0; index < workerCount; index++) spawnWorker()
      await Promise.all(workers.map((worker) => worker.ready))

      const startedAt = Date.now()
      const ids: string[] = []
      for (let index = 0; index < taskCount; index++) {
        const { agentId } = await tasks.chaos.enqueue({
          index,
          stepMs,
          redisUrl: redisUrl as string,
          effectsKey,
        })
        ids.push(agentId)
      }
      const results = await Promise.all(
        ids.map((agentId) => tasks.chaos.result(agentId, { timeoutMs: 90_000 })),
      )
      const durationMs = Date.now() - startedAt

      expect(results.map((result) => result.index)).toEqual(ids.map((_, index) => index))
      expect(kills).toHaveLength(2)

      // Every task completed, as its activity says; none is left running.
      const activities = await Promise.all(ids.map((agentId) => shared.activity.detail(agentId)))
      expect(activities.filter((activity) => activity.status !== 'complete')).toEqual([])
      expect(await shared.activity.countActive()).toBe(0)
      // Each handler reached its side effect exactly once.
      const effects = await redis.hgetall(effectsKey)
      expect(Object.keys(effects).sort()).toEqual([...ids].sort())
      expect(Object.entries(effects).filter(([, count]) => count !== '1')).toEqual([])
      // Every task interrupted by a kill was redelivered, and its log says so: a retry entry (the
      // chaos task has no retries of its own) for the attempt after the lost one, which the task
      // completed on.
      const redelivered = activities.filter((activity) =>
        activity.log.some((entry) => entry.kind === 'retry'),
      )
      const interrupted = kills.flatMap((kill) => kill.interrupted)
      expect(interrupted.length).toBeGreaterThanOrEqual(2)
      for (const agentId of interrupted) {
        const activity = activities.find((candidate) => candidate.agentId === agentId)
        const retries = activity?.log.filter((entry) => entry.kind === 'retry') ?? []
        expect(retries.length).toBeGreaterThanOrEqual(1)
        expect(retries.map((entry) => entry.attempt)).toEqual(retries.map((_, index) => index + 2))
        expect(activity?.log.at(-1)).toMatchObject({ status: 'complete', attempt: retries.length + 1 })
      }
      // A task no kill interrupted ran once, on attempt 1.
      for (const activity of activities) {
        if (redelivered.includes(activity)) continue
        expect(activity.log.at(-1)).toMatchObject({ status: 'complete', attempt: 1 })
      }
      expect(durationMs).toBeLessThan(60_000)

      console.log(
        [
          `chaos: ${taskCount} tasks on ${workerCount} worker processes (concurrency ${concurrency} each, ${workers.length} started in all)`,
          `  ${kills.length} SIGKILLs mid-run (workers ${kills.map((kill) => kill.pid).join(', ')}), interrupting ${interrupted.length} running tasks`,
          `  ${redelivered.length} tasks redelivered (a retry entry on their activity), ${activities.length} complete, 0 running, each side effect once`,
          `  duration ${(durationMs / 1000).toFixed(1)} s`,
        ].join('\n'),
      )
      watching.abort()
      await watched
    } finally {
      watching.abort()
      await killAll(workers)
      await api.close({ timeoutMs: 0 })
      redis.disconnect()
      await shared.cleanup()
      await removeQueue(redisUrl as string, queue.queueName, queue.prefix)
    }
  }, 120_000)
})
