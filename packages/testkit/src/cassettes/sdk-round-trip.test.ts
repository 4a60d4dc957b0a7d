import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordingFetch } from './recording-fetch.js'
import { replayingFetch, UnrecordedRequestError } from './replaying-fetch.js'
import {
  type LoopbackProvider,
  RESPONSE_SECRETS,
  startLoopbackProvider,
} from './test-helpers/loopback-provider.js'

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-cassettes-sdk-'))
afterAll(() => fs.rmSync(directory, { recursive: true, force: true }))

/** Fails naming the secret when the cassette contains it. */
function expectNoSecrets(file: string, secrets: string[]): void {
  const text = fs.readFileSync(file, 'utf8')
  for (const secret of secrets)
    expect(text.includes(secret), `${file} contains the secret ${secret}`).toBe(false)
}

describe('cassettes with the real OpenAI SDK', () => {
  const apiKey = 'sk-secret-123'
  const file = path.join(directory, 'openai', 'chat.json')
  const question = { model: 'gpt-test', messages: [{ role: 'user' as const, content: 'hello' }] }
  const other = { model: 'gpt-test', messages: [{ role: 'user' as const, content: 'streamed' }] }
  let provider: LoopbackProvider
  let baseURL: string
  const live: { completion?: OpenAI.ChatCompletion; chunks?: string[]; helper?: OpenAI.ChatCompletion } = {}

  /** Collects the content deltas of a raw stream. */
  async function deltas(stream: AsyncIterable<OpenAI.ChatCompletionChunk>): Promise<string[]> {
    const pieces: string[] = []
    for await (const chunk of stream) {
      const choice = chunk.choices[0]
      pieces.push(
        choice
          ? (choice.delta.content ?? `[${choice.finish_reason}]`)
          : `[usage ${chunk.usage?.total_tokens}]`,
      )
    }
    return pieces
  }

  beforeAll(async () => {
    provider = await startLoopbackProvider()
    baseURL = `${provider.origin}/v1`
    const client = new OpenAI({
      apiKey,
      baseURL,
      organization: 'org-request-secret-555',
      project: 'proj-request-secret-666',
      fetch: recordingFetch({ file }),
      maxRetries: 0,
    })
    live.completion = await client.chat.completions.create(question)
    live.chunks = await deltas(
      await client.chat.completions.create({
        ...other,
        stream: true,
        stream_options: { include_usage: true },
      }),
    )
    live.helper = await client.chat.completions.stream(other).finalChatCompletion()
    await provider.close()
  })

  const replayClient = (fetch = replayingFetch({ file })) =>
    new OpenAI({ apiKey: 'sk-other-key', baseURL, fetch, maxRetries: 0 })

  it('recorded real answers, with the key sent over the wire', () => {
    expect(live.completion?.choices[0]?.message.content).toBe('echo: hello')
    expect(live.chunks).toEqual(['', 'echo', ': st', 'ream', 'ed', '[stop]', '[usage 8]'])
    expect(live.helper?.choices[0]?.message.content).toBe('echo: streamed')
    expect(provider.received.map((request) => request.headers.authorization)).toEqual(
      Array(3).fill(`Bearer ${apiKey}`),
    )
    expect(provider.received[0]?.headers['openai-organization']).toBe('org-request-secret-555')
  })

  it('replays a completion, a raw stream and the stream helper without the server', async () => {
    const fetch = replayingFetch({ file })
    const client = replayClient(fetch)
    expect(await client.chat.completions.create(question)).toEqual(live.completion)
    expect(
      await deltas(
        await client.chat.completions.create({
          ...other,
          stream: true,
          stream_options: { include_usage: true },
        }),
      ),
    ).toEqual(live.chunks)
    expect(await client.chat.completions.stream(other).finalChatCompletion()).toEqual(live.helper)
    fetch.assertAllUsed()
    expect(fetch.calls.map((call) => call.interaction)).toEqual([0, 1, 2])
  })

  it('gives the SDK the recorded status and headers', async () => {
    const { response } = await replayClient().chat.completions.create(question).withResponse()
    expect(response.status).toBe(200)
    expect(response.headers.get('x-request-id')).toBe('req_1')
    expect(response.headers.get('set-cookie')).toBeNull()
  })

  it('fails an unrecorded request with a message that names it and says to re-record', async () => {
    const fetch = replayingFetch({ file })
    const error = await replayClient(fetch)
      .chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'never recorded' }] })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      )
    // The SDK wraps whatever fetch throws in an APIConnectionError; ours is its cause.
    expect(error).toBeInstanceOf(OpenAI.APIConnectionError)
    const cause = (error as Error).cause
    expect(cause).toBeInstanceOf(UnrecordedRequestError)
    expect((cause as Error).message).toMatch(
      new RegExp(
        `^Cassette .*chat\\.json has no recording for POST ${baseURL}/chat/completions \\{"model":"gpt-test","messages":\\[\\{"role":"user","content":"never recorded"\\}\\]\\}: record it again with recordingFetch\\.`,
      ),
    )
    expect(fetch.calls).toEqual([expect.objectContaining({ interaction: undefined })])
  })

  it('reports recordings never replayed', async () => {
    const fetch = replayingFetch({ file })
    await replayClient(fetch).chat.completions.create(question)
    expect(() => fetch.assertAllUsed()).toThrow(
      /has 2 recording\(s\) that were never replayed: POST .*streamed/,
    )
  })

  it('writes no secret of the request or the response', () => {
    expectNoSecrets(file, [
      apiKey,
      'org-request-secret-555',
      'proj-request-secret-666',
      RESPONSE_SECRETS.cookie,
      RESPONSE_SECRETS.organization,
      RESPONSE_SECRETS.token,
    ])
    const cassette = JSON.parse(fs.readFileSync(file, 'utf8'))
    expect(cassette.interactions).toHaveLength(3)
    expect(Object.keys(cassette.interactions[0].request.headers)).toEqual(
      expect.arrayContaining(['content-type', 'user-agent']),
    )
    expect(cassette.interactions[1].response.body).toContain('data: [DONE]')
  })
})

