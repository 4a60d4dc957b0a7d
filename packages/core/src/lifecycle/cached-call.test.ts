import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { RunEvent } from '../runner/events.js'
import { ScriptedModel, ScriptedRunner, type ScriptSource } from '../test/scripted-runner.js'
import { defineTool } from '../tools/define-tool.js'
import { markModelCallCached } from './cached-call.js'

const searchTool = defineTool({
  name: 'search',
  description: 'Searches',
  inputSchema: z.object({ query: z.string() }),
  execute: async ({ query }) => `results for ${query}`,
})

/** A scripted model whose calls say where their answer came from, as a cache in an SDK's fetch does. */
function answeredFrom(sources: Array<boolean | undefined>): ScriptSource {
  const model = new ScriptedModel([
    {
      toolCalls: [{ name: 'search', input: { query: 'otters' } }],
      usage: { inputTokens: 1000, outputTokens: 40 },
    },
    {
      toolCalls: [{ name: 'search', input: { query: 'seals' } }],
      usage: { inputTokens: 1100, outputTokens: 40 },
    },
    { text: 'Otters hold hands.', usage: { inputTokens: 1200, outputTokens: 300 } },
  ])
  let call = 0
  return {
    next(signal, request) {
      const cached = sources[call++]
      if (cached !== undefined) expect(markModelCallCached(cached)).toBe(true)
      return model.next(signal, request)
    },
  }
}

describe('markModelCallCached', () => {
  it('a cached call is marked on its step and hook and costs 0; its tokens still count', async () => {
    const ended: Array<{ cached?: boolean; costUsd?: number }> = []
    const runner = new ScriptedRunner({
      hooks: {
        onModelCallEnd: (event) => void ended.push({ cached: event.cached, costUsd: event.usage?.costUsd }),
      },
    })
    // The second call was first answered from the cache, then sent again (the last one counts).
    const stream = runner.runStreamed(
      {
        model: answeredFrom([true, undefined, true]),
        tools: [searchTool],
        modelId: 'gpt-4o-mini',
        provider: 'openai',
      },
      'Tell me about otters',
    )
    const events: RunEvent[] = []
    for await (const event of stream) events.push(event)
    const result = await stream.result

    expect(ended.map((event) => event.cached)).toEqual([true, undefined, true])
    expect(ended[0]?.costUsd).toBe(0)
    expect(ended[1]?.costUsd).toBeGreaterThan(0)
    expect(ended[2]?.costUsd).toBe(0)
    const steps = result.trajectory?.steps.filter((step) => step.kind === 'model-call') ?? []
    expect(steps.map((step) => step.data.cached)).toEqual([true, undefined, true])
    expect(result.usage.costUsd).toBe(ended[1]?.costUsd)
    expect(result.usage.inputTokens).toBe(3300)
    const turnCosts = events.flatMap((event) => (event.type === 'turn-end' ? [event.usage.costUsd ?? 0] : []))
    expect(turnCosts).toEqual([0, ended[1]?.costUsd, 0])
  })

  it('the last word of a call counts: cached, then sent to the provider, is not cached', async () => {
    const runner = new ScriptedRunner()
    const model = answeredFrom([true, undefined, undefined])
    const source: ScriptSource = {
      next(signal, request) {
        return model.next(signal, request).then((step) => {
          markModelCallCached(false)
          return step
        })
      },
    }
    const result = await runner.run(
      { model: source, tools: [searchTool], modelId: 'gpt-4o-mini', provider: 'openai' },
      'Otters?',
    )
    const steps = result.trajectory?.steps.filter((step) => step.kind === 'model-call') ?? []
    expect(steps.map((step) => step.data.cached)).toEqual([undefined, undefined, undefined])
    expect(result.usage.costUsd).toBeGreaterThan(0)
  })

  it('outside a run it tells nobody', () => {
    expect(markModelCallCached()).toBe(false)
  })
})
