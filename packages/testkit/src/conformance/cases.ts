import {
  type Activity,
  type ActivityTracker,
  type AnyToolDefinition,
  CapabilityUnsupportedError,
  createActivityTracker,
  type LifecycleMessages,
  MaxTurnsExceededError,
  RunCanceledError,
  type RunEvent,
  type RunHooks,
  type RunOptions,
  type RunResult,
  RunTimeoutError,
} from '@runner/core'
import { expect } from 'vitest'
import type { ScenarioPlayer } from '../scenario/player.js'
import { type Scenario, scenario } from '../scenario/scenario.js'
import { searchTool, waitForAbortTool } from './suite-tools.js'
import type { ConformanceFeatures, RunnerConformanceOptions, RunnerHarness } from './types.js'

/** What every case gets: a way to make a harness on a fresh tracker, and the declared features. */
export interface CaseContext {
  features: ConformanceFeatures
  /** A fresh harness; `hooks` become runner-level hooks. Closed by the suite after the case. */
  harness(options?: { hooks?: RunHooks; messages?: Partial<LifecycleMessages> }): Promise<{
    harness: RunnerHarness
    activity: ActivityTracker
  }>
  /** Limit for one run to settle, in ms. */
  settleMs: number
}

/** One behaviour of the contract, checked against any runner. */
export interface ConformanceCase {
  /** Stable id (`lifecycle.success`), used by the test kit's own tests. */
  id: string
  /** Group shown as a `describe` block. */
  group: string
  title: string
  /** Runs only when this feature is declared; `missing:<feature>` runs only when it is declared missing. */
  when?: keyof ConformanceFeatures | `missing:${keyof ConformanceFeatures}`
  run(context: CaseContext): Promise<void>
}

const prompt = 'Tell me about otters.'
const answer = 'Otters hold hands while they sleep.'

/** report -> search -> answer, with distinct usages per turn. */
function researchScenario(): Scenario {
  return scenario()
    .toolCall('report_status', { message: 'Searching the web', percentage: 30 })
    .usage({ inputTokens: 11, outputTokens: 3 })
    .toolCall('search', { query: 'otters' })
    .usage({ inputTokens: 23, outputTokens: 5 })
    .text(answer)
    .usage({ inputTokens: 37, outputTokens: 13 })
}
const researchUsage = { inputTokens: 71, outputTokens: 21, totalTokens: 92 }

/** Rejects with a clear message when `promise` does not settle in time (a runner that hangs). */
async function settles<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: did not settle within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, deadline])
  } finally {
    clearTimeout(timer)
  }
}

async function errorOf(promise: Promise<unknown>, ms: number, what: string): Promise<unknown> {
  try {
    await settles(promise, ms, what)
  } catch (error) {
    return error
  }
  throw new Error(`${what}: expected the run to fail, but it succeeded`)
}

/** Waits until `condition` holds, failing with `what` after `ms`. */
async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

async function drain(stream: AsyncIterable<RunEvent>): Promise<RunEvent[]> {
  const events: RunEvent[] = []
  for await (const event of stream) events.push(event)
  return events
}

function lifecycleOf(activity: Activity): string[] {
  return activity.log.map((entry) => `${entry.status}: ${entry.message}`)
}

async function start(
  harness: RunnerHarness,
  script: Scenario,
  tools: AnyToolDefinition[],
): Promise<{ agent: unknown; player: ScenarioPlayer }> {
  return harness.agent(script, tools)
}

/** The model call's signal (which the driver gives to `player.next`) must abort. */
async function expectCallAborted(player: ScenarioPlayer, call: number, ms: number): Promise<void> {
  const signal = player.calls[call]?.signal
  expect(
    signal,
    'the driver must pass the model call’s signal to player.next(request, { signal })',
  ).toBeDefined()
  await until(() => signal?.aborted === true, ms, 'the model call’s signal must abort')
}

function expectNoneRunning(activity: Activity, what: string): void {
  expect(activity.status, `${what}: the activity must not be left running`).not.toBe('running')
  expect(activity.status, `${what}: the activity must not be left queued`).not.toBe('queued')
}