describe('cassettes with the real Anthropic SDK (Authorization: Bearer)', () => {
  const apiKey = 'sk-ant-secret-456'
  const file = path.join(directory, 'anthropic', 'messages.json')
  const request = {
    model: 'claude-test',
    max_tokens: 100,
    messages: [{ role: 'user' as const, content: 'hi' }],
  }
  let provider: LoopbackProvider
  let live: { message?: Anthropic.Message; streamed?: string } = {}

  beforeAll(async () => {
    provider = await startLoopbackProvider()
    const client = new Anthropic({
      apiKey,
      baseURL: provider.origin,
      fetch: recordingFetch({ file }),
      maxRetries: 0,
    })
    live = {
      message: await client.messages.create(request),
      streamed: await client.messages
        .stream({ ...request, messages: [{ role: 'user', content: 'stream' }] })
        .finalText(),
    }
    await provider.close()
  })

  it('sent the key as a bearer token, and never wrote it', () => {
    expect(provider.received[0]?.headers.authorization).toBe(`Bearer ${apiKey}`)
    expect(live.message?.content).toEqual([{ type: 'text', text: 'echo: hi' }])
    expect(live.streamed).toBe('echo: stream')
    expectNoSecrets(file, [
      apiKey,
      RESPONSE_SECRETS.cookie,
      RESPONSE_SECRETS.organization,
      RESPONSE_SECRETS.token,
    ])
    const { interactions } = JSON.parse(fs.readFileSync(file, 'utf8'))
    expect(interactions[0].request.headers['anthropic-version']).toEqual(expect.any(String))
  })

  it('replays the message and the stream without the server', async () => {
    const fetch = replayingFetch({ file })
    const client = new Anthropic({ apiKey: 'another-key', baseURL: provider.origin, fetch, maxRetries: 0 })
    expect(await client.messages.create(request)).toEqual(live.message)
    expect(
      await client.messages
        .stream({ ...request, messages: [{ role: 'user', content: 'stream' }] })
        .finalText(),
    ).toBe(live.streamed)
    fetch.assertAllUsed()
  })
})
