import { defineTool, withFallback } from '@runner/core'
import { scenario, startProtocolFake } from '@runner/testkit'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { ClaudeRunner } from './claude-runner.js'
import { clientFor } from './test-helpers/harness.js'
import type { ClaudeAgent } from './types.js'

const lookup = defineTool({
  name: 'lookup',
  description: 'Looks a topic up.',
  inputSchema: z.object({ topic: z.string() }),
  execute: async ({ topic }) => `notes on ${topic}`,
})

describe('ClaudeRunner in withFallback', () => {
  it('one shared definition: a 529 from the first runner makes the next one finish the run on the same agentId', async () => {
    await using fake = await startProtocolFake()
    const client = clientFor(fake.anthropicBaseURL)
    // Each runner picks its own model; the definition's model is the last one's.
    const primary = new ClaudeRunner({ client, name: 'Claude Opus', model: 'opus-test', maxTurns: 5 })
    const backup = new ClaudeRunner({ client, name: 'Claude Haiku' })
    fake.play(scenario().error(529, 'Overloaded'), { model: 'opus-test' })
    fake.play(scenario().toolCall('lookup', { topic: 'otters' }).text('Otters hold hands.'), {
      model: 'haiku-test',
    })
    const agent: ClaudeAgent = { model: 'haiku-test', name: 'researcher', maxTokens: 256, tools: [lookup] }

    const resilient = withFallback(primary, backup)
    const result = await resilient.run(agent, 'Tell me about otters', { agentId: 'shared-1' })

    expect(result).toMatchObject({ agentId: 'shared-1', text: 'Otters hold hands.', attempts: 1, turns: 2 })
    expect(fake.requests.map((request) => request.model)).toEqual(['opus-test', 'haiku-test', 'haiku-test'])
    const activity = await resilient.activity.detail('shared-1')
    expect(activity.agentType).toBe('researcher')
    expect(activity.log.map((entry) => `${entry.status}: ${entry.message}`)).toEqual([
      'queued: Waiting to start',
      'running: Started',
      'running: Falling back to Claude Haiku: 529 overloaded_error: Overloaded',
      'complete: Complete',
    ])
    fake.assertDone()
  })
})
