import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createActivityTracker } from '../activity/tracker.js'
import { ActivityTransitionError } from '../errors/activity-transition-error.js'
import { CapabilityUnsupportedError } from '../errors/capability-unsupported-error.js'
import { HookError } from '../errors/hook-error.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { MaxTurnsExceededError } from '../errors/max-turns-exceeded-error.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { RunTimeoutError } from '../errors/run-timeout-error.js'
import { RunnerError } from '../errors/runner-error.js'
import { rejectionOf } from '../test/rejection-of.js'
import { ScriptedModel, ScriptedRunner, type ScriptStep } from '../test/scripted-runner.js'
import { defineTool } from '../tools/define-tool.js'
import { registerSecret, resetSecrets } from '../util/secrets.js'
import { currentRun } from './base-agent-runner.js'
import type { RunEvent } from './events.js'
import type { RunContext } from './types.js'

const usage = (inputTokens: number, outputTokens: number) => ({
  inputTokens,
  outputTokens,
  totalTokens: inputTokens + outputTokens,
})

const searchTool = defineTool({
  name: 'search',
  description: 'Searches',
  inputSchema: z.object({ query: z.string() }),
  execute: async ({ query }) => `results for ${query}`,
})

/** report -> search -> answer: the usual three-turn run. */
function researchScript(): ScriptStep[] {
  return [
    {
      toolCalls: [{ name: 'report_status', input: { message: 'Searching', percentage: 30 } }],
      usage: usage(10, 5),
    },
    { toolCalls: [{ name: 'search', input: { query: 'otters' } }], usage: usage(20, 5) },
    { text: 'Otters hold hands while sleeping.', usage: usage(30, 10) },
  ]
}

function setup(options: ConstructorParameters<typeof ScriptedRunner>[0] = {}) {
  const activity = createActivityTracker()
  const runner = new ScriptedRunner({ activity, ...options })
  return { activity, runner }
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of iterable) items.push(item)
  return items
}

function logOf(activity: { log: Array<{ status: string; message: string; percentage: number | null }> }) {
  return activity.log.map((entry) => [entry.status, entry.message, entry.percentage])
}

describe('BaseAgentRunner: success', () => {
  it('records queued -> running -> progress -> complete at 100% and returns text, turns, usage, attempts, duration', async () => {
    const { activity, runner } = setup()
    const model = new ScriptedModel(researchScript())
    const result = await runner.run({ model, tools: [searchTool] }, 'Tell me about otters', { agentId: 'a1' })

    expect(result).toMatchObject({
      agentId: 'a1',
      status: 'complete',
      text: 'Otters hold hands while sleeping.',
      turns: 3,
      attempts: 1,
      usage: { inputTokens: 60, outputTokens: 20, totalTokens: 80 },
      maxTurnsReached: false,
    })
    expect(result.durationMs).toBeGreaterThanOrEqual(0)
    const detail = await activity.detail('a1')
    expect(detail.status).toBe('complete')
    expect(detail.percentage).toBe(100)
    expect(logOf(detail)).toEqual([
      ['queued', 'Waiting to start', 0],
      ['running', 'Started', null],
      ['running', 'Searching', 30],
      ['complete', 'Complete', 100],
    ])
    expect(detail.startedAt).toBeDefined()
    expect(detail.finishedAt).toBeDefined()
    expect(model.remaining).toBe(0)
  })

  it('uses the configured lifecycle messages and the runner name as agentType', async () => {
    const activity = createActivityTracker({ messages: { started: 'Go', complete: 'Done' } })
    const runner = new ScriptedRunner({ activity, name: 'scripted' })
    await runner.run({ model: new ScriptedModel([{ text: 'ok' }]) }, 'x', { agentId: 'm1' })
    const detail = await activity.detail('m1')
    expect(detail.agentType).toBe('scripted')
    expect(logOf(detail).map((entry) => entry[1])).toEqual(['Waiting to start', 'Go', 'Done'])
  })

  it('reuses an existing queued activity (created by a pool or a UI) instead of creating one', async () => {
    const { activity, runner } = setup()
    const agentId = await activity.create('research', { metadata: { tenant: 't1' } })
    await runner.run({ model: new ScriptedModel([{ text: 'ok' }]) }, 'x', { agentId })
    const detail = await activity.detail(agentId, { metadata: { tenant: 't1' } })
    expect(detail.agentType).toBe('research')
    expect(detail.status).toBe('complete')
  })
  it('refuses an activity that is already running outside this process’s pool task, and leaves it as it is', async () => {
    const { activity, runner } = setup()
    const agentId = await activity.create('research')
    await activity.update(agentId, 'Started', { status: 'running' })
    const error = await rejectionOf(
      runner.run({ model: new ScriptedModel([{ text: 'unused' }]) }, 'x', { agentId }),
    )
    expect((error as Error).message).toMatch(/already running: another run or pool task owns it/)
    expect(logOf(await activity.detail(agentId))).toEqual([
      ['queued', 'Waiting to start', 0],
      ['running', 'Started', null],
    ])
  })
})

