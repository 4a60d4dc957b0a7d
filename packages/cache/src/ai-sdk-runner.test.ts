import { createOpenAI } from '@ai-sdk/openai'
import { AISDKRunner } from '@runner/ai-sdk'
import { type ProtocolFake, runIn, scenario, startProtocolFake } from '@runner/testkit'
import { tool } from 'ai'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createResponseCache } from './response-cache.js'
import { eventsOf, modelCalls } from './test-helpers/compare.js'

// The real @ai-sdk/openai provider over HTTP to the test kit's OpenAI fake, through AISDKRunner.

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(async () => {
  await fake.close()
})

const read = tool({
  description: 'Reads a page.',
  inputSchema: z.object({ url: z.string() }),
  execute: async ({ url }) => `The page ${url} says otters hold hands.`,
})

const apis = ['responses', 'chat'] as const
const cases = apis.flatMap((api) => [false, true].map((streamed) => ({ api, streamed })))

describe.each(cases)('AISDKRunner on @ai-sdk/openai, $api, streamed: $streamed', ({ api, streamed }) => {
  it('a second identical run is answered from the cache: no request, same text and events, cached at $0', async () => {
    const cache = createResponseCache()
    const provider = createOpenAI({ baseURL: fake.openaiBaseURL, apiKey: 'test-key', fetch: cache.fetch() })
    const runner = new AISDKRunner({ prices: { 'gpt-cache': { inputPerMTokUsd: 1, outputPerMTokUsd: 4 } } })
    const { model } = fake.play(
      scenario()
        .toolCall('read', { url: 'https://example.org/otters' })
        .text('Otters hold hands while they sleep.'),
      { model: 'gpt-cache' },
    )
    const agent = {
      model: api === 'chat' ? provider.chat(model) : provider(model),
      instructions: 'Answer from the page.',
      tools: { read },
      temperature: 0,
    }

    const first = await runIn(streamed, runner, agent, 'Do otters hold hands?')
    expect(fake.requestsFor(model)).toHaveLength(2)
    expect(first.result.usage.costUsd).toBeGreaterThan(0)

    const second = await runIn(streamed, runner, agent, 'Do otters hold hands?')
    expect(fake.requestsFor(model)).toHaveLength(2)
    fake.assertDone()
    expect(cache.stats).toEqual({ hits: 2, misses: 2, stored: 2, skipped: 0 })
    expect(second.result.text).toBe('Otters hold hands while they sleep.')
    expect(second.result.turns).toBe(first.result.turns)
    if (streamed) {
      expect(second.events.some((event) => event.type === 'text-delta')).toBe(true)
      expect(eventsOf(second.events)).toEqual(eventsOf(first.events))
    }
    expect(modelCalls(second.result).map((step) => step.data.cached)).toEqual([true, true])
    expect(second.result.usage.costUsd ?? 0).toBe(0)
  })
})
