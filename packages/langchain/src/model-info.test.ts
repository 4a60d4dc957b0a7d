import { ChatAnthropic } from '@langchain/anthropic'
import { ChatOpenAI } from '@langchain/openai'
import { defineTool, type RunHooks } from '@runner/core'
import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import { createAgent } from 'langchain'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { LangChainRunner } from './index.js'
import { providerOf } from './model-info.js'
import { toolsOf } from './test-helpers/agents.js'
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
  const ends: Array<{ model?: string; provider?: string; finishReasons?: string[]; costUsd?: number }> = []
  const hooks: RunHooks = {
    onModelCallStart: ({ model, provider }) => void starts.push({ model, provider }),
    onModelCallEnd: ({ model, provider, finishReasons, usage }) =>
      void ends.push({ model, provider, finishReasons, costUsd: usage?.costUsd }),
  }
  return { starts, ends, hooks }
}

describe('model, provider and finish reasons of each call', () => {
  for (const { streamed, label } of modes) {
    it(`ChatOpenAI, ${label}: model gpt-4o-mini, provider openai, finish reasons, the catalog's cost`, async () => {
      const { model } = fake.play(scenario().toolCall('search', { query: 'otters' }).text('Done.'), {
        model: 'gpt-4o-mini',
      })
      const runner = new LangChainRunner()
      const agent = createAgent({
        model: new ChatOpenAI({
          model,
          apiKey: 'test-key',
          maxRetries: 0,
          configuration: { baseURL: fake.openaiBaseURL },
        }),
        tools: toolsOf(runner, [search]),
      })
      const { starts, ends, hooks } = watch()
      const { result } = await runIn(streamed, runner, agent, 'Otters?', { hooks })
      expect(starts).toEqual([
        { model: 'gpt-4o-mini', provider: 'openai' },
        { model: 'gpt-4o-mini', provider: 'openai' },
      ])
      expect(ends).toMatchObject([
        { model: 'gpt-4o-mini', provider: 'openai', finishReasons: ['tool_calls'] },
        { model: 'gpt-4o-mini', provider: 'openai', finishReasons: ['stop'] },
      ])
      for (const end of ends) expect(end.costUsd).toBeGreaterThan(0)
      expect(result.usage.costUsd).toBeCloseTo((ends[0]?.costUsd ?? 0) + (ends[1]?.costUsd ?? 0), 9)
    })

    it(`ChatAnthropic, ${label}: provider anthropic, the stop reasons, priced`, async () => {
      const { model } = fake.play(scenario().toolCall('search', { query: 'otters' }).text('Done.'), {
        model: 'claude-sonnet-4-20250514',
      })
      const runner = new LangChainRunner()
      const agent = createAgent({
        model: new ChatAnthropic({ model, apiKey: 'test-key', anthropicApiUrl: fake.anthropicBaseURL }),
        tools: toolsOf(runner, [search]),
      })
      const { starts, ends, hooks } = watch()
      const { result } = await runIn(streamed, runner, agent, 'Otters?', { hooks })
      expect(starts).toEqual([
        { model: 'claude-sonnet-4-20250514', provider: 'anthropic' },
        { model: 'claude-sonnet-4-20250514', provider: 'anthropic' },
      ])
      expect(ends).toMatchObject([
        { model: 'claude-sonnet-4-20250514', provider: 'anthropic', finishReasons: ['tool_use'] },
        { model: 'claude-sonnet-4-20250514', provider: 'anthropic', finishReasons: ['end_turn'] },
      ])
      expect(result.usage.costUsd).toBeGreaterThan(0)
    })
  }

  it('names providers by LangChain`s ls_provider, else by the chat model class', () => {
    expect(providerOf(undefined, { ls_provider: 'azure' })).toBe('azure.ai.openai')
    expect(providerOf(undefined, { ls_provider: 'google_vertexai' })).toBe('gcp.vertex_ai')
    expect(providerOf(undefined, { ls_provider: 'Ollama' })).toBe('ollama')
    const serialized = (name: string) => ({
      lc: 1,
      type: 'constructor' as const,
      id: ['langchain', name],
      kwargs: {},
    })
    expect(providerOf(serialized('ChatBedrockConverse'), undefined)).toBe('aws.bedrock')
    expect(providerOf(serialized('ChatMistralAI'), {})).toBe('mistral_ai')
    expect(providerOf(serialized('ChatFireworks'), {})).toBe('fireworks')
  })
})
