import Anthropic from '@anthropic-ai/sdk'
import type { RunEvent } from '@runner/core'
import { searchTool } from '@runner/core/test'
import { type Scenario, type ScenarioTurn, scenario } from '@runner/testkit'
import { describe, expect, it } from 'vitest'
import { ClaudeRunner } from './claude-runner.js'
import { ClaudeConnectionError } from './errors/claude-connection-error.js'
import { ClaudeMalformedResponseError } from './errors/claude-malformed-response-error.js'
import { isRetryableClaudeError } from './is-retryable.js'
import { claudeOnFake, clientFor, drain, rejectionOf } from './test-helpers/harness.js'
import { sseFrame, startMessagesServer } from './test-helpers/messages-server.js'

/**
 * A turn that calls `search` and is cut in the middle of its tool_use block: the scenario builder's
 * `cutStream()` cuts text only, so the turn is written out (the fake cuts a tool_use block after
 * its first input_json_delta, and a JSON body halfway).
 */
function cutInsideToolUse(): Scenario {
  const turn: ScenarioTurn = {
    index: 0,
    text: '',
    toolCalls: [{ id: 'call_cut', name: 'search', input: { query: 'sea otters holding hands' } }],
    usage: { inputTokens: 20, outputTokens: 5 },
    delayMs: 0,
    fault: { type: 'cut-stream' },
  }
  return { turns: [turn] }
}

const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms),
    ),
  ])

const retry = { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 }

