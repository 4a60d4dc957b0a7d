import Anthropic from '@anthropic-ai/sdk'
import { ClaudeRunner } from '@runner/claude'
import { defineTool } from '@runner/core'
import { type ProtocolFake, runIn, scenario, startProtocolFake } from '@runner/testkit'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createResponseCache } from './response-cache.js'
import { eventsOf, modelCalls, stable } from './test-helpers/compare.js'

// The real Anthropic SDK over HTTP to the test kit's Anthropic Messages fake, through ClaudeRunner.

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(async () => {
  await fake.close()
})

const read = defineTool({
  name: 'read',
  description: 'Reads a page.',
  inputSchema: z.object({ url: z.string() }),
  execute: ({ url }) => `The page ${url} says otters hold hands.`,
})

describe.each([false, true])('ClaudeRunner, streamed: %s', (streamed) => {
  it('a second identical run is answered from the cache: no request, same text and events, cached at $0', async () => {
    const cache = createResponseCache()
    const client = new Anthropic({
      apiKey: 'sk-ant-test-key',
      baseURL: fake.anthropicBaseURL,
      fetch: cache.fetch(),
      maxRetries: 0,
      logLevel: 'off',
    })
    const cachedFlags: Array<boolean | undefined> = []
    const runner = new ClaudeRunner({
      client,
      prices: { 'claude-cache': { inputPerMTokUsd: 3, outputPerMTokUsd: 15 } },
      hooks: { onModelCallEnd: (event) => void cachedFlags.push(event.cached) },
    })
    const { model } = fake.play(
      scenario()
        .toolCall('report_status', { message: 'Reading', percentage: 40 })
        .toolCall('read', { url: 'https://example.org/otters' })
        .text('Otters hold hands while they sleep.'),
      { model: 'claude-cache' },
    )
    const agent = {
      model,
      system: 'Answer from the page.',
      tools: [read],
      maxTokens: 1024,
      modelSettings: { extraBody: { temperature: 0 } },
    }

    const first = await runIn(streamed, runner, agent, 'Do otters hold hands?')
    expect(fake.requestsFor(model)).toHaveLength(3)
    expect(first.result.usage.costUsd).toBeGreaterThan(0)

    const second = await runIn(streamed, runner, agent, 'Do otters hold hands?')
    expect(fake.requestsFor(model)).toHaveLength(3)
    fake.assertDone()
    expect(cache.stats).toEqual({ hits: 3, misses: 3, stored: 3, skipped: 0 })
    expect(second.result.text).toBe('Otters hold hands while they sleep.')
    expect(stable(second.result.output)).toEqual(stable(first.result.output))
    if (streamed) {
      expect(second.events.some((event) => event.type === 'text-delta')).toBe(true)
      expect(eventsOf(second.events)).toEqual(eventsOf(first.events))
    }
    expect(modelCalls(second.result).map((step) => step.data.cached)).toEqual([true, true, true])
    expect(cachedFlags).toEqual([undefined, undefined, undefined, true, true, true])
    expect(second.result.usage.costUsd ?? 0).toBe(0)
    expect(second.result.usage.outputTokens).toBe(first.result.usage.outputTokens)
  })
})
