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
  it('one shared definition: a persistent 529 is retried in place, then the next runner finishes the run on the same agentId', async () => {
    await using fake = await startProtocolFake()
    const client = clientFor(fake.anthropicBaseURL)
    // Each runner picks its own model; the definition's model is the last one's.
    const primary = new ClaudeRunner({
      client,
      name: 'Claude Opus',
      model: 'opus-test',
      maxTurns: 5,
      retry: { initialDelayMs: 1, maxDelayMs: 5 },
    })
    const backup = new ClaudeRunner({ client, name: 'Claude Haiku' })
    fake.play(scenario().error(529, 'Overloaded').error(529, 'Overloaded').error(529, 'Overloaded'), {
      model: 'opus-test',
    })
    fake.play(scenario().toolCall('lookup', { topic: 'otters' }).text('Otters hold hands.'), {
      model: 'haiku-test',
    })
    const agent: ClaudeAgent = { model: 'haiku-test', name: 'researcher', maxTokens: 256, tools: [lookup] }

    const resilient = withFallback(primary, backup)
    const result = await resilient.run(agent, 'Tell me about otters', { agentId: 'shared-1' })

    expect(result).toMatchObject({ agentId: 'shared-1', text: 'Otters hold hands.', attempts: 3, turns: 2 })
    expect(fake.requests.map((request) => request.model)).toEqual([
      'opus-test',
      'opus-test',
      'opus-test',
      'haiku-test',
      'haiku-test',
    ])
    const activity = await resilient.activity.detail('shared-1')
    expect(activity.agentType).toBe('researcher')
    expect(activity.status).toBe('complete')
    expect(activity.log.map(({ status, kind, attempt }) => ({ status, kind, attempt }))).toEqual([
      { status: 'queued', kind: 'lifecycle', attempt: undefined },
      { status: 'running', kind: 'lifecycle', attempt: 1 },
      { status: 'running', kind: 'retry', attempt: 2 },
      { status: 'running', kind: 'retry', attempt: 3 },
      { status: 'running', kind: 'fallback', attempt: 3 },
      { status: 'complete', kind: 'lifecycle', attempt: 3 },
    ])
    const fallback = activity.log.find((entry) => entry.kind === 'fallback')
    expect(fallback?.message).toBe('Falling back to Claude Haiku: 529 overloaded_error: Overloaded')
    fake.assertDone()
  })
})
