import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { InvalidOptionsError, RunnerError, registerSecret } from '@runner/core'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CassetteSecretError } from '../index.js'
import type { Cassette, CassetteInteraction } from './cassette.js'
import { recordingFetch } from './recording-fetch.js'
import { replayingFetch } from './replaying-fetch.js'
import { findSecrets } from './secret-check.js'
import {
  type CredentialEchoServer,
  startCredentialEchoServer,
  unicodeEscaped,
} from './test-helpers/credential-echo-server.js'

/** Keys shaped like no built-in key pattern, so only redaction by value can remove them. */
const KEY = 'lbk/7f3a+9c2e51_Q'
const BODY_KEY = 'body-only-credential-42'
const FORM_KEY = 'form-secret-value-99'
/** What a replaying client sends instead. */
const OTHER_KEY = 'zzz/other+key_0000'

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-cassette-secrets-'))
let server: CredentialEchoServer
let count = 0
const newFile = () => path.join(directory, `cassette-${++count}.json`)
const readCassette = (file: string): Cassette => JSON.parse(fs.readFileSync(file, 'utf8'))

beforeAll(async () => {
  server = await startCredentialEchoServer()
})

afterAll(async () => {
  await server.close()
  fs.rmSync(directory, { recursive: true, force: true })
})

const lowerPercent = (text: string) => text.replace(/%[0-9A-F]{2}/g, (sequence) => sequence.toLowerCase())

/**
 * Every form of `key` found in a cassette file: in its text (raw, JSON-escaped, `\u`-escaped,
 * percent-encoded in either case, form-encoded, base64), in its decoded JSON strings (the file's,
 * and those of JSON bodies and SSE/NDJSON lines), percent-decoded, and in its base64 bodies' bytes.
 */
function leaks(file: string, key: string): string[] {
  const text = fs.readFileSync(file, 'utf8')
  const found: string[] = []
  const forms: Record<string, string> = {
    raw: key,
    'JSON-escaped': JSON.stringify(key).slice(1, -1),
    'solidus-escaped': key.replaceAll('/', '\\/'),
    'unicode-escaped': unicodeEscaped(key),
    'unicode-escaped (upper)': unicodeEscaped(key).toUpperCase().replaceAll('\\U', '\\u'),
    'percent-encoded': encodeURIComponent(key),
    'percent-encoded (lower)': lowerPercent(encodeURIComponent(key)),
    'form-encoded': new URLSearchParams([['', key]]).toString().slice(1),
    base64: Buffer.from(key).toString('base64').replace(/=+$/, ''),
  }
  for (const [name, form] of Object.entries(forms)) if (text.includes(form)) found.push(`file text (${name})`)
  const strings: string[] = []
  const collect = (value: unknown) => {
    if (typeof value === 'string') {
      strings.push(value)
      for (const line of [value, ...value.split(/\r?\n/).map((part) => part.replace(/^data:\s?/, ''))]) {
        try {
          const parsed: unknown = JSON.parse(line)
          if (typeof parsed === 'object' && parsed !== null) collect(parsed)
        } catch {
          // Not JSON.
        }
      }
    } else if (typeof value === 'object' && value !== null) {
      for (const [name, item] of Object.entries(value)) {
        strings.push(name)
        collect(item)
      }
    }
  }
  const cassette = JSON.parse(text) as Cassette
  collect(cassette)
  for (const string of strings) {
    if (string.includes(key)) found.push('a decoded JSON string')
    try {
      if (decodeURIComponent(string).includes(key)) found.push('a percent-decoded string')
    } catch {
      // Not percent-encoded.
    }
  }
  for (const { request, response } of cassette.interactions) {
    for (const message of [request, response]) {
      if (message.bodyEncoding !== 'base64' || message.body === null) continue
      const bytes = Buffer.from(message.body, 'base64')
      if (bytes.includes(Buffer.from(key))) found.push('a base64 body (UTF-8)')
      if (bytes.includes(Buffer.from(key, 'utf16le'))) found.push('a base64 body (UTF-16)')
    }
  }
  return [...new Set(found)]
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('Expected a rejection')
}

