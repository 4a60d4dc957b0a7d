import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ScenarioExhaustedError } from '../scenario/player.js'
import { scenario } from '../scenario/scenario.js'
import { type ProtocolFake, type ProtocolFakeOptions, startProtocolFake } from './protocol-fake.js'

const started: ProtocolFake[] = []

async function start(options?: ProtocolFakeOptions): Promise<ProtocolFake> {
  const server = await startProtocolFake(options)
  started.push(server)
  return server
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((server) => server.close()))
})

const openai = (server: ProtocolFake, maxRetries = 0) =>
  new OpenAI({ apiKey: 'sk-test', baseURL: server.openaiBaseURL, maxRetries })

describe('startProtocolFake', () => {
  it('binds 127.0.0.1 only, on an ephemeral port, and exposes the base URLs', async () => {
    const server = await start()
    const address = server.address()

    expect(address.address).toBe('127.0.0.1')
    expect(address.family).toBe('IPv4')
    expect(address.port).toBeGreaterThan(0)
    expect(server.url).toBe(`http://127.0.0.1:${address.port}`)
    expect(server.openaiBaseURL).toBe(`${server.url}/v1`)
    expect(server.anthropicBaseURL).toBe(server.url)
  })

  it('answers unknown paths with 404 and a JSON error naming the path', async () => {
    const server = await start()
    const response = await fetch(`${server.url}/v1/embeddings`, { method: 'POST', body: '{}' })

    expect(response.status).toBe(404)
    const body = (await response.json()) as { error: { message: string } }
    expect(body.error.message).toContain('/v1/embeddings')
    expect(server.requests).toEqual([])
    expect(server.errors).toHaveLength(1)
  })

  it('answers an unknown model with 404 naming the scripted models; no fallback to the only scenario', async () => {
    const server = await start()
    const { model } = server.play(scenario().text('Never played.'))
    const error = await openai(server)
      .chat.completions.create({ model: 'gpt-unknown', messages: [] })
      .catch((caught: unknown) => caught)

    expect(error).toBeInstanceOf(OpenAI.NotFoundError)
    expect((error as Error).message).toContain('"gpt-unknown"')
    expect((error as Error).message).toContain(`"${model}"`)
    expect(server.requestsFor('gpt-unknown')).toHaveLength(1)
    expect(() => server.assertDone()).toThrow(/gpt-unknown/)
  })

  it('answers a call beyond the script with 500 naming the script, records it, and stops SDK retries', async () => {
    const server = await start()
    const { model, player } = server.play(scenario().text('Only once.'), { label: 'the otter script' })
    const client = openai(server, 2)
    await client.chat.completions.create({ model, messages: [] })

    const error = await client.chat.completions
      .create({ model, messages: [] })
      .catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.InternalServerError)
    expect((error as Error).message).toContain(
      'the otter script: model call 2 is beyond the script of 1 turn(s)',
    )
    // x-should-retry: false, so the default 2 retries never happen.
    expect(server.requestsFor(model)).toHaveLength(2)
    expect(server.errors).toHaveLength(1)
    expect(server.errors[0]).toBeInstanceOf(ScenarioExhaustedError)
    expect(player.calls).toHaveLength(2)
    expect(() => server.assertDone()).toThrow(/beyond the script/)
  })

  it('routes by model so scenarios run concurrently on one server, and logs requests', async () => {
    const server = await start()
    const first = server.play(scenario().text('First says hi.').text('First again.'))
    const second = server.play(scenario().text('Second says hi.'), { model: 'claude-fake' })
    expect(first.model).toBe('scenario-1')
    const client = openai(server)
    const anthropic = new Anthropic({ apiKey: 'sk-ant', baseURL: server.anthropicBaseURL, maxRetries: 0 })

    const [a, b, c] = await Promise.all([
      client.chat.completions.create({ model: first.model, messages: [{ role: 'user', content: 'one' }] }),
      anthropic.messages.create({
        model: second.model,
        max_tokens: 10,
        messages: [{ role: 'user', content: 'two' }],
      }),
      client.responses.create({ model: first.model, input: 'three', stream: true }).then(async (stream) => {
        for await (const _event of stream) {
          // drain
        }
      }),
    ])
    expect(a.choices[0]?.message.content).toMatch(/^First/)
    expect(b.content[0]).toMatchObject({ text: 'Second says hi.' })
    expect(c).toBeUndefined()

    expect(server.requests).toHaveLength(3)
    expect(
      server
        .requestsFor(first.model)
        .map((request) => request.protocol)
        .sort(),
    ).toEqual(['openai-chat', 'openai-responses'])
    const [chatRequest] = server
      .requestsFor(first.model)
      .filter((request) => request.protocol === 'openai-chat')
    expect(chatRequest).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      model: first.model,
      stream: false,
      body: { model: first.model, messages: [{ role: 'user', content: 'one' }] },
      headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' },
    })
    expect(chatRequest?.at).toBeGreaterThan(0)
    expect(
      server.requestsFor(first.model).find((request) => request.protocol === 'openai-responses')?.stream,
    ).toBe(true)
    for (const played of [first, second]) {
      expect(played.player.calls.map((call) => call.request)).toEqual(server.requestsFor(played.model))
      expect(played.player.calls[0]?.request).toBe(server.requestsFor(played.model)[0])
    }
    expect(() => second.player.assertDone()).not.toThrow()
    expect(() => server.assertDone()).not.toThrow()
  })

  it('refuses a second scenario under the same model', async () => {
    const server = await start()
    server.play(scenario().text('a'), { model: 'same' })
    expect(() => server.play(scenario().text('b'), { model: 'same' })).toThrow(/already plays/)
  })

  it('refuses requests without credentials unless requireAuth is false', async () => {
    const strict = await start()
    const { model } = strict.play(scenario().text('Hi.'))
    const post = (server: ProtocolFake, path: string, headers: Record<string, string> = {}) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ model, max_tokens: 5, messages: [] }),
      })

    expect((await post(strict, '/v1/chat/completions')).status).toBe(401)
    const anthropic = await post(strict, '/v1/messages', { 'x-api-key': 'k' })
    expect(anthropic.status).toBe(400)
    expect(await anthropic.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } })
    expect(strict.requests).toEqual([])

    const lenient = await start({ requireAuth: false })
    lenient.play(scenario().text('Hi.'), { model })
    expect((await post(lenient, '/v1/chat/completions')).status).toBe(200)
  })

  it('close() destroys hanging requests and open sockets, and resolves', async () => {
    const server = await start()
    const { model } = server.play(scenario().hang())
    const outcome = openai(server)
      .chat.completions.create({ model, messages: [] })
      .catch((error: unknown) => error)
    await vi.waitFor(() => expect(server.pendingRequests).toBe(1))

    await server.close()
    expect(await outcome).toBeInstanceOf(OpenAI.APIConnectionError)
    expect(server.openConnections).toBe(0)
    expect(server.pendingRequests).toBe(0)
    await expect(fetch(server.url)).rejects.toThrow()
  })

  it('lets the client abort a hanging call without leaking the socket', async () => {
    const server = await start()
    const { model } = server.play(scenario().hang().text('After the hang.'))
    const client = openai(server)
    const controller = new AbortController()
    const pending = client.chat.completions.create({ model, messages: [] }, { signal: controller.signal })
    await vi.waitFor(() => expect(server.pendingRequests).toBe(1))
    controller.abort()

    await expect(pending).rejects.toBeInstanceOf(OpenAI.APIUserAbortError)
    await vi.waitFor(() => {
      expect(server.pendingRequests).toBe(0)
      expect(server.openConnections).toBe(0)
    })
    const next = await client.chat.completions.create({ model, messages: [] })
    expect(next.choices[0]?.message.content).toBe('After the hang.')
  })

  it('supports await using', async () => {
    let escaped: ProtocolFake | undefined
    {
      await using server = await startProtocolFake()
      escaped = server
      expect(server.address().port).toBeGreaterThan(0)
    }
    await expect(fetch(escaped.url)).rejects.toThrow()
  })

  it('paces SSE frames with frameDelayMs, so a consumer can stop in the middle', async () => {
    const server = await start({ frameDelayMs: 20 })
    const { model } = server.play(scenario().text('one two three four five six seven eight'))
    const stream = await openai(server).chat.completions.create({ model, messages: [], stream: true })
    const started = Date.now()
    const texts: string[] = []
    for await (const chunk of stream) {
      texts.push(chunk.choices[0]?.delta.content ?? '')
      if (texts.length === 3) break
    }
    expect(Date.now() - started).toBeLessThan(200)
    expect(texts.join('')).toBe('one two')
    await vi.waitFor(() => expect(server.pendingRequests).toBe(0))
  })
})
