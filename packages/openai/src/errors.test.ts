import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import OpenAI, { APIConnectionError, APIError, OpenAIError } from 'openai'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { OpenAIApi } from './agent.js'
import { OpenAIRunner } from './openai-runner.js'
import { fakeClient } from './test-helpers/fake-client.js'
import { rewritingErrors, rewritingFetch } from './test-helpers/rewriting-fetch.js'
import { modes, rejectionOf, runIn } from './test-helpers/run-modes.js'

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(() => fake.close())

/** One attempt: these tests look at the error a run fails with, not at retries. */
const once = { attempts: 1 }

const lastLine = async (runner: OpenAIRunner, agentId: string) =>
  (await runner.activity.detail(agentId)).log.at(-1)

describe('errors', () => {
  for (const { api, streamed, label } of modes) {
    describe(label, () => {
      it('a connection cut mid-answer is an APIConnectionError that says so', async () => {
        const { model } = fake.play(scenario().cutStream('Otters hold hands while'))
        const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL), retry: once })
        const error = await rejectionOf(runIn(streamed, runner, { model, api }, 'x', { agentId: 'cut' }))
        expect(error).toBeInstanceOf(APIConnectionError)
        expect((error as Error).message).toMatch(
          /^The connection closed before the answer was complete \(terminated/,
        )
        expect(await lastLine(runner, 'cut')).toMatchObject({
          status: 'error',
          kind: 'lifecycle',
          message: `Failed: ${(error as Error).message}`,
        })
      })

      it('an answer that is not valid JSON is an OpenAIError that says so, never retried', async () => {
        const { model, player } = fake.play(scenario().malformed().text('unused'))
        // The default retry policy (3 attempts): the error itself is not retryable.
        const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
        const error = await rejectionOf(
          runIn(streamed, runner, { model, api }, 'x', { agentId: 'malformed' }),
        )
        expect(error).toBeInstanceOf(OpenAIError)
        expect(error).not.toBeInstanceOf(APIError)
        expect((error as Error).message).toMatch(/^The server sent an answer that is not valid JSON \(/)
        expect(player.calls).toHaveLength(1)
        const log = (await runner.activity.detail('malformed')).log
        expect(log.map((entry) => [entry.status, entry.kind])).toEqual([
          ['queued', 'lifecycle'],
          ['running', 'lifecycle'],
          ['error', 'lifecycle'],
        ])
        expect(log.at(-1)?.message).toBe(`Failed: ${(error as Error).message}`)
      })
    })
  }

  it('chat: a stream that ends without a finish_reason is an error, not a truncated success', async () => {
    const { model } = fake.play(scenario().text('Otters hold hands while they sleep.'))
    const dropFinish = rewritingFetch((chunk) => {
      const choices = chunk.choices as Array<{ finish_reason: unknown }> | undefined
      return choices?.some((choice) => choice.finish_reason) ? undefined : chunk
    })
    const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL, { fetch: dropFinish }) })
    const stream = runner.runStreamed({ model }, 'x', { agentId: 'no-finish' })
    const texts: string[] = []
    for await (const event of stream) if (event.type === 'text-delta') texts.push(event.text)
    expect(texts.join('')).toBe('Otters hold hands while they sleep.')
    const error = await rejectionOf(stream.result)
    expect(error).toBeInstanceOf(APIConnectionError)
    expect((error as Error).message).toContain('ended before the model finished (no finish_reason)')
    expect((await runner.activity.detail('no-finish')).status).toBe('error')
  })

  it('responses: a stream without response.completed is an error; response.failed is the server’s error, retried', async () => {
    const { model } = fake.play(scenario().text('Cut short.'))
    const dropCompleted = rewritingFetch((event) => (event.type === 'response.completed' ? undefined : event))
    const runner = new OpenAIRunner({
      client: fakeClient(fake.openaiBaseURL, { fetch: dropCompleted }),
      retry: once,
    })
    const error = await rejectionOf(runIn(true, runner, { model, api: 'responses' }, 'x'))
    expect(error).toBeInstanceOf(APIConnectionError)
    expect((error as Error).message).toContain('no response.completed event')

    // A failed response streams no text before its end: it is retried in place.
    const failed = fake.play(scenario().text('').text(''))
    const failing = rewritingFetch((event) =>
      event.type === 'response.completed'
        ? {
            ...event,
            type: 'response.failed',
            response: {
              ...(event.response as object),
              status: 'failed',
              error: { code: 'server_error', message: 'The model crashed.' },
            },
          }
        : event,
    )
    const retrying = new OpenAIRunner({
      client: fakeClient(fake.openaiBaseURL, { fetch: failing }),
      retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
    })
    const failure = await rejectionOf(
      runIn(true, retrying, { model: failed.model, api: 'responses' }, 'x', { agentId: 'failed' }),
    )
    expect(failure).toBeInstanceOf(APIError)
    expect((failure as Error).message).toBe('The model crashed.')
    const retries = (await retrying.activity.detail('failed')).log.filter((entry) => entry.kind === 'retry')
    expect(retries).toMatchObject([{ attempt: 2, message: 'Retrying (attempt 2 of 2): The model crashed.' }])
  })
})

