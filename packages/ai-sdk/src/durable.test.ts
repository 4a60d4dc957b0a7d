import {
  CapabilityUnsupportedError,
  type CompletedRunResult,
  currentRun,
  MemoryActivityStore,
  type RunResult,
  type WaitingRunResult,
} from '@runner/core'
import { completed } from '@runner/core/test'
import { ScenarioPlayer, scenario } from '@runner/testkit'
import { type ModelMessage, type Tool, ToolLoopAgent, type ToolSet, tool } from 'ai'
import { MockLanguageModelV4 } from 'ai/test'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { AISDKRunner } from './ai-sdk-runner.js'
import type { AISDKCheckpointState } from './durable-conversation.js'
import type { AISDKOutput } from './output.js'
import { agentOf, modes, promptText, rejectionOf, resumeIn, runOrWait } from './test-helpers/run-modes.js'
import { scenarioModel } from './test-helpers/scenario-model.js'

/** Tools whose side effects are recorded: `search` runs at once, `remove` needs a person's approval. */
function sideEffects(needsApproval: Tool['needsApproval'] = true) {
  const searched: string[] = []
  const removed: Array<{ id: string; key: string | undefined }> = []
  const tools: ToolSet = {
    search: tool({
      description: 'Searches the records.',
      inputSchema: z.object({ query: z.string() }),
      execute: async ({ query }) => {
        searched.push(query)
        return `results for ${query}`
      },
    }),
    remove: tool({
      description: 'Deletes a record.',
      inputSchema: z.object({ id: z.string() }),
      needsApproval,
      execute: async ({ id }, { toolCallId }) => {
        removed.push({ id, key: currentRun()?.idempotencyKey(toolCallId) })
        return `removed ${id}`
      },
    }),
  }
  return { searched, removed, tools }
}

/** The first answer: a search and a removal, in one turn. */
const searchAndRemove = () =>
  scenario()
    .toolCalls([
      { name: 'search', input: { query: 'otters' }, id: 'call-search' },
      { name: 'remove', input: { id: 'r1' }, id: 'call-remove' },
    ])
    .usage({ inputTokens: 10, outputTokens: 5 })

function waitingOf(result: RunResult<AISDKOutput>): WaitingRunResult {
  if (result.status !== 'waiting') throw new Error(`run ${result.agentId} completed: ${result.text}`)
  return result
}

function stateOf(record: { checkpoint?: { state: unknown } } | undefined): AISDKCheckpointState {
  return record?.checkpoint?.state as unknown as AISDKCheckpointState
}