export const conformanceCases: ConformanceCase[] = [
  {
    id: 'lifecycle.success',
    group: 'lifecycle',
    title: 'success: queued -> running -> progress -> complete at 100%, with text, turns, usage and attempts',
    async run({ harness: make, settleMs }) {
      const { harness, activity } = await make()
      const search = searchTool()
      const { agent, player } = await start(harness, researchScenario(), [search.tool])
      const result = await settles(
        harness.runner.run(agent, harness.input(prompt), { agentId: 'conf-success' }),
        settleMs,
        'run',
      )
      expect(result.status).toBe('complete')
      expect(result.agentId).toBe('conf-success')
      expect(result.text.trim()).toBe(answer)
      expect(result.turns).toBe(3)
      expect(result.attempts).toBe(1)
      expect(result.usage).toMatchObject(researchUsage)
      expect(result.durationMs).toBeGreaterThanOrEqual(0)
      expect(search.queries).toEqual(['otters'])
      player.assertDone()
      const detail = await activity.detail('conf-success')
      expect(detail.status).toBe('complete')
      expect(detail.percentage).toBe(100)
      expect(detail.log[0]?.status).toBe('queued')
      expect(detail.log.at(-1)).toMatchObject({ status: 'complete', percentage: 100 })
      expect(detail.log.slice(1, -1).every((entry) => entry.status === 'running')).toBe(true)
      expect(
        detail.log.some((entry) => entry.message === 'Searching the web' && entry.percentage === 30),
      ).toBe(true)
    },
  },
  {
    id: 'lifecycle.failure',
    group: 'lifecycle',
    title: 'failure: the activity ends in error with the configured message and the error is rethrown',
    async run({ harness: make, settleMs }) {
      const { harness, activity } = await make({ messages: { error: () => 'Conformance failure message' } })
      const { agent } = await start(harness, scenario().error(400, 'Bad request from the model'), [])
      const error = await errorOf(
        harness.runner.run(agent, harness.input(prompt), { agentId: 'conf-failure' }),
        settleMs,
        'run',
      )
      expect(error).toBeInstanceOf(Error)
      expect(RunCanceledError.isInstance(error)).toBe(false)
      const detail = await activity.detail('conf-failure')
      expect(detail.status).toBe('error')
      expect(detail.message).toBe('Conformance failure message')
    },
  },
  {
    id: 'report-status.updates',
    group: 'report_status',
    title: 'report_status updates the activity and emits a status-update',
    async run({ harness: make, settleMs }) {
      const { harness, activity } = await make()
      const script = scenario()
        .toolCall('report_status', { message: 'Reading sources', percentage: 45 })
        .text('done')
      const { agent } = await start(harness, script, [])
      const events: RunEvent[] = []
      const hooks: RunHooks = {
        onStatusUpdate: (event) => void events.push({ type: 'status-update', ...event }),
      }
      await settles(
        harness.runner.run(agent, harness.input(prompt), { agentId: 'conf-report', hooks }),
        settleMs,
        'run',
      )
      const detail = await activity.detail('conf-report')
      expect(detail.log.some((entry) => entry.message === 'Reading sources' && entry.percentage === 45)).toBe(
        true,
      )
      expect(
        events.some((event) => event.type === 'status-update' && event.message === 'Reading sources'),
      ).toBe(true)
    },
  },
  {
    id: 'report-status.bad-arguments',
    group: 'report_status',
    title: 'bad report_status arguments give the model an error result and the run goes on',
    async run({ harness: make, settleMs }) {
      const { harness, activity } = await make()
      const script = scenario()
        .toolCall('report_status', { message: '', percentage: 250 })
        .toolCall('report_status', { percentage: 'half' })
        .text('finished anyway')
      const { agent, player } = await start(harness, script, [])
      const ended: Array<{ isError: boolean; toolName: string }> = []
      const result = await settles(
        harness.runner.run(agent, harness.input(prompt), {
          agentId: 'conf-bad-report',
          hooks: { onToolCallEnd: (event) => void ended.push(event) },
        }),
        settleMs,
        'run',
      )
      expect(result.text.trim()).toBe('finished anyway')
      player.assertDone()
      expect(
        ended.filter((event) => event.toolName === 'report_status').map((event) => event.isError),
      ).toEqual([true, true])
      const detail = await activity.detail('conf-bad-report')
      expect(detail.status).toBe('complete')
      expect(
        detail.log.every(
          (entry) => entry.percentage === null || (entry.percentage >= 0 && entry.percentage <= 100),
        ),
      ).toBe(true)
      expect(detail.log.some((entry) => entry.message === '')).toBe(false)
    },
  },
  {
    id: 'streaming.order',
    group: 'streaming',
    title:
      'events come in order: run-start first, deltas inside turns, tool-call before tool-result, run-end last',
    when: 'streaming',
    async run({ harness: make, settleMs }) {
      const { harness } = await make()
      const search = searchTool()
      const { agent } = await start(harness, researchScenario(), [search.tool])
      const stream = harness.runner.runStreamed(agent, harness.input(prompt))
      const events = await settles(drain(stream), settleMs, 'stream')
      const result = await stream.result
      const types = events.map((event) => event.type)
      expect(types[0]).toBe('run-start')
      expect(types.at(-1)).toBe('run-end')
      expect(types.filter((type) => type === 'run-end')).toHaveLength(1)
      const text = events.flatMap((event) => (event.type === 'text-delta' ? [event.text] : [])).join('')
      expect(text.trim()).toBe(answer)
      expect(result.text.trim()).toBe(answer)
      expect(types.lastIndexOf('text-delta')).toBeLessThan(types.indexOf('run-end'))
      const calls = events.filter((event) => event.type === 'tool-call')
      const results = events.filter((event) => event.type === 'tool-result')
      expect(calls.map((event) => event.toolName)).toEqual(['report_status', 'search'])
      for (const call of calls) {
        const resultIndex = events.findIndex(
          (event) => event.type === 'tool-result' && event.toolCallId === call.toolCallId,
        )
        expect(resultIndex, `tool-result of ${call.toolName}`).toBeGreaterThan(events.indexOf(call))
      }
      expect(results).toHaveLength(2)
      expect(
        events.some((event) => event.type === 'status-update' && event.message === 'Searching the web'),
      ).toBe(true)
      const statuses = events.flatMap((event) => (event.type === 'status-update' ? [event.status] : []))
      expect(statuses.at(-1)).toBe('complete')
      const turnStarts = types.filter((type) => type === 'turn-start').length
      expect(turnStarts).toBe(3)
    },
  },
  {
    id: 'streaming.run-equals-drained-stream',
    group: 'streaming',
    title: 'run() and a drained runStreamed() give the same result and the same activity log',
    when: 'streaming',
    async run({ harness: make, settleMs }) {
      const { harness, activity } = await make()
      const first = await start(harness, researchScenario(), [searchTool().tool])
      const fromRun = await settles(
        harness.runner.run(first.agent, harness.input(prompt), { agentId: 'conf-run' }),
        settleMs,
        'run',
      )
      const second = await start(harness, researchScenario(), [searchTool().tool])
      const stream = harness.runner.runStreamed(second.agent, harness.input(prompt), {
        agentId: 'conf-stream',
      })
      await settles(drain(stream), settleMs, 'stream')
      const fromStream = await stream.result
      const comparable = (result: RunResult) => [
        result.text.trim(),
        result.turns,
        result.attempts,
        result.usage,
        result.status,
      ]
      expect(comparable(fromStream)).toEqual(comparable(fromRun))
      expect(lifecycleOf(await activity.detail('conf-stream'))).toEqual(
        lifecycleOf(await activity.detail('conf-run')),
      )
    },
  },
  {
    id: 'cancel.before-start',
    group: 'cancellation',
    title: 'a signal aborted before start: RunCanceledError, activity canceled, no model call',
    async run({ harness: make, settleMs }) {
      const { harness, activity } = await make()
      const { agent, player } = await start(harness, scenario().text('never'), [])
      const controller = new AbortController()
      controller.abort()
      const error = await errorOf(
        harness.runner.run(agent, harness.input(prompt), {
          agentId: 'conf-cancel-0',
          signal: controller.signal,
        }),
        settleMs,
        'run with an aborted signal',
      )
      expect(RunCanceledError.isInstance(error), `expected RunCanceledError, got ${String(error)}`).toBe(true)
      expect(player.calls).toHaveLength(0)
      expect((await activity.detail('conf-cancel-0')).status).toBe('canceled')
    },
  },
  {
    id: 'cancel.during-model-call',
    group: 'cancellation',
    title: 'aborting during a model call stops it: RunCanceledError, activity canceled',
    async run({ harness: make, settleMs }) {
      const { harness, activity } = await make()
      const { agent, player } = await start(harness, scenario().hang(), [])
      const controller = new AbortController()
      const running = harness.runner.run(agent, harness.input(prompt), {
        agentId: 'conf-cancel-1',
        signal: controller.signal,
      })
      running.catch(() => {})
      await until(() => player.calls.length === 1, settleMs, 'the model call')
      controller.abort()
      const error = await errorOf(running, settleMs, 'run after abort during a model call')
      expect(RunCanceledError.isInstance(error), `expected RunCanceledError, got ${String(error)}`).toBe(true)
      await expectCallAborted(player, 0, settleMs)
      const detail = await activity.detail('conf-cancel-1')
      expect(detail.status).toBe('canceled')
    },
  },
  {
    id: 'cancel.inside-tool',
    group: 'cancellation',
    title: 'aborting inside a tool reaches the tool’s signal: RunCanceledError, activity canceled',
    async run({ harness: make, settleMs }) {
      const { harness, activity } = await make()
      const waiting = waitForAbortTool()
      const { agent } = await start(harness, scenario().toolCall('wait_for_abort', {}).text('unreachable'), [
        waiting.tool,
      ])
      const controller = new AbortController()
      const running = harness.runner.run(agent, harness.input(prompt), {
        agentId: 'conf-cancel-2',
        signal: controller.signal,
      })
      running.catch(() => {})
      await until(() => waiting.state.started, settleMs, 'the tool call')
      controller.abort()
      const error = await errorOf(running, settleMs, 'run after abort inside a tool')
      expect(RunCanceledError.isInstance(error), `expected RunCanceledError, got ${String(error)}`).toBe(true)
      expect(waiting.state.sawAbort, 'the tool’s signal must abort').toBe(true)
      expect((await activity.detail('conf-cancel-2')).status).toBe('canceled')
    },
  },
  {
    id: 'cancel.timeout',
    group: 'cancellation',
    title: 'timeoutMs stops a hanging model call: RunTimeoutError, activity error',
    async run({ harness: make, settleMs }) {
      const { harness, activity } = await make()
      const { agent, player } = await start(harness, scenario().hang(), [])
      const error = await errorOf(
        harness.runner.run(agent, harness.input(prompt), { agentId: 'conf-timeout', timeoutMs: 150 }),
        settleMs,
        'run with timeoutMs',
      )
      expect(RunTimeoutError.isInstance(error), `expected RunTimeoutError, got ${String(error)}`).toBe(true)
      await expectCallAborted(player, 0, settleMs)
      const detail = await activity.detail('conf-timeout')
      expect(detail.status).toBe('error')
      expect(detail.message).toBe(
        typeof activity.messages.timedOut === 'function'
          ? activity.messages.timedOut(150)
          : activity.messages.timedOut,
      )
    },
  },
  {
    id: 'cancel.consumer-break',
    group: 'cancellation',
    title: 'a stream consumer that stops reading cancels the run',
    when: 'streaming',
    async run({ harness: make, settleMs }) {
      const { harness, activity } = await make()
      const script = scenario().toolCall('report_status', { message: 'Working', percentage: 10 }).hang()
      const { agent } = await start(harness, script, [])
      const stream = harness.runner.runStreamed(agent, harness.input(prompt), { agentId: 'conf-break' })
      await settles(
        (async () => {
          for await (const event of stream) if (event.type === 'tool-result') break
        })(),
        settleMs,
        'reading until the first tool result',
      )
      const error = await errorOf(stream.result, settleMs, 'result after the consumer stopped')
      expect(RunCanceledError.isInstance(error), `expected RunCanceledError, got ${String(error)}`).toBe(true)
      expect((await activity.detail('conf-break')).status).toBe('canceled')
    },
  },
  {
    id: 'retry.then-success',
    group: 'retries',
    title: 'a transient failure is retried: logged on the activity, usage summed over attempts',
    async run({ harness: make, settleMs }) {
      const { harness, activity } = await make()
      const script = scenario()
        .error(500, 'Scripted server error')
        .text(answer)
        .usage({ inputTokens: 9, outputTokens: 4 })
      const { agent, player } = await start(harness, script, [])
      const retries: number[] = []
      const result = await settles(
        harness.runner.run(agent, harness.input(prompt), {
          agentId: 'conf-retry',
          retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 5 },
          hooks: { onRetry: ({ attempt }) => void retries.push(attempt) },
        }),
        settleMs,
        'run with retry',
      )
      expect(result.text.trim()).toBe(answer)
      expect(result.attempts).toBe(2)
      expect(retries).toEqual([1])
      expect(result.usage).toMatchObject({ inputTokens: 9, outputTokens: 4, totalTokens: 13 })
      player.assertDone()
      const detail = await activity.detail('conf-retry')
      expect(detail.status).toBe('complete')
      expect(detail.log.some((entry) => entry.message.startsWith('Retry 1/1:'))).toBe(true)
    },
  },
  {
    id: 'max-turns.error',
    group: 'max turns',
    title:
      'without recovery, reaching maxTurns throws MaxTurnsExceededError after exactly maxTurns model calls',
    async run({ harness: make, settleMs }) {
      const { harness, activity } = await make()
      const script = scenario()
        .toolCall('search', { query: 'a' })
        .toolCall('search', { query: 'b' })
        .toolCall('search', { query: 'c' })
      const { agent, player } = await start(harness, script, [searchTool().tool])
      const error = await errorOf(
        harness.runner.run(agent, harness.input(prompt), { agentId: 'conf-max-turns', maxTurns: 2 }),
        settleMs,
        'run with maxTurns: 2',
      )
      expect(
        MaxTurnsExceededError.isInstance(error),
        `expected MaxTurnsExceededError, got ${String(error)}`,
      ).toBe(true)
      expect(player.calls).toHaveLength(2)
      expect((await activity.detail('conf-max-turns')).status).toBe('error')
    },
  },
  {
    id: 'max-turns.recovery',
    group: 'max turns',
    title: 'with maxTurnsRecovery, the model is asked to wrap up and its answer is returned',
    when: 'maxTurnsRecovery',
    async run({ harness: make, settleMs }) {
      const { harness, activity } = await make()
      const script = scenario()
        .toolCall('search', { query: 'a' })
        .toolCall('search', { query: 'b' })
        .text('Summary so far.')
      const { agent, player } = await start(harness, script, [searchTool().tool])
      const result = await settles(
        harness.runner.run(agent, harness.input(prompt), {
          agentId: 'conf-recovery',
          maxTurns: 2,
          maxTurnsRecovery: true,
        }),
        settleMs,
        'run with maxTurnsRecovery',
      )
      expect(result.text.trim()).toBe('Summary so far.')
      expect(result.maxTurnsReached).toBe(true)
      player.assertDone()
      const wrapUpRequest = player.calls[2]?.request
      expect(wrapUpRequest, 'the driver must pass each request to player.next(request)').toBeDefined()
      expect(JSON.stringify(wrapUpRequest), 'the wrap-up request carries prompts.wrapUp').toContain(
        JSON.stringify(harness.runner.prompts.wrapUp).slice(1, 40),
      )
      if (harness.toolNamesOf)
        expect(harness.toolNamesOf(wrapUpRequest), 'the wrap-up turn offers no tools').toEqual([])
      const detail = await activity.detail('conf-recovery')
      expect(detail.status).toBe('complete')
      expect(detail.log.length, 'the wrap-up is logged on the activity').toBeGreaterThan(3)
    },
  },
  {
    id: 'hooks.order',
    group: 'hooks',
    title: 'runner hooks fire before run hooks, in lifecycle order',
    async run({ harness: make, settleMs }) {
      const calls: string[] = []
      const record = (prefix: string): RunHooks => ({
        onRunStart: () => void calls.push(`${prefix}:runStart`),
        onModelCallStart: () => void calls.push(`${prefix}:modelStart`),
        onModelCallEnd: () => void calls.push(`${prefix}:modelEnd`),
        onToolCallEnd: ({ toolName }) => void calls.push(`${prefix}:toolEnd:${toolName}`),
        onStatusUpdate: ({ status }) => void calls.push(`${prefix}:status:${status}`),
        onRunEnd: () => void calls.push(`${prefix}:runEnd`),
      })
      const { harness } = await make({ hooks: record('runner') })
      const { agent } = await start(harness, scenario().toolCall('search', { query: 'q' }).text('done'), [
        searchTool().tool,
      ])
      await settles(
        harness.runner.run(agent, harness.input(prompt), { hooks: record('run') }),
        settleMs,
        'run',
      )
      expect(calls).toEqual([
        'runner:status:queued',
        'run:status:queued',
        'runner:status:running',
        'run:status:running',
        'runner:runStart',
        'run:runStart',
        'runner:modelStart',
        'run:modelStart',
        'runner:modelEnd',
        'run:modelEnd',
        'runner:toolEnd:search',
        'run:toolEnd:search',
        'runner:modelStart',
        'run:modelStart',
        'runner:modelEnd',
        'run:modelEnd',
        'runner:runEnd',
        'run:runEnd',
        'runner:status:complete',
        'run:status:complete',
      ])
    },
  },
  {
    id: 'hooks.deny',
    group: 'hooks',
    title: 'onToolCallStart can deny a call: the tool never runs and the model reads an error result',
    when: 'toolHooks',
    async run({ harness: make, settleMs }) {
      const { harness } = await make({
        hooks: {
          onToolCallStart: ({ toolName }) => (toolName === 'search' ? { deny: 'not allowed' } : undefined),
        },
      })
      const search = searchTool()
      const { agent, player } = await start(
        harness,
        scenario().toolCall('search', { query: 'secret' }).text('ok'),
        [search.tool],
      )
      const ended: Array<{ isError: boolean; output: unknown }> = []
      const result = await settles(
        harness.runner.run(agent, harness.input(prompt), {
          hooks: { onToolCallEnd: (event) => void ended.push(event) },
        }),
        settleMs,
        'run',
      )
      expect(result.text.trim()).toBe('ok')
      expect(search.queries).toEqual([])
      expect(ended).toHaveLength(1)
      expect(ended[0]?.isError).toBe(true)
      expect(String(ended[0]?.output)).toContain('not allowed')
      player.assertDone()
    },
  },
  {
    id: 'hooks.rewrite',
    group: 'hooks',
    title: 'onToolCallStart can rewrite a call’s input',
    when: 'toolHooks',
    async run({ harness: make, settleMs }) {
      const { harness } = await make()
      const search = searchTool()
      const { agent } = await start(
        harness,
        scenario().toolCall('search', { query: 'original' }).text('ok'),
        [search.tool],
      )
      await settles(
        harness.runner.run(agent, harness.input(prompt), {
          hooks: { onToolCallStart: () => ({ input: { query: 'rewritten' } }) },
        }),
        settleMs,
        'run',
      )
      expect(search.queries).toEqual(['rewritten'])
    },
  },
  {
    id: 'usage.summed',
    group: 'usage and trajectory',
    title: 'usage is summed over turns and reported per turn',
    async run({ harness: make, settleMs, features }) {
      const { harness } = await make()
      const { agent } = await start(harness, researchScenario(), [searchTool().tool])
      if (features.streaming) {
        const stream = harness.runner.runStreamed(agent, harness.input(prompt))
        const events = await settles(drain(stream), settleMs, 'stream')
        const result = await stream.result
        expect(result.usage).toMatchObject(researchUsage)
        const perTurn = events.flatMap((event) =>
          event.type === 'turn-end' ? [event.usage.totalTokens] : [],
        )
        expect(perTurn.reduce((sum, value) => sum + value, 0)).toBe(researchUsage.totalTokens)
      } else {
        const result = await settles(harness.runner.run(agent, harness.input(prompt)), settleMs, 'run')
        expect(result.usage).toMatchObject(researchUsage)
      }
    },
  },
  {
    id: 'trajectory.steps',
    group: 'usage and trajectory',
    title: 'the trajectory records every model call and tool call, and is saved in the store',
    async run({ harness: make, settleMs }) {
      const { harness, activity } = await make()
      const { agent } = await start(harness, researchScenario(), [searchTool().tool])
      const result = await settles(
        harness.runner.run(agent, harness.input(prompt), { agentId: 'conf-trajectory' }),
        settleMs,
        'run',
      )
      const steps = result.trajectory?.steps ?? []
      expect(steps.filter((step) => step.kind === 'model-call')).toHaveLength(3)
      const searchStep = steps.find((step) => step.kind === 'tool-call' && step.data.toolName === 'search')
      expect(searchStep?.data).toMatchObject({
        input: { query: 'otters' },
        output: 'results for otters',
        isError: false,
      })
      expect(steps.some((step) => step.kind === 'status')).toBe(true)
      expect(steps.map((step) => step.index)).toEqual(steps.map((_, index) => index))
      expect(await activity.trajectory('conf-trajectory')).toEqual(result.trajectory)
    },
  },
  {
    id: 'concurrency.isolated',
    group: 'concurrency',
    title: 'two concurrent runs never mix their activities',
    async run({ harness: make, settleMs }) {
      const { harness, activity } = await make()
      const scriptFor = (name: string) =>
        scenario()
          .toolCall('report_status', { message: `Working on ${name}`, percentage: 50 })
          .slow(20)
          .text(`Answer ${name}`)
      const a = await start(harness, scriptFor('A'), [])
      const b = await start(harness, scriptFor('B'), [])
      const [resultA, resultB] = await settles(
        Promise.all([
          harness.runner.run(a.agent, harness.input(prompt), { agentId: 'conf-a' }),
          harness.runner.run(b.agent, harness.input(prompt), { agentId: 'conf-b' }),
        ]),
        settleMs,
        'two concurrent runs',
      )
      expect(resultA.text.trim()).toBe('Answer A')
      expect(resultB.text.trim()).toBe('Answer B')
      const logA = lifecycleOf(await activity.detail('conf-a')).join('\n')
      const logB = lifecycleOf(await activity.detail('conf-b')).join('\n')
      expect(logA).toContain('Working on A')
      expect(logA).not.toContain('Working on B')
      expect(logB).toContain('Working on B')
      expect(logB).not.toContain('Working on A')
    },
  },
  {
    id: 'lifecycle.never-left-running',
    group: 'lifecycle',
    title: 'no exit path leaves an activity running (malformed answer, cut stream, unknown tool)',
    async run({ harness: make, settleMs }) {
      const { harness, activity } = await make()
      const cases: Array<[string, Scenario]> = [
        ['conf-malformed', scenario().malformed()],
        ['conf-cut', scenario().cutStream()],
        ['conf-unknown-tool', scenario().toolCall('no_such_tool', {}).text('handled')],
      ]
      for (const [agentId, script] of cases) {
        const { agent } = await start(harness, script, [])
        await settles(
          harness.runner.run(agent, harness.input(prompt), { agentId }).catch(() => undefined),
          settleMs,
          agentId,
        )
        expectNoneRunning(await activity.detail(agentId), agentId)
      }
      expect((await activity.detail('conf-unknown-tool')).status).toBe('complete')
    },
  },
  {
    id: 'capability.streaming',
    group: 'capabilities',
    title: 'declared without streaming: runStreamed throws CapabilityUnsupportedError',
    when: 'missing:streaming',
    async run({ harness: make }) {
      const { harness } = await make()
      const { agent } = await start(harness, scenario().text('x'), [])
      let error: unknown
      try {
        const stream = harness.runner.runStreamed(agent, harness.input(prompt))
        await stream.result
      } catch (caught) {
        error = caught
      }
      expect(
        CapabilityUnsupportedError.isInstance(error),
        `expected CapabilityUnsupportedError, got ${String(error)}`,
      ).toBe(true)
    },
  },
  {
    id: 'capability.max-turns-recovery',
    group: 'capabilities',
    title: 'declared without maxTurnsRecovery: a run asking for it throws CapabilityUnsupportedError',
    when: 'missing:maxTurnsRecovery',
    async run({ harness: make, settleMs }) {
      const { harness } = await make()
      const { agent } = await start(harness, scenario().text('x'), [])
      const error = await errorOf(
        harness.runner.run(agent, harness.input(prompt), { maxTurnsRecovery: true }),
        settleMs,
        'run',
      )
      expect(
        CapabilityUnsupportedError.isInstance(error),
        `expected CapabilityUnsupportedError, got ${String(error)}`,
      ).toBe(true)
    },
  },
  {
    id: 'capability.tool-hooks',
    group: 'capabilities',
    title: 'declared without tool hooks: a run with onToolCallStart throws CapabilityUnsupportedError',
    when: 'missing:toolHooks',
    async run({ harness: make, settleMs }) {
      const { harness } = await make()
      const { agent } = await start(harness, scenario().text('x'), [])
      const options: RunOptions = { hooks: { onToolCallStart: () => undefined } }
      const error = await errorOf(harness.runner.run(agent, harness.input(prompt), options), settleMs, 'run')
      expect(
        CapabilityUnsupportedError.isInstance(error),
        `expected CapabilityUnsupportedError, got ${String(error)}`,
      ).toBe(true)
    },
  },
]

