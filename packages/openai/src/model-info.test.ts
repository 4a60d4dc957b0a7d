import { defineTool, type RunHooks } from '@runner/core'
import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import { AzureOpenAI } from 'openai'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { OpenAIRunner } from './index.js'
import { fakeClient } from './test-helpers/fake-client.js'
import { modes, runIn } from './test-helpers/run-modes.js'

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(() => fake.close())

const search = defineTool({
  name: 'search',
  description: 'Searches the web.',
  inputSchema: z.object({ query: z.string() }),
  execute: ({ query }) => `results for ${query}`,
})

/** The hooks' model events of a run, as the tests compare them. */
function watch() {
  const starts: Array<{ model?: string; provider?: string }> = []
  const ends: Array<{
    model?: string
    provider?: string
    finishReasons?: string[]
    costUsd?: number
    timeToFirstChunkMs?: number
  }> = []
  const hooks: RunHooks = {
    onModelCallStart: ({ model, provider }) => void starts.push({ model, provider }),
    onModelCallEnd: ({ model, provider, finishReasons, usage, timeToFirstChunkMs }) =>
      void ends.push({ model, provider, finishReasons, costUsd: usage?.costUsd, timeToFirstChunkMs }),
  }
  return { starts, ends, hooks }
}

/** An `AzureOpenAI` client whose deployment requests reach the protocol fake. */
function azureClient(): AzureOpenAI {
  const toFake: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input))
    url.pathname = url.pathname.replace(/\/deployments\/[^/]+/, '')
    const headers = new Headers(init?.headers)
    headers.set('authorization', `Bearer ${headers.get('api-key')}`)
    return fetch(url, { ...init, headers })
  }
  return new AzureOpenAI({
    apiKey: 'test-key',
    baseURL: fake.openaiBaseURL,
    apiVersion: '2024-10-21',
    fetch: toFake,
    logLevel: 'off',
  })
}

describe('model, provider and finish reasons of each call', () => {
  for (const { api, streamed, label } of modes) {
    it(`${label}: the model asked for and the one that answered, provider openai, finish reasons, cost`, async () => {
      const { model } = fake.play(scenario().toolCall('search', { query: 'otters' }).text('Done.'), {
        model: 'gpt-4o-mini',
      })
      const { starts, ends, hooks } = watch()
      const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL), hooks })
      const { result } = await runIn(streamed, runner, { model, api, tools: [search] }, 'Otters?')
      expect(starts).toEqual([
        { model: 'gpt-4o-mini', provider: 'openai' },
        { model: 'gpt-4o-mini', provider: 'openai' },
      ])
      // Chat Completions says why each choice stopped; the Responses API has only a status.
      const reasons = api === 'chat' ? [['tool_calls'], ['stop']] : [['completed'], ['completed']]
      expect(ends).toMatchObject(
        reasons.map((finishReasons) => ({ model: 'gpt-4o-mini', provider: 'openai', finishReasons })),
      )
      // gpt-4o-mini is in the model catalog: every call is priced, the run's cost is their sum.
      for (const end of ends) expect(end.costUsd).toBeGreaterThan(0)
      expect(result.usage.costUsd).toBeCloseTo((ends[0]?.costUsd ?? 0) + (ends[1]?.costUsd ?? 0), 9)
      if (streamed) expect(ends[1]?.timeToFirstChunkMs).toBeGreaterThanOrEqual(0)
      else for (const end of ends) expect(end.timeToFirstChunkMs).toBeUndefined()
    })
  }

  it('an AzureOpenAI client reports provider azure.ai.openai, priced by the runner`s prices', async () => {
    const { model } = fake.play(scenario().text('Done.').usage({ inputTokens: 2000, outputTokens: 100 }), {
      model: 'my-deployment',
    })
    const { starts, ends, hooks } = watch()
    const runner = new OpenAIRunner({
      client: azureClient(),
      hooks,
      prices: { 'azure.ai.openai/my-deployment': { inputPerMTokUsd: 1, outputPerMTokUsd: 10 } },
    })
    const result = await runner.run({ model }, 'Hi')
    expect(result.text).toBe('Done.')
    expect(starts).toEqual([{ model: 'my-deployment', provider: 'azure.ai.openai' }])
    expect(ends).toMatchObject([
      { model: 'my-deployment', provider: 'azure.ai.openai', finishReasons: ['stop'] },
    ])
    expect(result.usage.costUsd).toBeCloseTo((2000 * 1 + 100 * 10) / 1e6, 9)
  })

  it('the trajectory`s model-call steps keep the model, provider and finish reasons', async () => {
    const { model } = fake.play(scenario().text('Done.'), { model: 'gpt-4o-mini' })
    const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
    const result = await runner.run({ model }, 'Hi')
    const step = result.trajectory?.steps.find((candidate) => candidate.kind === 'model-call')
    expect(step?.data).toMatchObject({
      model: 'gpt-4o-mini',
      provider: 'openai',
      finishReasons: ['stop'],
      usage: { costUsd: result.usage.costUsd },
    })
  })
})
