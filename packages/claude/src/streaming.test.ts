import type { MessageParam, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages'
import { defineTool, type RunEvent } from '@runner/core'
import { completed } from '@runner/core/test'
import { scenario } from '@runner/testkit'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { ClaudeRunner } from './claude-runner.js'
import { claudeOnFake, clientFor, drain } from './test-helpers/harness.js'
import { sseFrame, startMessagesServer } from './test-helpers/messages-server.js'

const search = defineTool({
  name: 'search',
  description: 'Searches the web.',
  inputSchema: z.object({ query: z.string(), limit: z.number().optional() }),
  execute: async ({ query }) => `results for ${query}`,
})

const of = <T extends RunEvent['type']>(events: RunEvent[], type: T) =>
  events.filter((event): event is Extract<RunEvent, { type: T }> => event.type === type)

describe('ClaudeRunner streaming', () => {
  it('streams on the SDK message stream: text_delta -> text-delta, in order, inside turns', async () => {
    await using claude = await claudeOnFake()
    const { model } = claude.fake.play(
      scenario()
        .toolCall('search', { query: 'otters' }, { text: 'Let me look.' })
        .text('Otters hold hands while they sleep.'),
    )
    const stream = claude.runner.runStreamed({ model, maxTokens: 100, tools: [search] }, 'q')
    const events = await drain(stream)
    const result = await stream.result
    expect(claude.fake.requestsFor(model).every((request) => request.stream)).toBe(true)
    const deltas = of(events, 'text-delta').map((event) => event.text)
    expect(deltas.length).toBeGreaterThan(4)
    expect(deltas.join('')).toBe('Let me look.Otters hold hands while they sleep.')
    // The result's text is the final answer only; the deltas carry every turn's text.
    expect(result.text).toBe('Otters hold hands while they sleep.')
    const types = events.map((event) => event.type)
    expect(types.indexOf('turn-start')).toBeLessThan(types.indexOf('text-delta'))
    expect(types.lastIndexOf('text-delta')).toBeLessThan(types.lastIndexOf('turn-end'))
    expect(types.indexOf('tool-call')).toBeLessThan(types.indexOf('tool-result'))
  })

  it('assembles input_json_delta into one complete tool call', async () => {
    await using claude = await claudeOnFake()
    const input = { query: 'sea otters and their habit of holding hands', limit: 3 }
    const { model } = claude.fake.play(scenario().toolCall('search', input).text('ok'))
    const events = await drain(claude.runner.runStreamed({ model, maxTokens: 100, tools: [search] }, 'q'))
    const calls = of(events, 'tool-call')
    expect(calls).toEqual([{ type: 'tool-call', toolCallId: 'call_0_0', toolName: 'search', input }])
    expect(of(events, 'tool-result')[0]).toMatchObject({
      output: `results for ${input.query}`,
      isError: false,
    })
    // The request carried the streamed input in several pieces (the fake splits it in three).
    const sent = claude.fake.requestsFor(model)[1]!.body.messages as MessageParam[]
    expect(sent[1]).toMatchObject({ content: [{ type: 'tool_use', id: 'call_0_0', input }] })
  })

  it('streamed tool input that is not valid JSON reaches the model as a validation error; the run goes on', async () => {
    await using server = await startMessagesServer([
      {
        content: [],
        stop_reason: null,
        frames: [
          sseFrame('content_block_start', {
            index: 0,
            content_block: {
              type: 'tool_use',
              id: 't1',
              name: 'search',
              input: {},
              caller: { type: 'direct' },
            },
          }),
          sseFrame('content_block_delta', {
            index: 0,
            delta: { type: 'input_json_delta', partial_json: '{"query": "ot' },
          }),
          sseFrame('content_block_delta', {
            index: 0,
            delta: { type: 'input_json_delta', partial_json: 'ters", ' },
          }),
          sseFrame('content_block_stop', { index: 0 }),
          sseFrame('message_delta', {
            delta: { stop_reason: 'tool_use', stop_sequence: null },
            usage: { output_tokens: 3 },
          }),
          sseFrame('message_stop', {}),
        ],
      },
      { content: [{ type: 'text', text: 'Sorry, retrying later.' }], stop_reason: 'end_turn' },
    ])
    const runner = new ClaudeRunner({ client: clientFor(server.url) })
    const stream = runner.runStreamed({ model: 'claude-test', maxTokens: 100, tools: [search] }, 'q')
    const events = await drain(stream)
    expect((await stream.result).text).toBe('Sorry, retrying later.')
    expect(of(events, 'tool-call')[0]?.input).toBe('{"query": "otters", ')
    expect(of(events, 'tool-result')[0]).toMatchObject({ isError: true })
    const results = (server.requests[1]!.messages as MessageParam[]).at(-1)
    expect(results).toMatchObject({
      role: 'user',
      content: [
        {
          type: 'tool_result',
          tool_use_id: 't1',
          is_error: true,
          content: expect.stringContaining('Invalid input for tool "search"'),
        },
      ],
    })
  })

  it('passes extended thinking through: thinking_delta -> reasoning-delta, thinking blocks sent back', async () => {
    await using claude = await claudeOnFake()
    const { model } = claude.fake.play(
      scenario()
        .toolCall('search', { query: 'otters' })
        .text('They hold hands.', { reasoning: 'Sea otters sleep on water, so they must not drift.' })
        .usage({ outputTokens: 40, reasoningTokens: 25 }),
    )
    const agent = {
      model,
      maxTokens: 4096,
      tools: [search],
      modelSettings: { thinking: { budgetTokens: 2048 } },
    }
    const stream = claude.runner.runStreamed(agent, 'Why?')
    const events = await drain(stream)
    const result = await completed(stream.result)
    expect(claude.fake.requestsFor(model)[0]!.body.thinking).toEqual({ type: 'enabled', budget_tokens: 2048 })
    const reasoning = of(events, 'reasoning-delta').map((event) => event.text)
    expect(reasoning.length).toBeGreaterThan(1)
    expect(reasoning.join('')).toBe('Sea otters sleep on water, so they must not drift.')
    const types = events.map((event) => event.type)
    expect(types.lastIndexOf('reasoning-delta')).toBeLessThan(
      types.indexOf('text-delta', types.lastIndexOf('turn-start')),
    )
    expect(result.text).toBe('They hold hands.')
    expect(result.usage.reasoningTokens).toBe(25)
    expect(result.output.message.content[0]).toMatchObject({
      type: 'thinking',
      signature: expect.any(String),
    })
  })

  it('includeNative passes every raw stream event through, in order', async () => {
    await using claude = await claudeOnFake()
    const { model } = claude.fake.play(scenario().text('Hello there.'))
    const events = await drain(
      claude.runner.runStreamed({ model, maxTokens: 100 }, 'q', { includeNative: true }),
    )
    const native = of(events, 'native').map((event) => event.event as RawMessageStreamEvent)
    expect(native[0]?.type).toBe('message_start')
    expect(native.at(-1)?.type).toBe('message_stop')
    expect(native.map((event) => event.type)).toContain('content_block_delta')
    expect(native.map((event) => event.type)).toContain('message_delta')
    // Each text delta follows its own native event.
    const types = events.map((event) => event.type)
    expect(types[types.indexOf('text-delta') - 1]).toBe('native')

    const plain = claude.fake.play(scenario().text('Hello there.'))
    const without = await drain(claude.runner.runStreamed({ model: plain.model, maxTokens: 100 }, 'q'))
    expect(of(without, 'native')).toEqual([])
  })

  it('run() and a drained runStreamed() agree, the first on messages.create, the second on the stream', async () => {
    await using claude = await claudeOnFake()
    const script = () =>
      scenario().toolCall('search', { query: 'a' }).text('Same answer.').usage({ inputTokens: 30 })
    const first = claude.fake.play(script())
    const second = claude.fake.play(script())
    const fromRun = await completed(
      claude.runner.run({ model: first.model, maxTokens: 100, tools: [search] }, 'q'),
    )
    const stream = claude.runner.runStreamed({ model: second.model, maxTokens: 100, tools: [search] }, 'q')
    await drain(stream)
    const fromStream = await completed(stream.result)
    expect(claude.fake.requestsFor(first.model).map((request) => request.stream)).toEqual([false, false])
    expect(claude.fake.requestsFor(second.model).map((request) => request.stream)).toEqual([true, true])
    expect([fromStream.text, fromStream.usage, fromStream.turns]).toEqual([
      fromRun.text,
      fromRun.usage,
      fromRun.turns,
    ])
    expect(fromStream.output.messages).toEqual(fromRun.output.messages)
  })

  it('streams internally when maxTokens is too large for a non-streamed call (the SDK’s 10-minute rule)', async () => {
    await using claude = await claudeOnFake()
    const { model } = claude.fake.play(scenario().toolCall('search', { query: 'x' }).text('Long answer.'))
    const result = await claude.runner.run({ model, maxTokens: 64_000, tools: [search] }, 'q')
    expect(result.text).toBe('Long answer.')
    expect(claude.fake.requestsFor(model).map((request) => request.stream)).toEqual([true, true])

    // A small maxTokens stays on messages.create.
    const small = claude.fake.play(scenario().text('Short.'))
    await claude.runner.run({ model: small.model, maxTokens: 1024 }, 'q')
    expect(claude.fake.requestsFor(small.model)[0]!.stream).toBe(false)
  })
})
