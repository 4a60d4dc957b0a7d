import { HookError, type RunEvent } from '@runner/core'
import type { RetryEvent } from '@runner/core/adapter'
import { searchTool } from '@runner/core/test'
import { type ProtocolFake, type RecordedRequest, scenario, startProtocolFake } from '@runner/testkit'
import OpenAI, { APIConnectionError, type APIError } from 'openai'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { OpenAIRunner } from './openai-runner.js'
import { fakeClient } from './test-helpers/fake-client.js'
import { rewritingErrors } from './test-helpers/rewriting-fetch.js'
import { modes, rejectionOf, runIn } from './test-helpers/run-modes.js'

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(() => fake.close())

/** Short delays: the tests look at what is retried, not at how long it waits. */
const quick = { initialDelayMs: 1, maxDelayMs: 2 }

const retryLines = async (runner: OpenAIRunner, agentId: string) =>
  (await runner.activity.detail(agentId)).log
    .filter((entry) => entry.kind === 'retry')
    .map(({ status, attempt, message }) => ({ status, attempt, message }))

const retryEvents = (events: RunEvent[]) =>
  events.filter((event): event is RetryEvent => event.type === 'retry')

describe('retries', () => {
  it('default: 3 attempts, each retry on the activity (kind retry, the attempt that follows)', async () => {
    const { model, player } = fake.play(
      scenario().error(500, 'The server had an error').error(503, 'Overloaded').text('Done.'),
    )
    const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL), retry: quick })
    const result = await runner.run({ model }, 'x', { agentId: 'default-retries' })
    expect(result).toMatchObject({ text: 'Done.', attempts: 3 })
    player.assertDone()
    expect(await retryLines(runner, 'default-retries')).toEqual([
      { status: 'running', attempt: 2, message: 'Retrying (attempt 2 of 3): 500 The server had an error' },
      { status: 'running', attempt: 3, message: 'Retrying (attempt 3 of 3): 503 Overloaded' },
    ])

    // Without `retry` at all: the third failure is the last.
    const failing = fake.play(scenario().error(500).error(500).error(500).text('never'))
    const error = await rejectionOf(
      new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) }).run({ model: failing.model }, 'x', {
        retry: quick,
      }),
    )
    expect((error as APIError).status).toBe(500)
    expect(failing.player.remaining).toBe(1)
  })

  for (const { api, streamed, label } of modes) {
    it(`${label}: a 429 after a tool turn repeats the same request in place; the tool does not run again`, async () => {
      const { model, player } = fake.play(
        scenario()
          .toolCall('search', { query: 'otters' })
          .error(429, 'Rate limit reached for requests')
          .text('Otters hold hands.'),
      )
      const search = searchTool()
      const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL), retry: quick })
      const { result, events } = await runIn(
        streamed,
        runner,
        { model, api, tools: [search.tool] },
        'Find otters',
        { agentId: 'in-place' },
      )
      expect(result).toMatchObject({ text: 'Otters hold hands.', attempts: 2, turns: 2 })
      expect(search.queries).toEqual(['otters'])
      player.assertDone()
      // The request after the 429 is the one that failed: same turn, same conversation.
      const [, failed, repeated] = player.calls.map((call) => (call.request as RecordedRequest).body)
      expect(repeated).toEqual(failed)
      expect(await retryLines(runner, 'in-place')).toEqual([
        {
          status: 'running',
          attempt: 2,
          message: 'Retrying (attempt 2 of 3): 429 Rate limit reached for requests',
        },
      ])
      if (streamed) {
        expect(retryEvents(events)).toMatchObject([{ attempt: 2, maxAttempts: 3, restart: false }])
        // The turn of the tool call is not started again.
        const turns = events.flatMap((event) => (event.type === 'turn-start' ? [event.turn] : []))
        expect(turns).toEqual([1, 2])
      }
    })
  }

  it('the retry event and onRetry say what follows: attempt, maxAttempts, restart false, the error', async () => {
    const { model } = fake.play(scenario().error(429).text('Done.'))
    const seen: Array<{ attempt: number; nextAttempt: number; maxAttempts: number }> = []
    const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL), retry: quick })
    const { events } = await runIn(true, runner, { model }, 'x', {
      hooks: {
        onRetry: ({ attempt, nextAttempt, maxAttempts }) =>
          void seen.push({ attempt, nextAttempt, maxAttempts }),
      },
    })
    const [retry] = retryEvents(events)
    expect(retry).toMatchObject({ type: 'retry', attempt: 2, maxAttempts: 3, restart: false })
    expect(retry?.error).toMatchObject({ status: 429 })
    expect(seen).toEqual([{ attempt: 1, nextAttempt: 2, maxAttempts: 3 }])
  })

  it('honours Retry-After from the 429’s headers (capped by maxDelayMs)', async () => {
    const { model } = fake.play(scenario().error(429).text('Done.'))
    // The fake sends `retry-after: 0` with a 429; a longer wait is added to its answer here.
    const client = fakeClient(fake.openaiBaseURL, {
      fetch: rewritingErrors({ headers: { 'retry-after': '1' } }),
    })
    const runner = new OpenAIRunner({ client, retry: { initialDelayMs: 1, maxDelayMs: 5000 } })
    const started = Date.now()
    const { events } = await runIn(true, runner, { model }, 'x')
    expect(retryEvents(events)).toMatchObject([{ attempt: 2, delayMs: 1000 }])
    expect(Date.now() - started).toBeGreaterThanOrEqual(990)

    const capped = fake.play(scenario().error(429).text('Done.'))
    const long = fakeClient(fake.openaiBaseURL, {
      fetch: rewritingErrors({ headers: { 'retry-after': '120' } }),
    })
    const { events: cappedEvents } = await runIn(
      true,
      new OpenAIRunner({ client: long, retry: { initialDelayMs: 1, maxDelayMs: 50 } }),
      { model: capped.model },
      'x',
    )
    expect(retryEvents(cappedEvents)).toMatchObject([{ delayMs: 50 }])
  })

  for (const { api, streamed, label } of modes) {
    it(`${label}: the SDK's own retries are off, whatever the client says: one HTTP call per attempt`, async () => {
      const { model, player } = fake.play(scenario().error(500).text('never asked for'))
      const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL, { maxRetries: 5 }) })
      const error = await rejectionOf(
        runIn(streamed, runner, { model, api }, 'x', { agentId: 'sdk-off', retry: { attempts: 1 } }),
      )
      expect((error as APIError).status).toBe(500)
      expect(player.remaining).toBe(1)
      expect(await retryLines(runner, 'sdk-off')).toEqual([])
    })
  }

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
      const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL), retry: quick })
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
    const runner = new OpenAIRunner({ client: new OpenAI({ apiKey: 'test', baseURL }), retry: quick })
    const error = await rejectionOf(runner.run({ model: 'any' }, 'x', { agentId: 'unreachable' }))
    expect(error).toBeInstanceOf(APIConnectionError)
    expect(await retryLines(runner, 'unreachable')).toEqual([
      { status: 'running', attempt: 2, message: 'Retrying (attempt 2 of 3): Connection error.' },
      { status: 'running', attempt: 3, message: 'Retrying (attempt 3 of 3): Connection error.' },
    ])
  })
})

