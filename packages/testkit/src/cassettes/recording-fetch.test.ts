import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Cassette } from './cassette.js'
import { recordingFetch } from './recording-fetch.js'
import { Redactor } from './redaction.js'
import { replayingFetch } from './replaying-fetch.js'
import { isSecretHeader, requestSecrets, scrubUrl } from './scrub.js'
import {
  type LoopbackProvider,
  RESPONSE_SECRETS,
  startLoopbackProvider,
} from './test-helpers/loopback-provider.js'

let provider: LoopbackProvider
let directory: string
let count = 0

beforeAll(async () => {
  provider = await startLoopbackProvider()
  directory = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-cassettes-'))
})

afterAll(async () => {
  await provider.close()
  fs.rmSync(directory, { recursive: true, force: true })
})

/** A new cassette path, in a directory that does not exist yet. */
const newFile = () => path.join(directory, `nested-${++count}`, 'deeper', 'cassette.json')
const readFile = (file: string): Cassette => JSON.parse(fs.readFileSync(file, 'utf8'))

describe('recordingFetch', () => {
  it('returns an equivalent response and writes the interaction as pretty JSON, creating the directory', async () => {
    const file = newFile()
    const fetch = recordingFetch({ file })
    const response = await fetch(`${provider.origin}/echo?q=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-trace': 'abc' },
      body: JSON.stringify({ hello: 'world' }),
    })
    expect(response.status).toBe(200)
    expect(response.ok).toBe(true)
    expect(response.url).toBe(`${provider.origin}/echo?q=1`)
    expect(response.headers.get('content-type')).toBe('application/json')
    expect(await response.json()).toEqual({
      method: 'POST',
      path: '/echo',
      query: '?q=1',
      body: '{"hello":"world"}',
    })

    const text = fs.readFileSync(file, 'utf8')
    expect(text).toContain('\n  "interactions": [\n')
    const cassette: Cassette = JSON.parse(text)
    expect(cassette).toEqual({
      version: 1,
      interactions: [
        {
          request: {
            method: 'POST',
            url: `${provider.origin}/echo?q=1`,
            headers: { 'content-type': 'application/json', 'x-trace': 'abc' },
            body: '{"hello":"world"}',
          },
          response: {
            status: 200,
            statusText: 'OK',
            headers: expect.objectContaining({
              'content-type': 'application/json',
              'x-request-id': expect.any(String),
            }),
            body: expect.stringContaining('"path":"/echo"'),
          },
        },
      ],
    })
    expect(fetch.interactions).toEqual(cassette.interactions)
  })

  it('takes a Request object, or a URL, as input', async () => {
    const file = newFile()
    const fetch = recordingFetch({ file })
    const fromRequest = await fetch(
      new Request(`${provider.origin}/echo`, { method: 'PUT', body: 'plain text' }),
    )
    expect(await fromRequest.json()).toMatchObject({ method: 'PUT', body: 'plain text' })
    const fromUrl = await fetch(new URL(`${provider.origin}/echo?from=url`))
    expect(await fromUrl.json()).toMatchObject({ method: 'GET', query: '?from=url', body: '' })
    expect(readFile(file).interactions.map(({ request }) => [request.method, request.body])).toEqual([
      ['PUT', 'plain text'],
      ['GET', null],
    ])
  })

  it('writes after each interaction, and starts a re-recording clean unless told to append', async () => {
    const file = newFile()
    const first = recordingFetch({ file })
    await first(`${provider.origin}/echo?n=1`)
    expect(readFile(file).interactions).toHaveLength(1)
    await first(`${provider.origin}/echo?n=2`)
    expect(readFile(file).interactions).toHaveLength(2)

    await recordingFetch({ file })(`${provider.origin}/echo?n=3`)
    expect(readFile(file).interactions.map(({ request }) => request.url)).toEqual([
      `${provider.origin}/echo?n=3`,
    ])

    await recordingFetch({ file, append: true })(`${provider.origin}/echo?n=4`)
    expect(readFile(file).interactions.map(({ request }) => new URL(request.url).search)).toEqual([
      '?n=3',
      '?n=4',
    ])
    expect(fs.readdirSync(path.dirname(file))).toEqual(['cassette.json'])
  })

  it('keeps every interaction of concurrent requests', async () => {
    const file = newFile()
    const fetch = recordingFetch({ file })
    await Promise.all(Array.from({ length: 8 }, (_, index) => fetch(`${provider.origin}/echo?n=${index}`)))
    const urls = readFile(file).interactions.map(({ request }) => request.url)
    expect(urls.sort()).toEqual(
      Array.from({ length: 8 }, (_, index) => `${provider.origin}/echo?n=${index}`).sort(),
    )
  })

  it('records error responses, bodiless ones, decoded gzip and binary bodies, and replays them alike', async () => {
    const file = newFile()
    const fetch = recordingFetch({ file })
    const paths = ['/fail', '/empty', '/gzip', '/binary']
    const live = []
    for (const route of paths) {
      const response = await fetch(`${provider.origin}${route}`)
      live.push({
        status: response.status,
        statusText: response.statusText,
        type: response.headers.get('content-type'),
        bytes: [...new Uint8Array(await response.arrayBuffer())],
      })
    }
    expect(live.map(({ status }) => status)).toEqual([500, 204, 200, 200])
    expect(Buffer.from(live[2]!.bytes).toString()).toBe('{"compressed":true}')
    expect(live[3]!.bytes).toEqual([0, 255, 254, 1, 128, 10])

    const [fail, empty, gzip, binary] = readFile(file).interactions.map(({ response }) => response)
    expect(fail).toMatchObject({ status: 500, statusText: 'Internal Server Error' })
    expect(empty).toMatchObject({ status: 204, body: null })
    expect(gzip!.body).toBe('{"compressed":true}')
    expect(gzip!.headers).not.toHaveProperty('content-encoding')
    expect(binary).toMatchObject({
      body: Buffer.from([0, 255, 254, 1, 128, 10]).toString('base64'),
      bodyEncoding: 'base64',
    })

    const replay = replayingFetch({ file })
    for (const [index, route] of paths.entries()) {
      const response = await replay(`${provider.origin}${route}`)
      expect({
        status: response.status,
        statusText: response.statusText,
        type: response.headers.get('content-type'),
        bytes: [...new Uint8Array(await response.arrayBuffer())],
      }).toEqual(live[index])
    }
    replay.assertAllUsed()
  })

  it('uses the fetch it is given', async () => {
    const file = newFile()
    const seen: string[] = []
    const fetch = recordingFetch({
      file,
      fetch: async (input, init) => {
        seen.push(`${init?.method} ${String(input)}`)
        return new Response('{"fake":true}', { status: 201, headers: { 'content-type': 'application/json' } })
      },
    })
    const response = await fetch('https://api.example.com/v1/things', { method: 'POST', body: '{}' })
    expect(response.status).toBe(201)
    expect(seen).toEqual(['POST https://api.example.com/v1/things'])
    expect(readFile(file).interactions[0]!.response.body).toBe('{"fake":true}')
  })

  it('never writes a secret header or query parameter, and keeps the others', async () => {
    const file = newFile()
    const fetch = recordingFetch({ file })
    const secrets = {
      authorization: 'Bearer sk-secret-auth-1',
      'x-api-key': 'secret-x-api-key-2',
      'api-key': 'secret-api-key-3',
      'openai-organization': 'secret-org-4',
      'openai-project': 'secret-project-5',
      cookie: 'sid=secret-cookie-6',
      'proxy-authorization': 'Basic secret-proxy-7',
      'x-goog-api-key': 'secret-goog-8',
      'X-Custom-Token': 'secret-token-9',
      'x-client-secret': 'secret-client-10',
      'x-amz-authorization-ish': 'secret-amz-11',
    }
    await fetch(
      `${provider.origin}/echo?key=secret-query-12&api_key=secret-query-13&API-KEY=secret-query-14&model=m1`,
      {
        method: 'POST',
        headers: { ...secrets, 'content-type': 'application/json', 'anthropic-version': '2026-10-21' },
        body: '{}',
      },
    )
    const sent = provider.received.at(-1)!
    expect(sent.headers.authorization).toBe(secrets.authorization)
    expect(sent.url).toContain('secret-query-12')

    const text = fs.readFileSync(file, 'utf8')
    for (const secret of [
      ...Object.values(secrets),
      'secret-query-12',
      'secret-query-13',
      'secret-query-14',
      RESPONSE_SECRETS.cookie,
      RESPONSE_SECRETS.organization,
      RESPONSE_SECRETS.token,
    ]) {
      expect(text.includes(secret), `the cassette contains ${secret}`).toBe(false)
    }
    const [{ request, response }] = readFile(file).interactions as [Cassette['interactions'][0]]
    expect(request.headers).toEqual({ 'content-type': 'application/json', 'anthropic-version': '2026-10-21' })
    expect(request.url).toBe(`${provider.origin}/echo?model=m1`)
    expect(response.headers).toHaveProperty('x-request-id')
    expect(response.headers).not.toHaveProperty('set-cookie')
    // The echo route reflects the query: the key's value is redacted in the response body too.
    expect(JSON.parse(response.body!).query).toBe(
      '?key=[REDACTED]&api_key=[REDACTED]&API-KEY=[REDACTED]&model=m1',
    )
  })
})

describe('scrubbing', () => {
  it.each([
    'Authorization',
    'x-api-key',
    'API-KEY',
    'openai-organization',
    'OpenAI-Project',
    'cookie',
    'Set-Cookie',
    'proxy-authorization',
    'x-goog-api-key',
    'x-session-token',
    'x-client-secret',
    'www-authenticate',
  ])('treats %s as secret', (name) => {
    expect(isSecretHeader(name)).toBe(true)
  })

  it.each(['content-type', 'anthropic-version', 'user-agent', 'x-stainless-retry-count', 'openai-beta'])(
    'keeps %s',
    (name) => {
      expect(isSecretHeader(name)).toBe(false)
    },
  )

  it('finds the credentials of a request and their parts, ignoring short pieces', () => {
    const headers = new Headers({
      authorization: 'Bearer sk-abcdef123',
      cookie: 'sid=cookie-value-1; theme=dark',
      'x-auth-mode': 'on',
      'content-type': 'application/json',
    })
    expect(requestSecrets(headers, 'https://example.com/x?key=query/secret-1&q=public-value').sort()).toEqual(
      [
        'Bearer sk-abcdef123',
        'cookie-value-1',
        'query/secret-1',
        'sid=cookie-value-1; theme=dark',
        'sk-abcdef123',
      ].sort(),
    )
    expect(
      new Redactor(['query/secret-1', 'cookie-value-1']).text('key cookie-value-1, url query%2Fsecret-1'),
    ).toBe('key [REDACTED], url [REDACTED]')
  })

  it('removes only the key query parameters, and leaves a URL without them untouched', () => {
    expect(scrubUrl('https://example.com/v1/x?key=s1&alt=sse&Api_Key=s2&api-key=s3')).toBe(
      'https://example.com/v1/x?alt=sse',
    )
    const untouched = 'https://example.com/v1/x?q=a%20b&keyword=k'
    expect(scrubUrl(untouched)).toBe(untouched)
  })
})
