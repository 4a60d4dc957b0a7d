import OpenAI from 'openai'
import type { ResponseInputItem, ResponseStreamEvent } from 'openai/resources/responses/responses'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { scenario } from '../scenario/scenario.js'
import { type ProtocolFake, startProtocolFake } from './protocol-fake.js'

let server: ProtocolFake
let client: OpenAI

beforeAll(async () => {
  server = await startProtocolFake()
  client = new OpenAI({ apiKey: 'sk-test', baseURL: server.openaiBaseURL, maxRetries: 0, logLevel: 'off' })
})

afterAll(async () => {
  await server.close()
})

async function collect(stream: AsyncIterable<ResponseStreamEvent>): Promise<ResponseStreamEvent[]> {
  const events: ResponseStreamEvent[] = []
  for await (const event of stream) events.push(event)
  return events
}

describe('OpenAI Responses fake, through the openai SDK', () => {
  it('answers create() with a completed response whose output_text works', async () => {
    const { model, player } = server.play(
      scenario()
        .text('Otters sleep holding hands.')
        .usage({ inputTokens: 20, outputTokens: 7, cachedInputTokens: 5 }),
    )
    const response = await client.responses.create({ model, input: 'Tell me about otters' })

    expect(response.object).toBe('response')
    expect(response.status).toBe('completed')
    expect(response.output_text).toBe('Otters sleep holding hands.')
    expect(response.output).toEqual([
      expect.objectContaining({ type: 'message', role: 'assistant', status: 'completed' }),
    ])
    expect(response.usage).toEqual({
      input_tokens: 20,
      input_tokens_details: { cached_tokens: 5 },
      output_tokens: 7,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 27,
    })
    player.assertDone()
  })

  it('answers tool calls as function_call items with call_id and JSON-string arguments', async () => {
    const { model } = server.play(
      scenario().toolCalls([
        { name: 'search', input: { query: 'otters' } },
        { name: 'report_status', input: { message: 'Searching', percentage: 20 }, id: 'call_status' },
      ]),
    )
    const response = await client.responses.create({ model, input: 'Go' })

    expect(response.output_text).toBe('')
    expect(response.output).toEqual([
      expect.objectContaining({
        type: 'function_call',
        call_id: 'call_0_0',
        name: 'search',
        arguments: '{"query":"otters"}',
      }),
      expect.objectContaining({
        type: 'function_call',
        call_id: 'call_status',
        name: 'report_status',
        arguments: '{"message":"Searching","percentage":20}',
      }),
    ])
  })

  it('streams events with increasing sequence numbers, text deltas, argument deltas and usage', async () => {
    const { model } = server.play(
      scenario()
        .toolCall('search', { query: 'sea otters' }, { text: 'Let me look that up.' })
        .usage({ reasoningTokens: 2 }),
    )
    const events = await collect(await client.responses.create({ model, input: 'Otters?', stream: true }))

    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, position) => position))
    expect(events[0]?.type).toBe('response.created')
    const textDeltas = events.flatMap((event) =>
      event.type === 'response.output_text.delta' ? [event.delta] : [],
    )
    expect(textDeltas.length).toBeGreaterThanOrEqual(3)
    expect(textDeltas.join('')).toBe('Let me look that up.')
    const argumentDeltas = events.flatMap((event) =>
      event.type === 'response.function_call_arguments.delta' ? [event.delta] : [],
    )
    expect(argumentDeltas.length).toBeGreaterThanOrEqual(2)
    expect(argumentDeltas.join('')).toBe('{"query":"sea otters"}')

    const completed = events.at(-1)
    expect(completed?.type).toBe('response.completed')
    if (completed?.type !== 'response.completed') return
    expect(completed.response.status).toBe('completed')
    expect(completed.response.usage).toMatchObject({
      input_tokens: 10,
      output_tokens: 5,
      total_tokens: 15,
      output_tokens_details: { reasoning_tokens: 2 },
    })
    expect(completed.response.output.map((item) => item.type)).toEqual(['message', 'function_call'])
  })

  it('streams reasoning as summary events before the text', async () => {
    const { model } = server.play(scenario().text('Done.', { reasoning: 'Otters are mustelids, so...' }))
    const events = await collect(await client.responses.create({ model, input: 'Think', stream: true }))
    const types = events.map((event) => event.type)

    const summary = events.flatMap((event) =>
      event.type === 'response.reasoning_summary_text.delta' ? [event.delta] : [],
    )
    expect(summary.join('')).toBe('Otters are mustelids, so...')
    expect(types.indexOf('response.reasoning_summary_text.done')).toBeLessThan(
      types.indexOf('response.output_text.delta'),
    )
    const completed = events.at(-1)
    expect(completed?.type === 'response.completed' && completed.response.output[0]).toMatchObject({
      type: 'reasoning',
      summary: [{ type: 'summary_text', text: 'Otters are mustelids, so...' }],
    })
  })

  it('passes the strict responses.stream() helper: finalResponse() has text, calls and usage', async () => {
    const { model } = server.play(
      scenario()
        .toolCall('search', { query: 'otters' }, { text: 'Searching now.' })
        .usage({ inputTokens: 12 }),
    )
    const stream = client.responses.stream({ model, input: 'Otters?' })
    const deltas: string[] = []
    stream.on('response.output_text.delta', (event) => deltas.push(event.delta))
    const response = await stream.finalResponse()

    expect(deltas.length).toBeGreaterThanOrEqual(2)
    expect(response.output_text).toBe('Searching now.')
    expect(response.output.find((item) => item.type === 'function_call')).toMatchObject({
      call_id: 'call_0_0',
      arguments: '{"query":"otters"}',
    })
    expect(response.usage?.input_tokens).toBe(12)
  })

  it('plays a tool loop: function_call, function_call_output sent back, final text', async () => {
    const { model, player } = server.play(
      scenario().toolCall('search', { query: 'otters' }).text('Otters hold hands.'),
    )
    const tools = [
      {
        type: 'function' as const,
        name: 'search',
        parameters: { type: 'object', properties: { query: { type: 'string' } } },
        strict: false,
      },
    ]
    const input: ResponseInputItem[] = [{ role: 'user', content: 'Tell me about otters' }]

    const first = await client.responses.create({ model, input, tools })
    for (const item of first.output) {
      if (item.type !== 'function_call') continue
      input.push(item)
      input.push({ type: 'function_call_output', call_id: item.call_id, output: 'results for otters' })
    }
    const second = await client.responses.create({ model, input, tools })

    expect(second.output_text).toBe('Otters hold hands.')
    const sent = server.requestsFor(model)[1]?.body.input as ResponseInputItem[]
    expect(sent.at(-1)).toEqual({
      type: 'function_call_output',
      call_id: 'call_0_0',
      output: 'results for otters',
    })
    player.assertDone()
  })

  it('surfaces scripted errors as typed errors', async () => {
    const { model } = server.play(scenario().error(429).error(503, 'Down for a nap'))
    await expect(client.responses.create({ model, input: 'x' })).rejects.toBeInstanceOf(OpenAI.RateLimitError)
    const failed = await client.responses.create({ model, input: 'x' }).catch((error) => error)
    expect(failed).toBeInstanceOf(OpenAI.InternalServerError)
    expect(failed).toMatchObject({ status: 503, message: expect.stringContaining('Down for a nap') })
  })

  it('hangs until the client aborts a stream request', async () => {
    const { model } = server.play(scenario().hang())
    const controller = new AbortController()
    const pending = client.responses.create(
      { model, input: 'x', stream: true },
      { signal: controller.signal },
    )
    await vi.waitFor(() => expect(server.requestsFor(model)).toHaveLength(1))
    controller.abort()
    await expect(pending).rejects.toBeInstanceOf(OpenAI.APIUserAbortError)
    await vi.waitFor(() => expect(server.pendingRequests).toBe(0))
  })

  // Malformed: create() JSON rejects with the raw JSON.parse SyntaxError; a raw stream yields
  // `response.created` and then throws SyntaxError 'Error reading response: malformed server-sent
  // event JSON.'; the responses.stream() helper rejects with OpenAIError (same message).
  it('fails on a malformed answer with an error, never a hang', async () => {
    const { model } = server.play(scenario().malformed().malformed().malformed())
    await expect(client.responses.create({ model, input: 'x' })).rejects.toBeInstanceOf(SyntaxError)

    const types: string[] = []
    const iterate = async () => {
      for await (const event of await client.responses.create({ model, input: 'x', stream: true })) {
        types.push(event.type)
      }
    }
    await expect(iterate()).rejects.toThrow(/malformed server-sent event JSON/)
    expect(types).toEqual(['response.created'])

    await expect(client.responses.stream({ model, input: 'x' }).finalResponse()).rejects.toThrow(
      OpenAI.OpenAIError,
    )
  })

  // Cut stream: a raw stream yields the events before the cut, then throws undici's
  // `TypeError: terminated` (no `response.completed`); the helper rejects with OpenAIError
  // 'terminated'; a cut JSON body rejects with the raw TypeError 'terminated'.
  it('cuts a stream in the middle: some deltas, then an error, never a hang', async () => {
    const { model } = server.play(scenario().cutStream('one two three four').cutStream().cutStream())

    const deltas: string[] = []
    const types: string[] = []
    const iterate = async () => {
      for await (const event of await client.responses.create({ model, input: 'x', stream: true })) {
        types.push(event.type)
        if (event.type === 'response.output_text.delta') deltas.push(event.delta)
      }
    }
    const error = await iterate().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(TypeError)
    expect(deltas).toEqual(['one', ' two'])
    expect(types).not.toContain('response.completed')

    await expect(client.responses.stream({ model, input: 'x' }).finalResponse()).rejects.toThrow(
      OpenAI.OpenAIError,
    )
    await expect(client.responses.create({ model, input: 'x' })).rejects.toThrow('terminated')
  })
})
