import { HookError } from '@runner/core'
import { searchTool } from '@runner/core/test'
import { scenario } from '@runner/testkit'
import { describe, expect, it } from 'vitest'
import { claudeOnFake, rejectionOf } from './test-helpers/harness.js'

const retry = { initialDelayMs: 1, maxDelayMs: 5 }

describe('ClaudeRunner hooks that throw', () => {
  it('onToolCallStart: the run fails with HookError, the tool does not run, nothing is retried', async () => {
    await using claude = await claudeOnFake()
    const search = searchTool()
    const { model, player } = claude.fake.play(
      scenario().toolCall('search', { query: 'otters' }).text('never'),
    )
    const thrown = new Error('policy service down')
    const error = await rejectionOf(
      claude.runner.run({ model, maxTokens: 100, tools: [search.tool] }, 'q', {
        agentId: 'hook-tool',
        retry,
        hooks: {
          onToolCallStart: () => {
            throw thrown
          },
        },
      }),
    )
    expect(HookError.isInstance(error), String(error)).toBe(true)
    expect(error).toMatchObject({ hook: 'onToolCallStart', cause: thrown })
    expect(search.queries).toEqual([])
    expect(player.calls).toHaveLength(1)
    const activity = await claude.runner.activity.detail('hook-tool')
    expect(activity.status).toBe('error')
    expect(activity.log.filter((entry) => entry.kind === 'retry')).toEqual([])
  })

  it('onModelCallEnd of the runner: the run fails with HookError after the one call, streamed too', async () => {
    const thrown = new Error('metrics sink full')
    await using claude = await claudeOnFake({
      hooks: {
        onModelCallEnd: () => {
          throw thrown
        },
      },
    })
    const search = searchTool()
    const { model, player } = claude.fake.play(
      scenario().toolCall('search', { query: 'otters' }).text('never'),
    )
    const stream = claude.runner.runStreamed({ model, maxTokens: 100, tools: [search.tool] }, 'q', { retry })
    const error = await rejectionOf(stream.result)
    expect(HookError.isInstance(error), String(error)).toBe(true)
    expect(error).toMatchObject({ hook: 'onModelCallEnd', cause: thrown })
    expect(search.queries).toEqual([])
    expect(player.calls).toHaveLength(1)
  })
})