/** The requests of the hostile recording, for a given key. */
function requests(key: string, bodyKey: string, formKey: string) {
  const auth = { authorization: `Bearer ${key}`, 'x-debug-copy': `key=${key}` }
  const encoded = encodeURIComponent(key)
  return [
    { url: '/headers', init: { headers: auth } },
    { url: '/binary', init: { headers: auth } },
    { url: '/escaped', init: { headers: auth } },
    {
      url: `/path/${encoded}/x?q=${encoded}&lower=${lowerPercent(encoded)}&raw=${key}&model=m1`,
      init: { headers: auth },
    },
    { url: '/sse', init: { headers: auth } },
    {
      url: '/body',
      init: {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', nested: { apiKey: bodyKey, depth: [{ note: 'kept' }] } }),
      },
    },
    {
      url: '/body',
      init: {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `client_id=app-1&client_secret=${encodeURIComponent(formKey)}&grant_type=client_credentials`,
      },
    },
  ]
}

describe('recordingFetch against a server that sends the key back everywhere', () => {
  const file = path.join(directory, 'hostile.json')
  const live: Array<{ status: number; bytes: Buffer; headers: Record<string, string> }> = []

  beforeAll(async () => {
    const fetch = recordingFetch({ file })
    for (const { url, init } of requests(KEY, BODY_KEY, FORM_KEY)) {
      const response = await fetch(`${server.origin}${url}`, init)
      live.push({
        status: response.status,
        bytes: Buffer.from(await response.arrayBuffer()),
        headers: Object.fromEntries(response.headers),
      })
    }
  })

  it('got the keys back from the server in every response (the caller sees them)', () => {
    expect(server.seen.slice(0, 7)).toEqual([KEY, KEY, KEY, KEY, KEY, BODY_KEY, FORM_KEY])
    for (const [index, { bytes, headers }] of live.entries()) {
      const key = index === 5 ? BODY_KEY : index === 6 ? FORM_KEY : KEY
      expect(headers['x-request-echo']).toBe(`Bearer ${key}`)
      if (index !== 2) expect(bytes.includes(Buffer.from(key)), `response ${index}`).toBe(true)
    }
    expect(live[2]!.bytes.toString()).toContain(unicodeEscaped(KEY))
  })

  it('writes none of the keys, in any form', () => {
    for (const key of [KEY, BODY_KEY, FORM_KEY]) expect(leaks(file, key), key).toEqual([])
  })

  it('redacts the values and keeps everything else', () => {
    const [headers, binary, escaped, urls, sse, json, form] = readCassette(file).interactions as [
      CassetteInteraction,
      ...CassetteInteraction[],
    ]
    expect(headers.request.headers).toEqual({ 'x-debug-copy': 'key=[REDACTED]' })
    expect(headers.response.headers).toMatchObject({
      'x-request-echo': '[REDACTED]',
      'x-url-echo': '/echo/[REDACTED]',
    })
    expect(JSON.parse(headers.response.body!).headers).toMatchObject({
      authorization: '[REDACTED]',
      'x-debug-copy': 'key=[REDACTED]',
    })
    expect(binary!.response).toMatchObject({ bodyEncoding: 'base64' })
    expect([...Buffer.from(binary!.response.body!, 'base64')]).toEqual([
      ...[0xff, 0xfe, 0],
      ...Buffer.from('[REDACTED]'),
      ...[0x80, 0],
    ])
    expect(JSON.parse(escaped!.response.body!)).toEqual({ echo: '[REDACTED]', note: 'spelled with escapes' })
    expect(urls!.request.url).toBe(
      `${server.origin}/path/[REDACTED]/x?q=[REDACTED]&lower=[REDACTED]&raw=[REDACTED]&model=m1`,
    )
    expect(JSON.parse(urls!.response.body!)).toEqual({
      path: '/path/[REDACTED]/x',
      query: '?q=[REDACTED]&lower=[REDACTED]&raw=[REDACTED]&model=m1',
      decoded: '/path/[REDACTED]/x?q=[REDACTED]&lower=[REDACTED]&raw=[REDACTED]&model=m1',
    })
    expect(sse!.response.body).toBe(
      'data: {"echo":"[REDACTED]"}\n\nevent: escaped\ndata: {"echo":"[REDACTED]"}\n\n' +
        'data: plain text [REDACTED] in a line\n\ndata: [DONE]\n\n',
    )
    expect(JSON.parse(json!.request.body!)).toEqual({
      model: 'm',
      nested: { apiKey: '[REDACTED]', depth: [{ note: 'kept' }] },
    })
    expect(json!.response.headers['x-url-echo']).toBe('/echo/[REDACTED]')
    expect(form!.request.body).toBe('client_id=app-1&client_secret=[REDACTED]&grant_type=client_credentials')
  })

  it('replays every interaction to a client that sends another key', async () => {
    const cassette = readCassette(file)
    const replay = replayingFetch({ file })
    for (const [index, { url, init }] of requests(
      OTHER_KEY,
      'another-body-key-00',
      'another-form-key',
    ).entries()) {
      const response = await replay(`${server.origin}${url}`, init)
      const recorded = cassette.interactions[index]!.response
      expect(response.status).toBe(recorded.status)
      expect(Buffer.from(await response.arrayBuffer()).toString('base64')).toBe(
        recorded.bodyEncoding === 'base64' ? recorded.body : Buffer.from(recorded.body!).toString('base64'),
      )
    }
    replay.assertAllUsed()
  })

  it('still refuses a request that differs outside the redacted values', async () => {
    const replay = replayingFetch({ file, allowUnused: true })
    const error = await rejection(
      replay(`${server.origin}/body`, {
        method: 'POST',
        body: JSON.stringify({ model: 'other', nested: { apiKey: 'x', depth: [{ note: 'kept' }] } }),
      }),
    )
    expect(error.name).toBe('UnrecordedRequestError')
    const path = await rejection(replay(`${server.origin}/path/a/b/x?q=1&lower=2&raw=3&model=m1`))
    expect(path.name).toBe('UnrecordedRequestError')
  })
})

