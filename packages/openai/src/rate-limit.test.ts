import { createRateLimiter } from '@runner/core/adapter'
import { searchTool } from '@runner/core/test'
import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { OpenAIRunner } from './openai-runner.js'
import { fakeClient } from './test-helpers/fake-client.js'

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(() => fake.close())

describe('rateLimiter', () => {
  it('a tool loop waits for its slot before each request reaches the server', async () => {
    const { model, player } = fake.play(
      scenario()
        .toolCall('search', { query: 'otters' })
        .toolCall('search', { query: 'sea otters' })
        .text('Otters are mustelids.'),
    )
    const rateLimiter = createRateLimiter({ limits: { openai: { requestsPerMinute: 2 } }, windowMs: 1000 })
    const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL), rateLimiter })
    const search = searchTool()
    const sent: number[] = []
    const result = await runner.run({ model, api: 'chat', tools: [search.tool] }, 'Research otters', {
      agentId: 'rate-limited-loop',
      hooks: { onModelCallStart: () => void sent.push(Date.now()) },
    })
    expect(result).toMatchObject({ status: 'complete', text: 'Otters are mustelids.', turns: 3 })
    expect(player.calls).toHaveLength(3)
    expect(search.queries).toEqual(['otters', 'sea otters'])
    // Two requests a window: the third is sent a window after the first.
    expect((sent[2] as number) - (sent[0] as number)).toBeGreaterThanOrEqual(990)
    const detail = await runner.activity.detail('rate-limited-loop')
    expect(detail.log.map((entry) => entry.message)).toContain(
      'Waiting for rate limit (openai: 2 requests per 1 s)',
    )
    player.assertDone()
  })
})