describe('BaseAgentRunner: failure', () => {
  it('ends the activity in error with the configured message and rethrows the original error', async () => {
    const activity = createActivityTracker({
      messages: { error: (error) => `Broke: ${(error as Error).message}` },
    })
    const runner = new ScriptedRunner({ activity })
    const boom = new Error('model exploded')
    const error = await runner
      .run({ model: new ScriptedModel([{ error: boom }]) }, 'x', { agentId: 'f1' })
      .catch((e) => e)
    expect(error).toBe(boom)
    const detail = await activity.detail('f1')
    expect(detail.status).toBe('error')
    expect(detail.message).toBe('Broke: model exploded')
  })

  it('refuses to run on an activity that is already final, and leaves it unchanged', async () => {
    const { activity, runner } = setup()
    await runner.run({ model: new ScriptedModel([{ text: 'ok' }]) }, 'x', { agentId: 'done' })
    const before = await activity.detail('done')
    const error = await runner
      .run({ model: new ScriptedModel([{ text: 'again' }]) }, 'x', { agentId: 'done' })
      .catch((e) => e)
    expect(ActivityTransitionError.isInstance(error)).toBe(true)
    expect(await activity.detail('done')).toEqual(before)
  })

  it('rejects invalid options with InvalidOptionsError naming the field, creating nothing', async () => {
    const { activity, runner } = setup()
    const error = await runner
      .run({ model: new ScriptedModel([{ text: 'ok' }]) }, 'x', { agentId: 'bad', maxTurns: 0 })
      .catch((e) => e)
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect(error.field).toBe('maxTurns')
    expect(error.message).toContain('maxTurns')
    expect(await activity.store.get('bad')).toBeUndefined()

    const typo = await runner
      .run({ model: new ScriptedModel([]) }, 'x', { maxTurn: 3 } as never)
      .catch((e) => e)
    expect(InvalidOptionsError.isInstance(typo)).toBe(true)
    expect(typo.message).toContain('maxTurn')
    const retry = await runner
      .run({ model: new ScriptedModel([]) }, 'x', { retry: { attempts: 0 } })
      .catch((e) => e)
    expect(retry.field).toBe('retry.attempts')
  })

  it('validate() refuses a bad agent before anything starts: no activity, no retry', async () => {
    class StrictRunner extends ScriptedRunner {
      validateCalls = 0
      protected override validate(agent: { model: ScriptedModel }) {
        this.validateCalls++
        if (agent.model.steps.length === 0) {
          throw new InvalidOptionsError([{ field: 'agent.model', message: 'has an empty script' }], {
            subject: 'agent',
          })
        }
      }
    }
    const activity = createActivityTracker()
    const runner = new StrictRunner({ activity })
    const error = await runner.run({ model: new ScriptedModel([]) }, 'x', { agentId: 'v1' }).catch((e) => e)
    expect(error.field).toBe('agent.model')
    expect(runner.executeCalls).toBe(0)
    expect(await activity.store.get('v1')).toBeUndefined()
    await expect(runner.run({ model: new ScriptedModel([{ text: 'ok' }]) }, 'x')).resolves.toMatchObject({
      text: 'ok',
    })
  })

  it('rejects invalid runner options at construction', () => {
    expect(() => new ScriptedRunner({ timeoutMs: -5 })).toThrow(/timeoutMs/)
  })
})

