import type { RunHooks } from '@runner/core'
import { searchTool } from '@runner/core/test'
import { runIn, scenario } from '@runner/testkit'
import { describe, expect, it } from 'vitest'
import { claudeOnFake } from './test-helpers/harness.js'

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

describe('model, provider and finish reasons of each call', () => {
  for (const streamed of [false, true]) {
    it(`${streamed ? 'runStreamed' : 'run'}: the model, provider anthropic, the stop reasons and the catalog's cost`, async () => {
      const { starts, ends, hooks } = watch()
      await using claude = await claudeOnFake({ hooks })
      const search = searchTool()
      const { model } = claude.fake.play(
        scenario()
          .toolCall('search', { query: 'otters' })
          .usage({ inputTokens: 1000, outputTokens: 50, cachedInputTokens: 400 })
          .text('Done.'),
        { model: 'claude-sonnet-4-20250514' },
      )
      const { result } = await runIn(
        streamed,
        claude.runner,
        { model, maxTokens: 100, tools: [search.tool] },
        'q',
      )
      expect(starts).toEqual([
        { model: 'claude-sonnet-4-20250514', provider: 'anthropic' },
        { model: 'claude-sonnet-4-20250514', provider: 'anthropic' },
      ])
      expect(ends).toMatchObject([
        { model: 'claude-sonnet-4-20250514', provider: 'anthropic', finishReasons: ['tool_use'] },
        { model: 'claude-sonnet-4-20250514', provider: 'anthropic', finishReasons: ['end_turn'] },
      ])
      for (const end of ends) expect(end.costUsd).toBeGreaterThan(0)
      expect(result.usage.costUsd).toBeCloseTo((ends[0]?.costUsd ?? 0) + (ends[1]?.costUsd ?? 0), 9)
      if (streamed) expect(ends[1]?.timeToFirstChunkMs).toBeGreaterThanOrEqual(0)
      else for (const end of ends) expect(end.timeToFirstChunkMs).toBeUndefined()
    })
  }

  it('prices cache reads at their own price (the runner`s prices here)', async () => {
    await using claude = await claudeOnFake({
      prices: {
        'claude-sonnet-4-20250514': { inputPerMTokUsd: 3, outputPerMTokUsd: 15, cacheReadPerMTokUsd: 0.3 },
      },
    })
    const { model } = claude.fake.play(
      scenario().text('Done.').usage({ inputTokens: 1000, outputTokens: 50, cachedInputTokens: 400 }),
      { model: 'claude-sonnet-4-20250514' },
    )
    const result = await claude.runner.run({ model, maxTokens: 100 }, 'q')
    expect(result.usage).toMatchObject({
      inputTokens: 1000,
      cachedInputTokens: 400,
      cacheWriteInputTokens: 0,
    })
    expect(result.usage.costUsd).toBeCloseTo((600 * 3 + 400 * 0.3 + 50 * 15) / 1e6, 9)
    const step = result.trajectory?.steps.find((candidate) => candidate.kind === 'model-call')
    expect(step?.data).toMatchObject({
      model: 'claude-sonnet-4-20250514',
      provider: 'anthropic',
      finishReasons: ['end_turn'],
      usage: { costUsd: result.usage.costUsd },
    })
  })
})
