import Anthropic from '@anthropic-ai/sdk'
import type { MessageParam } from '@anthropic-ai/sdk/resources/messages'
import type { RunEvent } from '@runner/core'
import { searchTool } from '@runner/core/test'
import { type Scenario, type ScenarioTurn, scenario } from '@runner/testkit'
import { describe, expect, it } from 'vitest'
import { ClaudeRunner } from './claude-runner.js'
import { ClaudeConnectionError } from './errors/claude-connection-error.js'
import { claudeOnFake, clientFor, drain, rejectionOf } from './test-helpers/harness.js'
import { startMessagesServer } from './test-helpers/messages-server.js'

/** The default number of attempts (3), with delays short enough for a test. */
const fast = { initialDelayMs: 1, maxDelayMs: 5 }

type RetryEvent = Extract<RunEvent, { type: 'retry' }>

const retriesOf = (events: RunEvent[]) =>
  events.filter((event): event is RetryEvent => event.type === 'retry')

/**
 * A streamed turn cut inside its tool_use block, before any text (the builder's `cutStream()` cuts
 * text), then the turns of `then`.
 */
function cutBeforeText(then: Scenario): Scenario {
  const cut: ScenarioTurn = {
    index: 0,
    text: '',
    toolCalls: [{ id: 'call_cut', name: 'search', input: { query: 'never run' } }],
    usage: { inputTokens: 20, outputTokens: 5 },
    delayMs: 0,
    fault: { type: 'cut-stream' },
  }
  return { turns: [cut, ...then.turns.map((turn, index) => ({ ...turn, index: index + 1 }))] }
}

