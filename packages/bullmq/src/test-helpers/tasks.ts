/**
 * The shared task module of the tests: the same file runs in-process on `localEngine` and
 * `bullmqEngine` (vitest imports it) and in child worker processes (`runner-worker` loads it with
 * Node's type stripping, so: no relative imports, no TypeScript-only syntax beyond types).
 */
import type { Pool } from '@runner/core'
import { abortableSleep as sleep } from '@runner/core/adapter'
import { ScriptedModel, ScriptedRunner, type ScriptStep } from '@runner/core/test'
import { Redis } from 'ioredis'
import { z } from 'zod'

/** Tells the parent test (over IPC, when there is one) where a chaos task stands. */
function phase(agentId: string, name: 'start' | 'mid' | 'late' | 'done'): void {
  process.send?.({ type: 'phase', agentId, phase: name, pid: process.pid })
}

const effectClients = new Map<string, Redis>()
/** One Redis connection per URL for the chaos task's side effect. */
function effects(url: string): Redis {
  let client = effectClients.get(url)
  if (!client) {
    client = new Redis(url)
    effectClients.set(url, client)
  }
  return client
}

/** Registers the test tasks on `pool` and returns their handles. */
export default function registerTasks(pool: Pool) {
  const echo = pool.task(
    'echo',
    { input: z.object({ text: z.string() }) },
    async ({ input, report, attempt }) => {
      await report(`Echoing ${input.text}`, 50)
      return { text: input.text, upper: input.text.toUpperCase(), attempt, at: new Date(0) }
    },
  )

  const flaky = pool.task(
    'flaky',
    { input: z.object({ failures: z.number().int() }), retries: 2, retryDelayMs: 10, maxRetryDelayMs: 20 },
    async ({ input, attempt }) => {
      if (attempt <= input.failures) throw new Error(`flaky failure ${attempt}`)
      return { attempt }
    },
  )

  const sleeper = pool.task(
    'sleep',
    { input: z.object({ ms: z.number().int(), label: z.string().optional() }) },
    async ({ input, signal, report }) => {
      await report(`Sleeping ${input.ms} ms`, 10)
      await sleep(input.ms, signal)
      return { slept: input.ms, label: input.label ?? null }
    },
  )

  /** Ignores its signal: the pool must still cancel it promptly. */
  const stubborn = pool.task(
    'stubborn',
    { input: z.object({ ms: z.number().int() }) },
    async ({ input, report }) => {
      await report('Not listening', 10)
      await new Promise((resolve) => setTimeout(resolve, input.ms))
      return 'finished anyway'
    },
  )

  /** Attempt 1 hangs (the test kills its worker); every later attempt fails: shows the retry budget. */
  const crashThenFail = pool.task(
    'crash-then-fail',
    { input: z.object({}), retries: 1, retryDelayMs: 10, maxRetryDelayMs: 10 },
    async ({ attempt, signal, report }) => {
      await report(`Attempt ${attempt}`, 10)
      if (attempt === 1) {
        await sleep(120_000, signal)
        return 'never'
      }
      throw new Error(`failed on attempt ${attempt}`)
    },
  )

  /**
   * Runs an agent (a scripted model) inside the task, joined to the task's activity. On attempt 1
   * its first `failures` model requests fail with a retryable error (the runner retries them in
   * place, writing its own retry lines), then it calls `report_status` with `status` if given, and
   * hangs if `hangOnFirstAttempt` (the test kills its worker). Later attempts answer at once.
   */
  const agent = pool.task(
    'agent',
    {
      input: z.object({
        failures: z.number().int().default(0),
        status: z.object({ message: z.string(), percentage: z.number().int().optional() }).optional(),
        hangOnFirstAttempt: z.boolean().default(false),
      }),
      retries: 4,
      retryDelayMs: 10,
      maxRetryDelayMs: 10,
    },
    async ({ agentId, input, attempt }) => {
      const steps: ScriptStep[] = []
      if (attempt === 1) {
        for (let failure = 1; failure <= input.failures; failure++) {
          steps.push({ error: Object.assign(new Error(`model busy ${failure}`), { status: 503 }) })
        }
      }
      if (input.status) steps.push({ toolCalls: [{ name: 'report_status', input: input.status }] })
      if (attempt === 1 && input.hangOnFirstAttempt) steps.push({ hang: true })
      steps.push({ text: `answered on attempt ${attempt}` })
      const runner = new ScriptedRunner({
        activity: pool.activity,
        retry: { initialDelayMs: 10, maxDelayMs: 10 },
      })
      // The task's agentId: the run joins the task (one activity, one attempt counter).
      const result = await runner.run({ model: new ScriptedModel(steps) }, 'Find the answer', { agentId })
      return { attempt, text: result.text }
    },
  )

  /** Three timed steps, then a side effect counted per agentId in Redis (the chaos test). */
  const chaos = pool.task(
    'chaos',
    {
      input: z.object({
        index: z.number().int(),
        stepMs: z.number().int(),
        redisUrl: z.string(),
        effectsKey: z.string(),
      }),
    },
    async ({ agentId, input, signal, report }) => {
      phase(agentId, 'start')
      await report('Step 1/3', 33)
      await sleep(input.stepMs, signal)
      await report('Step 2/3', 66)
      phase(agentId, 'mid')
      await sleep(input.stepMs, signal)
      phase(agentId, 'late')
      await sleep(input.stepMs, signal)
      await effects(input.redisUrl).hincrby(input.effectsKey, agentId, 1)
      phase(agentId, 'done')
      return { index: input.index, pid: process.pid }
    },
  )

  return { echo, flaky, sleeper, stubborn, crashThenFail, agent, chaos }
}
