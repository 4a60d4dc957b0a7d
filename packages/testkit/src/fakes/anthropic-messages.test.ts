import Anthropic from '@anthropic-ai/sdk'
import type { MessageParam, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { scenario } from '../scenario/scenario.js'
import { type ProtocolFake, startProtocolFake } from './protocol-fake.js'

let server: ProtocolFake
let client: Anthropic

beforeAll(async () => {
  server = await startProtocolFake()
  client = new Anthropic({
    apiKey: 'sk-ant-test',
    baseURL: server.anthropicBaseURL,
    maxRetries: 0,
    logLevel: 'off',
  })
})

afterAll(async () => {
  await server.close()
})

async function collect(stream: AsyncIterable<RawMessageStreamEvent>): Promise<RawMessageStreamEvent[]> {
  const events: RawMessageStreamEvent[] = []
  for await (const event of stream) events.push(event)
  return events
}

const ask = (model: string) => ({
  model,
  max_tokens: 1024,
  messages: [{ role: 'user' as const, content: 'Hi' }],
})

describe('Anthropic Messages fake, through @anthropic-ai/sdk', () => {
  it('answers create() with text, end_turn, role and usage; the SDK sends Bearer + 2026-10-21', async () => {
    const { model, player } = server.play(
      scenario()
        .text('Hello, otter fan.')
        .usage({ inputTokens: 100, outputTokens: 9, cachedInputTokens: 60 }),
    )
    const message = await client.messages.create(ask(model))

    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: 'text', text: 'Hello, otter fan.' }],
      stop_reason: 'end_turn',
    })
    // As on the API, input_tokens excludes cache reads.
    expect(message.usage).toMatchObject({ input_tokens: 40, cache_read_input_tokens: 60, output_tokens: 9 })
    const { headers } = server.requestsFor(model)[0]!
    expect(headers.authorization).toBe('Bearer sk-ant-test')
    expect(headers['anthropic-version']).toBe('2026-10-21')
    player.assertDone()
  })

  it('answers tool calls as tool_use blocks with object input and stop_reason tool_use', async () => {
    const { model } = server.play(
      scenario().toolCalls(
        [
          { name: 'search', input: { query: 'otters' } },
          { name: 'report_status', input: { message: 'Searching', percentage: 20 } },
        ],
        'Two things at once.',
      ),
    )
    const message = await client.messages.create(ask(model))

    expect(message.stop_reason).toBe('tool_use')
    expect(message.content).toEqual([
      expect.objectContaining({ type: 'text', text: 'Two things at once.' }),
      expect.objectContaining({
        type: 'tool_use',
        id: 'call_0_0',
        name: 'search',
        input: { query: 'otters' },
      }),
      expect.objectContaining({
        type: 'tool_use',
        id: 'call_0_1',
        name: 'report_status',
        input: { message: 'Searching', percentage: 20 },
      }),
    ])
  })

  it('streams named events: message_start with usage, small deltas, message_delta, message_stop', async () => {
    const { model } = server.play(
      scenario()
        .toolCall('search', { query: 'sea otters' }, { text: 'Let me look that up.' })
        .usage({ outputTokens: 12 }),
    )
    const events = await collect(await client.messages.create({ ...ask(model), stream: true }))
    const types = events.map((event) => event.type)

    expect(types[0]).toBe('message_start')
    expect(types.at(-1)).toBe('message_stop')
    const start = events[0]
    expect(start?.type === 'message_start' && start.message).toMatchObject({
      role: 'assistant',
      content: [],
      usage: { input_tokens: 10 },
    })
    const textDeltas = events.flatMap((event) =>
      event.type === 'content_block_delta' && event.delta.type === 'text_delta' ? [event.delta.text] : [],
    )
    expect(textDeltas.length).toBeGreaterThanOrEqual(3)
    expect(textDeltas.join('')).toBe('Let me look that up.')
    const jsonDeltas = events.flatMap((event) =>
      event.type === 'content_block_delta' && event.delta.type === 'input_json_delta'
        ? [event.delta.partial_json]
        : [],
    )
    expect(jsonDeltas.length).toBeGreaterThanOrEqual(2)
    expect(JSON.parse(jsonDeltas.join(''))).toEqual({ query: 'sea otters' })
    const delta = events.find((event) => event.type === 'message_delta')
    expect(delta?.type === 'message_delta' && delta.delta.stop_reason).toBe('tool_use')
    expect(delta?.type === 'message_delta' && delta.usage.output_tokens).toBe(12)
  })

  it('passes messages.stream().finalMessage(), thinking block included', async () => {
    const { model } = server.play(
      scenario()
        .text('Otters hold hands.', { reasoning: 'They sleep on water, so...' })
        .usage({ reasoningTokens: 6 }),
    )
    const stream = client.messages.stream(ask(model))
    const texts: string[] = []
    const thinking: string[] = []
    stream.on('text', (text) => texts.push(text))
    stream.on('thinking', (delta) => thinking.push(delta))
    const message = await stream.finalMessage()

    expect(texts.length).toBeGreaterThanOrEqual(2)
    expect(thinking.join('')).toBe('They sleep on water, so...')
    expect(message.role).toBe('assistant')
    expect(message.stop_reason).toBe('end_turn')
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'They sleep on water, so...', signature: expect.any(String) },
      expect.objectContaining({ type: 'text', text: 'Otters hold hands.' }),
    ])
    expect(message.usage).toMatchObject({
      input_tokens: 10,
      output_tokens: 5,
      cache_read_input_tokens: 0,
      output_tokens_details: { thinking_tokens: 6 },
    })
  })

  it('plays a tool loop: tool_use, tool_result sent back, final text', async () => {
    const { model, player } = server.play(
      scenario().toolCall('search', { query: 'otters' }).text('Otters hold hands.'),
    )
    const messages: MessageParam[] = [{ role: 'user', content: 'Tell me about otters' }]
    const tools = [
      {
        name: 'search',
        input_schema: { type: 'object' as const, properties: { query: { type: 'string' } } },
      },
    ]

    const first = await client.messages.stream({ model, max_tokens: 1024, messages, tools }).finalMessage()
    messages.push({ role: first.role, content: first.content })
    messages.push({
      role: 'user',
      content: first.content.flatMap((block) =>
        block.type === 'tool_use'
          ? [{ type: 'tool_result' as const, tool_use_id: block.id, content: 'results for otters' }]
          : [],
      ),
    })
    const second = await client.messages.create({ model, max_tokens: 1024, messages, tools })

    expect(second.content).toEqual([expect.objectContaining({ type: 'text', text: 'Otters hold hands.' })])
    const sent = server.requestsFor(model)[1]?.body.messages as MessageParam[]
    expect(sent.at(-1)).toEqual({
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: 'call_0_0', content: 'results for otters' }],
    })
    player.assertDone()
  })

  it('accepts the older auth style: x-api-key + anthropic-version 2023-06-01 (raw fetch)', async () => {
    const { model } = server.play(scenario().text('Old but gold.').toolCall('search', { query: 'otters' }))
    const post = (stream: boolean) =>
      fetch(`${server.anthropicBaseURL}/v1/messages`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-api-key': 'sk-ant-old',
          'anthropic-version': '2023-06-01',
        },
        body: JSON.stringify({ ...ask(model), stream }),
      })

    const json = await post(false)
    expect(json.status).toBe(200)
    expect(await json.json()).toMatchObject({
      role: 'assistant',
      content: [{ type: 'text', text: 'Old but gold.' }],
    })

    const sse = await post(true)
    expect(sse.headers.get('content-type')).toContain('text/event-stream')
    const frames = (await sse.text()).split('\n\n').filter((frame) => frame !== '')
    for (const frame of frames) expect(frame).toMatch(/^event: \w+\ndata: \{/)
    expect(frames.at(-1)).toMatch(/^event: message_stop\n/)
    expect(server.requestsFor(model)[0]?.headers['x-api-key']).toBe('sk-ant-old')
  })

  it('surfaces 429, 500 and 529 as RateLimitError, InternalServerError and OverloadedError', async () => {
    const { model } = server.play(scenario().error(429).error(500).error(529, 'Overloaded'))

    const rateLimited = await client.messages.create(ask(model)).catch((error) => error)
    expect(rateLimited).toBeInstanceOf(Anthropic.RateLimitError)
    expect(rateLimited.status).toBe(429)
    expect(rateLimited.headers.get('retry-after')).toBe('0')
    expect(rateLimited.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } })

    const failed = await client.messages.create(ask(model)).catch((error) => error)
    expect(failed).toBeInstanceOf(Anthropic.InternalServerError)
    expect(failed.error).toMatchObject({ error: { type: 'api_error' } })

    const overloaded = await client.messages.create(ask(model)).catch((error) => error)
    expect(overloaded).toBeInstanceOf(Anthropic.OverloadedError)
    expect(overloaded.status).toBe(529)
    expect(overloaded.error).toMatchObject({
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
    })
  })

  it('hangs until the client aborts the stream helper: APIUserAbortError, request let go', async () => {
    const { model } = server.play(scenario().hang())
    const controller = new AbortController()
    const stream = client.messages.stream(ask(model), { signal: controller.signal })
    await vi.waitFor(() => expect(server.requestsFor(model)).toHaveLength(1))
    controller.abort()
    await expect(stream.finalMessage()).rejects.toBeInstanceOf(Anthropic.APIUserAbortError)
    await vi.waitFor(() => expect(server.pendingRequests).toBe(0))
  })

  // Malformed: create() JSON rejects with the raw JSON.parse SyntaxError; a raw stream yields
  // message_start and then throws that SyntaxError; the stream() helper rejects with
  // AnthropicError (the SyntaxError's message).
  it('fails on a malformed answer with an error, never a hang', async () => {
    const { model } = server.play(scenario().malformed().malformed().malformed())
    await expect(client.messages.create(ask(model))).rejects.toBeInstanceOf(SyntaxError)

    const types: string[] = []
    const iterate = async () => {
      for await (const event of await client.messages.create({ ...ask(model), stream: true }))
        types.push(event.type)
    }
    await expect(iterate()).rejects.toBeInstanceOf(SyntaxError)
    expect(types).toEqual(['message_start'])

    await expect(client.messages.stream(ask(model)).finalMessage()).rejects.toThrow(Anthropic.AnthropicError)
  })

  // Cut stream: a raw stream yields the events before the cut, then throws undici's
  // `TypeError: terminated` (no message_stop); the stream() helper rejects with AnthropicError
  // 'terminated' (cause TypeError); a cut JSON body rejects with the raw TypeError 'terminated'.
  it('cuts a stream in the middle: some deltas, then an error, never a hang', async () => {
    const { model } = server.play(scenario().cutStream('one two three four').cutStream().cutStream())

    const texts: string[] = []
    const types: string[] = []
    const iterate = async () => {
      for await (const event of await client.messages.create({ ...ask(model), stream: true })) {
        types.push(event.type)
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta')
          texts.push(event.delta.text)
      }
    }
    const error = await iterate().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(TypeError)
    expect((error as Error).message).toBe('terminated')
    expect(texts).toEqual(['one', ' two'])
    expect(types).not.toContain('message_stop')

    await expect(client.messages.stream(ask(model)).finalMessage()).rejects.toThrow(Anthropic.AnthropicError)
    await expect(client.messages.create(ask(model))).rejects.toThrow('terminated')
  })
})
