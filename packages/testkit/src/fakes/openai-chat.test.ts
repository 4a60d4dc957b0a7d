import OpenAI from 'openai'
import type { ChatCompletionChunk, ChatCompletionMessageParam } from 'openai/resources/chat/completions'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { scenario } from '../scenario/scenario.js'
import { type ProtocolFake, startProtocolFake } from './protocol-fake.js'

let server: ProtocolFake
let client: OpenAI

beforeAll(async () => {
  server = await startProtocolFake()
  // logLevel 'off': the SDK logs malformed SSE to the console before throwing.
  client = new OpenAI({ apiKey: 'sk-test', baseURL: server.openaiBaseURL, maxRetries: 0, logLevel: 'off' })
})

afterAll(async () => {
  await server.close()
})

async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = []
  for await (const chunk of stream) chunks.push(chunk)
  return chunks
}

describe('OpenAI Chat Completions fake, through the openai SDK', () => {
  it('answers create() with text, stop and usage', async () => {
    const { model, player } = server.play(scenario().text('Hello there, otter fan.'))
    const completion = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Hi' }],
    })

    expect(completion.object).toBe('chat.completion')
    expect(completion.model).toBe(model)
    expect(completion.choices[0]?.message).toMatchObject({
      role: 'assistant',
      content: 'Hello there, otter fan.',
    })
    expect(completion.choices[0]?.finish_reason).toBe('stop')
    expect(completion.usage).toEqual({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 })
    expect(player.calls[0]?.request).toBe(server.requestsFor(model)[0])
    player.assertDone()
  })

  it('answers create() with tool calls whose arguments are JSON strings, and usage details', async () => {
    const { model } = server.play(
      scenario()
        .toolCalls([
          { name: 'search', input: { query: 'otters' } },
          { name: 'report_status', input: { message: 'Searching', percentage: 20 } },
        ])
        .usage({ inputTokens: 30, outputTokens: 8, cachedInputTokens: 12, reasoningTokens: 3 }),
    )
    const completion = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Go' }],
    })
    const choice = completion.choices[0]

    expect(choice?.finish_reason).toBe('tool_calls')
    expect(choice?.message.content).toBeNull()
    expect(choice?.message.tool_calls).toEqual([
      { id: 'call_0_0', type: 'function', function: { name: 'search', arguments: '{"query":"otters"}' } },
      {
        id: 'call_0_1',
        type: 'function',
        function: { name: 'report_status', arguments: '{"message":"Searching","percentage":20}' },
      },
    ])
    expect(completion.usage).toEqual({
      prompt_tokens: 30,
      completion_tokens: 8,
      total_tokens: 38,
      prompt_tokens_details: { cached_tokens: 12 },
      completion_tokens_details: { reasoning_tokens: 3 },
    })
  })

  it('streams text in several deltas, tool calls in pieces, then a usage chunk with an id', async () => {
    const { model } = server.play(
      scenario().toolCall('search', { query: 'sea otters' }, { text: 'Let me look that up.' }),
    )
    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Otters?' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    const chunks = await collect(stream)

    for (const chunk of chunks) {
      expect(chunk.id).toBeTruthy()
      for (const choice of chunk.choices) expect(choice.index).toBe(0)
    }
    const texts = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.delta.content ?? ''))
    expect(texts.filter((text) => text !== '').length).toBeGreaterThanOrEqual(3)
    expect(texts.join('')).toBe('Let me look that up.')

    const toolDeltas = chunks.flatMap((chunk) =>
      chunk.choices.flatMap((choice) => choice.delta.tool_calls ?? []),
    )
    expect(toolDeltas[0]).toEqual({
      index: 0,
      id: 'call_0_0',
      type: 'function',
      function: { name: 'search', arguments: '' },
    })
    const argumentDeltas = toolDeltas.slice(1).map((delta) => delta.function?.arguments)
    expect(argumentDeltas.length).toBeGreaterThanOrEqual(2)
    expect(argumentDeltas.join('')).toBe('{"query":"sea otters"}')

    const finish = chunks
      .flatMap((chunk) => chunk.choices.map((choice) => choice.finish_reason))
      .filter(Boolean)
    expect(finish).toEqual(['tool_calls'])
    const last = chunks.at(-1)
    expect(last?.choices).toEqual([])
    expect(last?.id).toBe(chunks[0]?.id)
    expect(last?.usage).toEqual({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 })
  })

  it('sends no usage chunk unless the request asks for it', async () => {
    const { model } = server.play(scenario().text('Short answer.'))
    const chunks = await collect(
      await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Hi' }],
        stream: true,
      }),
    )
    expect(chunks.every((chunk) => chunk.choices.length === 1 && chunk.usage === undefined)).toBe(true)
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop')
  })

  it('passes the strict stream() helper: finalChatCompletion() has text, tool calls and usage', async () => {
    const { model } = server.play(
      scenario()
        .toolCall('search', { query: 'otters', limit: 3 }, { text: 'Searching now.' })
        .usage({ cachedInputTokens: 4, reasoningTokens: 2 }),
    )
    const stream = client.chat.completions.stream({
      model,
      messages: [{ role: 'user', content: 'Otters?' }],
      stream_options: { include_usage: true },
    })
    const contentDeltas: string[] = []
    stream.on('content', (delta) => contentDeltas.push(delta))
    const completion = await stream.finalChatCompletion()

    expect(contentDeltas.length).toBeGreaterThanOrEqual(2)
    expect(completion.choices[0]?.message.content).toBe('Searching now.')
    expect(completion.choices[0]?.message.tool_calls).toEqual([
      expect.objectContaining({
        id: 'call_0_0',
        type: 'function',
        function: expect.objectContaining({ name: 'search', arguments: '{"query":"otters","limit":3}' }),
      }),
    ])
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls')
    expect(completion.usage).toMatchObject({
      prompt_tokens: 10,
      completion_tokens: 5,
      total_tokens: 15,
      prompt_tokens_details: { cached_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 2 },
    })
  })

  it('plays a tool loop: tool call, tool result sent back, final text', async () => {
    const { model, player } = server.play(
      scenario().toolCall('search', { query: 'otters' }).text('Otters hold hands.'),
    )
    const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'Tell me about otters' }]
    const tools = [
      {
        type: 'function' as const,
        function: {
          name: 'search',
          parameters: { type: 'object', properties: { query: { type: 'string' } } },
        },
      },
    ]

    const first = await client.chat.completions.create({ model, messages, tools })
    const assistant = first.choices[0]!.message
    messages.push(assistant)
    for (const call of assistant.tool_calls ?? []) {
      if (call.type !== 'function') continue
      const input = JSON.parse(call.function.arguments) as { query: string }
      messages.push({ role: 'tool', tool_call_id: call.id, content: `results for ${input.query}` })
    }
    const second = await client.chat.completions.create({ model, messages, tools })

    expect(second.choices[0]?.message.content).toBe('Otters hold hands.')
    const sent = server.requestsFor(model)[1]?.body.messages as ChatCompletionMessageParam[]
    expect(sent.at(-1)).toEqual({ role: 'tool', tool_call_id: 'call_0_0', content: 'results for otters' })
    expect(server.requestsFor(model)[1]?.body.tools).toEqual(tools)
    player.assertDone()
  })

  it('surfaces 429 as RateLimitError with retry-after: 0, and 500 as InternalServerError', async () => {
    const { model } = server.play(scenario().error(429, 'Slow down').error(500))

    const rateLimited = await client.chat.completions.create({ model, messages: [] }).catch((error) => error)
    expect(rateLimited).toBeInstanceOf(OpenAI.RateLimitError)
    expect(rateLimited).toMatchObject({ status: 429, type: 'requests', code: 'rate_limit_exceeded' })
    expect(rateLimited.message).toContain('Slow down')
    expect(rateLimited.headers.get('retry-after')).toBe('0')

    const failed = await client.chat.completions.create({ model, messages: [] }).catch((error) => error)
    expect(failed).toBeInstanceOf(OpenAI.InternalServerError)
    expect(failed).toMatchObject({ status: 500, type: 'server_error' })
  })

  it('sends the retry-after a scripted error asks for', async () => {
    const { model } = server.play(
      scenario()
        .error(429, 'Slow down', { retryAfterSeconds: 2 })
        .error(503, 'Busy', { retryAfterSeconds: 1 }),
    )
    const rateLimited = await client.chat.completions.create({ model, messages: [] }).catch((error) => error)
    expect(rateLimited).toBeInstanceOf(OpenAI.RateLimitError)
    expect(rateLimited.headers.get('retry-after')).toBe('2')
    const busy = await client.chat.completions.create({ model, messages: [] }).catch((error) => error)
    expect(busy.status).toBe(503)
    expect(busy.headers.get('retry-after')).toBe('1')
  })

  it('lets the SDK retry a 429 at once (retry-after: 0) and then succeed', async () => {
    const { model, player } = server.play(scenario().error(429).text('Second time lucky.'))
    const retrying = new OpenAI({ apiKey: 'sk-test', baseURL: server.openaiBaseURL, maxRetries: 1 })
    const started = Date.now()
    const completion = await retrying.chat.completions.create({ model, messages: [] })

    expect(completion.choices[0]?.message.content).toBe('Second time lucky.')
    expect(Date.now() - started).toBeLessThan(400)
    player.assertDone()
  })

  it('delays a slow turn', async () => {
    const { model } = server.play(scenario().text('Eventually.').slow(150))
    const started = Date.now()
    await client.chat.completions.create({ model, messages: [] })
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
  })

  it('hangs until the client aborts: APIUserAbortError, and the server lets the request go', async () => {
    const { model } = server.play(scenario().hang())
    const controller = new AbortController()
    const pending = client.chat.completions.create({ model, messages: [] }, { signal: controller.signal })
    await vi.waitFor(() => expect(server.requestsFor(model)).toHaveLength(1))
    controller.abort()

    await expect(pending).rejects.toBeInstanceOf(OpenAI.APIUserAbortError)
    await vi.waitFor(() => expect(server.pendingRequests).toBe(0))
  })

  // What a malformed answer looks like to the caller:
  // - create() JSON: the body's JSON.parse SyntaxError, as is (not an OpenAI error class).
  // - create({ stream: true }): SyntaxError 'Error reading response: malformed server-sent event JSON.'
  //   from the iteration, after the well-formed chunks before it were yielded.
  // - stream() helper: OpenAIError with the same message (the SyntaxError is its cause).
  it('fails on a malformed answer with an error, never a hang', async () => {
    const { model } = server.play(scenario().malformed().malformed().malformed())

    await expect(client.chat.completions.create({ model, messages: [] })).rejects.toBeInstanceOf(SyntaxError)

    const chunks: ChatCompletionChunk[] = []
    const iterate = async () => {
      for await (const chunk of await client.chat.completions.create({ model, messages: [], stream: true })) {
        chunks.push(chunk)
      }
    }
    await expect(iterate()).rejects.toThrow(/malformed server-sent event JSON/)
    expect(chunks).toHaveLength(1)

    const helper = client.chat.completions.stream({ model, messages: [] })
    await expect(helper.finalChatCompletion()).rejects.toThrow(OpenAI.OpenAIError)
  })

  // What a cut stream looks like to the caller (the connection is destroyed mid-body):
  // - create({ stream: true }): the chunks before the cut are yielded, then the iteration THROWS
  //   undici's `TypeError: terminated` (cause: SocketError 'other side closed'). It does not end
  //   silently: only an abort does that (SDK-NOTES). The error is not an OpenAI error class.
  // - stream() helper: finalChatCompletion() rejects with OpenAIError 'terminated' (cause TypeError).
  // - create() JSON cut after half the body: rejects with the same raw TypeError 'terminated'.
  it('cuts a stream in the middle: some deltas, then an error, never a hang', async () => {
    const { model } = server.play(
      scenario().cutStream('one two three four five six').cutStream('cut again').cutStream('cut json'),
    )

    const texts: string[] = []
    const iterate = async () => {
      for await (const chunk of await client.chat.completions.create({ model, messages: [], stream: true })) {
        texts.push(chunk.choices[0]?.delta.content ?? '')
      }
    }
    const error = await iterate().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(TypeError)
    expect((error as Error).message).toBe('terminated')
    expect(texts.join('')).toBe('one two three')

    const helper = client.chat.completions.stream({ model, messages: [] })
    await expect(helper.finalChatCompletion()).rejects.toThrow(OpenAI.OpenAIError)

    await expect(client.chat.completions.create({ model, messages: [] })).rejects.toThrow('terminated')
  })

  it('cuts a tool call in the middle of its arguments', async () => {
    const { model } = server.play({
      turns: [
        {
          index: 0,
          text: '',
          toolCalls: [{ id: 'call_0_0', name: 'search', input: { query: 'otters everywhere' } }],
          usage: { inputTokens: 1, outputTokens: 1 },
          delayMs: 0,
          fault: { type: 'cut-stream' },
        },
      ],
    })
    const argumentPieces: string[] = []
    const iterate = async () => {
      for await (const chunk of await client.chat.completions.create({ model, messages: [], stream: true })) {
        for (const call of chunk.choices[0]?.delta.tool_calls ?? [])
          argumentPieces.push(call.function?.arguments ?? '')
      }
    }
    await expect(iterate()).rejects.toThrow('terminated')
    const sent = argumentPieces.join('')
    expect(sent.length).toBeGreaterThan(0)
    expect('{"query":"otters everywhere"}'.startsWith(sent)).toBe(true)
    expect(sent).not.toBe('{"query":"otters everywhere"}')
  })
})