describe('ClaudeRunner retries', () => {
  it('a 529 is retried by the run, three attempts by default, each retry on the activity', async () => {
    await using claude = await claudeOnFake()
    const { model, player } = claude.fake.play(
      scenario().error(529, 'Overloaded').error(529, 'Overloaded').text('Recovered.'),
    )
    const stream = claude.runner.runStreamed({ model, maxTokens: 100 }, 'q', { retry: fast })
    const events = await drain(stream)
    const result = await stream.result
    expect(result).toMatchObject({ text: 'Recovered.', attempts: 3 })
    expect(player.calls).toHaveLength(3)
    expect(
      retriesOf(events).map(({ attempt, maxAttempts, restart }) => ({ attempt, maxAttempts, restart })),
    ).toEqual([
      { attempt: 2, maxAttempts: 3, restart: false },
      { attempt: 3, maxAttempts: 3, restart: false },
    ])
    const retryLines = (await claude.runner.activity.detail(result.agentId)).log.filter(
      (entry) => entry.kind === 'retry',
    )
    expect(retryLines.map((entry) => entry.attempt)).toEqual([2, 3])
    // The line carries the provider's message, not the raw JSON body.
    expect(retryLines[0]?.message).toBe('Retrying (attempt 2 of 3): 529 overloaded_error: Overloaded')

    // A third 529 spends the three attempts: the run fails with the SDK's error.
    const spent = claude.fake.play(scenario().error(529).error(529).error(529).text('never'))
    const error = await rejectionOf(
      claude.runner.run({ model: spent.model, maxTokens: 100 }, 'q', { retry: fast, agentId: 'spent' }),
    )
    expect(error).toBeInstanceOf(Anthropic.OverloadedError)
    expect(spent.player.remaining).toBe(1)
    const activity = await claude.runner.activity.detail('spent')
    expect(activity.status).toBe('error')
    expect(activity.log.filter((entry) => entry.kind === 'retry').map((entry) => entry.attempt)).toEqual([
      2, 3,
    ])
  })

  it('the SDK’s own retries are off: a client with maxRetries 2 makes one HTTP call per attempt', async () => {
    await using claude = await claudeOnFake({}, { client: { maxRetries: 2 } })
    const { model, player } = claude.fake.play(scenario().error(529, 'Overloaded').text('Recovered.'))
    const error = await rejectionOf(
      claude.runner.run({ model, maxTokens: 100 }, 'q', { retry: { attempts: 1 }, agentId: 'no-sdk-retry' }),
    )
    expect(error).toBeInstanceOf(Anthropic.OverloadedError)
    expect(player.calls).toHaveLength(1)
    expect(player.remaining).toBe(1)
    const detail = await claude.runner.activity.detail('no-sdk-retry')
    expect(detail.log.filter((entry) => entry.kind === 'retry')).toEqual([])

    // The same client on a streamed run: the stream request does not retry either.
    const streamed = claude.fake.play(scenario().error(529, 'Overloaded').text('Recovered.'))
    const stream = claude.runner.runStreamed({ model: streamed.model, maxTokens: 100 }, 'q', {
      retry: { attempts: 1 },
    })
    expect(await rejectionOf(stream.result)).toBeInstanceOf(Anthropic.OverloadedError)
    expect(streamed.player.calls).toHaveLength(1)
  })

  it('in place: after a 529 the same conversation is sent again and a tool that ran does not run again', async () => {
    await using claude = await claudeOnFake()
    const search = searchTool()
    const { model } = claude.fake.play(
      scenario().toolCall('search', { query: 'otters' }).error(529, 'Overloaded').text('Otters hold hands.'),
    )
    const nextAttempts: number[] = []
    const stream = claude.runner.runStreamed({ model, maxTokens: 100, tools: [search.tool] }, 'q', {
      retry: fast,
      hooks: { onRetry: ({ attempt, nextAttempt }) => void nextAttempts.push(attempt, nextAttempt) },
    })
    const events = await drain(stream)
    const result = await stream.result
    expect(result).toMatchObject({ text: 'Otters hold hands.', attempts: 2, turns: 2 })
    expect(search.queries).toEqual(['otters'])
    const [first, failed, repeated] = claude.fake.requestsFor(model).map((request) => request.body)
    expect(failed!.messages).toHaveLength(3)
    expect(repeated!.messages as MessageParam[]).toEqual(failed!.messages)
    expect(repeated).toEqual(failed)
    expect(first!.messages).toHaveLength(1)
    expect(retriesOf(events)).toMatchObject([{ attempt: 2, restart: false }])
    expect(nextAttempts).toEqual([1, 2])
    // One turn-start per turn: the repeated request belongs to turn 2.
    expect(events.filter((event) => event.type === 'turn-start').map((event) => event.turn)).toEqual([1, 2])
    expect(events.filter((event) => event.type === 'tool-call')).toHaveLength(1)
  })

  it('a streamed answer cut after text reached the reader is not retried: the run fails', async () => {
    await using claude = await claudeOnFake()
    const { model, player } = claude.fake.play(scenario().cutStream('Half an answer that').text('never'))
    const stream = claude.runner.runStreamed({ model, maxTokens: 100 }, 'q', {
      retry: fast,
      agentId: 'cut-after-text',
    })
    const events = await drain(stream)
    const error = await rejectionOf(stream.result)
    expect(ClaudeConnectionError.isInstance(error), String(error)).toBe(true)
    expect(events.some((event) => event.type === 'text-delta')).toBe(true)
    expect(retriesOf(events)).toEqual([])
    expect(player.calls).toHaveLength(1)
    expect(player.remaining).toBe(1)
    const activity = await claude.runner.activity.detail('cut-after-text')
    expect(activity.status).toBe('error')
    expect(activity.log.filter((entry) => entry.kind === 'retry')).toEqual([])
  })

  it('the same cut with nobody reading (run) is retried in place', async () => {
    await using claude = await claudeOnFake()
    const { model } = claude.fake.play(scenario().cutStream('Half an answer that').text('A whole answer.'))
    const result = await claude.runner.run({ model, maxTokens: 100 }, 'q', { retry: fast })
    expect(result).toMatchObject({ text: 'A whole answer.', attempts: 2 })
  })

  it('a stream cut before any text is retried in place; the tool of the cut block never runs', async () => {
    await using claude = await claudeOnFake()
    const search = searchTool()
    const { model, player } = claude.fake.play(
      cutBeforeText(scenario().text('A whole answer.').usage({ inputTokens: 30, outputTokens: 6 })),
    )
    const stream = claude.runner.runStreamed({ model, maxTokens: 100, tools: [search.tool] }, 'q', {
      retry: fast,
    })
    const events = await drain(stream)
    const result = await stream.result
    expect(result).toMatchObject({ text: 'A whole answer.', attempts: 2, turns: 1 })
    expect(search.queries).toEqual([])
    expect(player.remaining).toBe(0)
    const [retry] = retriesOf(events)
    expect(retry).toMatchObject({ attempt: 2, restart: false })
    expect(ClaudeConnectionError.isInstance(retry?.error)).toBe(true)
    // The cut request's tokens were billed (message_start): they count with the retry's.
    expect(result.usage).toMatchObject({ inputTokens: 20 + 30 })
  })

  it('honours Retry-After, capped by retry.maxDelayMs', async () => {
    // The test kit's protocol fake sends `retry-after: 0` with a 429 only; this server sends any value.
    const overloaded = (seconds: string) => ({
      status: 529,
      body: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
      headers: { 'retry-after': seconds },
    })
    const answer = { content: [{ type: 'text' as const, text: 'After the wait.' }], stop_reason: 'end_turn' }
    await using server = await startMessagesServer([overloaded('1'), answer, overloaded('60'), answer])
    const runner = new ClaudeRunner({ client: clientFor(server.url) })
    const agent = { model: 'claude-test', maxTokens: 100 }

    const started = performance.now()
    const stream = runner.runStreamed(agent, 'q', { retry: { initialDelayMs: 1, maxDelayMs: 5000 } })
    const events = await drain(stream)
    expect((await stream.result).text).toBe('After the wait.')
    expect(retriesOf(events)).toMatchObject([{ attempt: 2, delayMs: 1000, restart: false }])
    expect(performance.now() - started).toBeGreaterThanOrEqual(990)

    const capped = runner.runStreamed(agent, 'q', { retry: { initialDelayMs: 1, maxDelayMs: 50 } })
    const cappedEvents = await drain(capped)
    expect((await capped.result).text).toBe('After the wait.')
    expect(retriesOf(cappedEvents)).toMatchObject([{ attempt: 2, delayMs: 50 }])
  })
})
