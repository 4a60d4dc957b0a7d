import { createOpenAI } from '@ai-sdk/openai'
import { defineTool, type RunHooks } from '@runner/core'
import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { AISDKRunner } from './ai-sdk-runner.js'
import { callModelOf, genAIProvider } from './model-info.js'
import { toAISDKTools } from './test-helpers/neutral-tools.js'
import { runIn } from './test-helpers/run-modes.js'

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(async () => {
  await fake.close()
})

const search = defineTool({
  name: 'search',
  description: 'Searches the web.',
  inputSchema: z.object({ query: z.string() }),
  execute: async ({ query }) => `results for ${query}`,
})

/** The hooks' model events of a run, as the tests compare them. */
function watch() {
  const starts: Array<{ model?: string; provider?: string }> = []
  const ends: Array<{ model?: string; provider?: string; finishReasons?: string[]; costUsd?: number }> = []
  const hooks: RunHooks = {
    onModelCallStart: ({ model, provider }) => void starts.push({ model, provider }),
    onModelCallEnd: ({ model, provider, finishReasons, usage }) =>
      void ends.push({ model, provider, finishReasons, costUsd: usage?.costUsd }),
  }
  return { starts, ends, hooks }
}

describe('model, provider and finish reasons of each call (@ai-sdk/openai on the protocol fake)', () => {
  for (const api of ['chat', 'responses'] as const) {
    for (const streamed of [false, true]) {
      it(`${api}, ${streamed ? 'runStreamed' : 'run'}: model gpt-4o-mini, provider openai, finish reasons, the catalog's cost`, async () => {
        const { model } = fake.play(scenario().toolCall('search', { query: 'otters' }).text('Done.'), {
          model: 'gpt-4o-mini',
        })
        const provider = createOpenAI({ baseURL: fake.openaiBaseURL, apiKey: 'test' })
        const runner = new AISDKRunner()
        const { starts, ends, hooks } = watch()
        const { result } = await runIn(
          streamed,
          runner,
          { model: api === 'chat' ? provider.chat(model) : provider(model), tools: toAISDKTools([search]) },
          'Otters?',
          { hooks },
        )
        expect(starts).toEqual([
          { model: 'gpt-4o-mini', provider: 'openai' },
          { model: 'gpt-4o-mini', provider: 'openai' },
        ])
        // The AI SDK's own finish reasons, the same for every provider.
        expect(ends).toMatchObject([
          { model: 'gpt-4o-mini', provider: 'openai', finishReasons: ['tool-calls'] },
          { model: 'gpt-4o-mini', provider: 'openai', finishReasons: ['stop'] },
        ])
        for (const end of ends) expect(end.costUsd).toBeGreaterThan(0)
        expect(result.usage.costUsd).toBeCloseTo((ends[0]?.costUsd ?? 0) + (ends[1]?.costUsd ?? 0), 9)
      })
    }
  }

  it('names providers by the GenAI names: openai.chat -> openai, google.vertex.chat -> gcp.vertex_ai...', () => {
    expect(genAIProvider('openai.responses')).toBe('openai')
    expect(genAIProvider('anthropic.messages')).toBe('anthropic')
    expect(genAIProvider('azure.chat')).toBe('azure.ai.openai')
    expect(genAIProvider('amazon-bedrock')).toBe('aws.bedrock')
    expect(genAIProvider('google.generative-ai')).toBe('gcp.gemini')
    expect(genAIProvider('google.vertex.chat')).toBe('gcp.vertex_ai')
    expect(genAIProvider('mistral.chat')).toBe('mistral_ai')
    expect(genAIProvider('ollama.chat')).toBe('ollama')
    expect(callModelOf('anthropic/claude-sonnet-4')).toEqual({
      model: 'claude-sonnet-4',
      provider: 'anthropic',
    })
    expect(callModelOf('gpt-4o')).toEqual({ model: 'gpt-4o' })
  })
})
