import { defineTool, type RunEvent } from '@runner/core'
import { scenario } from '@runner/testkit'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { ClaudeRunner } from './claude-runner.js'
import { mapUsage } from './map-usage.js'
import { claudeOnFake, clientFor, drain } from './test-helpers/harness.js'
import { startMessagesServer } from './test-helpers/messages-server.js'

const search = defineTool({
  name: 'search',
  description: 'Searches.',
  inputSchema: z.object({ query: z.string() }),
  execute: async ({ query }) => `results for ${query}`,
})

/** Three turns with distinct input, output, cache-read and thinking counts. */
const threeTurns = () =>
  scenario()
    .toolCall('report_status', { message: 'Searching', percentage: 20 })
    .usage({ inputTokens: 100, outputTokens: 7, cachedInputTokens: 0 })
    .toolCall('search', { query: 'otters' })
    .usage({ inputTokens: 160, outputTokens: 11, cachedInputTokens: 90 })
    .text('Otters hold hands.', { reasoning: 'Think.' })
    .usage({ inputTokens: 230, outputTokens: 30, cachedInputTokens: 150, reasoningTokens: 12 })

const expected = {
  inputTokens: 490,
  outputTokens: 48,
  totalTokens: 538,
  cachedInputTokens: 240,
  reasoningTokens: 12,
  // The fake reports no cache writes (cache_creation_input_tokens: 0).
  cacheWriteInputTokens: 0,
}

describe('ClaudeRunner usage', () => {
  it('sums input (cache reads included), output, cached and thinking tokens over several turns: run()', async () => {
    await using claude = await claudeOnFake()
    const { model } = claude.fake.play(threeTurns())
    const result = await claude.runner.run({ model, maxTokens: 100, tools: [search] }, 'q')
    expect(result.turns).toBe(3)
    expect(result.usage).toEqual(expected)
    const perCall = result.trajectory?.steps
      .filter((step) => step.kind === 'model-call')
      .map((step) => step.data.usage)
    expect(perCall).toEqual([
      { inputTokens: 100, outputTokens: 7, totalTokens: 107, cachedInputTokens: 0, cacheWriteInputTokens: 0 },
      {
        inputTokens: 160,
        outputTokens: 11,
        totalTokens: 171,
        cachedInputTokens: 90,
        cacheWriteInputTokens: 0,
      },
      {
        inputTokens: 230,
        outputTokens: 30,
        totalTokens: 260,
        cachedInputTokens: 150,
        reasoningTokens: 12,
        cacheWriteInputTokens: 0,
      },
    ])
  })

  it('the same sums when streamed, from message_start and message_delta, with one turn-end per turn', async () => {
    await using claude = await claudeOnFake()
    const { model } = claude.fake.play(threeTurns())
    const stream = claude.runner.runStreamed({ model, maxTokens: 100, tools: [search] }, 'q')
    const events = await drain(stream)
    const result = await stream.result
    expect(result.usage).toEqual(expected)
    const turnEnds = events.filter(
      (event): event is Extract<RunEvent, { type: 'turn-end' }> => event.type === 'turn-end',
    )
    expect(turnEnds.map((event) => [event.turn, event.usage.inputTokens, event.usage.outputTokens])).toEqual([
      [1, 100, 7],
      [2, 160, 11],
      [3, 230, 30],
    ])
  })

  it('sums over a retried request: the turns before it count once, the retry’s answer once', async () => {
    await using claude = await claudeOnFake()
    const { model } = claude.fake.play(
      scenario()
        .toolCall('search', { query: 'a' })
        .usage({ inputTokens: 50, outputTokens: 5 })
        .error(503)
        .text('ok')
        .usage({ inputTokens: 70, outputTokens: 9 }),
    )
    const result = await claude.runner.run({ model, maxTokens: 100, tools: [search] }, 'q', {
      retry: { initialDelayMs: 1, maxDelayMs: 1 },
    })
    // The 503 is repeated in place: the first turn is not played again.
    expect(result).toMatchObject({ attempts: 2, turns: 2 })
    expect(result.usage).toMatchObject({ inputTokens: 120, outputTokens: 14, totalTokens: 134 })
  })

  it('counts cache writes as input tokens, and apart as cacheWriteInputTokens', async () => {
    const usage = {
      input_tokens: 12,
      output_tokens: 40,
      cache_creation_input_tokens: 2000,
      cache_read_input_tokens: 0,
    }
    await using server = await startMessagesServer([
      {
        content: [{ type: 'tool_use', id: 't1', name: 'search', input: { query: 'x' } }],
        stop_reason: 'tool_use',
        usage,
      },
      {
        content: [{ type: 'text', text: 'ok' }],
        stop_reason: 'end_turn',
        usage: {
          input_tokens: 30,
          output_tokens: 8,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 2000,
        },
      },
    ])
    const runner = new ClaudeRunner({ client: clientFor(server.url) })
    const result = await runner.run({ model: 'claude-test', maxTokens: 100, tools: [search] }, 'q')
    expect(result.usage).toEqual({
      inputTokens: 12 + 2000 + 30 + 2000,
      outputTokens: 48,
      totalTokens: 4090,
      cachedInputTokens: 2000,
      cacheWriteInputTokens: 2000,
    })
  })

  it('maps missing and null counters to zero', () => {
    expect(mapUsage(undefined)).toEqual({ inputTokens: 0, outputTokens: 0, totalTokens: 0 })
    expect(
      mapUsage({
        input_tokens: 3,
        output_tokens: 4,
        cache_read_input_tokens: null,
        output_tokens_details: null,
      }),
    ).toEqual({ inputTokens: 3, outputTokens: 4, totalTokens: 7 })
  })
})