describe('BaseAgentRunner: cancellation and timeout', () => {
  it('a signal aborted before start cancels without calling execute', async () => {
    const { activity, runner } = setup()
    const controller = new AbortController()
    controller.abort()
    const error = await runner
      .run({ model: new ScriptedModel([{ text: 'never' }]) }, 'x', {
        agentId: 'c0',
        signal: controller.signal,
      })
      .catch((e) => e)
    expect(RunCanceledError.isInstance(error)).toBe(true)
    expect(runner.executeCalls).toBe(0)
    expect((await activity.detail('c0')).status).toBe('canceled')
  })

  it('aborting during a model call cancels the run and aborts execute’s signal', async () => {
    const { activity, runner } = setup()
    const controller = new AbortController()
    const model = new ScriptedModel([{ hang: true }])
    const promise = runner.run({ model }, 'x', { agentId: 'c1', signal: controller.signal })
    await until(() => model.calls.length === 1)
    controller.abort('user left')
    const error = await promise.catch((e) => e)
    expect(RunCanceledError.isInstance(error)).toBe(true)
    expect(error.reason).toBe('user left')
    expect(runner.lastSignal?.aborted).toBe(true)
    const detail = await activity.detail('c1')
    expect(detail.status).toBe('canceled')
    expect(detail.message).toBe('Canceled')
  })

  it('settles promptly even when execute ignores the signal', async () => {
    const { activity, runner } = setup()
    const controller = new AbortController()
    const model = new ScriptedModel([{ hangIgnoringSignal: true }])
    const promise = runner.run({ model }, 'x', { agentId: 'c2', signal: controller.signal })
    await until(() => model.calls.length === 1)
    controller.abort()
    await expect(promise).rejects.toSatisfy(RunCanceledError.isInstance)
    expect((await activity.detail('c2')).status).toBe('canceled')
  })

  it('aborting inside a tool cancels the run; the tool sees the signal', async () => {
    const { activity, runner } = setup()
    const controller = new AbortController()
    let toolSignal: AbortSignal | undefined
    const slowTool = defineTool({
      name: 'slow',
      description: 'slow',
      inputSchema: z.object({}),
      execute: (_input, { signal }) => {
        toolSignal = signal
        controller.abort()
        return new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(new Error('tool aborted'))),
        )
      },
    })
    const model = new ScriptedModel([{ toolCalls: [{ name: 'slow', input: {} }] }, { text: 'unreachable' }])
    const error = await runner
      .run({ model, tools: [slowTool] }, 'x', { agentId: 'c3', signal: controller.signal })
      .catch((e) => e)
    expect(RunCanceledError.isInstance(error)).toBe(true)
    expect(toolSignal?.aborted).toBe(true)
    expect(model.calls).toHaveLength(1)
    expect((await activity.detail('c3')).status).toBe('canceled')
  })

  it('aborting during a retry wait cancels the run', async () => {
    const { activity, runner } = setup()
    const controller = new AbortController()
    const model = new ScriptedModel([
      { error: Object.assign(new Error('overloaded'), { status: 529 }) },
      { text: 'late' },
    ])
    const promise = runner.run({ model }, 'x', {
      agentId: 'c4',
      signal: controller.signal,
      retry: { attempts: 3, initialDelayMs: 10_000, maxDelayMs: 10_000 },
      hooks: { onRetry: () => controller.abort() },
    })
    const error = await promise.catch((e) => e)
    expect(RunCanceledError.isInstance(error)).toBe(true)
    expect(model.calls).toHaveLength(1)
    const detail = await activity.detail('c4')
    expect(detail.status).toBe('canceled')
    expect(detail.log.filter((entry) => entry.kind === 'retry').map((entry) => entry.message)).toEqual([
      'Retrying (attempt 2 of 3): overloaded',
    ])
  })

  it('a timeout stops the work, ends the activity in error with the timedOut message and throws RunTimeoutError', async () => {
    const activity = createActivityTracker({ messages: { timedOut: (ms) => `Too slow (${ms} ms)` } })
    const runner = new ScriptedRunner({ activity })
    const error = await runner
      .run({ model: new ScriptedModel([{ hang: true }]) }, 'x', { agentId: 't1', timeoutMs: 30 })
      .catch((e) => e)
    expect(RunTimeoutError.isInstance(error)).toBe(true)
    expect(error.timeoutMs).toBe(30)
    expect(runner.lastSignal?.aborted).toBe(true)
    const detail = await activity.detail('t1')
    expect(detail.status).toBe('error')
    expect(detail.message).toBe('Too slow (30 ms)')
  })

  it('a stream consumer that breaks early cancels the run', async () => {
    const { activity, runner } = setup()
    const model = new ScriptedModel([
      { toolCalls: [{ name: 'report_status', input: { message: 'Working', percentage: 10 } }] },
      { hang: true },
    ])
    const stream = runner.runStreamed({ model }, 'x', { agentId: 'b1' })
    for await (const event of stream) {
      if (event.type === 'tool-result') break
    }
    await expect(stream.result).rejects.toSatisfy(RunCanceledError.isInstance)
    expect((await activity.detail('b1')).status).toBe('canceled')
  })

  it('stream.abort(reason) cancels the run', async () => {
    const { activity, runner } = setup()
    const model = new ScriptedModel([{ hang: true }])
    const stream = runner.runStreamed({ model }, 'x', { agentId: 'b2' })
    await until(() => model.calls.length === 1)
    stream.abort('stop')
    const error = await stream.result.catch((e) => e)
    expect(RunCanceledError.isInstance(error)).toBe(true)
    expect(error.reason).toBe('stop')
    expect((await activity.detail('b2')).status).toBe('canceled')
  })
})

