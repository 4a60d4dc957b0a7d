import { tool } from '@langchain/core/tools'
import { ChatOpenAI } from '@langchain/openai'
import { LangChainRunner } from '@runner/langchain'
import { type ProtocolFake, runIn, scenario, startProtocolFake } from '@runner/testkit'
import { createAgent } from 'langchain'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createResponseCache } from './response-cache.js'
import { eventsOf, modelCalls } from './test-helpers/compare.js'

// LangChain's ChatOpenAI (the real OpenAI SDK inside) over HTTP to the test kit's OpenAI fake,
// through LangChainRunner, with the cache's fetch in `configuration.fetch`.

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(async () => {
  await fake.close()
})

const read = tool(async ({ url }) => `The page ${url} says otters hold hands.`, {
  name: 'read',
  description: 'Reads a page.',
  schema: z.object({ url: z.string() }),
})

describe.each([false, true])('LangChainRunner on ChatOpenAI, streamed: %s', (streamed) => {
  it('a second identical run is answered from the cache: no request, same text and events, cached at $0', async () => {
    const cache = createResponseCache()
    const runner = new LangChainRunner({
      prices: { 'lc-cache': { inputPerMTokUsd: 1, outputPerMTokUsd: 4 } },
    })
    const { model } = fake.play(
      scenario()
        .toolCall('read', { url: 'https://example.org/otters' })
        .text('Otters hold hands while they sleep.'),
      { model: 'lc-cache' },
    )
    const agent = createAgent({
      model: new ChatOpenAI({
        model,
        apiKey: 'test-key',
        temperature: 0,
        maxRetries: 0,
        configuration: { baseURL: fake.openaiBaseURL, fetch: cache.fetch() },
      }),
      tools: [read],
      systemPrompt: 'Answer from the page.',
    })

    const first = await runIn(streamed, runner, agent, 'Do otters hold hands?')
    expect(fake.requestsFor(model)).toHaveLength(2)
    expect(first.result.usage.costUsd).toBeGreaterThan(0)

    const second = await runIn(streamed, runner, agent, 'Do otters hold hands?')
    expect(fake.requestsFor(model)).toHaveLength(2)
    fake.assertDone()
    expect(cache.stats).toEqual({ hits: 2, misses: 2, stored: 2, skipped: 0 })
    expect(second.result.text).toBe('Otters hold hands while they sleep.')
    if (streamed) {
      expect(second.events.some((event) => event.type === 'text-delta')).toBe(true)
      expect(eventsOf(second.events)).toEqual(eventsOf(first.events))
    }
    expect(modelCalls(second.result).map((step) => step.data.cached)).toEqual([true, true])
    expect(second.result.usage.costUsd ?? 0).toBe(0)
  })
})
