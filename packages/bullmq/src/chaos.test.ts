import { createPool, DecisionError } from '@runner/core'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { bullmqEngine } from './bullmq-engine.js'
import { executionsTable } from './test-helpers/executions.js'
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

/**
 * The durable chaos run: agent runs (a durable scripted runner, several tool turns of side effects
 * each, every fifth one asking for an approval) on worker processes SIGKILLed at random instants.
 * Its size: `CHAOS_AGENT_RUNS` (default 200; 40 when `CI` is set), and at most `CHAOS_KILLS` kills
 * (default one per 20 runs, at least 3).
 */
const agentRuns = Number(process.env.CHAOS_AGENT_RUNS || (process.env.CI ? 40 : 200))
const maxKills = Number(process.env.CHAOS_KILLS || Math.max(3, Math.round(agentRuns / 20)))
const agentTurns = 3
const callsPerTurn = 2
/** Each model answer takes this long; each tool call half of it. */
const agentStepMs = 40

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

  it(`runs ${agentRuns} durable agent runs with side-effecting tools on ${workerCount} worker processes SIGKILLed at random instants: nothing lost, each completed tool call executed once`, async () => {
    const queue = uniqueQueue('chaos-agents')
    const shared = sharedStore('chaos_agents')
    const executions = await executionsTable('chaos_effects')
    const api = createPool({
      activity: shared.activity,
      engine: bullmqEngine({ connection: redisUrl as string, ...queue }),
    })
    const tasks = registerTasks(api)
    const workers: WorkerProcess[] = []
    let finished = false
    try {
      const kills: number[] = []
      const alive = () =>
        workers.filter((worker) => worker.child.exitCode === null && worker.child.signalCode === null)
      const spawnWorker = () => {
        const worker = new WorkerProcess({
          ...queue,
          redisUrl: redisUrl as string,
          storeUrl: shared.storeUrl,
          concurrency,
          // A job may lose its worker several times here: BullMQ must not give up on it.
          args: ['--lock-duration', '3000', '--stalled-interval', '1000', '--max-stalled-count', '50'],
        })
        workers.push(worker)
        return worker
      }
      for (let index = 0; index < workerCount; index++) spawnWorker()
      await Promise.all(workers.map((worker) => worker.ready))

      const startedAt = Date.now()
      const ids: string[] = []
      const needsApproval = new Set<string>()
      for (let index = 0; index < agentRuns; index++) {
        const approvalTurn = index % 5 === 0 ? 2 : undefined
        const { agentId } = await tasks.agentRun.enqueue({
          index,
          turns: agentTurns,
          calls: callsPerTurn,
          ...(approvalTurn === undefined ? {} : { approvalTurn }),
          stepMs: agentStepMs,
          executions: { url: executions.url, schema: executions.schema },
        })
        ids.push(agentId)
        if (approvalTurn !== undefined) needsApproval.add(agentId)
      }
      const results = Promise.all(ids.map((agentId) => api.result(agentId, { timeoutMs: 240_000 })))
      void results.finally(() => {
        finished = true
      })

      // SIGKILLs at random instants, each worker replaced at once as an orchestrator would.
      const killing = (async () => {
        // The first kill lands mid-work, once some tool calls have run (a fast machine may finish
        // the whole batch before a random first delay); the others at random instants.
        while (!finished && (await executions.rows()).length < Math.min(20, agentRuns)) {
          await new Promise((resolve) => setTimeout(resolve, 25))
        }
        let first = true
        while (!finished && kills.length < maxKills) {
          if (!first) await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 1700))
          first = false
          const candidates = alive()
          if (finished || candidates.length < workerCount) continue
          const victim = candidates[Math.floor(Math.random() * candidates.length)] as WorkerProcess
          victim.child.kill('SIGKILL')
          kills.push(victim.pid)
          await victim.exited
          await spawnWorker().ready
        }
      })()

      // A person approves every pending call, from the API process, as often as it is asked.
      let approvals = 0
      const approvalRuns = needsApproval.size
      const approvalErrors: unknown[] = []
      const approving = (async () => {
        while (!finished) {
          for (const agentId of needsApproval) {
            const record = await shared.store.getRun(agentId)
            if (record?.status === 'complete') needsApproval.delete(agentId)
            if (record?.status !== 'waiting') continue
            for (const request of record.pending ?? []) {
              if (request.decision) continue
              try {
                await api.approve(agentId, request.id, { by: 'chaos' })
                approvals++
              } catch (error) {
                // Decided already, or no longer waiting: nothing changed.
                if (!DecisionError.isInstance(error)) throw error
              }
            }
          }
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      })().catch((error: unknown) => {
        approvalErrors.push(error)
      })

      const values = await results
      const durationMs = Date.now() - startedAt
      await Promise.all([killing, approving])
      expect(approvalErrors).toEqual([])

      // 0 lost, 0 results lost: every run's result, from whichever process and store kept it.
      expect(values).toEqual(ids.map((_, index) => ({ index, text: `run ${index} done` })))
      // 0 left running or waiting.
      const activities = await Promise.all(ids.map((agentId) => shared.activity.detail(agentId)))
      expect(activities.filter((activity) => activity.status !== 'complete')).toEqual([])
      expect(await shared.activity.countActive()).toBe(0)
      expect(kills.length).toBeGreaterThanOrEqual(1)

      // Every planned tool call ran, and no other; each is journaled with the execution it kept.
      const rows = await executions.rows()
      const planned = ids.flatMap((agentId) =>
        Array.from({ length: agentTurns }, (_, turn) =>
          Array.from({ length: callsPerTurn }, (_, call) => `${agentId}:t${turn + 1}c${call + 1}`),
        ).flat(),
      )
      expect([...new Set(rows.map((row) => row.key))].sort()).toEqual([...planned].sort())
      const journaled = new Map<string, string>()
      for (const agentId of ids) {
        const record = await shared.store.getRun(agentId)
        for (const entry of record?.journal ?? []) {
          if (entry.toolName === 'report_status') continue
          const execution = /\(([0-9a-f-]{36})\)/.exec(JSON.stringify(entry.output))?.[1]
          journaled.set(`${agentId}:${entry.toolCallId}`, execution ?? 'none')
        }
      }
      expect([...journaled.keys()].sort()).toEqual([...planned].sort())
      // A completed (journaled) call never ran again: the journaled execution is the last one.
      const byKey = Map.groupBy(rows, (row) => row.key)
      const ranAgain = planned.filter((key) => byKey.get(key)?.at(-1)?.execution !== journaled.get(key))
      expect(ranAgain).toEqual([])
      // The one documented window: a worker killed after the side effect, before the journal
      // write. A duplicate is allowed only there: its first execution has no journal entry, and
      // its worker was killed.
      const duplicates = await executions.duplicates()
      for (const { key } of duplicates) {
        const [first, ...later] = byKey.get(key) ?? []
        expect(first?.execution).not.toBe(journaled.get(key))
        expect(later.map((row) => row.execution)).toContain(journaled.get(key))
        for (const earlier of (byKey.get(key) ?? []).slice(0, -1)) expect(kills).toContain(earlier.pid)
      }

      const redelivered = activities.filter((activity) =>
        activity.log.some((entry) => entry.kind === 'retry'),
      )
      const resumed = activities.filter((activity) =>
        activity.log.some(
          (entry) => entry.kind === 'resume' && entry.message.startsWith('Resumed from its checkpoint'),
        ),
      )
      console.log(
        [
          `chaos (durable agents): ${agentRuns} agent runs of ${agentTurns} tool turns x ${callsPerTurn} calls (${planned.length} tool calls, ${approvalRuns} runs with an approval) on ${workerCount} worker processes (concurrency ${concurrency} each, ${workers.length} started in all)`,
          `  ${kills.length} SIGKILLs at random instants; ${redelivered.length} runs redelivered, ${resumed.length} resumed from a checkpoint; ${approvals} approvals`,
          `  ${rows.length} tool executions for ${planned.length} calls: ${duplicates.length} calls executed twice (each a first execution, on a killed worker, between its side effect and its journal write)`,
          `  0 lost, 0 left running or waiting, ${values.length} results; duration ${(durationMs / 1000).toFixed(1)} s`,
        ].join('\n'),
      )
    } finally {
      finished = true
      await killAll(workers)
      await api.close({ timeoutMs: 0 })
      await shared.cleanup()
      await executions.cleanup()
      await removeQueue(redisUrl as string, queue.queueName, queue.prefix)
    }
  }, 300_000)
})