describe('BaseAgentRunner: streaming', () => {
  it('emits events in order: run-start first, turns, tool calls before results, run-end last', async () => {
    const { runner } = setup()
    const stream = runner.runStreamed(
      { model: new ScriptedModel(researchScript()), tools: [searchTool] },
      'x',
    )
    const events = await collect(stream)
    const types = events.map((event) => event.type)
    expect(types[0]).toBe('run-start')
    expect(types.at(-1)).toBe('run-end')
    expect(types.filter((type) => type === 'turn-start')).toHaveLength(3)
    expect(types.filter((type) => type === 'turn-end')).toHaveLength(3)
    expect(types.indexOf('tool-call')).toBeLessThan(types.indexOf('tool-result'))
    const statuses = events
      .filter((event) => event.type === 'status-update')
      .map((event) => [event.status, event.message])
    expect(statuses).toEqual([
      ['queued', 'Waiting to start'],
      ['running', 'Started'],
      ['running', 'Searching'],
      ['complete', 'Complete'],
    ])
    const text = events.flatMap((event) => (event.type === 'text-delta' ? [event.text] : [])).join('')
    expect(text).toBe('Otters hold hands while sleeping.')
    const turnEnds = events.filter(
      (event): event is Extract<RunEvent, { type: 'turn-end' }> => event.type === 'turn-end',
    )
    expect(turnEnds.map((event) => event.usage.totalTokens)).toEqual([15, 25, 40])
    // Each turn's events sit between its turn-start and turn-end.
    let open = false
    for (const event of events) {
      if (event.type === 'turn-start') open = true
      if (event.type === 'turn-end') open = false
      if (event.type === 'text-delta' || event.type === 'tool-call') expect(open).toBe(true)
    }
  })

  it('run() and a drained runStreamed() give the same result and the same activity log', async () => {
    const { activity, runner } = setup()
    const fromRun = await runner.run(
      { model: new ScriptedModel(researchScript()), tools: [searchTool] },
      'x',
      { agentId: 'r1' },
    )
    const stream = runner.runStreamed(
      { model: new ScriptedModel(researchScript()), tools: [searchTool] },
      'x',
      { agentId: 'r2' },
    )
    await collect(stream)
    const fromStream = await stream.result
    const strip = (result: typeof fromRun) => ({
      ...result,
      agentId: '',
      durationMs: 0,
      trajectory: undefined,
    })
    expect(strip(fromStream)).toEqual(strip(fromRun))
    const logA = logOf(await activity.detail('r1'))
    const logB = logOf(await activity.detail('r2'))
    expect(logB).toEqual(logA)
  })

  it('textStream yields only the answer text; a late consumer still sees every event', async () => {
    const { runner } = setup()
    const stream = runner.runStreamed(
      { model: new ScriptedModel(researchScript()), tools: [searchTool] },
      'x',
    )
    await stream.result
    expect((await collect(stream.textStream)).join('')).toBe('Otters hold hands while sleeping.')
    expect((await collect(stream))[0]?.type).toBe('run-start')
  })

  it('iteration ends with run-error (no throw) and textStream rejects when the run fails', async () => {
    const { runner } = setup()
    const stream = runner.runStreamed({ model: new ScriptedModel([{ error: new Error('nope') }]) }, 'x')
    const events = await collect(stream)
    expect(events.at(-1)).toMatchObject({ type: 'run-error', error: { message: 'nope' } })
    await expect(collect(stream.textStream)).rejects.toThrow('nope')
    await expect(stream.result).rejects.toThrow('nope')
  })

  it('toSSEResponse streams event/data frames with an event-stream content type', async () => {
    const { runner } = setup()
    const stream = runner.runStreamed({ model: new ScriptedModel([{ text: 'hi' }]) }, 'x', { agentId: 's1' })
    const response = stream.toSSEResponse()
    expect(response.headers.get('content-type')).toContain('text/event-stream')
    const body = await response.text()
    const frames = body.trim().split('\n\n')
    expect(frames[0]).toBe('retry: 3000')
    expect(frames[1]).toMatch(/^event: run-start\nid: 1\ndata: \{"type":"run-start","agentId":"s1"/)
    expect(frames.at(-1)).toMatch(/^event: run-end\nid: \d+\n/)
    expect(body).toContain('"text":"hi"')
  })

  it('a failed run writes no registered secret: not in its SSE frames, its activity or its trajectory', async () => {
    registerSecret('tenant-token-7781')
    try {
      const { activity, runner } = setup()
      const failure = new Error('upstream rejected tenant-token-7781 and sk-live-abcdefgh')
      const stream = runner.runStreamed({ model: new ScriptedModel([{ error: failure }]) }, 'x', {
        agentId: 's-secret',
      })
      const body = await stream.toSSEResponse().text()
      expect(body).toContain('"message":"upstream rejected [REDACTED] and [REDACTED]"')
      expect(body).not.toMatch(/tenant-token-7781|sk-live/)
      await expect(stream.result).rejects.toBe(failure)
      const detail = await activity.detail('s-secret')
      expect(detail.log.at(-1)?.message).toBe('Failed: upstream rejected [REDACTED] and [REDACTED]')
      expect(JSON.stringify(await activity.trajectory('s-secret'))).not.toMatch(/tenant-token-7781|sk-live/)
    } finally {
      resetSecrets()
    }
  })

  it('canceling the ReadableStream aborts the run', async () => {
    const { activity, runner } = setup()
    const model = new ScriptedModel([{ hang: true }])
    const stream = runner.runStreamed({ model }, 'x', { agentId: 's2' })
    const reader = stream.toReadableStream().getReader()
    await reader.read()
    await until(() => model.calls.length === 1)
    await reader.cancel()
    await expect(stream.result).rejects.toSatisfy(RunCanceledError.isInstance)
    expect((await activity.detail('s2')).status).toBe('canceled')
  })

  it('native events pass through only with includeNative', async () => {
    class NativeRunner extends ScriptedRunner {
      protected override async execute(...args: Parameters<ScriptedRunner['execute']>) {
        args[0].emit({ type: 'native', event: { raw: true } })
        return super.execute(...args)
      }
    }
    const runner = new NativeRunner()
    const model = () => new ScriptedModel([{ text: 'x' }])
    const without = await collect(runner.runStreamed({ model: model() }, 'x'))
    const withNative = await collect(runner.runStreamed({ model: model() }, 'x', { includeNative: true }))
    expect(without.some((event) => event.type === 'native')).toBe(false)
    expect(withNative.find((event) => event.type === 'native')).toEqual({
      type: 'native',
      event: { raw: true },
    })
  })
})

describe('BaseAgentRunner: report_status and tools', () => {
  it('bad report_status arguments return an error result and the run goes on', async () => {
    const { activity, runner } = setup()
    const model = new ScriptedModel([
      { toolCalls: [{ name: 'report_status', input: { message: '', percentage: 250 } }] },
      { toolCalls: [{ name: 'report_status', input: { message: 'x'.repeat(201), percentage: 5.5 } }] },
      { text: 'finished anyway' },
    ])
    const stream = runner.runStreamed({ model }, 'x', { agentId: 'rs1' })
    const events = await collect(stream)
    const result = await stream.result
    expect(result.text).toBe('finished anyway')
    const results = events.filter((event) => event.type === 'tool-result')
    expect(results).toHaveLength(2)
    for (const event of results) expect(event).toMatchObject({ isError: true })
    expect(String((results[0] as { output: unknown }).output)).toMatch(/message.*not be empty|percentage/)
    expect(model.calls[1]?.messages.at(-1)).toContain('Invalid input for tool "report_status"')
    const detail = await activity.detail('rs1')
    expect(detail.log.map((entry) => entry.status)).toEqual(['queued', 'running', 'complete'])
  })

  it('a throwing tool becomes an error result the model reads; unknown tools too', async () => {
    const { runner } = setup()
    const failing = defineTool({
      name: 'fails',
      description: 'always fails',
      inputSchema: z.object({}),
      execute: () => {
        throw new Error('disk full')
      },
    })
    const model = new ScriptedModel([
      {
        toolCalls: [
          { name: 'fails', input: {} },
          { name: 'missing', input: {} },
        ],
      },
      { text: 'recovered' },
    ])
    const result = await runner.run({ model, tools: [failing] }, 'x')
    expect(result.text).toBe('recovered')
    expect(model.calls[1]?.messages).toEqual([
      'x',
      'fails: Tool "fails" failed: disk full',
      'missing: Unknown tool "missing". Available tools: report_status, fails.',
    ])
  })

  it('currentRun() reaches the run from any code inside it, and is undefined outside', async () => {
    const { activity, runner } = setup()
    const deep = defineTool({
      name: 'deep',
      description: 'reports through currentRun',
      inputSchema: z.object({}),
      execute: async () => {
        await new Promise((resolve) => setTimeout(resolve, 1))
        await currentRun()?.report('From deep inside', 42)
        return currentRun()?.agentId
      },
    })
    const model = new ScriptedModel([{ toolCalls: [{ name: 'deep', input: {} }] }, { text: 'ok' }])
    await runner.run({ model, tools: [deep] }, 'x', { agentId: 'cr1' })
    expect(model.calls[1]?.messages.at(-1)).toBe('deep: cr1')
    expect(
      (await activity.detail('cr1')).log.some(
        (entry) => entry.message === 'From deep inside' && entry.percentage === 42,
      ),
    ).toBe(true)
    expect(currentRun()).toBeUndefined()
  })

  it('two hundred concurrent runs never mix their activities or currentRun()', async () => {
    const { activity, runner } = setup()
    const whoAmI = defineTool({
      name: 'who',
      description: 'reports its own id',
      inputSchema: z.object({ expected: z.string() }),
      execute: async ({ expected }) => {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5))
        const run = currentRun()
        if (run?.agentId !== expected) throw new Error(`mixed: ${run?.agentId} != ${expected}`)
        await run.report(`I am ${expected}`, 50)
        return 'ok'
      },
    })
    const ids = Array.from({ length: 200 }, (_, index) => `run-${index}`)
    const results = await Promise.all(
      ids.map((id) =>
        runner.run(
          {
            model: new ScriptedModel([
              { toolCalls: [{ name: 'who', input: { expected: id } }] },
              { text: id },
            ]),
            tools: [whoAmI],
          },
          'x',
          { agentId: id },
        ),
      ),
    )
    expect(results.map((result) => result.text)).toEqual(ids)
    for (const id of ids) {
      const detail = await activity.detail(id)
      expect(detail.status).toBe('complete')
      expect(
        detail.log.filter((entry) => entry.message.startsWith('I am')).map((entry) => entry.message),
      ).toEqual([`I am ${id}`])
    }
  })
})

