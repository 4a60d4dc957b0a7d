import type { LanguageModelV4StreamPart } from '@ai-sdk/provider'
import { currentRun, RunCanceledError, type RunEvent } from '@runner/core'
import { scenario } from '@runner/testkit'
import {
  APICallError,
  NoOutputGeneratedError,
  smoothStream,
  type TextStreamPart,
  ToolLoopAgent,
  type ToolSet,
  tool,
} from 'ai'
import { MockLanguageModelV4 } from 'ai/test'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { AISDKRunner } from './ai-sdk-runner.js'
import { isRetryableAISDKError } from './map-error.js'
import { eventsOf } from './map-stream-part.js'
import type { AISDKOutput, AISDKStreamOutput } from './output.js'
import { agentOf, modes, rejectionOf } from './test-helpers/run-modes.js'

const usage = {
  inputTokens: 1,
  inputTokenDetails: { noCacheTokens: 1, cacheReadTokens: undefined, cacheWriteTokens: undefined },
  outputTokens: 1,
  outputTokenDetails: { textTokens: 1, reasoningTokens: undefined },
  totalTokens: 2,
}

describe('eventsOf: every part of the AI SDK stream', () => {
  const cases: Array<[string, unknown, RunEvent[]]> = [
    ['text-delta', { type: 'text-delta', id: '1', text: 'Hi' }, [{ type: 'text-delta', text: 'Hi' }]],
    ['empty text-delta', { type: 'text-delta', id: '1', text: '' }, []],
    [
      'reasoning-delta',
      { type: 'reasoning-delta', id: 'r', text: 'Hmm' },
      [{ type: 'reasoning-delta', text: 'Hmm' }],
    ],
    [
      'tool-call',
      { type: 'tool-call', toolCallId: 'c1', toolName: 'search', input: { query: 'q' } },
      [{ type: 'tool-call', toolCallId: 'c1', toolName: 'search', input: { query: 'q' } }],
    ],
    [
      'tool-result',
      { type: 'tool-result', toolCallId: 'c1', toolName: 'search', input: {}, output: 'found' },
      [{ type: 'tool-result', toolCallId: 'c1', toolName: 'search', output: 'found', isError: false }],
    ],
    [
      'preliminary tool-result',
      {
        type: 'tool-result',
        toolCallId: 'c1',
        toolName: 'search',
        input: {},
        output: 'half',
        preliminary: true,
      },
      [],
    ],
    [
      'tool-error',
      { type: 'tool-error', toolCallId: 'c1', toolName: 'search', input: {}, error: new Error('down') },
      [{ type: 'tool-result', toolCallId: 'c1', toolName: 'search', output: 'down', isError: true }],
    ],
    [
      'tool-output-denied',
      { type: 'tool-output-denied', toolCallId: 'c1', toolName: 'search' },
      [
        {
          type: 'tool-result',
          toolCallId: 'c1',
          toolName: 'search',
          output: 'Tool execution denied.',
          isError: true,
        },
      ],
    ],
    ['start', { type: 'start' }, []],
    ['start-step', { type: 'start-step', request: {}, warnings: [] }, []],
    ['text-start / text-end', { type: 'text-start', id: '1' }, []],
    ['tool-input-delta', { type: 'tool-input-delta', id: 'c1', delta: '{"q' }, []],
    [
      'finish-step',
      {
        type: 'finish-step',
        usage,
        finishReason: 'stop',
        rawFinishReason: 'stop',
        response: {},
        performance: {},
        providerMetadata: undefined,
      },
      [],
    ],
    ['finish', { type: 'finish', finishReason: 'stop', rawFinishReason: 'stop', totalUsage: usage }, []],
    ['abort', { type: 'abort', reason: 'x' }, []],
    ['error', { type: 'error', error: new Error('x') }, []],
    ['raw', { type: 'raw', rawValue: {} }, []],
  ]
  it.each(cases)('%s', (_name, part, expected) => {
    expect(eventsOf(part as TextStreamPart<ToolSet>)).toEqual(expected)
  })
})

async function drain(stream: AsyncIterable<RunEvent<AISDKOutput>>): Promise<RunEvent<AISDKOutput>[]> {
  const events: RunEvent<AISDKOutput>[] = []
  for await (const event of stream) events.push(event)
  return events
}

