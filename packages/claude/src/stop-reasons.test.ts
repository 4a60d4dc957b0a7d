import type { MessageParam } from '@anthropic-ai/sdk/resources/messages'
import { MaxTurnsExceededError, type RunEvent } from '@runner/core'
import { searchTool } from '@runner/core/test'
import { describe, expect, it } from 'vitest'
import { ClaudeRunner } from './claude-runner.js'
import { ClaudeStopReasonError } from './errors/claude-stop-reason-error.js'
import { clientFor, drain } from './test-helpers/harness.js'
import { type ScriptedReply, startMessagesServer } from './test-helpers/messages-server.js'

// The protocol fake only stops with end_turn and tool_use: these answers come from a tiny local
// Messages server, read by the real SDK client, as JSON (run) and as SSE (runStreamed).

const retry = { attempts: 3, initialDelayMs: 1, maxDelayMs: 1 }

async function runOn(replies: ScriptedReply[], streamed: boolean, options: { maxTurns?: number } = {}) {
  const server = await startMessagesServer(replies)
  const runner = new ClaudeRunner({ client: clientFor(server.url) })
  const search = searchTool()
  const agent = { model: 'claude-test', maxTokens: 512, tools: [search.tool] }
  const runOptions = { retry, agentId: 'stop', ...options }
  let events: RunEvent[] = []
  let outcome: Awaited<ReturnType<ClaudeRunner['run']>> | { error: unknown }
  try {
    if (streamed) {
      const stream = runner.runStreamed(agent, 'q', runOptions)
      events = await drain(stream)
      outcome = await stream.result
    } else {
      outcome = await runner.run(agent, 'q', runOptions)
    }
  } catch (error) {
    outcome = { error }
  }
  await server.close()
  const activity = await runner.activity.detail('stop')
  return { outcome, events, activity, requests: server.requests, queries: search.queries }
}

describe.each([
  ['run()', false],
  ['runStreamed()', true],
])('ClaudeRunner stop reasons, %s', (_name, streamed) => {
  it('max_tokens fails the run with a clear error telling to raise maxTokens; no retry, no loop', async () => {
    const { outcome, activity, requests } = await runOn(
      [{ content: [{ type: 'text', text: 'The answer begins and then' }], stop_reason: 'max_tokens' }],
      streamed,
    )
    const error = 'error' in outcome ? outcome.error : undefined
    expect(ClaudeStopReasonError.isInstance(error), String(error)).toBe(true)
    expect(error).toMatchObject({
      stopReason: 'max_tokens',
      response: { content: [{ text: 'The answer begins and then' }] },
    })
    expect((error as Error).message).toBe(
      'Claude reached maxTokens (512) before finishing its answer (stop_reason "max_tokens"). ' +
        "Raise the agent's maxTokens (thinking tokens count toward it), or ask for a shorter answer. " +
        'The partial message is on error.response.',
    )
    expect(requests).toHaveLength(1)
    expect(activity.status).toBe('error')
    expect(activity.message).toContain('Raise the agent')
  })

  it('max_tokens in a turn with tool calls runs none of them', async () => {
    const { outcome, requests, queries } = await runOn(
      [
        {
          content: [
            { type: 'tool_use', id: 't1', name: 'search', input: { query: 'complete' } },
            { type: 'tool_use', id: 't2', name: 'search', input: { query: 'cut in the mid' } },
          ],
          stop_reason: 'max_tokens',
        },
      ],
      streamed,
    )
    const error = 'error' in outcome ? outcome.error : undefined
    expect(ClaudeStopReasonError.isInstance(error)).toBe(true)
    expect((error as Error).message).toContain(
      'Its tool calls ("search") were not run: the last one\'s input may be cut.',
    )
    expect(queries).toEqual([])
    expect(requests).toHaveLength(1)
  })

  it('refusal fails the run with the refusal’s category and explanation', async () => {
    const { outcome, activity, requests } = await runOn(
      [
        {
          content: [{ type: 'text', text: '' }],
          stop_reason: 'refusal',
          stop_details: {
            type: 'refusal',
            category: 'cyber',
            explanation: 'This looks like malware development.',
          },
        },
      ],
      streamed,
    )
    const error = 'error' in outcome ? outcome.error : undefined
    expect(ClaudeStopReasonError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ stopReason: 'refusal' })
    expect((error as Error).message).toMatch(
      /^Claude declined to answer \(stop_reason "refusal", category "cyber"\): This looks like malware development\./,
    )
    expect(requests).toHaveLength(1)
    expect(activity.status).toBe('error')
  })

  it('pause_turn is continued with the paused message as it is, and counts as a turn', async () => {
    const { outcome, requests, events } = await runOn(
      [
        { content: [{ type: 'text', text: 'Searching the web first. ' }], stop_reason: 'pause_turn' },
        { content: [{ type: 'text', text: 'Otters hold hands.' }], stop_reason: 'end_turn' },
      ],
      streamed,
    )
    expect('error' in outcome ? outcome.error : undefined).toBeUndefined()
    const result = outcome as Awaited<ReturnType<ClaudeRunner['run']>>
    expect(result.text).toBe('Searching the web first. Otters hold hands.')
    expect(result.turns).toBe(2)
    const second = requests[1]!.messages as MessageParam[]
    expect(second.at(-1)).toEqual({
      role: 'assistant',
      content: [{ type: 'text', text: 'Searching the web first. ', citations: null }],
    })
    expect(requests[1]!.tools).toBeDefined()
    if (streamed) expect(events.filter((event) => event.type === 'turn-start')).toHaveLength(2)
  })

  it('pause_turn counts toward maxTurns', async () => {
    const { outcome, requests } = await runOn(
      [
        { content: [{ type: 'text', text: 'Still working.' }], stop_reason: 'pause_turn' },
        { content: [{ type: 'text', text: 'unreachable' }], stop_reason: 'end_turn' },
      ],
      streamed,
      { maxTurns: 1 },
    )
    expect(MaxTurnsExceededError.isInstance('error' in outcome ? outcome.error : undefined)).toBe(true)
    expect(requests).toHaveLength(1)
  })

  it('stop_sequence is a final answer; model_context_window_exceeded and unknown reasons fail', async () => {
    const done = await runOn(
      [{ content: [{ type: 'text', text: 'Stopped at' }], stop_reason: 'stop_sequence' }],
      streamed,
    )
    expect(done.outcome).toMatchObject({ text: 'Stopped at', output: { stopReason: 'stop_sequence' } })

    for (const reason of ['model_context_window_exceeded', 'brand_new_reason']) {
      const { outcome } = await runOn(
        [{ content: [{ type: 'text', text: 'x' }], stop_reason: reason }],
        streamed,
      )
      const error = 'error' in outcome ? outcome.error : undefined
      expect(ClaudeStopReasonError.isInstance(error), reason).toBe(true)
      expect(error).toMatchObject({ stopReason: reason })
    }
  })
})