describe('BaseAgentRunner: retries', () => {
  const unavailable = () => Object.assign(new Error('503 Service Unavailable'), { status: 503 })

  it('repeats a failed model request in place: same turn, no tool run twice, usage summed, logged as attempt n of N', async () => {
    const { activity, runner } = setup()
    let searches = 0
    const search = defineTool({
      name: 'search',
      description: 'Searches',
      inputSchema: z.object({ query: z.string() }),
      execute: async () => `hit ${++searches}`,
    })
    const model = new ScriptedModel([
      { toolCalls: [{ name: 'search', input: { query: 'otters' } }], usage: usage(5, 1) },
      { error: unavailable() },
      { text: 'second time lucky', usage: usage(7, 3) },
    ])
    const stream = runner.runStreamed({ model, tools: [search] }, 'x', {
      agentId: 'rt1',
      retry: { attempts: 3, initialDelayMs: 5, maxDelayMs: 20 },
    })
    const events = await collect(stream)
    const result = await stream.result
    expect(result.attempts).toBe(2)
    expect(result.turns).toBe(2)
    expect(searches).toBe(1)
    expect(model.calls.map((call) => call.turn)).toEqual([1, 2, 2])
    expect(model.calls[2]?.messages).toEqual(model.calls[1]?.messages)
    expect(result.usage).toEqual({ inputTokens: 12, outputTokens: 4, totalTokens: 16 })
    expect(events.find((event) => event.type === 'retry')).toMatchObject({
      attempt: 2,
      maxAttempts: 3,
      restart: false,
    })
    // No turn-end/turn-start around an in-place repeat: the turn goes on.
    expect(events.filter((event) => event.type === 'turn-start')).toHaveLength(2)
    const retries = (await activity.detail('rt1')).log.filter((entry) => entry.kind === 'retry')
    expect(retries.map((entry) => [entry.message, entry.attempt])).toEqual([
      ['Retrying (attempt 2 of 3): 503 Service Unavailable', 2],
    ])
  })

  it('restarts the attempt from its first turn when it fails outside a model request', async () => {
    let executes = 0
    class Flaky extends ScriptedRunner {
      protected override async execute(...args: Parameters<ScriptedRunner['execute']>) {
        const [context] = args
        if (++executes === 1) {
          await context.startTurn()
          throw unavailable()
        }
        return super.execute(...args)
      }
    }
    const runner = new Flaky()
    const events = await collect(
      runner.runStreamed({ model: new ScriptedModel([{ text: 'ok' }]) }, 'x', {
        retry: { attempts: 2, initialDelayMs: 1 },
      }),
    )
    const types = events.map((event) => event.type)
    expect(events.find((event) => event.type === 'retry')).toMatchObject({ attempt: 2, restart: true })
    // Every turn-start has its turn-end, the failed attempt's included, and it ends before the retry.
    expect(types.filter((type) => type === 'turn-start')).toHaveLength(2)
    expect(types.filter((type) => type === 'turn-end')).toHaveLength(2)
    expect(types.indexOf('turn-end')).toBeLessThan(types.indexOf('retry'))
    expect(events.filter((event) => event.type === 'turn-start').map((event) => event)).toMatchObject([
      { turn: 1, attempt: 1 },
      { turn: 1, attempt: 2 },
    ])
  })

  it('never retries once the reader has seen text of the failing request: the streamed run fails, run() retries', async () => {
    const script = (): ScriptStep[] => [
      { text: 'Half an ans', errorAfterText: unavailable() },
      { text: 'A whole answer.' },
    ]
    const streamedModel = new ScriptedModel(script())
    const stream = setup().runner.runStreamed({ model: streamedModel }, 'x', {
      retry: { attempts: 3, initialDelayMs: 1 },
    })
    const events = await collect(stream)
    await expect(stream.result).rejects.toThrow('503 Service Unavailable')
    expect(events.some((event) => event.type === 'retry')).toBe(false)
    expect(streamedModel.calls).toHaveLength(1)
    const runModel = new ScriptedModel(script())
    const result = await setup().runner.run({ model: runModel }, 'x', {
      retry: { attempts: 3, initialDelayMs: 1 },
    })
    expect(result.text).toBe('A whole answer.')
    expect(result.attempts).toBe(2)
  })

  it('waits what a server’s Retry-After asks, capped by maxDelayMs', async () => {
    const { runner } = setup()
    const limited = (headers: Record<string, string>) =>
      Object.assign(new Error('429 Too Many Requests'), { status: 429, headers })
    const delays: number[] = []
    const model = new ScriptedModel([
      { error: limited({ 'retry-after-ms': '40' }) },
      { error: limited({ 'Retry-After': '3600' }) },
      { text: 'ok' },
    ])
    await runner.run({ model }, 'x', {
      retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 60 },
      hooks: { onRetry: ({ delayMs }) => void delays.push(delayMs) },
    })
    expect(delays[0]).toBeGreaterThanOrEqual(40)
    expect(delays[1]).toBe(60)
  })

  it('the context shows the run’s limits to the adapter', async () => {
    let seen: unknown
    class Peek extends ScriptedRunner {
      protected override async execute(...args: Parameters<ScriptedRunner['execute']>) {
        const [context] = args
        seen = {
          maxTurns: context.maxTurns,
          recovery: context.maxTurnsRecovery,
          recoveryTurns: context.recoveryTurns,
          timeoutMs: context.timeoutMs,
        }
        return super.execute(...args)
      }
    }
    await new Peek().run({ model: new ScriptedModel([{ text: 'ok' }]) }, 'x', {
      maxTurns: 4,
      maxTurnsRecovery: true,
      recoveryTurns: 2,
      timeoutMs: 5000,
    })
    expect(seen).toEqual({ maxTurns: 4, recovery: true, recoveryTurns: 2, timeoutMs: 5000 })
  })

  it('does not retry errors that are not transient; retries transient ones up to 3 attempts by default', async () => {
    const { runner } = setup()
    const badRequest = Object.assign(new Error('400 Bad Request'), { status: 400 })
    const model = new ScriptedModel([{ error: badRequest }, { text: 'unused' }])
    await expect(runner.run({ model }, 'x', { retry: { attempts: 3, initialDelayMs: 1 } })).rejects.toBe(
      badRequest,
    )
    expect(model.calls).toHaveLength(1)
    const overloaded = () => Object.assign(new Error('overloaded'), { status: 529 })
    const alwaysOverloaded = new ScriptedModel([
      { error: overloaded() },
      { error: overloaded() },
      { error: overloaded() },
    ])
    await expect(
      runner.run({ model: alwaysOverloaded }, 'x', { retry: { initialDelayMs: 1, maxDelayMs: 1 } }),
    ).rejects.toThrow('overloaded')
    expect(alwaysOverloaded.calls).toHaveLength(3)
  })

  it('retries an adapter’s own RunnerError subclass when isRetryable says so, never a lifecycle error', async () => {
    class ProviderError extends RunnerError {
      readonly status = 503
    }
    const { runner } = setup()
    const model = new ScriptedModel([{ error: new ProviderError('provider hiccup') }, { text: 'ok' }])
    const result = await runner.run({ model }, 'x', { retry: { attempts: 2, initialDelayMs: 1 } })
    expect(result.attempts).toBe(2)
    const maxTurns = new ScriptedModel([{ error: new MaxTurnsExceededError(1) }, { text: 'unused' }])
    await expect(
      runner.run({ model: maxTurns }, 'x', {
        retry: { attempts: 2, initialDelayMs: 1, retryOn: () => true },
      }),
    ).rejects.toSatisfy(MaxTurnsExceededError.isInstance)
    expect(maxTurns.calls).toHaveLength(1)
  })

  it('retryOn overrides the classification', async () => {
    const { runner } = setup()
    const model = new ScriptedModel([{ error: new Error('flaky') }, { text: 'ok' }])
    const result = await runner.run({ model }, 'x', {
      retry: { attempts: 2, initialDelayMs: 1, retryOn: (error) => (error as Error).message === 'flaky' },
    })
    expect(result.attempts).toBe(2)
  })
})