describe('secrets from the options and from core', () => {
  it('redacts the values listed in `secrets` and the matches of `secretPatterns`', async () => {
    const file = newFile()
    const fetch = recordingFetch({
      file,
      secrets: ['customer-db-pass-881'],
      secretPatterns: [/cust_[0-9]{6}/, /session=(?<secret>[a-z]{5,})/],
    })
    await fetch(`${server.origin}/headers`, {
      headers: {
        'x-note': 'pw customer-db-pass-881',
        'x-customer': 'cust_123456',
        'x-state': 'session=abcdefg',
      },
    })
    const [{ request, response }] = readCassette(file).interactions as [CassetteInteraction]
    expect(request.headers).toEqual({
      'x-customer': '[REDACTED]',
      'x-note': 'pw [REDACTED]',
      'x-state': 'session=[REDACTED]',
    })
    const text = fs.readFileSync(file, 'utf8')
    for (const secret of ['customer-db-pass-881', 'cust_123456', 'abcdefg'])
      expect(text).not.toContain(secret)
    expect(response.body).toContain('"x-customer":"[REDACTED]"')
  })

  it('redacts the values registered with registerSecret and those of key-named environment variables', async () => {
    process.env.CASSETTE_TEST_ACCESS_TOKEN = 'env-token-value-777'
    try {
      registerSecret('registered-value-4242')
      const file = newFile()
      await recordingFetch({ file })(`${server.origin}/headers`, {
        headers: { 'x-one': 'registered-value-4242', 'x-two': 'env-token-value-777' },
      })
      const text = fs.readFileSync(file, 'utf8')
      expect(text).not.toContain('registered-value-4242')
      expect(text).not.toContain('env-token-value-777')
      expect(readCassette(file).interactions[0]!.request.headers).toEqual({
        'x-one': '[REDACTED]',
        'x-two': '[REDACTED]',
      })
    } finally {
      delete process.env.CASSETTE_TEST_ACCESS_TOKEN
    }
  })

  it('refuses an empty secret or a pattern that matches nothing, naming the field', () => {
    const empty = (() => {
      try {
        recordingFetch({ file: newFile(), secrets: ['fine-value', ' '] })
      } catch (error) {
        return error
      }
    })()
    expect(empty).toBeInstanceOf(InvalidOptionsError)
    expect((empty as InvalidOptionsError).field).toBe('secrets[1]')
    expect(() => recordingFetch({ file: newFile(), secretPatterns: [/x*/] })).toThrow(/secretPatterns\[0\]/)
  })
})

