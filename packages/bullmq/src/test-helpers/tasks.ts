/**
 * The shared task module of the tests: the same file runs in-process on `localEngine` and
 * `bullmqEngine` (vitest imports it) and in child worker processes (`runner-worker` loads it with
 * Node's type stripping, so: no relative imports, no TypeScript-only syntax beyond types).
 */
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import { defineTool, type Pool } from '@runner/core'
import { childRuns, abortableSleep as sleep } from '@runner/core/adapter'
import {
  type ScriptedCall,
  ScriptedModel,
  ScriptedRunner,
  type ScriptSource,
  type ScriptStep,
} from '@runner/core/test'
import { Redis } from 'ioredis'
import { z } from 'zod'

/** Tells the parent test (over IPC, when there is one) where a chaos task stands. */
function phase(agentId: string, name: 'start' | 'mid' | 'late' | 'done' | 'gate'): void {
  process.send?.({ type: 'phase', agentId, phase: name, pid: process.pid })
}

/** Whether this module runs in a `runner-worker` child that a test drives over IPC. */
const ipc = process.env.TEST_WORKER_IPC === '1' && typeof process.send === 'function'

const gateWaiters = new Map<string, PromiseWithResolvers<void>>()
const gateArrivals = new Map<string, PromiseWithResolvers<void>>()
let gateListener = false

function gateOf(map: Map<string, PromiseWithResolvers<void>>, agentId: string): PromiseWithResolvers<void> {
  let gate = map.get(agentId)
  if (!gate) {
    gate = Promise.withResolvers<void>()
    map.set(agentId, gate)
  }
  return gate
}

/**
 * Holds a `gated` task at the end of its handler until the test opens its gate: in this process
 * (`openGate`), or in a worker process over IPC (`{ type: 'open-gate', agentId }`).
 */
async function gate(agentId: string): Promise<void> {
  if (ipc && !gateListener) {
    gateListener = true
    process.on('message', (message: { type?: string; agentId?: string }) => {
      if (message?.type === 'open-gate' && typeof message.agentId === 'string') openGate(message.agentId)
    })
    // The IPC channel must not keep a worker alive on shutdown.
    process.channel?.unref()
  }
  gateOf(gateArrivals, agentId).resolve()
  if (ipc) phase(agentId, 'gate')
  await gateOf(gateWaiters, agentId).promise
}

/** Resolves once the `gated` task `agentId` waits at its gate (in this process). */
export function gateReached(agentId: string): Promise<void> {
  return gateOf(gateArrivals, agentId).promise
}

/** Lets the `gated` task `agentId` return (in this process). */
export function openGate(agentId: string): void {
  gateOf(gateWaiters, agentId).resolve()
}

/** A script by turn: the model's answer on turn n is `steps[n - 1]`, in any process, resumed or not. */
function turnScript(steps: readonly ScriptStep[]): ScriptSource {
  return {
    next(signal: AbortSignal, request: ScriptedCall): Promise<ScriptStep> {
      const step = steps[request.turn - 1]
      if (!step) throw new Error(`turnScript: no step for turn ${request.turn} of ${steps.length}`)
      // A model of one step answers as ScriptedModel does (its delay, hang, error).
      return new ScriptedModel([step]).next(signal, request)
    },
  }
}

/** Where a side-effecting tool records its executions: Redis counts per idempotency key. */
const effectSink = z.object({ redisUrl: z.string(), key: z.string() })

