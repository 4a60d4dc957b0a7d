import { defineTool } from '@runner/core'
import { OpenAIRunner } from '@runner/openai'
import { type ProtocolFake, runIn, scenario, startProtocolFake } from '@runner/testkit'
import OpenAI from 'openai'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createResponseCache } from './response-cache.js'
import { eventsOf, modelCalls, stable } from './test-helpers/compare.js'

// The real OpenAI SDK over HTTP to the test kit's OpenAI fake, through OpenAIRunner, with the
// cache's fetch given to the client.

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

const prices = { 'cache-model': { inputPerMTokUsd: 1, outputPerMTokUsd: 4 } }

function otters() {
  return fake.play(
    scenario()
      .toolCall('report_status', { message: 'Reading', percentage: 40 })
      .toolCall('read', { url: 'https://example.org/otters' })
      .text('Otters hold hands while they sleep.'),
    { model: 'cache-model' },
  )
}

const modes = [
  { api: 'chat', streamed: false },
  { api: 'chat', streamed: true },
  { api: 'responses', streamed: false },
  { api: 'responses', streamed: true },
] as const

describe.each(modes)('OpenAIRunner, $api, streamed: $streamed', ({ api, streamed }) => {
  it('a second identical run is answered from the cache: no request, same text and events, cached steps at $0', async () => {
    const cache = createResponseCache()
    const client = new OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, fetch: cache.fetch() })
    const runner = new OpenAIRunner({ client, prices })
    const { model } = otters()
    const agent = {
      model,
      api,
      instructions: 'Answer from the page.',
      tools: [read],
      modelSettings: { temperature: 0 },
    }

    const first = await runIn(streamed, runner, agent, 'Do otters hold hands?')
    expect(fake.requestsFor(model)).toHaveLength(3)
    expect(cache.stats).toEqual({ hits: 0, misses: 3, stored: 3, skipped: 0 })
    expect(first.result.usage.costUsd).toBeGreaterThan(0)
    expect(modelCalls(first.result).map((step) => step.data.cached)).toEqual([
      undefined,
      undefined,
      undefined,
    ])

    const second = await runIn(streamed, runner, agent, 'Do otters hold hands?')
    // The fake's scenario is used up: a request reaching it would fail the run.
    expect(fake.requestsFor(model)).toHaveLength(3)
    fake.assertDone()
    expect(cache.stats).toEqual({ hits: 3, misses: 3, stored: 3, skipped: 0 })
    expect(second.result.text).toBe('Otters hold hands while they sleep.')
    expect(second.result.text).toBe(first.result.text)
    expect(second.result.turns).toBe(first.result.turns)
    expect(stable(second.result.output)).toEqual(stable(first.result.output))
    if (streamed) {
      expect(second.events.some((event) => event.type === 'text-delta')).toBe(true)
      expect(eventsOf(second.events)).toEqual(eventsOf(first.events))
    }
    const cached = modelCalls(second.result)
    expect(cached).toHaveLength(3)
    for (const step of cached) {
      expect(step.data.cached).toBe(true)
      expect((step.data.usage as { costUsd?: number }).costUsd).toBe(0)
    }
    expect(second.result.usage.costUsd ?? 0).toBe(0)
    // Tokens are those of the recorded answers.
    expect(second.result.usage.inputTokens).toBe(first.result.usage.inputTokens)
  })
})

describe('OpenAIRunner: what is not cached', () => {
  it('a request that samples (no temperature) goes to the provider every time unless allowNonDeterministic', async () => {
    const cache = createResponseCache()
    const client = new OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, fetch: cache.fetch() })
    const runner = new OpenAIRunner({ client })
    const { model } = fake.play(scenario().text('One.').text('Two.'), { model: 'sampling' })
    const agent = { model, api: 'chat' as const }

    expect((await runner.run(agent, 'Count.')).text).toBe('One.')
    expect((await runner.run(agent, 'Count.')).text).toBe('Two.')
    expect(fake.requestsFor(model)).toHaveLength(2)
    expect(cache.stats).toMatchObject({ hits: 0, stored: 0, skipped: 2 })

    const allowing = createResponseCache({ allowNonDeterministic: true })
    const sampled = new OpenAIRunner({
      client: new OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, fetch: allowing.fetch() }),
    })
    const { model: other } = fake.play(scenario().text('Three.'), { model: 'sampling-allowed' })
    expect((await sampled.run({ model: other, api: 'chat' }, 'Count.')).text).toBe('Three.')
    expect((await sampled.run({ model: other, api: 'chat' }, 'Count.')).text).toBe('Three.')
    expect(fake.requestsFor(other)).toHaveLength(1)
  })

  for (const fault of ['cutStream', 'malformed'] as const) {
    it(`an answer that is ${fault === 'cutStream' ? 'cut mid-stream' : 'malformed'} is never stored`, async () => {
      const cache = createResponseCache()
      const client = new OpenAI({
        apiKey: 'test-key',
        baseURL: fake.openaiBaseURL,
        fetch: cache.fetch(),
        maxRetries: 0,
      })
      const runner = new OpenAIRunner({ client })
      const { model } = fake.play(scenario()[fault]().text('Whole.'), { model: fault })
      const agent = { model, api: 'chat' as const, modelSettings: { temperature: 0 } }
      const attempt = async () => {
        const stream = runner.runStreamed(agent, 'Answer.', { retry: { attempts: 1 } })
        for await (const _ of stream) {
          // drained
        }
        return stream.result
      }
      await expect(attempt()).rejects.toThrow()
      expect(cache.stats).toMatchObject({ hits: 0, misses: 1, stored: 0 })
      // The same request again reaches the provider, which now answers whole: that one is stored.
      expect((await attempt()).text).toBe('Whole.')
      expect(fake.requestsFor(model)).toHaveLength(2)
      expect(cache.stats).toMatchObject({ hits: 0, misses: 2, stored: 1 })
      expect((await attempt()).text).toBe('Whole.')
      expect(fake.requestsFor(model)).toHaveLength(2)
    })
  }
})