describe('a recording that would still hold a secret', () => {
  it('is not written: the fetch rejects with CassetteSecretError naming the file, the interaction and the field', async () => {
    const file = newFile()
    const fetch = recordingFetch({ file })
    const auth = { authorization: `Bearer ${KEY}` }
    await fetch(`${server.origin}/headers`, { headers: auth })
    const before = fs.readFileSync(file, 'utf8')

    // The server sends the key back base64-encoded inside a JSON string: nothing marks it as a key to decode.
    const error = await rejection(fetch(`${server.origin}/base64`, { headers: auth }))
    expect(error).toBeInstanceOf(CassetteSecretError)
    expect(RunnerError.isInstance(error)).toBe(true)
    const refused = error as CassetteSecretError
    expect(refused).toMatchObject({ file, interaction: 1, method: 'GET', paths: ['response.body'] })
    expect(refused.findings).toEqual([
      { path: 'response.body', form: 'base64-encoded', source: 'request header authorization' },
    ])
    expect(refused.message).toContain(file)
    expect(refused.message).toContain('interaction 1')
    expect(refused.message).toContain('response.body')
    expect(refused.message).not.toContain(KEY)
    expect(refused.message).not.toContain(Buffer.from(`credential: ${KEY};`).toString('base64'))
    expect(fs.readFileSync(file, 'utf8')).toBe(before)
    expect(fetch.interactions).toHaveLength(1)

    // The key in UTF-16 inside a binary body: the bytes of its UTF-8 form are all that is replaced.
    const utf16 = (await rejection(fetch(`${server.origin}/utf16`, { headers: auth }))) as CassetteSecretError
    expect(utf16).toBeInstanceOf(CassetteSecretError)
    expect(utf16.findings).toEqual([
      { path: 'response.body', form: 'in the binary body (UTF-16)', source: 'request header authorization' },
    ])
    expect(fs.readFileSync(file, 'utf8')).toBe(before)

    // Recording goes on.
    await fetch(`${server.origin}/escaped`, { headers: auth })
    expect(readCassette(file).interactions).toHaveLength(2)
    expect(leaks(file, KEY)).toEqual([])
  })

  it('is found in any field and form by the check itself', () => {
    const secret = 'check+me/secret 1234'
    const interaction: CassetteInteraction = {
      request: {
        method: 'POST',
        url: `https://api.example.com/v1/${lowerPercent(encodeURIComponent(`${secret}/x`))}`,
        headers: { [`x-${secret}`]: 'name holds it' },
        body: `{"a":"${unicodeEscaped(secret)}"}`,
      },
      response: {
        status: 200,
        statusText: 'OK',
        headers: { 'x-echo': `prefix ${secret}` },
        body: Buffer.concat([Buffer.from([0xff, 0, 1]), Buffer.from(secret)]).toString('base64'),
        bodyEncoding: 'base64',
      },
    }
    const findings = findSecrets(interaction, [{ value: secret, source: 'options.secrets[0]' }])
    expect(findings.map(({ path, form }) => `${path}: ${form}`)).toEqual([
      'request.url: percent-encoded',
      `request.headers.x-${secret}: raw`,
      'request.body: inside a decoded JSON string',
      'response.headers.x-echo: raw',
      'response.body: base64-encoded',
      'response.body: in the binary body (UTF-8)',
    ])
    expect(findSecrets(interaction, [{ value: 'absent-value-99', source: 'x' }])).toEqual([])
  })
})

describe('with the real OpenAI SDK', () => {
  const apiKey = 'proj-loopback-5150-credential'

  it('records an authentication error that quotes the key without the key, and replays it', async () => {
    const file = newFile()
    const recording = new OpenAI({
      apiKey,
      baseURL: `${server.origin}/v1`,
      fetch: recordingFetch({ file }),
      maxRetries: 0,
    })
    const question = { model: 'gpt-test', messages: [{ role: 'user' as const, content: 'hello' }] }
    const live = await rejection(recording.chat.completions.create(question))
    expect(live).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(live.message).toContain(apiKey)

    expect(leaks(file, apiKey)).toEqual([])
    const [{ response }] = readCassette(file).interactions as [CassetteInteraction]
    expect(response.status).toBe(401)
    expect(JSON.parse(response.body!).error.message).toBe(
      'Incorrect API key provided: [REDACTED]. You can find your API key in your account.',
    )

    const replay = replayingFetch({ file })
    const replaying = new OpenAI({
      apiKey: 'another-key-0000',
      baseURL: `${server.origin}/v1`,
      fetch: replay,
      maxRetries: 0,
    })
    const replayed = await rejection(replaying.chat.completions.create(question))
    expect(replayed).toBeInstanceOf(OpenAI.AuthenticationError)
    expect((replayed as InstanceType<typeof OpenAI.AuthenticationError>).status).toBe(401)
    expect(replayed.message).toContain('Incorrect API key provided: [REDACTED].')
    replay.assertAllUsed()
  })
})