describe('BaseAgentRunner: attempt plumbing for frameworks that own the loop', () => {
  it('fail(error) ends the attempt with that error even when the framework swallows it and goes on', async () => {
    const { activity } = setup()
    let frameworkSignal: AbortSignal | undefined
    class Swallowing extends ScriptedRunner {
      protected override async execute(context: RunContext): Promise<never> {
        frameworkSignal = context.signal
        // A framework callback that fails the attempt; the framework itself never rejects.
        queueMicrotask(() => context.fail(new Error('callback refused')))
        return new Promise<never>(() => {})
      }
    }
    const runner = new Swallowing({ activity })
    const error = await rejectionOf(runner.run({ model: new ScriptedModel([]) }, 'x', { agentId: 'sw1' }))
    expect((error as Error).message).toBe('callback refused')
    expect(frameworkSignal?.aborted).toBe(true)
    expect((await activity.detail('sw1')).message).toBe('Failed: callback refused')
  })

  it('nextTurn() answers the turn-limit question without counting a turn', async () => {
    const seen: unknown[] = []
    class Asking extends ScriptedRunner {
      protected override async execute(context: RunContext) {
        seen.push(context.nextTurn(), context.nextTurn())
        await context.startTurn()
        seen.push(context.nextTurn())
        await context.startTurn()
        seen.push(context.nextTurn(), context.turn)
        return { output: {}, text: 'done' }
      }
    }
    await new Asking().run({ model: new ScriptedModel([]) }, 'x', { maxTurns: 1, maxTurnsRecovery: true })
    expect(seen).toEqual([
      { turn: 1, wrapUp: false },
      { turn: 1, wrapUp: false },
      { turn: 2, wrapUp: true },
      undefined,
      2,
    ])
  })
})

