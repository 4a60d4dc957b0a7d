import Anthropic from '@anthropic-ai/sdk'
import { defineTool, RunCanceledError, RunTimeoutError } from '@runner/core'
import { scenario } from '@runner/testkit'
import { describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { claudeOnFake, drain, rejectionOf } from './test-helpers/harness.js'

const search = defineTool({
  name: 'search',
  description: 'Searches.',
  inputSchema: z.object({ query: z.string() }),
  execute: async ({ query }) => `results for ${query}`,
})

describe('ClaudeRunner cancellation', () => {
  it.each([
    ['run() on messages.create', false, 1024],
    ['runStreamed() on the message stream', true, 1024],
    ['run() streaming internally (large maxTokens)', false, 64_000],
  ])('the run’s signal reaches every request: %s', async (_name, streamed, maxTokens) => {
    await using claude = await claudeOnFake()
    const { model, player } = claude.fake.play(scenario().toolCall('search', { query: 'otters' }).hang())
    const controller = new AbortController()
    const agent = { model, maxTokens, tools: [search] }
    const options = { signal: controller.signal, agentId: 'hang' }
    const running = streamed
      ? claude.runner.runStreamed(agent, 'q', options).result
      : claude.runner.run(agent, 'q', options)
    running.catch(() => {})
    // The second request, after the tool turn, hangs until the run is canceled.
    await vi.waitFor(() => expect(player.calls).toHaveLength(2))
    expect(player.calls[0]?.signal?.aborted).toBe(false)
    controller.abort()
    const error = await rejectionOf(running)
    // The SDK's APIUserAbortError is normalised into the contract's RunCanceledError.
    expect(RunCanceledError.isInstance(error), String(error)).toBe(true)
    expect(error).not.toBeInstanceOf(Anthropic.APIUserAbortError)
    await vi.waitFor(() => expect(player.calls[1]?.signal?.aborted).toBe(true))
    await vi.waitFor(() => expect(claude.fake.pendingRequests).toBe(0))
    expect((await claude.runner.activity.detail('hang')).status).toBe('canceled')
  })

  it('an abort in the middle of a stream stops it: canceled, no delta after the end', async () => {
    await using claude = await claudeOnFake({}, { fake: { frameDelayMs: 20 } })
    const words = Array.from({ length: 40 }, (_, index) => `word${index}`).join(' ')
    const { model, player } = claude.fake.play(scenario().text(words))
    const stream = claude.runner.runStreamed({ model, maxTokens: 100 }, 'q', { agentId: 'mid-stream' })
    const seen: string[] = []
    for await (const event of stream) {
      seen.push(event.type)
      if (event.type === 'text-delta' && seen.filter((type) => type === 'text-delta').length === 2)
        stream.abort()
    }
    const error = await rejectionOf(stream.result)
    expect(RunCanceledError.isInstance(error)).toBe(true)
    expect(seen.at(-1)).toBe('run-error')
    expect(seen.filter((type) => type === 'text-delta').length).toBeLessThan(10)
    await vi.waitFor(() => expect(player.calls[0]?.signal?.aborted).toBe(true))
    expect((await claude.runner.activity.detail('mid-stream')).status).toBe('canceled')
  })

  it('a consumer that stops reading cancels the stream request', async () => {
    await using claude = await claudeOnFake({}, { fake: { frameDelayMs: 20 } })
    const { model, player } = claude.fake.play(
      scenario().text('one two three four five six seven eight nine ten'),
    )
    const stream = claude.runner.runStreamed({ model, maxTokens: 100 }, 'q')
    for await (const event of stream) if (event.type === 'text-delta') break
    expect(RunCanceledError.isInstance(await rejectionOf(stream.result))).toBe(true)
    await vi.waitFor(() => expect(player.calls[0]?.signal?.aborted).toBe(true))
  })

  it('timeoutMs in the middle of a stream: RunTimeoutError, activity in error', async () => {
    await using claude = await claudeOnFake({}, { fake: { frameDelayMs: 40 } })
    const { model, player } = claude.fake.play(scenario().text('a b c d e f g h i j k l m n o p'))
    const stream = claude.runner.runStreamed({ model, maxTokens: 100 }, 'q', {
      timeoutMs: 300,
      agentId: 'slow',
    })
    const events = await drain(stream)
    const error = await rejectionOf(stream.result)
    expect(RunTimeoutError.isInstance(error), String(error)).toBe(true)
    expect(events.some((event) => event.type === 'text-delta')).toBe(true)
    await vi.waitFor(() => expect(player.calls[0]?.signal?.aborted).toBe(true))
    const activity = await claude.runner.activity.detail('slow')
    expect(activity).toMatchObject({ status: 'error', message: 'Timed out after 300 ms' })
  })
})