describe('error messages on the activity', () => {
  const html =
    '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>'
  const cases: Array<{
    what: string
    status: number
    message?: string
    body?: string
    contentType?: string
    errorClass: string
    expected: string
    raw: unknown
  }> = [
    {
      what: 'a 400 with an error message: the provider’s message, as the SDK wrote it',
      status: 400,
      message: 'Invalid value for temperature: must be at most 2.',
      errorClass: 'BadRequestError',
      expected: '400 Invalid value for temperature: must be at most 2.',
      raw: {
        message: 'Invalid value for temperature: must be at most 2.',
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    },
    {
      what: 'a 400 without an error message: the status and the error’s type, not the JSON body',
      status: 400,
      message: '',
      errorClass: 'BadRequestError',
      expected: '400 Bad Request (invalid_request_error)',
      raw: { message: '', type: 'invalid_request_error', param: null, code: null },
    },
    {
      what: 'a 429: the provider’s message',
      status: 429,
      message: 'Rate limit reached for requests',
      errorClass: 'RateLimitError',
      expected: '429 Rate limit reached for requests',
      raw: {
        message: 'Rate limit reached for requests',
        type: 'requests',
        param: null,
        code: 'rate_limit_exceeded',
      },
    },
    {
      what: 'a 502 HTML page from a proxy: the status and what happened, not the page',
      status: 502,
      body: html,
      contentType: 'text/html',
      errorClass: 'InternalServerError',
      expected:
        '502 Bad Gateway: the server sent an HTML page, not an API error (is a proxy or gateway in between?)',
      raw: html,
    },
    {
      what: 'a 500 with an empty body: the status, not the SDK’s “status code (no body)”',
      status: 500,
      body: '',
      contentType: 'text/plain',
      errorClass: 'InternalServerError',
      expected: '500 Internal Server Error (empty body)',
      raw: undefined,
    },
    {
      what: 'a 503 with a plain-text body: the text, as the SDK wrote it',
      status: 503,
      body: 'upstream connect error',
      contentType: 'text/plain',
      errorClass: 'InternalServerError',
      expected: '503 upstream connect error',
      raw: undefined,
    },
    {
      what: 'a 404 whose error is a string (compatible servers): the string, unquoted',
      status: 404,
      body: '{"error":"model \\"llama9\\" not found, try pulling it first"}',
      errorClass: 'NotFoundError',
      expected: '404 model "llama9" not found, try pulling it first',
      raw: 'model "llama9" not found, try pulling it first',
    },
    {
      what: 'a 422 with a `detail` (compatible servers): the detail',
      status: 422,
      body: '{"detail":"The model does not support tools."}',
      errorClass: 'UnprocessableEntityError',
      expected: '422 The model does not support tools.',
      raw: { detail: 'The model does not support tools.' },
    },
  ]
  const apis: Array<[OpenAIApi, boolean]> = [
    ['chat', false],
    ['responses', true],
  ]
  for (const { what, status, message, body, contentType, errorClass, expected, raw } of cases) {
    it(what, async () => {
      for (const [api, streamed] of apis) {
        const { model } = fake.play(scenario().error(status, message))
        const fetch =
          body === undefined
            ? undefined
            : rewritingErrors({ body, contentType: contentType ?? 'application/json' })
        const runner = new OpenAIRunner({
          client: fakeClient(fake.openaiBaseURL, fetch ? { fetch } : {}),
          retry: once,
        })
        const agentId = `${api}-${status}`
        const error = await rejectionOf(runIn(streamed, runner, { model, api }, 'x', { agentId }))
        expect((error as object).constructor.name, api).toBe(errorClass)
        expect((error as APIError).status, api).toBe(status)
        expect((error as Error).message, api).toBe(expected)
        // The body stays on the error, for whoever needs it.
        expect((error as APIError).error, api).toEqual(raw)
        expect(await lastLine(runner, agentId), api).toMatchObject({
          status: 'error',
          kind: 'lifecycle',
          message: `Failed: ${expected}`,
        })
      }
    })
  }

  it('chat: an error chunk without a message in the stream names its type', async () => {
    const { model } = fake.play(scenario().text('Never shown.'))
    const erroring = rewritingFetch(() => ({ error: { message: '', type: 'server_error', code: null } }))
    const runner = new OpenAIRunner({
      client: fakeClient(fake.openaiBaseURL, { fetch: erroring }),
      retry: once,
    })
    const error = await rejectionOf(runIn(true, runner, { model }, 'x', { agentId: 'in-stream' }))
    expect(error).toBeInstanceOf(APIError)
    expect((error as APIError).status).toBeUndefined()
    expect((error as Error).message).toBe('The server reported an error (server_error)')
    expect((await lastLine(runner, 'in-stream'))?.message).toBe(
      'Failed: The server reported an error (server_error)',
    )
  })

  for (const api of ['chat', 'responses'] as const) {
    it(`${api}: the SSE run-error frame of a 400 names the SDK's class and carries the status`, async () => {
      const { model } = fake.play(scenario().error(400, 'Unsupported parameter: temperature'))
      const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
      const stream = runner.runStreamed({ model, api }, 'x', { agentId: 'sse' })
      const response = stream.toSSEResponse()
      expect(response.headers.get('content-type')).toContain('text/event-stream')
      const frames = (await response.text()).split('\n\n').filter((frame) => frame !== '')
      const errorFrame = frames.find((frame) => frame.startsWith('event: run-error\n'))
      expect(errorFrame, frames.join(' | ')).toBeDefined()
      const data = JSON.parse(
        errorFrame!
          .split('\n')
          .find((line) => line.startsWith('data: '))!
          .slice(6),
      )
      expect(data).toEqual({
        type: 'run-error',
        error: { name: 'BadRequestError', message: '400 Unsupported parameter: temperature', status: 400 },
      })
      await rejectionOf(stream.result)
    })
  }
})

describe('a key the provider echoes back', () => {
  it('is never written: not in the activity, not in the trajectory, not in the SQLite file', async () => {
    // No well-known key shape: only the runner's registration of its client's key can catch it.
    const apiKey = 'proj_Zq8x7Yw6Vv5U3t'
    const directory = mkdtempSync(path.join(tmpdir(), 'runner-echoed-key-'))
    const store = new SqliteActivityStore({ path: path.join(directory, 'runs.db') })
    const { model } = fake.play(
      scenario().error(
        401,
        `Incorrect API key provided: ${apiKey}. You can find your API key in the dashboard.`,
      ),
    )
    const runner = new OpenAIRunner({
      client: new OpenAI({ apiKey, baseURL: fake.openaiBaseURL, maxRetries: 0 }),
      activity: store,
      retry: once,
    })
    const error = await rejectionOf(runner.run({ model }, 'x', { agentId: 'echoed' }))
    // The caller's own error keeps what the provider said, in process.
    expect((error as Error).message).toContain(apiKey)
    const activity = await runner.activity.detail('echoed')
    expect(activity.log.at(-1)).toMatchObject({
      status: 'error',
      message:
        'Failed: 401 Incorrect API key provided: [REDACTED]. You can find your API key in the dashboard.',
    })
    expect(JSON.stringify(await runner.activity.trajectory('echoed'))).not.toContain(apiKey)
    store.close()
    for (const file of readdirSync(directory)) {
      expect(readFileSync(path.join(directory, file)).includes(apiKey), file).toBe(false)
    }
  })
})