describe('BaseAgentRunner: max turns', () => {
  const loopForever = () =>
    Array.from({ length: 10 }, () => ({ toolCalls: [{ name: 'search', input: { query: 'more' } }] }))

  it('throws MaxTurnsExceededError at the limit without recovery', async () => {
    const { activity, runner } = setup()
    const model = new ScriptedModel(loopForever())
    const error = await runner
      .run({ model, tools: [searchTool] }, 'x', { agentId: 'mt1', maxTurns: 3 })
      .catch((e) => e)
    expect(MaxTurnsExceededError.isInstance(error)).toBe(true)
    expect(error.maxTurns).toBe(3)
    expect(model.calls).toHaveLength(3)
    expect((await activity.detail('mt1')).status).toBe('error')
  })

  it('with maxTurnsRecovery asks for a wrap-up without tools and returns what the model says', async () => {
    const { activity, runner } = setup()
    const model = new ScriptedModel([...loopForever().slice(0, 2), { text: 'Summary so far: otters.' }])
    const result = await runner.run({ model, tools: [searchTool] }, 'x', {
      agentId: 'mt2',
      maxTurns: 2,
      maxTurnsRecovery: true,
    })
    expect(result.text).toBe('Summary so far: otters.')
    expect(result.maxTurnsReached).toBe(true)
    expect(result.turns).toBe(3)
    const wrapCall = model.calls[2]
    expect(wrapCall?.wrapUp).toBe(true)
    expect(wrapCall?.toolNames).toEqual([])
    expect(wrapCall?.messages.at(-1)).toBe(runner.prompts.wrapUp)
    const detail = await activity.detail('mt2')
    expect(detail.status).toBe('complete')
    expect(detail.log.some((entry) => entry.message.includes('turn limit (2)'))).toBe(true)
  })
})