describe('a streamed run', () => {
  it('includeNative passes every part of the AI SDK stream through, in order', async () => {
    const runner = new AISDKRunner()
    const script = scenario().toolCall('report_status', { message: 'Looking', percentage: 50 }).text('Done.')
    const { agent } = agentOf('settings', runner, script)
    const events = await drain(runner.runStreamed(agent, 'go', { includeNative: true }))
    const parts = events.flatMap((event) =>
      event.type === 'native' ? [(event.event as { type: string }).type] : [],
    )
    // One tool-input-delta per piece of the arguments: collapse them to compare the shape.
    const shape = parts.filter((type, index) => type !== 'tool-input-delta' || parts[index - 1] !== type)
    expect(shape).toEqual([
      'start',
      'start-step',
      'tool-input-start',
      'tool-input-delta',
      'tool-input-end',
      'tool-call',
      'tool-result',
      'finish-step',
      'start-step',
      'text-start',
      'text-delta',
      'text-end',
      'finish-step',
      'finish',
    ])
    const withoutNative = await drain(runner.runStreamed(agentOf('settings', runner, script).agent, 'go'))
    expect(withoutNative.some((event) => event.type === 'native')).toBe(false)
  })

  it('keeps the order of each turn, whether the stream comes at once or is held back by a transform', async () => {
    const callUsage = {
      inputTokens: { total: 2, noCache: 2, cacheRead: undefined, cacheWrite: undefined },
      outputTokens: { total: 1, text: 1, reasoning: undefined },
    }
    // Each answer arrives in one piece: the AI SDK's side of the stream may run ahead of its reader.
    const answer = (index: number) => {
      const parts: LanguageModelV4StreamPart[] = [
        { type: 'stream-start', warnings: [] },
        { type: 'text-start', id: 't' },
        { type: 'text-delta', id: 't', delta: `Turn ${index + 1}, said in several words. ` },
        { type: 'text-end', id: 't' },
      ]
      if (index === 0) {
        parts.push({
          type: 'tool-call',
          toolCallId: 'report',
          toolName: 'report_status',
          input: JSON.stringify({ message: 'Looking', percentage: 40 }),
        })
      }
      const finishReason = {
        unified: index === 0 ? ('tool-calls' as const) : ('stop' as const),
        raw: undefined,
      }
      parts.push({ type: 'finish', finishReason, usage: callUsage })
      return parts
    }
    let calls = 0
    const model = new MockLanguageModelV4({
      doStream: async () => {
        const parts = answer(calls++)
        return {
          stream: new ReadableStream({
            start(controller) {
              for (const part of parts) controller.enqueue(part)
              controller.close()
            },
          }),
        }
      },
    })
    const hooks: string[] = []
    const runner = new AISDKRunner({
      hooks: {
        onModelCallStart: () => void hooks.push('model-start'),
        onModelCallEnd: () => void hooks.push('model-end'),
        onToolCallStart: () => void hooks.push('tool-start'),
        onToolCallEnd: () => void hooks.push('tool-end'),
      },
    })
    const agents = [
      new ToolLoopAgent({ model, tools: { report_status: runner.tools.reportStatus } }),
      { model },
      // smoothStream holds the text back while the AI SDK runs the step's tool.
      { model, experimental_transform: smoothStream({ delayInMs: 2 }) },
    ]
    for (const agent of agents) {
      calls = 0
      hooks.length = 0
      const events = await drain(runner.runStreamed(agent, 'go'))
      const labels = events.flatMap((event) =>
        event.type === 'status-update'
          ? event.message === 'Looking'
            ? ['status: Looking']
            : []
          : event.type.startsWith('turn') || event.type.startsWith('tool') || event.type === 'text-delta'
            ? [event.type]
            : [],
      )
      // Text streams in pieces: one label per run of text-deltas.
      expect(labels.filter((label, index) => label !== 'text-delta' || labels[index - 1] !== label)).toEqual([
        'turn-start',
        'text-delta',
        'tool-call',
        'status: Looking',
        'tool-result',
        'turn-end',
        'turn-start',
        'text-delta',
        'turn-end',
      ])
      expect(
        events.filter((event) => event.type === 'turn-end').map((event) => event.usage.totalTokens),
      ).toEqual([3, 3])
      expect(hooks).toEqual([
        'model-start',
        'model-end',
        'tool-start',
        'tool-end',
        'model-start',
        'model-end',
      ])
    }
  })

  it('the caller’s abort mid-answer: RunCanceledError, activity canceled, no delta after the end', async () => {
    const runner = new AISDKRunner()
    const script = scenario().text('A long answer that streams in many small pieces, one by one.').slow(1)
    const { agent, player } = agentOf('settings', runner, script)
    const controller = new AbortController()
    const stream = runner.runStreamed(agent, 'go', { agentId: 'aborted', signal: controller.signal })
    const events: RunEvent<AISDKOutput>[] = []
    for await (const event of stream) {
      events.push(event)
      if (event.type === 'text-delta') controller.abort()
    }
    const error = await rejectionOf(stream.result)
    expect(RunCanceledError.isInstance(error)).toBe(true)
    expect(events.at(-1)?.type).toBe('run-error')
    expect(events.some((event) => event.type === 'run-end')).toBe(false)
    expect(events.filter((event) => event.type === 'text-delta').length).toBeLessThan(5)
    expect(player.calls[0]?.signal?.aborted).toBe(true)
    expect((await runner.activity.detail('aborted')).status).toBe('canceled')
  })

  it('the AI SDK’s own abort (its timeout setting): the abort part ends the run canceled, never complete', async () => {
    for (const streamed of [true, false]) {
      const runner = new AISDKRunner()
      const { agent } = agentOf('settings', runner, scenario().hang(), { timeout: 50 })
      const agentId = `sdk-timeout-${streamed}`
      const stream = streamed ? runner.runStreamed(agent, 'go', { agentId, includeNative: true }) : undefined
      const error = await rejectionOf(stream ? stream.result : runner.run(agent, 'go', { agentId }))
      expect(RunCanceledError.isInstance(error), String(error)).toBe(true)
      expect(String(error)).toContain('The AI SDK aborted the model call')
      expect((await runner.activity.detail(agentId)).status).toBe('canceled')
      if (stream) {
        const events = await drain(stream)
        expect(
          events.some(
            (event) => event.type === 'native' && (event.event as { type: string }).type === 'abort',
          ),
        ).toBe(true)
        expect(events.at(-1)?.type).toBe('run-error')
      }
    }
  })

  it('a provider error with no attempt left fails the run with the SDK’s error', async () => {
    const runner = new AISDKRunner()
    const { agent, player } = agentOf('settings', runner, scenario().error(503, 'Overloaded').text('Never.'))
    const error = await rejectionOf(runner.runStreamed(agent, 'go', { retry: { attempts: 1 } }).result)
    expect(APICallError.isInstance(error)).toBe(true)
    expect((error as APICallError).statusCode).toBe(503)
    expect(player.calls).toHaveLength(1)
  })

  it('a stream cut after its text reached the reader fails the run: never retried', async () => {
    const runner = new AISDKRunner()
    const { agent, player } = agentOf(
      'settings',
      runner,
      scenario().cutStream('Half of an answer that').text('Whole answer.'),
    )
    const stream = runner.runStreamed(agent, 'go', {
      agentId: 'cut-shown',
      retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
    })
    const events = await drain(stream)
    const error = await rejectionOf(stream.result)
    expect(APICallError.isInstance(error), String(error)).toBe(true)
    expect(events.some((event) => event.type === 'text-delta')).toBe(true)
    expect(events.some((event) => event.type === 'retry')).toBe(false)
    expect(player.calls).toHaveLength(1)
    const detail = await runner.activity.detail('cut-shown')
    expect(detail.status).toBe('error')
    expect(detail.log.filter((entry) => entry.kind === 'retry')).toEqual([])
  })

  it('a stream cut before any text restarts the attempt; run() repeats the request in place', async () => {
    const runner = new AISDKRunner()
    const cutEarly = agentOf('settings', runner, scenario().cutStream('').text('Whole answer.'))
    const stream = runner.runStreamed(cutEarly.agent, 'go', {
      agentId: 'cut-early',
      retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
    })
    const events = await drain(stream)
    const result = await stream.result
    expect(result.text).toBe('Whole answer.')
    expect(result.attempts).toBe(2)
    // The stream opened, then broke: the attempt is started over.
    expect(events.filter((event) => event.type === 'retry')).toMatchObject([
      { attempt: 2, maxAttempts: 2, restart: true },
    ])
    const retryLines = (await runner.activity.detail('cut-early')).log.filter(
      (entry) => entry.kind === 'retry',
    )
    expect(retryLines).toMatchObject([
      { attempt: 2, message: 'Retrying (attempt 2 of 2): Failed to process successful response' },
    ])

    // run() has no reader: the cut answer of a generated request is repeated in place.
    const generated = agentOf(
      'settings',
      runner,
      scenario().cutStream('Half of an answer that').text('Whole answer.'),
    )
    const again = await runner.run(generated.agent, 'go', {
      retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
    })
    expect(again.text).toBe('Whole answer.')
    expect(again.attempts).toBe(2)
    expect(
      again.trajectory?.steps.filter((step) => step.kind === 'retry').map((step) => step.data),
    ).toMatchObject([{ restart: false }])
  })

  it('a malformed answer ends the run in error (the error part is never a success)', async () => {
    const runner = new AISDKRunner()
    for (const streamed of [true, false]) {
      const { agent } = agentOf('agent', runner, scenario().malformed())
      const agentId = `malformed-${streamed}`
      const error = await rejectionOf(
        streamed ? runner.runStreamed(agent, 'go', { agentId }).result : runner.run(agent, 'go', { agentId }),
      )
      expect(String(error)).toMatch(/JSON/)
      expect((await runner.activity.detail(agentId)).status).toBe('error')
    }
  })

  it('a reader that stops cancels the run and the tool in progress', async () => {
    const runner = new AISDKRunner()
    const state = { started: false, sawAbort: false }
    const wait = tool({
      description: 'Waits until it is aborted.',
      inputSchema: z.object({}),
      execute: async (_input, { abortSignal }): Promise<string> => {
        state.started = true
        await currentRun()?.report('Waiting for the data')
        return new Promise((_, reject) => {
          const onAbort = () => {
            state.sawAbort = true
            reject(abortSignal?.reason)
          }
          // The reader may have stopped while the report was written.
          if (abortSignal?.aborted) onAbort()
          else abortSignal?.addEventListener('abort', onAbort)
        })
      },
    })
    const { agent } = agentOf('agent', runner, scenario().toolCall('wait', {}).text('never'), {
      tools: { wait },
    })
    const stream = runner.runStreamed(agent, 'go', { agentId: 'reader-stops' })
    for await (const event of stream)
      if (event.type === 'status-update' && event.message === 'Waiting for the data') break
    expect(RunCanceledError.isInstance(await rejectionOf(stream.result))).toBe(true)
    expect(state.started).toBe(true)
    await expect.poll(() => state.sawAbort).toBe(true)
    expect((await runner.activity.detail('reader-stops')).status).toBe('canceled')
  })

  it('an answer the provider marks interrupted (or error) is never a success: NoOutputGeneratedError, retryable', async () => {
    for (const streamed of [false, true]) {
      for (const unified of ['interrupted', 'error'] as const) {
        const usage = {
          inputTokens: { total: 3, noCache: 3, cacheRead: undefined, cacheWrite: undefined },
          outputTokens: { total: 2, text: 2, reasoning: undefined },
        }
        const finishReason = { unified, raw: undefined }
        const model = new MockLanguageModelV4({
          doGenerate: { content: [{ type: 'text', text: 'Half an' }], finishReason, usage, warnings: [] },
          doStream: {
            stream: new ReadableStream({
              start(controller) {
                controller.enqueue({ type: 'stream-start', warnings: [] })
                controller.enqueue({ type: 'text-start', id: 't' })
                controller.enqueue({ type: 'text-delta', id: 't', delta: 'Half an' })
                controller.enqueue({ type: 'text-end', id: 't' })
                controller.enqueue({ type: 'finish', finishReason, usage })
                controller.close()
              },
            }),
          },
        })
        const runner = new AISDKRunner()
        const agent = { model }
        const once = { retry: { attempts: 1 } }
        const error = await rejectionOf(
          streamed ? runner.runStreamed(agent, 'go', once).result : runner.run(agent, 'go', once),
        )
        expect(NoOutputGeneratedError.isInstance(error), `${unified}, ${streamed}: ${String(error)}`).toBe(
          true,
        )
        expect(String(error)).toContain(unified === 'interrupted' ? 'interrupted' : 'finishReason "error"')
        expect(isRetryableAISDKError(error)).toBe(true)
      }
    }
  })
})

