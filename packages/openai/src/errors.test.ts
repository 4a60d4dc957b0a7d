import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import OpenAI, { APIConnectionError, APIError, OpenAIError } from 'openai'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { OpenAIRunner } from './openai-runner.js'
import { fakeClient } from './test-helpers/fake-client.js'
import { rewritingFetch } from './test-helpers/rewriting-fetch.js'
import { modes, rejectionOf, runIn } from './test-helpers/run-modes.js'

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(() => fake.close())

const retry = { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 }

const logOf = async (runner: OpenAIRunner, agentId: string) =>
  (await runner.activity.detail(agentId)).log.map((entry) => `${entry.status}: ${entry.message}`)

describe('errors', () => {
  for (const { api, streamed, label } of modes) {
    describe(label, () => {
      it('a connection cut mid-answer is an APIConnectionError that says so, and a retry may fix it', async () => {
        const failing = fake.play(scenario().cutStream('Otters hold hands while'))
        const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
        const error = await rejectionOf(
          runIn(streamed, runner, { model: failing.model, api }, 'x', { agentId: 'cut' }),
        )
        expect(error).toBeInstanceOf(APIConnectionError)
        expect((error as Error).message).toMatch(
          /^The connection closed before the answer was complete \(terminated/,
        )
        expect((await runner.activity.detail('cut')).status).toBe('error')

        const { model } = fake.play(scenario().cutStream().text('Complete answer.'))
        const { result } = await runIn(streamed, runner, { model, api }, 'x', {
          agentId: 'cut-retried',
          retry,
        })
        expect(result).toMatchObject({ text: 'Complete answer.', attempts: 2 })
        expect(await logOf(runner, 'cut-retried')).toContain(
          'running: Retry 1/1: The connection closed before the answer was complete (terminated: other side closed). A new attempt may succeed.',
        )
      })

      it('an answer that is not valid JSON is an OpenAIError that says so, never retried', async () => {
        const { model, player } = fake.play(scenario().malformed().text('unused'))
        const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL), retry })
        const error = await rejectionOf(
          runIn(streamed, runner, { model, api }, 'x', { agentId: 'malformed' }),
        )
        expect(error).toBeInstanceOf(OpenAIError)
        expect(error).not.toBeInstanceOf(APIError)
        expect((error as Error).message).toMatch(/^The server sent an answer that is not valid JSON \(/)
        expect(player.calls).toHaveLength(1)
        expect(await logOf(runner, 'malformed')).toEqual([
          'queued: Waiting to start',
          'running: Started',
          `error: Failed: ${(error as Error).message}`,
        ])
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

  it('responses: a stream without response.completed is an error; response.failed is the server’s error', async () => {
    const { model } = fake.play(scenario().text('Cut short.'))
    const dropCompleted = rewritingFetch((event) => (event.type === 'response.completed' ? undefined : event))
    const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL, { fetch: dropCompleted }) })
    const error = await rejectionOf(runIn(true, runner, { model, api: 'responses' }, 'x'))
    expect(error).toBeInstanceOf(APIConnectionError)
    expect((error as Error).message).toContain('no response.completed event')

    const failed = fake.play(scenario().text('a').text('b'))
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
    const retrying = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL, { fetch: failing }), retry })
    const failure = await rejectionOf(
      runIn(true, retrying, { model: failed.model, api: 'responses' }, 'x', { agentId: 'failed' }),
    )
    expect(failure).toBeInstanceOf(APIError)
    expect((failure as Error).message).toBe('The model crashed.')
    expect(await logOf(retrying, 'failed')).toContain('running: Retry 1/1: The model crashed.')
  })
})

describe('retries', () => {
  it('a 429 then success: with the run’s retry on, the run succeeds and the activity log shows the retry', async () => {
    const { model, player } = fake.play(
      scenario()
        .error(429, 'Rate limit reached for requests')
        .toolCall('report_status', { message: 'Searching', percentage: 50 })
        .text('Done.'),
    )
    const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL), retry })
    const result = await runner.run({ model }, 'x', { agentId: 'rate-limited' })
    expect(result).toMatchObject({ text: 'Done.', attempts: 2 })
    expect(player.calls).toHaveLength(3)
    expect(await logOf(runner, 'rate-limited')).toEqual([
      'queued: Waiting to start',
      'running: Started',
      'running: Retry 1/1: 429 Rate limit reached for requests',
      'running: Searching',
      'complete: Complete',
    ])
  })

  it('a 429 then success with the SDK’s own retries (maxRetries): one attempt, two HTTP calls, no log line', async () => {
    const { model, player } = fake.play(scenario().error(429).text('Done.'))
    const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL, { maxRetries: 1 }) })
    const result = await runner.run({ model }, 'x', { agentId: 'sdk-retry' })
    expect(result).toMatchObject({ text: 'Done.', attempts: 1 })
    expect(player.calls).toHaveLength(2)
    expect((await logOf(runner, 'sdk-retry')).some((line) => line.includes('Retry'))).toBe(false)
  })

  const statuses: Array<[number, boolean]> = [
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [422, false],
    [408, true],
    [409, true],
    [429, true],
    [500, true],
    [503, true],
  ]
  for (const { api, streamed, label } of [modes[0]!, modes[3]!]) {
    it(`${label}: retries 408, 409, 429 and >= 500, never 400, 401, 403, 404 or 422`, async () => {
      const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL), retry })
      for (const [status, retried] of statuses) {
        const { model, player } = fake.play(scenario().error(status).text('ok'))
        const outcome = await runIn(streamed, runner, { model, api }, 'x').then(
          ({ result }) => result.attempts,
          (error: unknown) => error,
        )
        expect(player.calls, `status ${status}`).toHaveLength(retried ? 2 : 1)
        if (retried) expect(outcome, `status ${status}`).toBe(2)
        else expect((outcome as APIError).status, `status ${status}`).toBe(status)
      }
    })
  }

  it('a server that cannot be reached is an APIConnectionError, retried', async () => {
    const closed = await startProtocolFake()
    const baseURL = closed.openaiBaseURL
    await closed.close()
    const client = new OpenAI({ apiKey: 'test', baseURL, maxRetries: 0 })
    const runner = new OpenAIRunner({ client, retry })
    const error = await rejectionOf(runner.run({ model: 'any' }, 'x', { agentId: 'unreachable' }))
    expect(error).toBeInstanceOf(APIConnectionError)
    expect(await logOf(runner, 'unreachable')).toContain('running: Retry 1/1: Connection error.')
  })
})