/** The cases that apply to a runner with these features. */
export function casesFor(features: ConformanceFeatures): ConformanceCase[] {
  return conformanceCases.filter((testCase) => {
    if (!testCase.when) return true
    if (testCase.when.startsWith('missing:'))
      return !features[testCase.when.slice(8) as keyof ConformanceFeatures]
    return features[testCase.when as keyof ConformanceFeatures]
  })
}

/** Full features with the declared ones applied. */
export function resolveFeatures(features: Partial<ConformanceFeatures> = {}): ConformanceFeatures {
  return { streaming: true, maxTurnsRecovery: true, toolHooks: true, ...features }
}

/** Runs one case against a harness factory; what the suite's `it` calls, and the test kit's own tests. */
export async function runCase(
  testCase: ConformanceCase,
  options: Pick<RunnerConformanceOptions, 'createHarness' | 'features' | 'timeoutMs'>,
): Promise<void> {
  const features = resolveFeatures(options.features)
  const opened: RunnerHarness[] = []
  const context: CaseContext = {
    features,
    settleMs: Math.max(1000, Math.floor((options.timeoutMs ?? 10_000) / 3)),
    async harness(settings = {}) {
      const activity = createActivityTracker(settings.messages ? { messages: settings.messages } : {})
      const runnerOptions = settings.hooks ? { activity, hooks: settings.hooks } : { activity }
      const harness = (await options.createHarness({ runnerOptions })) as RunnerHarness
      opened.push(harness)
      return { harness, activity }
    },
  }
  try {
    await testCase.run(context)
  } finally {
    for (const harness of opened) await harness.close?.()
  }
}