describe.each(modes.filter((mode) => mode.streamed))('the wire form of a run ($label)', ({ kind }) => {
  it('the run-end frame of a short answer is small: the AI SDK’s result stays in process', async () => {
    const runner = new AISDKRunner()
    const { agent } = agentOf(kind, runner, scenario().text('Hi.'))
    const stream = runner.runStreamed(agent, 'Hello')
    const frames = (await stream.toSSEResponse().text()).split('\n\n')
    const runEnd = frames.find((frame) => frame.startsWith('event: run-end\n'))
    expect(runEnd).toBeDefined()
    const frame = runEnd ?? ''
    expect(new TextEncoder().encode(frame).byteLength).toBeLessThan(1024)
    for (const internal of ['_steps', 'baseStream', '"_promise"']) expect(frame).not.toContain(internal)
    const data = JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as { result: Record<string, unknown> }
    expect(data.result).toMatchObject({ status: 'complete', text: 'Hi.', turns: 1, attempts: 1 })
    expect(data.result).not.toHaveProperty('output')
    expect(data.result).not.toHaveProperty('trajectory')
    // In process, the result keeps the AI SDK's own.
    const output = (await stream.result).output as AISDKStreamOutput
    expect(output.mode).toBe('stream')
    expect(await output.result.text).toBe('Hi.')
    expect(output.steps).toHaveLength(1)
  })
})
