import { HookError, type RunHooks } from '@runner/core'
import { scenario } from '@runner/testkit'
import { tool } from 'ai'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { AISDKRunner } from './ai-sdk-runner.js'
import { searchTools } from './test-helpers/neutral-tools.js'
import { agentOf, modes, promptText, rejectionOf, runIn, runOrWait } from './test-helpers/run-modes.js'

type Ended = { toolName: string; input: unknown; output: unknown; isError: boolean }

describe.each(modes)('tool hooks ($label)', ({ kind, streamed }) => {
  it('onToolCallStart deny: the tool never runs and the model reads the reason as a tool error', async () => {
    const ended: Ended[] = []
    const runner = new AISDKRunner({
      hooks: {
        onToolCallStart: ({ toolName }) =>
          toolName === 'search' ? { deny: 'searching is off today' } : undefined,
        onToolCallEnd: (event) => void ended.push(event),
      },
    })
    const { tools, queries } = searchTools()
    const script = scenario().toolCall('search', { query: 'secret' }).text('I could not search.')
    const { agent, player } = agentOf(kind, runner, script, { tools })
    const { result, events } = await runIn(streamed, runner, agent, 'go')
    expect(result.text).toBe('I could not search.')
    expect(queries).toEqual([])
    expect(ended).toEqual([
      expect.objectContaining({
        toolName: 'search',
        input: { query: 'secret' },
        output: 'Tool call denied: searching is off today',
        isError: true,
      }),
    ])
    // The next request carries the denial as the tool's error result.
    const next = promptText(player.calls[1]!.request)
    expect(next).toContain('Tool call denied: searching is off today')
    expect(next).toContain('error-text')
    if (streamed) {
      expect(events.find((event) => event.type === 'tool-result')).toMatchObject({
        toolName: 'search',
        isError: true,
        output: 'Tool call denied: searching is off today',
      })
    }
    const step = result.trajectory?.steps.find((candidate) => candidate.kind === 'tool-call')
    expect(step?.data).toMatchObject({ toolName: 'search', isError: true })
  })

  it('onToolCallStart rewrite: the tool runs with the new input, which is validated', async () => {
    const ended: Ended[] = []
    const runner = new AISDKRunner()
    const { tools, queries } = searchTools()
    const script = scenario()
      .toolCall('search', { query: 'original' })
      .toolCall('search', { query: 'second' })
      .text('ok')
    const { agent, player } = agentOf(kind, runner, script, { tools })
    let calls = 0
    const hooks: RunHooks = {
      onToolCallStart: () => (++calls === 1 ? { input: { query: 'rewritten' } } : { input: { query: 42 } }),
      onToolCallEnd: (event) => void ended.push(event),
    }
    await runIn(streamed, runner, agent, 'go', { hooks })
    expect(queries).toEqual(['rewritten'])
    expect(ended[0]).toMatchObject({
      input: { query: 'rewritten' },
      output: 'results for rewritten',
      isError: false,
    })
    // The rewritten input is checked with the tool's own schema: refused, the tool does not run.
    expect(ended[1]).toMatchObject({ input: { query: 42 }, isError: true })
    const refusal = String(ended[1]?.output)
    expect(refusal).toMatch(
      /^Invalid input for tool "search": the input onToolCallStart gave does not match: /,
    )
    expect(promptText(player.calls[2]!.request)).toContain('the input onToolCallStart gave does not match')
  })

  it('a tool that throws gives the model an error result and the run goes on', async () => {
    const ended: Ended[] = []
    const runner = new AISDKRunner({ hooks: { onToolCallEnd: (event) => void ended.push(event) } })
    const broken = tool({
      description: 'Always fails.',
      inputSchema: z.object({}),
      execute: async (): Promise<string> => {
        throw new Error('the database is down')
      },
    })
    const script = scenario().toolCall('broken', {}).text('Sorry, no data.')
    const { agent, player } = agentOf(kind, runner, script, { tools: { broken } })
    const { result } = await runIn(streamed, runner, agent, 'go')
    expect(result.text).toBe('Sorry, no data.')
    // Core's text for a tool that threw: the hook, the trajectory and the model read the same.
    const failure = 'Tool "broken" failed: the database is down'
    expect(ended).toEqual([expect.objectContaining({ toolName: 'broken', output: failure, isError: true })])
    // The AI SDK sends the thrown error as an error-text result.
    expect(promptText(player.calls[1]!.request)).toContain(JSON.stringify(`Error: ${failure}`))
    const step = result.trajectory?.steps.find((candidate) => candidate.kind === 'tool-call')
    expect(step?.data).toMatchObject({ toolName: 'broken', output: failure, isError: true })
  })

  it('a throwing onToolCallStart fails the run with HookError, never retried', async () => {
    const failure = new Error('policy service unreachable')
    const runner = new AISDKRunner({
      retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
      hooks: {
        onToolCallStart: () => {
          throw failure
        },
      },
    })
    const { tools, queries } = searchTools()
    const script = scenario().toolCall('search', { query: 'a' }).text('never')
    const { agent, player } = agentOf(kind, runner, script, { tools })
    const error = await rejectionOf(runIn(streamed, runner, agent, 'go', { agentId: 'hook-throws' }))
    expect(HookError.isInstance(error), String(error)).toBe(true)
    expect(error).toMatchObject({ hook: 'onToolCallStart', cause: failure })
    expect(queries).toEqual([])
    expect(player.calls).toHaveLength(1)
    const detail = await runner.activity.detail('hook-throws')
    expect(detail.status).toBe('error')
    expect(detail.log.filter((entry) => entry.kind === 'retry')).toEqual([])
  })

  it('a throwing onModelCallEnd or onToolCallEnd fails the run with HookError', async () => {
    for (const name of ['onModelCallEnd', 'onToolCallEnd'] as const) {
      const failure = new Error(`${name} broke`)
      const runner = new AISDKRunner({
        hooks: {
          [name]: () => {
            throw failure
          },
        },
      })
      const { tools } = searchTools()
      const { agent } = agentOf(kind, runner, scenario().toolCall('search', { query: 'a' }).text('x'), {
        tools,
      })
      const error = await rejectionOf(runIn(streamed, runner, agent, 'go'))
      expect(HookError.isInstance(error), `${name}: ${String(error)}`).toBe(true)
      expect(error).toMatchObject({ hook: name, cause: failure })
    }
  })

  it('parallel tool calls each go through the hooks; an invalid or unknown call is reported too', async () => {
    const started: string[] = []
    const ended: Ended[] = []
    const runner = new AISDKRunner({
      hooks: {
        onToolCallStart: ({ input }) => void started.push(JSON.stringify(input)),
        onToolCallEnd: (event) => void ended.push(event),
      },
    })
    const { tools, queries } = searchTools()
    const script = scenario()
      .toolCalls([
        { name: 'search', input: { query: 'a' } },
        { name: 'search', input: { query: 'b' } },
        { name: 'search', input: { query: 7 } },
        { name: 'nowhere', input: {} },
      ])
      .text('done')
    const { agent } = agentOf(kind, runner, script, { tools })
    const { result } = await runIn(streamed, runner, agent, 'go')
    expect(result.text).toBe('done')
    expect(queries.sort()).toEqual(['a', 'b'])
    expect(started.sort()).toEqual(['{"query":"a"}', '{"query":"b"}'])
    expect(ended.map((event) => [event.toolName, event.isError]).sort()).toEqual([
      ['nowhere', true],
      ['search', false],
      ['search', false],
      ['search', true],
    ])
    const invalid = ended.find((event) => event.toolName === 'search' && event.isError)
    expect(String(invalid?.output)).toContain('Invalid input for tool search')
  })

  it('a tool that streams its output (an async iterable) is recorded with its last value', async () => {
    const ended: Ended[] = []
    const runner = new AISDKRunner({ hooks: { onToolCallEnd: (event) => void ended.push(event) } })
    const progress = tool({
      description: 'Reports progress as it goes.',
      inputSchema: z.object({}),
      async *execute() {
        yield { status: 'working' }
        yield { status: 'done', rows: 3 }
      },
    })
    const script = scenario().toolCall('progress', {}).text('3 rows.')
    const { agent, player } = agentOf(kind, runner, script, { tools: { progress } })
    await runIn(streamed, runner, agent, 'go')
    expect(ended).toEqual([
      expect.objectContaining({ toolName: 'progress', output: { status: 'done', rows: 3 } }),
    ])
    expect(promptText(player.calls[1]!.request)).toContain('"rows":3')
  })

  it('a tool that needs approval suspends the run: waiting with the call pending, the tool not run', async () => {
    const started: string[] = []
    const runner = new AISDKRunner({
      hooks: { onToolCallStart: ({ toolName }) => void started.push(toolName) },
    })
    const remove = tool({
      description: 'Deletes a record.',
      inputSchema: z.object({ id: z.string() }),
      needsApproval: true,
      execute: async () => 'deleted',
    })
    const script = scenario().toolCall('remove', { id: 'r1' }).text('never asked')
    const { agent, player } = agentOf(kind, runner, script, { tools: { remove } })
    const { result } = await runOrWait(streamed, runner, agent, 'Delete r1', {
      agentId: `remove-${kind}-${streamed}`,
    })
    expect(result.status).toBe('waiting')
    expect(result.status === 'waiting' && result.pending).toEqual([
      { id: 'call_0_0', kind: 'approval', toolName: 'remove', input: { id: 'r1' } },
    ])
    expect(started).toEqual([])
    expect(player.calls).toHaveLength(1)
    expect((await runner.activity.detail(result.agentId)).status).toBe('waiting')
  })
})