describe('BaseAgentRunner: hooks', () => {
  it('fires runner hooks before run hooks, in lifecycle order', async () => {
    const calls: string[] = []
    const record = (prefix: string) => ({
      onRunStart: () => void calls.push(`${prefix}:runStart`),
      onModelCallStart: () => void calls.push(`${prefix}:modelStart`),
      onModelCallEnd: () => void calls.push(`${prefix}:modelEnd`),
      onToolCallStart: () => void calls.push(`${prefix}:toolStart`),
      onToolCallEnd: () => void calls.push(`${prefix}:toolEnd`),
      onStatusUpdate: ({ status }: { status: string }) => void calls.push(`${prefix}:status:${status}`),
      onRunEnd: () => void calls.push(`${prefix}:runEnd`),
    })
    const runner = new ScriptedRunner({ hooks: record('runner') })
    const model = new ScriptedModel([
      { toolCalls: [{ name: 'search', input: { query: 'q' } }] },
      { text: 'done' },
    ])
    await runner.run({ model, tools: [searchTool] }, 'x', { hooks: record('run') })
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
      'runner:toolStart',
      'run:toolStart',
      'runner:toolEnd',
      'run:toolEnd',
      'runner:modelStart',
      'run:modelStart',
      'runner:modelEnd',
      'run:modelEnd',
      'runner:runEnd',
      'run:runEnd',
      'runner:status:complete',
      'run:status:complete',
    ])
  })

  it('onToolCallStart can deny a call (the tool never runs) or rewrite its input', async () => {
    let executed: string[] = []
    const tool = defineTool({
      name: 'search',
      description: 's',
      inputSchema: z.object({ query: z.string() }),
      execute: ({ query }) => {
        executed.push(query)
        return `found ${query}`
      },
    })
    const runner = new ScriptedRunner({
      hooks: {
        onToolCallStart: ({ input }) =>
          (input as { query: string }).query === 'secret' ? { deny: 'not allowed' } : undefined,
      },
    })
    const model = new ScriptedModel([
      {
        toolCalls: [
          { name: 'search', input: { query: 'secret' } },
          { name: 'search', input: { query: 'public' } },
        ],
      },
      { text: 'ok' },
    ])
    const stream = runner.runStreamed({ model, tools: [tool] }, 'x', {
      hooks: {
        onToolCallStart: ({ input }) => ({ input: { query: `${(input as { query: string }).query}!` } }),
      },
    })
    const events = await collect(stream)
    expect(executed).toEqual(['public!'])
    expect(model.calls[1]?.messages).toEqual([
      'x',
      'search: Tool call denied: not allowed',
      'search: found public!',
    ])
    expect(
      events
        .filter((event) => event.type === 'tool-result')
        .map((event) => (event as { isError: boolean }).isError),
    ).toEqual([true, false])
    executed = []
  })

  it('a hook that throws fails the run (never retried), and the activity ends in error', async () => {
    const { activity, runner } = setup()
    const model = new ScriptedModel([{ text: 'a' }, { text: 'b' }])
    const error = await runner
      .run({ model }, 'x', {
        agentId: 'h1',
        retry: { attempts: 3, initialDelayMs: 1, retryOn: () => true },
        hooks: {
          onModelCallEnd: () => {
            throw new Error('audit store down')
          },
        },
      })
      .catch((e) => e)
    expect(HookError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ hook: 'onModelCallEnd', cause: new Error('audit store down') })
    expect(error.message).toMatch(/^The onModelCallEnd hook threw: audit store down/)
    expect(model.calls).toHaveLength(1)
    expect((await activity.detail('h1')).status).toBe('error')
  })

  it('an onRunEnd hook that throws fails the run instead of completing it', async () => {
    const { activity, runner } = setup()
    const error = await runner
      .run({ model: new ScriptedModel([{ text: 'a' }]) }, 'x', {
        agentId: 'h2',
        hooks: {
          onRunEnd: () => {
            throw new Error('rejected')
          },
        },
      })
      .catch((e) => e)
    expect(error).toMatchObject({ name: 'HookError', hook: 'onRunEnd' })
    expect((await activity.detail('h2')).status).toBe('error')
  })
})

describe('BaseAgentRunner: trajectory', () => {
  it('records model calls, tool calls and status reports, saves them and returns them', async () => {
    const { activity, runner } = setup()
    const result = await runner.run(
      { model: new ScriptedModel(researchScript()), tools: [searchTool] },
      'x',
      { agentId: 'tr1' },
    )
    const kinds = result.trajectory?.steps.map((step) => step.kind)
    expect(kinds).toEqual(['model-call', 'status', 'tool-call', 'model-call', 'tool-call', 'model-call'])
    expect(result.trajectory?.steps.map((step) => step.turn)).toEqual([1, 1, 1, 2, 2, 3])
    expect(result.trajectory?.steps[4]).toMatchObject({
      data: { toolName: 'search', input: { query: 'otters' }, output: 'results for otters', isError: false },
    })
    expect(result.trajectory?.usage.totalTokens).toBe(80)
    expect(await activity.trajectory('tr1')).toEqual(result.trajectory)
  })

  it('saves the trajectory of a failed run too, and none with recordTrajectory: false', async () => {
    const { activity, runner } = setup()
    await runner.run({ model: new ScriptedModel([{ text: 'a' }]) }, 'x', {
      agentId: 'tr2',
      recordTrajectory: false,
    })
    expect(await activity.trajectory('tr2')).toBeUndefined()
    await runner
      .run({ model: new ScriptedModel([{ error: new Error('x') }]) }, 'x', { agentId: 'tr3' })
      .catch(() => {})
    expect((await activity.trajectory('tr3'))?.status).toBe('error')
  })
})

/** Waits until `condition` holds (polling a few ms), failing after a second. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 1000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 1 s')
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

describe('BaseAgentRunner: capabilities', () => {
  class LimitedRunner extends ScriptedRunner {
    override get capabilities() {
      return { streaming: false, maxTurnsRecovery: false, toolHooks: false, durable: false }
    }
  }

  it('a capability declared missing makes the matching call throw CapabilityUnsupportedError, creating nothing', async () => {
    const activity = createActivityTracker()
    const runner = new LimitedRunner({ activity })
    const agent = () => ({ model: new ScriptedModel([{ text: 'ok' }]) })
    expect(() => runner.runStreamed(agent(), 'x')).toThrow(CapabilityUnsupportedError)
    const recovery = await runner
      .run(agent(), 'x', { agentId: 'cap1', maxTurnsRecovery: true })
      .catch((e) => e)
    expect(CapabilityUnsupportedError.isInstance(recovery)).toBe(true)
    expect(recovery.capability).toBe('maxTurnsRecovery')
    const hooks = await runner
      .run(agent(), 'x', { agentId: 'cap2', hooks: { onToolCallStart: () => undefined } })
      .catch((e) => e)
    expect(hooks.capability).toBe('toolHooks')
    expect(await activity.store.get('cap1')).toBeUndefined()
    expect(await activity.store.get('cap2')).toBeUndefined()
    expect((await runner.run(agent(), 'x')).text).toBe('ok')
  })
})
