import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { CassetteInteraction, CassetteRequest, CassetteResponse } from './cassette.js'
import { replayingFetch, UnrecordedRequestError } from './replaying-fetch.js'

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-replay-'))
afterAll(() => fs.rmSync(directory, { recursive: true, force: true }))
let count = 0

const API = 'https://api.example.com/v1'

/** Writes a cassette with these interactions and returns its path. */
function cassette(...interactions: CassetteInteraction[]): string {
  const file = path.join(directory, `cassette-${++count}.json`)
  fs.writeFileSync(file, JSON.stringify({ version: 1, interactions }, null, 2))
  return file
}

function interaction(
  request: Partial<CassetteRequest> & { body?: string | null },
  response: Partial<CassetteResponse> = {},
): CassetteInteraction {
  return {
    request: { method: 'POST', url: `${API}/chat`, headers: {}, body: null, ...request },
    response: {
      status: 200,
      statusText: 'OK',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      ...response,
    },
  }
}

const post = (body: string, url = `${API}/chat`) => ({ url, init: { method: 'POST', body } })

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('Expected a rejection')
}

describe('replayingFetch', () => {
  it('matches JSON bodies whatever the key order and spacing, and ignores headers', async () => {
    const file = cassette(
      interaction(
        { body: '{"model":"m","messages":[{"role":"user","content":"a"}],"n":1}' },
        { body: '"first"' },
      ),
    )
    const fetch = replayingFetch({ file })
    const response = await fetch(`${API}/chat`, {
      method: 'POST',
      headers: { authorization: 'Bearer anything', 'x-other': 'ignored' },
      body: '{ "n": 1, "messages": [ { "content": "a", "role": "user" } ], "model": "m" }',
    })
    expect(await response.json()).toBe('first')
  })

  it('does not match a JSON body that differs in array order or in a value', async () => {
    const file = cassette(interaction({ body: '{"list":[1,2]}' }), interaction({ body: '{"list":[1,2]}' }))
    const fetch = replayingFetch({ file })
    await expect(fetch(`${API}/chat`, { method: 'POST', body: '{"list":[2,1]}' })).rejects.toThrow(
      UnrecordedRequestError,
    )
    await expect(fetch(`${API}/chat`, { method: 'POST', body: '{"list":[1,"2"]}' })).rejects.toThrow(
      UnrecordedRequestError,
    )
  })

  it('serves identical requests in recorded order, each recording once', async () => {
    const body = '{"q":1}'
    const file = cassette(
      interaction({ body }, { body: '"one"' }),
      interaction({ body: '{"q":2}' }, { body: '"other"' }),
      interaction({ body }, { body: '"two"' }),
    )
    const fetch = replayingFetch({ file })
    const { url, init } = post(body)
    expect(await (await fetch(url, init)).json()).toBe('one')
    expect(await (await fetch(url, init)).json()).toBe('two')
    const error = await rejection(fetch(url, init))
    expect(error.message).toContain('Its 2 recording(s) of this exact request were all replayed already')
    expect(fetch.calls.map((call) => call.interaction)).toEqual([0, 2, undefined])
    expect(fetch.unused().map(({ response }) => response.body)).toEqual(['"other"'])
  })

  it('refuses an unrecorded request naming the cassette, method, URL and body, and saying to re-record', async () => {
    const file = cassette(interaction({ body: '{"model":"gpt-test","messages":[]}' }))
    const fetch = replayingFetch({ file })
    const long = JSON.stringify({
      model: 'gpt-4.1-mini',
      messages: [{ role: 'user', content: 'x'.repeat(500) }],
    })
    const error = await rejection(fetch(`${API}/chat`, { method: 'POST', body: long }))
    expect(error).toBeInstanceOf(UnrecordedRequestError)
    expect(error.message).toBe(
      `Cassette ${file} has no recording for POST ${API}/chat ${long.slice(0, 120)}...: record it again with recordingFetch. ` +
        `It has 1 recording(s) of POST ${API}/chat with another body, such as {"model":"gpt-test","messages":[]}.`,
    )
    expect(error).toMatchObject({ file, method: 'POST', url: `${API}/chat`, body: long })

    const other = await rejection(fetch(`${API}/embeddings`))
    expect(other.message).toBe(
      `Cassette ${file} has no recording for GET ${API}/embeddings (no body): record it again with recordingFetch.`,
    )
  })

  it('matches the method and URL, ignoring query parameter order and key parameters', async () => {
    const file = cassette(interaction({ method: 'GET', url: `${API}/models?b=2&a=1` }, { body: '"models"' }))
    const fetch = replayingFetch({ file })
    await expect(fetch(`${API}/models?b=2&a=1`, { method: 'DELETE' })).rejects.toThrow(
      /no recording for DELETE/,
    )
    await expect(fetch(`${API}/models?b=3&a=1`)).rejects.toThrow(/no recording for GET/)
    expect(await (await fetch(`${API}/models?a=1&key=any-secret&b=2`)).json()).toBe('models')
    const error = await rejection(fetch(`${API}/models?key=secret-in-query-1`))
    expect(error.message).toContain(`GET ${API}/models (no body)`)
    expect(error.message).not.toContain('secret-in-query-1')
  })

  it('takes a Request object and a URL as input', async () => {
    const file = cassette(
      interaction({ body: '{"a":1}' }, { body: '"request"' }),
      interaction({ method: 'GET', url: `${API}/models` }, { body: '"url"' }),
    )
    const fetch = replayingFetch({ file })
    const request = new Request(`${API}/chat`, { method: 'POST', body: '{"a":1}' })
    expect(await (await fetch(request)).json()).toBe('request')
    expect(await (await fetch(new URL(`${API}/models`))).json()).toBe('url')
  })

  it('replays status, status text, headers and url; a 204 without a body', async () => {
    const file = cassette(
      interaction(
        { method: 'GET', url: `${API}/limited` },
        {
          status: 429,
          statusText: 'Too Many Requests',
          headers: { 'retry-after': '1', 'content-type': 'application/json' },
          body: '{"error":"slow down"}',
        },
      ),
      interaction(
        { method: 'DELETE', url: `${API}/thing` },
        { status: 204, statusText: 'No Content', body: null },
      ),
    )
    const fetch = replayingFetch({ file })
    const limited = await fetch(`${API}/limited`)
    expect(limited).toMatchObject({
      status: 429,
      statusText: 'Too Many Requests',
      ok: false,
      url: `${API}/limited`,
    })
    expect(limited.headers.get('retry-after')).toBe('1')
    expect(await limited.json()).toEqual({ error: 'slow down' })
    const empty = await fetch(`${API}/thing`, { method: 'DELETE' })
    expect(empty.status).toBe(204)
    expect(empty.body).toBeNull()
  })

  describe('streams', () => {
    const sse = 'data: {"n":1}\n\ndata: {"n":2}\n\nevent: done\ndata: [DONE]\n\n'
    const streamed = () =>
      cassette(
        interaction(
          { body: '{"stream":true}' },
          { headers: { 'content-type': 'text/event-stream; charset=utf-8' }, body: sse },
        ),
      )

    it('replays an event stream as a stream, one event per chunk', async () => {
      const response = await replayingFetch({ file: streamed() })(`${API}/chat`, {
        method: 'POST',
        body: '{"stream":true}',
      })
      const chunks: string[] = []
      const decoder = new TextDecoder()
      for await (const chunk of response.body!) chunks.push(decoder.decode(chunk))
      expect(chunks).toEqual(['data: {"n":1}\n\n', 'data: {"n":2}\n\n', 'event: done\ndata: [DONE]\n\n'])
    })

    it('errors the body with the abort reason when the request is aborted mid-stream', async () => {
      const controller = new AbortController()
      const response = await replayingFetch({ file: streamed() })(`${API}/chat`, {
        method: 'POST',
        body: '{"stream":true}',
        signal: controller.signal,
      })
      const reader = response.body!.getReader()
      await reader.read()
      controller.abort(new Error('user stopped'))
      await expect(reader.read()).rejects.toThrow('user stopped')
    })

    it('rejects a request whose signal is already aborted, without using a recording', async () => {
      const fetch = replayingFetch({ file: streamed() })
      const error = await rejection(
        fetch(`${API}/chat`, { method: 'POST', body: '{"stream":true}', signal: AbortSignal.abort() }),
      )
      expect(error.name).toBe('AbortError')
      expect(fetch.unused()).toHaveLength(1)
    })
  })

  describe('assertAllUsed', () => {
    const twoRecordings = () =>
      cassette(interaction({ body: '{"a":1}' }), interaction({ method: 'GET', url: `${API}/models` }))

    it('passes once every recording was replayed', async () => {
      const fetch = replayingFetch({ file: twoRecordings() })
      const { url, init } = post('{"a":1}')
      await fetch(url, init)
      await fetch(`${API}/models`)
      expect(() => fetch.assertAllUsed()).not.toThrow()
    })

    it('lists the recordings never replayed', async () => {
      const file = twoRecordings()
      const fetch = replayingFetch({ file })
      await fetch(`${API}/models`)
      expect(() => fetch.assertAllUsed()).toThrow(
        `Cassette ${file} has 1 recording(s) that were never replayed: POST ${API}/chat {"a":1}. ` +
          'The code sent fewer requests than when the cassette was recorded: record it again, or pass allowUnused.',
      )
    })

    it('passes with allowUnused', () => {
      const fetch = replayingFetch({ file: twoRecordings(), allowUnused: true })
      expect(() => fetch.assertAllUsed()).not.toThrow()
      expect(fetch.unused()).toHaveLength(2)
    })
  })

  describe('cassette files', () => {
    it('says to record a cassette that does not exist', () => {
      const file = path.join(directory, 'missing.json')
      expect(() => replayingFetch({ file })).toThrow(
        `Cassette ${file} does not exist: record it first with recordingFetch({ file }).`,
      )
    })

    it.each([
      ['not JSON', '{"version":', /is not valid JSON/],
      ['another format', '[]', /is not a version 1 cassette/],
      ['a broken interaction', '{"version":1,"interactions":[{"request":{}}]}', /interaction 0 lacks/],
    ])('refuses %s, saying to re-record', (_, text, message) => {
      const file = path.join(directory, `broken-${++count}.json`)
      fs.writeFileSync(file, text)
      expect(() => replayingFetch({ file })).toThrow(message)
      expect(() => replayingFetch({ file })).toThrow(/record it again with recordingFetch/)
    })
  })
})