describe('a cut stream', () => {
  for (const api of ['chat', 'responses'] as const) {
    it(`${api}: cut after text reached the reader: not retried, the run fails`, async () => {
      const { model, player } = fake.play(scenario().cutStream('Otters hold hands while').text('Complete.'))
      const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL), retry: quick })
      const stream = runner.runStreamed({ model, api }, 'x', { agentId: 'seen' })
      const events: RunEvent[] = []
      for await (const event of stream) events.push(event)
      const error = await rejectionOf(stream.result)
      expect(error).toBeInstanceOf(APIConnectionError)
      expect(events.some((event) => event.type === 'text-delta')).toBe(true)
      expect(retryEvents(events)).toEqual([])
      expect(events.at(-1)?.type).toBe('run-error')
      expect(player.remaining).toBe(1)
      const detail = await runner.activity.detail('seen')
      expect(detail.status).toBe('error')
      expect(detail.log.filter((entry) => entry.kind === 'retry')).toEqual([])
    })

    it(`${api}: cut before any text: repeated in place`, async () => {
      const { model, player } = fake.play(scenario().cutStream('').text('Complete.'))
      const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL), retry: quick })
      const { result, events } = await runIn(true, runner, { model, api }, 'x', { agentId: 'unseen' })
      expect(result).toMatchObject({ text: 'Complete.', attempts: 2 })
      expect(retryEvents(events)).toMatchObject([{ attempt: 2, restart: false }])
      player.assertDone()
    })

    it(`${api}: cut when nobody streams (run): repeated in place`, async () => {
      const { model, player } = fake.play(scenario().cutStream('Otters hold hands while').text('Complete.'))
      const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL), retry: quick })
      const result = await runner.run({ model, api }, 'x', { agentId: 'unstreamed' })
      expect(result).toMatchObject({ text: 'Complete.', attempts: 2 })
      expect(await retryLines(runner, 'unstreamed')).toMatchObject([{ attempt: 2 }])
      player.assertDone()
    })
  }
})

describe('hooks that throw', () => {
  for (const hook of ['onModelCallStart', 'onModelCallEnd', 'onToolCallStart'] as const) {
    it(`${hook}: the run fails with HookError naming it, never retried, the tool never runs`, async () => {
      const { model, player } = fake.play(scenario().toolCall('search', { query: 'otters' }).text('unused'))
      const search = searchTool()
      const thrown = new Error('the hook is broken')
      const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL), retry: quick })
      const error = await rejectionOf(
        runner.run({ model, tools: [search.tool] }, 'x', {
          agentId: 'hook',
          hooks: {
            [hook]: () => {
              throw thrown
            },
          },
        }),
      )
      expect(HookError.isInstance(error), String(error)).toBe(true)
      expect((error as HookError).hook).toBe(hook)
      expect((error as HookError).cause).toBe(thrown)
      expect(search.queries).toEqual([])
      expect(player.calls).toHaveLength(hook === 'onModelCallStart' ? 0 : 1)
      const detail = await runner.activity.detail('hook')
      expect(detail.status).toBe('error')
      expect(detail.log.filter((entry) => entry.kind === 'retry')).toEqual([])
    })
  }
})