describe('ClaudeRunner errors', () => {
  it('a stream cut inside a tool_use block: a clear ClaudeConnectionError, the activity in error, no hang', async () => {
    await using claude = await claudeOnFake()
    const search = searchTool()
    const { model } = claude.fake.play(cutInsideToolUse())
    const stream = claude.runner.runStreamed({ model, maxTokens: 100, tools: [search.tool] }, 'q', {
      agentId: 'cut-tool-use',
      retry: { attempts: 1 },
    })
    const events = await within(drain(stream), 5000)
    const error = await rejectionOf(stream.result)
    expect(ClaudeConnectionError.isInstance(error)).toBe(true)
    expect(error).toBeInstanceOf(Anthropic.APIConnectionError)
    const message = (error as Error).message
    expect(message).toContain('The connection to the Anthropic API was cut before Claude')
    expect(message).toContain(
      'inside the tool_use block of "search" (1 input chunk(s) received, the call was not run)',
    )
    expect(message).toContain('This error is retryable')
    expect((error as ClaudeConnectionError).cutAt).toMatch(/^inside the tool_use block/)
    expect(search.queries).toEqual([])
    expect(events.map((event) => event.type)).not.toContain('tool-call')
    expect(events.at(-1)).toMatchObject({ type: 'run-error', error })
    const activity = await claude.runner.activity.detail('cut-tool-use')
    expect(activity.status).toBe('error')
    expect(activity.message).toBe(`Failed: ${message}`)
    // The tokens message_start reported still count (the failed run's trajectory has them).
    expect((await claude.runner.activity.trajectory('cut-tool-use'))?.usage).toMatchObject({
      inputTokens: 20,
    })
  })

  it('the same cut of a non-streamed JSON answer', async () => {
    await using claude = await claudeOnFake()
    const search = searchTool()
    const { model } = claude.fake.play(cutInsideToolUse())
    const error = await within(
      rejectionOf(
        claude.runner.run({ model, maxTokens: 100, tools: [search.tool] }, 'q', {
          agentId: 'cut-json',
          retry: { attempts: 1 },
        }),
      ),
      5000,
    )
    expect(ClaudeConnectionError.isInstance(error)).toBe(true)
    expect((error as Error).message).toContain('while reading the JSON answer): terminated')
    expect(search.queries).toEqual([])
    expect((await claude.runner.activity.detail('cut-json')).status).toBe('error')
  })

  it('a malformed answer is a ClaudeMalformedResponseError and is not retried (JSON and SSE)', async () => {
    await using claude = await claudeOnFake()
    for (const streamed of [false, true]) {
      const { model, player } = claude.fake.play(scenario().malformed().text('never'))
      const agent = { model, maxTokens: 100 }
      const running = streamed
        ? claude.runner.runStreamed(agent, 'q', { retry, agentId: `malformed-${streamed}` }).result
        : claude.runner.run(agent, 'q', { retry, agentId: `malformed-${streamed}` })
      const error = await rejectionOf(running)
      expect(ClaudeMalformedResponseError.isInstance(error), String(error)).toBe(true)
      expect((error as Error).message).toMatch(
        /^The Anthropic API sent an answer that is not a valid Messages response/,
      )
      expect((error as Error).cause).toBeDefined()
      expect(player.calls).toHaveLength(1)
      expect((await claude.runner.activity.detail(`malformed-${streamed}`)).status).toBe('error')
    }
  })

  it('529 (overloaded) is an OverloadedError with a short message, classified retryable', async () => {
    await using claude = await claudeOnFake()
    const { model } = claude.fake.play(scenario().error(529, 'Overloaded'))
    const error = await rejectionOf(
      claude.runner.run({ model, maxTokens: 100 }, 'q', { retry: { attempts: 1 }, agentId: 'overloaded' }),
    )
    expect(error).toBeInstanceOf(Anthropic.OverloadedError)
    expect(error).toMatchObject({ status: 529, error: { error: { type: 'overloaded_error' } } })
    expect((error as Error).message).toBe('529 overloaded_error: Overloaded')
    expect(isRetryableClaudeError(error)).toBe(true)
    // The activity shows the provider's message, not the raw body.
    const activity = await claude.runner.activity.detail('overloaded')
    expect(activity).toMatchObject({ status: 'error', message: 'Failed: 529 overloaded_error: Overloaded' })
  })

  it('retries 408, 409, 429 and 5xx; never 400, 401, 403, 404, 413 nor 422', async () => {
    await using claude = await claudeOnFake()
    const cases: Array<[number, number]> = [
      [400, 1],
      [401, 1],
      [403, 1],
      [404, 1],
      [413, 1],
      [422, 1],
      [408, 2],
      [409, 2],
      [429, 2],
      [500, 2],
      [503, 2],
      [529, 2],
    ]
    for (const [status, calls] of cases) {
      const { model, player } = claude.fake.play(scenario().error(status).text('ok'))
      await claude.runner.run({ model, maxTokens: 100 }, 'q', { retry }).catch(() => undefined)
      expect(player.calls, `HTTP ${status}`).toHaveLength(calls)
    }
  })

  it('connection errors and timeouts of the SDK are retried', async () => {
    await using claude = await claudeOnFake({}, { client: { timeout: 100 } })
    const { model, player } = claude.fake.play(scenario().text('too late').slow(1000).text('in time'))
    const result = await claude.runner.run({ model, maxTokens: 100 }, 'q', { retry })
    expect(result).toMatchObject({ text: 'in time', attempts: 2 })
    expect(player.calls).toHaveLength(2)

    // Nothing listens there: APIConnectionError, retried, then the run fails with it.
    const server = await startMessagesServer([])
    const closedURL = server.url
    await server.close()
    const runner = new ClaudeRunner({ client: clientFor(closedURL) })
    const retries: unknown[] = []
    const error = await rejectionOf(
      runner.run({ model: 'claude-test', maxTokens: 100 }, 'q', {
        retry,
        hooks: { onRetry: ({ error: cause }) => void retries.push(cause) },
      }),
    )
    expect(error).toBeInstanceOf(Anthropic.APIConnectionError)
    expect(retries).toHaveLength(1)
  })

  it('an overloaded_error event inside a stream is retryable', async () => {
    await using server = await startMessagesServer([
      {
        content: [],
        stop_reason: null,
        frames: [
          sseFrame('content_block_start', {
            index: 0,
            content_block: { type: 'text', text: '', citations: null },
          }),
          `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })}\n\n`,
        ],
      },
      { content: [{ type: 'text', text: 'Second try.' }], stop_reason: 'end_turn' },
    ])
    const runner = new ClaudeRunner({ client: clientFor(server.url) })
    const stream = runner.runStreamed({ model: 'claude-test', maxTokens: 100 }, 'q', { retry })
    const events = await drain(stream)
    expect((await stream.result).text).toBe('Second try.')
    const retried = events.find(
      (event): event is Extract<RunEvent, { type: 'retry' }> => event.type === 'retry',
    )
    expect(retried?.error).toBeInstanceOf(Anthropic.APIError)
    expect(retried?.error).toMatchObject({ type: 'overloaded_error' })
  })

  it('honours the server’s x-should-retry header', async () => {
    await using server = await startMessagesServer([
      {
        status: 503,
        body: { type: 'error', error: { type: 'api_error', message: 'Do not retry this one' } },
        headers: { 'x-should-retry': 'false' },
      },
      { content: [{ type: 'text', text: 'never' }], stop_reason: 'end_turn' },
    ])
    const runner = new ClaudeRunner({ client: clientFor(server.url) })
    const error = await rejectionOf(runner.run({ model: 'claude-test', maxTokens: 100 }, 'q', { retry }))
    expect(error).toBeInstanceOf(Anthropic.InternalServerError)
    expect(server.requests).toHaveLength(1)
  })
})

describe('a key the provider echoes back', () => {
  it('is redacted in the activity and its trajectory; the caller’s error keeps it', async () => {
    // No well-known key shape: only the runner's registration of its client's key catches it.
    const apiKey = 'acct_7Qm2Lp9Xr4Tz'
    await using setup = await claudeOnFake({ retry: { attempts: 1 } }, { client: { apiKey } })
    const { model } = setup.fake.play(scenario().error(401, `invalid x-api-key: ${apiKey}`))
    const error = await rejectionOf(setup.runner.run({ model, maxTokens: 100 }, 'x', { agentId: 'echoed' }))
    expect((error as Error).message).toContain(apiKey)
    const detail = await setup.runner.activity.detail('echoed')
    expect(detail.log.at(-1)?.message).toMatch(/^Failed: .*invalid x-api-key: \[REDACTED\]/)
    expect(JSON.stringify(detail)).not.toContain(apiKey)
    expect(JSON.stringify(await setup.runner.activity.trajectory('echoed'))).not.toContain(apiKey)
  })
})