/** `pg`, borrowed from @runner/postgres (this package does not depend on it). */
interface PgPool {
  query(sql: string, values?: unknown[]): Promise<unknown>
}
const pgPools = new Map<string, PgPool>()
function pgPool(url: string): PgPool {
  let pool = pgPools.get(url)
  if (!pool) {
    const pg = createRequire(import.meta.resolve('@runner/postgres'))('pg') as {
      Pool: new (options: Record<string, unknown>) => PgPool
    }
    pool = new pg.Pool({ connectionString: url, max: 4, idleTimeoutMillis: 1000, allowExitOnIdle: true })
    pgPools.set(url, pool)
  }
  return pool
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

  /** Waits at its gate (see `gate`) at the end of its handler, then returns its input. */
  const gated = pool.task('gated', { input: z.object({ value: z.string() }) }, async ({ agentId, input }) => {
    await gate(agentId)
    return { value: input.value }
  })

  /**
   * A durable agent whose one tool call needs a person's approval: the task waits for it, then
   * sends (after `sendMs`; counted per idempotency key in Redis), reports `status` if given, and
   * answers.
   */
  const approval = pool.task(
    'approval',
    {
      input: z.object({
        to: z.string(),
        effects: effectSink,
        sendMs: z.number().int().default(0),
        status: z.object({ message: z.string(), percentage: z.number().int() }).optional(),
      }),
    },
    async ({ agentId, input }) => {
      const sendEmail = defineTool({
        name: 'send_email',
        description: 'Sends an email',
        inputSchema: z.object({ to: z.string() }),
        needsApproval: true,
        execute: async ({ to }, { idempotencyKey, signal }) => {
          if (input.sendMs > 0) await sleep(input.sendMs, signal)
          await effects(input.effects.redisUrl).hincrby(input.effects.key, idempotencyKey, 1)
          return `sent to ${to}`
        },
      })
      const steps: ScriptStep[] = [
        { toolCalls: [{ name: 'send_email', input: { to: input.to }, id: 'call-1' }] },
      ]
      if (input.status)
        steps.push({ toolCalls: [{ name: 'report_status', input: input.status, id: 'status-1' }] })
      steps.push({ text: `Sent to ${input.to}.` })
      const runner = new ScriptedRunner({ activity: pool.activity })
      const result = await runner.run({ model: turnScript(steps), tools: [sendEmail] }, `Email ${input.to}`, {
        agentId,
      })
      return result.text ?? null
    },
  )

  /**
   * The chaos agent: a durable run of `turns` tool turns (`calls` calls each, the calls of turn
   * `approvalTurn` needing approval), then an answer. Each tool call works for `stepMs / 2`, then
   * inserts one row per execution into `<schema>.executions` (PostgreSQL), then returns: a kill
   * between the insert and the journal write is the one window in which a call runs twice.
   */
  const agentRun = pool.task(
    'agent-run',
    {
      input: z.object({
        index: z.number().int(),
        turns: z.number().int().min(1),
        calls: z.number().int().min(1).default(1),
        approvalTurn: z.number().int().optional(),
        stepMs: z.number().int(),
        executions: z.object({ url: z.string(), schema: z.string() }),
      }),
    },
    async ({ agentId, input }) => {
      const execute = async (
        { step }: { step: string },
        context: { idempotencyKey: string; signal: AbortSignal },
      ) => {
        await sleep(Math.ceil(input.stepMs / 2), context.signal)
        const execution = randomUUID()
        await pgPool(input.executions.url).query(
          `INSERT INTO "${input.executions.schema}".executions (key, execution, pid) VALUES ($1, $2, $3)`,
          [context.idempotencyKey, execution, process.pid],
        )
        return `step ${step} done (${execution})`
      }
      const stepSchema = z.object({ step: z.string() })
      const tools = [
        defineTool({ name: 'effect', description: 'A side effect', inputSchema: stepSchema, execute }),
        defineTool({
          name: 'guarded_effect',
          description: 'A side effect a person approves',
          inputSchema: stepSchema,
          needsApproval: true,
          execute,
        }),
      ]
      const steps: ScriptStep[] = []
      for (let turn = 1; turn <= input.turns; turn++) {
        const toolCalls = []
        for (let call = 1; call <= input.calls; call++) {
          toolCalls.push({
            name: turn === input.approvalTurn ? 'guarded_effect' : 'effect',
            input: { step: `${turn}.${call}` },
            id: `t${turn}c${call}`,
          })
        }
        steps.push({ toolCalls, delayMs: input.stepMs })
      }
      steps.push({ text: `run ${input.index} done`, delayMs: input.stepMs })
      const runner = new ScriptedRunner({ activity: pool.activity })
      const result = await runner.run({ model: turnScript(steps), tools }, `Run ${input.index}`, { agentId })
      return { index: input.index, text: result.text ?? null }
    },
  )

  /**
   * Tasks with a concurrency key (`input.tenant`): `fair` without a limit, `locked` with limit 1.
   * Each records its start and end (`{ tenant, agentId, phase, pid, at }`) on the Redis list
   * `input.sink`, sleeps `ms`, and on attempt 1 with `hang` hangs (the test kills its worker).
   */
  const fairInput = z.object({
    tenant: z.string(),
    ms: z.number().int(),
    sink: effectSink,
    hang: z.boolean().default(false),
  })
  type FairInput = z.output<typeof fairInput>
  const fairHandler = async ({
    agentId,
    input,
    signal,
    attempt,
  }: {
    agentId: string
    input: FairInput
    signal: AbortSignal
    attempt: number
  }) => {
    const record = (phase: 'start' | 'end') =>
      effects(input.sink.redisUrl).rpush(
        input.sink.key,
        JSON.stringify({ tenant: input.tenant, agentId, phase, pid: process.pid, at: Date.now() }),
      )
    await record('start')
    if (input.hang && attempt === 1) {
      phase(agentId, 'start')
      await sleep(120_000, signal)
    }
    await sleep(input.ms, signal)
    await record('end')
    return { tenant: input.tenant, attempt }
  }
  const fair = pool.task(
    'fair',
    { input: fairInput, concurrency: { key: (input) => input.tenant } },
    fairHandler,
  )
  const locked = pool.task(
    'locked',
    {
      input: fairInput,
      retries: 1,
      retryDelayMs: 10,
      maxRetryDelayMs: 10,
      concurrency: { key: (input) => input.tenant, limit: 1 },
    },
    fairHandler,
  )

  /** Enqueues `children` sleep tasks as its children (they run on any worker) and waits for them all. */
  const family = pool.task(
    'family',
    { input: z.object({ children: z.number().int(), ms: z.number().int() }) },
    async ({ input }) => {
      const children = childRuns()
      for (let index = 0; index < input.children; index++)
        await children.enqueue(pool, 'sleep', { ms: input.ms, label: `child ${index}` })
      return { results: await children.all() }
    },
  )

  return {
    echo,
    flaky,
    sleeper,
    stubborn,
    crashThenFail,
    agent,
    chaos,
    gated,
    approval,
    agentRun,
    fair,
    locked,
    family,
  }
}
