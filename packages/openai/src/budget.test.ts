import { BudgetExceededError } from '@runner/core'
import { searchTool } from '@runner/core/test'
import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { OpenAIRunner } from './openai-runner.js'
import { fakeClient } from './test-helpers/fake-client.js'
import { modes, rejectionOf, runIn } from './test-helpers/run-modes.js'

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(() => fake.close())

/** A model that keeps searching (3,200 tokens a call), then would sum up. */
const searching = () =>
  scenario()
    .toolCall('search', { query: 'otters' })
    .usage({ inputTokens: 3000, outputTokens: 200 })
    .toolCall('search', { query: 'sea otters' })
    .usage({ inputTokens: 3000, outputTokens: 200 })
    .toolCall('search', { query: 'river otters' })
    .usage({ inputTokens: 3000, outputTokens: 200 })
    .text('Otters are mustelids.')

describe('budget', () => {
  for (const { api, streamed, label } of modes) {
    it(`${label}: budget.maxTokens stops the tool loop before the call that would go past it`, async () => {
      const { model, player } = fake.play(searching())
      const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
      const search = searchTool()
      const error = await rejectionOf(
        runIn(streamed, runner, { model, api, tools: [search.tool] }, 'Research otters', {
          agentId: `budget-${api}-${streamed}`,
          budget: { maxTokens: 6000 },
        }),
      )
      expect(BudgetExceededError.isInstance(error)).toBe(true)
      expect(error).toMatchObject({ budget: 'maxTokens', limit: 6000, spent: 6400 })
      // Two calls made, both searches run; the third request never reached the server.
      expect(player.calls).toHaveLength(2)
      expect(search.queries).toEqual(['otters', 'sea otters'])
      const detail = await runner.activity.detail(`budget-${api}-${streamed}`)
      expect(detail.status).toBe('error')
      expect(detail.log.map((entry) => entry.message)).toContain('Budget reached: 6,400 of 6,000 tokens')
    })
  }

  it("onExceeded: 'wrap-up' makes the next call without tools, asking for the answer", async () => {
    const { model, player } = fake.play(
      scenario()
        .toolCall('search', { query: 'otters' })
        .usage({ inputTokens: 3000, outputTokens: 200 })
        .toolCall('search', { query: 'sea otters' })
        .usage({ inputTokens: 3000, outputTokens: 200 })
        .text('Summary.'),
    )
    const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
    const search = searchTool()
    const result = await runner.run({ model, api: 'chat', tools: [search.tool] }, 'Research otters', {
      budget: { maxTokens: 6000, onExceeded: 'wrap-up' },
    })
    expect(result).toMatchObject({ status: 'complete', text: 'Summary.', budgetExceeded: true, turns: 3 })
    expect(player.calls).toHaveLength(3)
    const wrapUp = player.calls[2]?.request as { body: Record<string, unknown> }
    expect(wrapUp.body.tools).toBeUndefined()
    expect((wrapUp.body.messages as unknown[]).at(-1)).toEqual({
      role: 'user',
      content: runner.prompts.wrapUp,
    })
    player.assertDone()
  })
})