describe.each(modes)('durable runs ($label)', ({ kind, streamed }) => {
  const id = (name: string) => `${name}-${kind}-${streamed ? 'stream' : 'run'}`

  it('a tool that needs approval suspends the run; approved in another runner over the same store, it runs once and the run completes', async () => {
    const store = new MemoryActivityStore()
    const effects = sideEffects()
    const first = new AISDKRunner({ activity: store })
    const { agent } = agentOf(kind, first, searchAndRemove(), { tools: effects.tools })
    const agentId = id('approve')
    const waiting = waitingOf(
      (await runOrWait(streamed, first, agent, 'Search, then delete r1', { agentId })).result,
    )
    expect(waiting.pending).toEqual([
      { id: 'call-remove', kind: 'approval', toolName: 'remove', input: { id: 'r1' } },
    ])
    expect(waiting.turns).toBe(1)
    expect(waiting.usage.totalTokens).toBe(15)
    // The call that needs no approval ran (and is journaled); the other waits.
    expect(effects.searched).toEqual(['otters'])
    expect(effects.removed).toEqual([])
    const record = await store.getRun(agentId)
    expect(record?.status).toBe('waiting')
    expect(record?.journal.map((entry) => entry.toolCallId)).toEqual(['call-search'])
    // The checkpoint is the AI SDK conversation: the prompt, the tool calls with the approval
    // request, the search's result.
    const state = stateOf(record)
    expect(state.promptCount).toBe(1)
    expect(state.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool'])
    expect(JSON.stringify(state.messages[1])).toContain('"type":"tool-approval-request"')
    expect((await store.get(agentId))?.log.at(-1)).toMatchObject({
      status: 'waiting',
      message: 'Waiting for approval of remove',
    })

    // Another runner instance (another process, later) decides and resumes.
    const second = new AISDKRunner({ activity: store })
    await second.approve(agentId, 'call-remove', { by: 'grace' })
    const script = scenario().text('Removed r1.').usage({ inputTokens: 20, outputTokens: 3 })
    const { agent: resumed, player } = agentOf(kind, second, script, { tools: effects.tools })
    const { result, events } = await resumeIn(streamed, second, resumed, agentId)
    const done = await completed(result)
    expect(done.text).toBe('Removed r1.')
    expect(done.turns).toBe(2)
    expect(done.usage).toMatchObject({ inputTokens: 30, outputTokens: 8, totalTokens: 38 })
    expect(effects.searched).toEqual(['otters'])
    expect(effects.removed).toEqual([{ id: 'r1', key: `${agentId}:call-remove` }])
    const request = promptText(player.calls[0]!.request)
    expect(request).toContain('removed r1')
    expect(request).toContain('results for otters')
    // The output's response messages cover the whole run, the part before the wait included.
    const roles = done.output.responseMessages.map((message) => message.role)
    expect(roles).toEqual(['assistant', 'tool', 'tool', 'tool', 'assistant'])
    const log = (await store.get(agentId))?.log ?? []
    expect(log.map((entry) => entry.status)).toEqual(['queued', 'running', 'waiting', 'running', 'complete'])
    expect(log[3]).toMatchObject({
      kind: 'resume',
      message: expect.stringContaining('remove approved by grace'),
    })
    const toolSteps = done.trajectory?.steps.filter((step) => step.kind === 'tool-call') ?? []
    expect(toolSteps.map((step) => step.data.toolName)).toEqual(['search', 'remove'])
    if (streamed) {
      expect(events.find((event) => event.type === 'tool-result')).toMatchObject({
        toolCallId: 'call-remove',
        output: 'removed r1',
      })
    }
  })

  it('a denial reaches the model as the AI SDK’s denied tool result with the reason; the tool never runs', async () => {
    const store = new MemoryActivityStore()
    const effects = sideEffects()
    const ended: Array<{ toolName: string; output: unknown; isError: boolean }> = []
    const runner = new AISDKRunner({
      activity: store,
      hooks: { onToolCallEnd: (event) => void ended.push(event) },
    })
    const { agent } = agentOf(kind, runner, searchAndRemove(), { tools: effects.tools })
    const agentId = id('deny')
    waitingOf((await runOrWait(streamed, runner, agent, 'Search, then delete r1', { agentId })).result)
    const { agent: resumed, player } = agentOf(kind, runner, scenario().text('I left r1 alone.'), {
      tools: effects.tools,
    })
    const { result, events } = await resumeIn(streamed, runner, resumed, agentId, {
      decisions: { 'call-remove': { type: 'deny', reason: 'not today' } },
    })
    expect((await completed(result)).text).toBe('I left r1 alone.')
    if (streamed) {
      expect(events.find((event) => event.type === 'tool-result')).toMatchObject({
        toolCallId: 'call-remove',
        isError: true,
        output: 'Tool call denied: not today',
      })
    }
    expect(effects.removed).toEqual([])
    const request = promptText(player.calls[0]!.request)
    expect(request).toContain('"type":"execution-denied","reason":"not today"')
    expect(request).toContain('results for otters')
    expect(ended.map((event) => [event.toolName, event.output, event.isError])).toEqual([
      ['search', 'results for otters', false],
      ['remove', 'Tool call denied: not today', true],
    ])
  })

  it('a run abandoned while a tool hangs resumes on a fresh runner: journaled calls are not run again, turns and usage go on', async () => {
    const store = new MemoryActivityStore()
    const ran: string[] = []
    let hang = true
    const step = tool({
      description: 'A side effect.',
      inputSchema: z.object({ name: z.string() }),
      execute: async ({ name }) => {
        if (name === 'third' && hang) return new Promise<never>(() => {})
        ran.push(name)
        return `${name} done`
      },
    })
    const script = scenario()
      .toolCall('step', { name: 'first' }, { id: 'c1' })
      .usage({ inputTokens: 1, outputTokens: 1 })
      .toolCalls(
        [
          { name: 'step', input: { name: 'second' }, id: 'c2' },
          { name: 'step', input: { name: 'third' }, id: 'c3' },
        ],
        'Two more.',
      )
      .usage({ inputTokens: 2, outputTokens: 2 })
      .text('All done.')
      .usage({ inputTokens: 3, outputTokens: 3 })
    const agentId = id('crash')
    const crashed = new AISDKRunner({ activity: store })
    const { agent } = agentOf(kind, crashed, script, { tools: { step } })
    // The process "dies" while the third call hangs: nobody awaits this run again.
    void runOrWait(streamed, crashed, agent, 'Do three things', { agentId })
    await waitFor(async () =>
      (await store.getRun(agentId))?.journal.some((entry) => entry.toolCallId === 'c2'),
    )
    expect((await store.get(agentId))?.status).toBe('running')
    // The checkpoint holds the answer whose calls were running, before they ran.
    const checkpoint = stateOf(await store.getRun(agentId))
    expect(checkpoint.answer?.content).toEqual([
      { type: 'text', text: 'Two more.' },
      { type: 'tool-call', toolCallId: 'c2', toolName: 'step', input: { name: 'second' } },
      { type: 'tool-call', toolCallId: 'c3', toolName: 'step', input: { name: 'third' } },
    ])
    expect(checkpoint.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool'])

    hang = false
    const fresh = new AISDKRunner({ activity: store })
    const rest = scenario().text('All done.').usage({ inputTokens: 3, outputTokens: 3 })
    const { agent: resumed, player } = agentOf(kind, fresh, rest, { tools: { step } })
    const { result, events } = await resumeIn(streamed, fresh, resumed, agentId)
    const done = await completed(result)
    expect(done.text).toBe('All done.')
    expect(ran).toEqual(['first', 'second', 'third'])
    expect(done.turns).toBe(3)
    expect(done.usage).toMatchObject({ inputTokens: 6, outputTokens: 6, totalTokens: 12 })
    // One model request: the answer in flight was replayed, not asked again.
    expect(player.calls).toHaveLength(1)
    const request = promptText(player.calls[0]!.request)
    for (const output of ['first done', 'second done', 'third done']) expect(request).toContain(output)
    const log = (await store.get(agentId))?.log ?? []
    expect(log.find((entry) => entry.kind === 'resume')?.message).toMatch(
      /Resumed from its checkpoint at turn 2/,
    )
    const replayed = done.trajectory?.steps.filter((candidate) => candidate.data.replayed === true) ?? []
    expect(replayed.map((candidate) => candidate.data.toolCallId)).toEqual(['c2'])
    expect(done.output.responseMessages.map((message) => message.role)).toEqual([
      'assistant',
      'tool',
      'assistant',
      'tool',
      'assistant',
    ])
    if (streamed) {
      // The resumed stream counts turns from the checkpoint: only the new model call is a turn.
      expect(events.filter((event) => event.type === 'turn-start')).toEqual([
        expect.objectContaining({ turn: 3 }),
      ])
    }
  })

  it('maxTurns counts the turns made before the resume', async () => {
    const store = new MemoryActivityStore()
    const effects = sideEffects()
    const runner = new AISDKRunner({ activity: store, maxTurns: 2 })
    const { agent } = agentOf(kind, runner, searchAndRemove(), { tools: effects.tools })
    const agentId = id('limit')
    waitingOf((await runOrWait(streamed, runner, agent, 'Search, then delete r1', { agentId })).result)
    await runner.approve(agentId, 'call-remove')
    const script = scenario().toolCall('search', { query: 'more' }).text('never')
    const { agent: resumed, player } = agentOf(kind, runner, script, { tools: effects.tools })
    const error = await rejectionOf(resumeIn(streamed, runner, resumed, agentId))
    expect(error).toMatchObject({ name: 'MaxTurnsExceededError' })
    // Turn 2 was the only one left: one model call after the resume.
    expect(player.calls).toHaveLength(1)
  })
})

describe('approvals in detail', () => {
  it('an approval with edited input runs the tool with it; an edit the schema refuses is a tool error for the model', async () => {
    const store = new MemoryActivityStore()
    const effects = sideEffects()
    const runner = new AISDKRunner({ activity: store })
    const start = async (agentId: string) => {
      const { agent } = agentOf('settings', runner, searchAndRemove(), { tools: effects.tools })
      waitingOf(await runner.run(agent, 'Search, then delete r1', { agentId }))
    }
    await start('edit-ok')
    const ok = agentOf('settings', runner, scenario().text('Removed r2.'), { tools: effects.tools })
    await completed(
      runner.resume(ok.agent, 'edit-ok', {
        decisions: { 'call-remove': { type: 'approve', input: { id: 'r2' } } },
      }),
    )
    expect(effects.removed.map((call) => call.id)).toEqual(['r2'])
    // The model reads the result of the call that ran.
    expect(promptText(ok.player.calls[0]!.request)).toContain('removed r2')

    await start('edit-bad')
    const bad = agentOf('settings', runner, scenario().text('Could not.'), { tools: effects.tools })
    await completed(
      runner.resume(bad.agent, 'edit-bad', {
        decisions: { 'call-remove': { type: 'approve', input: { id: 42 } } },
      }),
    )
    expect(effects.removed).toHaveLength(1)
    expect(promptText(bad.player.calls[0]!.request)).toContain(
      'Invalid input for tool \\"remove\\": the input the approval gave does not match',
    )
  })

  it('needsApproval as a function, and the AI SDK’s toolApproval setting, ask only for the calls they pick', async () => {
    const store = new MemoryActivityStore()
    const runner = new AISDKRunner({ activity: store })
    const picky = sideEffects(({ id }: { id: string }) => id.startsWith('prod-'))
    const script = scenario()
      .toolCall('remove', { id: 'tmp-1' }, { id: 'small' })
      .toolCall('remove', { id: 'prod-1' }, { id: 'large' })
    const first = agentOf('settings', runner, script, { tools: picky.tools })
    const waiting = waitingOf(await runner.run(first.agent, 'Clean up'))
    expect(picky.removed.map((call) => call.id)).toEqual(['tmp-1'])
    expect(waiting.pending.map((request) => request.id)).toEqual(['large'])

    const plain = sideEffects(undefined)
    const configured = agentOf(
      'settings',
      runner,
      scenario().toolCall('search', { query: 'x' }).toolCall('remove', { id: 'r9' }, { id: 'configured' }),
      {
        tools: plain.tools,
        toolApproval: { remove: 'user-approval' },
      } as never,
    )
    const held = waitingOf(await runner.run(configured.agent, 'Clean up'))
    expect(held.pending.map((request) => request.id)).toEqual(['configured'])
    expect(plain.searched).toEqual(['x'])
    expect(plain.removed).toEqual([])
  })

  it('a resumed ToolLoopAgent gets its call options again; its prepareCall does not add to the checkpointed messages', async () => {
    const store = new MemoryActivityStore()
    const effects = sideEffects()
    const runner = new AISDKRunner({ activity: store })
    const agentWith = (script: ReturnType<typeof scenario>) => {
      const player = new ScenarioPlayer(script)
      const agent = new ToolLoopAgent({
        model: scenarioModel(player),
        tools: effects.tools,
        callOptionsSchema: z.object({ tenant: z.string() }),
        prepareCall: ({ options, prompt, ...settings }) => ({
          ...settings,
          instructions: `You work for ${options.tenant}.`,
          messages: [
            { role: 'user' as const, content: `Context for ${options.tenant}.` },
            { role: 'user' as const, content: String(prompt) },
          ],
        }),
      })
      return { agent, player }
    }
    const first = agentWith(searchAndRemove())
    const waiting = waitingOf(
      await runner.run(
        first.agent,
        { prompt: 'Delete r1', options: { tenant: 'acme' } },
        { agentId: 'options' },
      ),
    )
    expect(stateOf(await store.getRun('options')).callOptions).toEqual({ tenant: 'acme' })
    const second = agentWith(scenario().text('Done for acme.'))
    const done = await completed(
      runner.resume(second.agent, waiting.agentId, { decisions: { 'call-remove': { type: 'approve' } } }),
    )
    expect(done.text).toBe('Done for acme.')
    const request = promptText(second.player.calls[0]!.request)
    expect(request).toContain('You work for acme.')
    expect(request.split('Context for acme.')).toHaveLength(2)
    // The prompt (the two messages prepareCall made) is not part of the response.
    expect(done.output.responseMessages[0]?.role).toBe('assistant')
  })

  it('a run with durable: false cannot wait: a call that needs approval fails it', async () => {
    const effects = sideEffects()
    const runner = new AISDKRunner()
    const { agent } = agentOf('settings', runner, searchAndRemove(), { tools: effects.tools })
    const error = await rejectionOf(runner.run(agent, 'Search, then delete r1', { durable: false }))
    expect(CapabilityUnsupportedError.isInstance(error), String(error)).toBe(true)
    expect(effects.removed).toEqual([])
  })

  it('a run recovered from the wait before the decisions were applied asks again', async () => {
    const store = new MemoryActivityStore()
    const effects = sideEffects()
    const runner = new AISDKRunner({ activity: store })
    const { agent } = agentOf('settings', runner, searchAndRemove(), { tools: effects.tools })
    const waiting = waitingOf(await runner.run(agent, 'Search, then delete r1', { agentId: 'asks-again' }))
    // A process picked the run up (running), then stopped before it wrote anything.
    await store.append('asks-again', { status: 'running', message: 'Resumed' })
    const again = await runner.resume(
      agentOf('settings', runner, scenario().text('never'), { tools: effects.tools }).agent,
      'asks-again',
    )
    expect(waitingOf(again).pending).toEqual(waiting.pending)
    expect(effects.removed).toEqual([])
  })

  it('the replayed answer keeps its reasoning with the provider’s metadata (a signature) for the next request', async () => {
    const store = new MemoryActivityStore()
    let hang = true
    const ran: string[] = []
    const step = tool({
      description: 'A side effect.',
      inputSchema: z.object({ name: z.string() }),
      execute: async ({ name }) => {
        if (hang) return new Promise<never>(() => {})
        ran.push(name)
        return `${name} done`
      },
    })
    const usage = {
      inputTokens: { total: 5, noCache: 5, cacheRead: undefined, cacheWrite: undefined },
      outputTokens: { total: 2, text: 2, reasoning: undefined },
    }
    const thinking = new MockLanguageModelV4({
      doGenerate: {
        content: [
          {
            type: 'reasoning',
            text: 'I should do it.',
            providerMetadata: { anthropic: { signature: 'sig-1' } },
          },
          { type: 'tool-call', toolCallId: 't1', toolName: 'step', input: '{"name":"only"}' },
        ],
        finishReason: { unified: 'tool-calls', raw: 'tool_use' },
        usage,
        warnings: [],
      },
    })
    const runner = new AISDKRunner({ activity: store, reportStatus: false })
    void runner.run({ model: thinking, tools: { step } }, 'Do it', { agentId: 'signed' })
    await waitFor(async () => stateOf(await store.getRun('signed'))?.answer !== undefined)
    hang = false
    const after = new MockLanguageModelV4({
      doGenerate: {
        content: [{ type: 'text', text: 'Done.' }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage,
        warnings: [],
      },
    })
    const done = await completed(runner.resume({ model: after, tools: { step } }, 'signed'))
    expect(done.text).toBe('Done.')
    expect(ran).toEqual(['only'])
    expect(thinking.doGenerateCalls).toHaveLength(1)
    const assistant = after.doGenerateCalls[0]!.prompt.find((message) => message.role === 'assistant')
    expect(assistant?.content).toEqual([
      { type: 'reasoning', text: 'I should do it.', providerOptions: { anthropic: { signature: 'sig-1' } } },
      expect.objectContaining({
        type: 'tool-call',
        toolCallId: 't1',
        toolName: 'step',
        input: { name: 'only' },
      }),
    ])
  })

  it('binary data in the conversation is checkpointed as base64 and read back by the AI SDK', async () => {
    const store = new MemoryActivityStore()
    const effects = sideEffects()
    const runner = new AISDKRunner({ activity: store })
    const input: ModelMessage[] = [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Delete the record in this file.' },
          { type: 'file', data: new TextEncoder().encode('r1'), mediaType: 'text/plain' },
        ],
      },
    ]
    const { agent } = agentOf('settings', runner, searchAndRemove(), { tools: effects.tools })
    waitingOf(await runner.run(agent, input, { agentId: 'binary' }))
    const state = stateOf(await store.getRun('binary'))
    expect(state.messages[0]).toMatchObject({ content: [{ type: 'text' }, { type: 'file', data: 'cjE=' }] })
    const resumed = agentOf('settings', runner, scenario().text('Removed.'), { tools: effects.tools })
    const done: CompletedRunResult<AISDKOutput> = await completed(
      runner.resume(resumed.agent, 'binary', { decisions: { 'call-remove': { type: 'approve' } } }),
    )
    expect(done.text).toBe('Removed.')
    expect(promptText(resumed.player.calls[0]!.request)).toContain('cjE=')
  })
})

async function waitFor(condition: () => Promise<boolean | undefined>): Promise<void> {
  const deadline = Date.now() + 5000
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s')
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}
