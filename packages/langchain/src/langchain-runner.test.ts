import { readFileSync } from 'node:fs'
import { BaseCallbackHandler } from '@langchain/core/callbacks/base'
import { dispatchCustomEvent } from '@langchain/core/callbacks/dispatch'
import { AIMessage, HumanMessage } from '@langchain/core/messages'
import { ChatPromptTemplate, MessagesPlaceholder } from '@langchain/core/prompts'
import { RunnableLambda } from '@langchain/core/runnables'
import { fakeModel } from '@langchain/core/testing'
import { tool } from '@langchain/core/tools'
import {
  Command,
  END,
  interrupt,
  MemorySaver,
  MessagesAnnotation,
  START,
  StateGraph,
} from '@langchain/langgraph'
import { ToolNode } from '@langchain/langgraph/prebuilt'
import {
  CapabilityUnsupportedError,
  defineTool,
  HookError,
  InvalidOptionsError,
  InvalidToolInputError,
  MaxTurnsExceededError,
  RunCanceledError,
  type RunEvent,
  RunTimeoutError,
  withFallback,
} from '@runner/core'
import { ScenarioPlayer, scenario } from '@runner/testkit'
import { createAgent, createMiddleware } from 'langchain'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { LangChainRunner, VERSION } from './index.js'
import { researchAgent, researchGraph, toolsOf } from './test-helpers/agents.js'
import { logLines, modes, rejectionOf, runIn, until } from './test-helpers/run-modes.js'
import { ScenarioChatModel, type ScenarioRequest } from './test-helpers/scenario-chat-model.js'

const searchTool = () => {
  const queries: string[] = []
  const definition = defineTool({
    name: 'search',
    description: 'Searches the web.',
    inputSchema: z.object({ query: z.string() }),
    execute: ({ query }) => {
      queries.push(query)
      return `results for ${query}`
    },
  })
  return { definition, queries }
}

const play = (script: ReturnType<typeof scenario>) => {
  const player = new ScenarioPlayer(script)
  return { player, model: new ScenarioChatModel(player) }
}

const requestOf = (player: ScenarioPlayer, call: number) => player.calls[call]?.request as ScenarioRequest

describe('LangChainRunner', () => {
  it('exports VERSION from package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string
    }
    expect(VERSION).toBe(pkg.version)
  })

  it('names the activity after createAgent({ name }), else after the runner', async () => {
    const runner = new LangChainRunner({ name: 'lc' })
    const named = createAgent({ model: play(scenario().text('a')).model, tools: [], name: 'researcher' })
    const unnamed = createAgent({ model: play(scenario().text('b')).model, tools: [] })
    const first = await runner.run(named, 'hi')
    const second = await runner.run(unnamed, 'hi')
    expect((await runner.activity.detail(first.agentId)).agentType).toBe('researcher')
    expect((await runner.activity.detail(second.agentId)).agentType).toBe('lc')
  })
})

describe('a createAgent agent', () => {
  for (const { streamed, label } of modes) {
    it(`${label}: reports, searches, answers; the state is the output; the model saw the tools and the prompt`, async () => {
      const runner = new LangChainRunner()
      const search = searchTool()
      const { model, player } = play(
        scenario()
          .toolCall('report_status', { message: 'Searching', percentage: 30 })
          .toolCall('search', { query: 'otters' })
          .text('Otters hold hands while they sleep.'),
      )
      const { result } = await runIn(
        streamed,
        runner,
        researchAgent(runner, model, [search.definition]),
        'Otters?',
        {
          agentId: 'otters',
        },
      )
      expect(result.text).toBe('Otters hold hands while they sleep.')
      const messages = (result.output as { messages: Array<{ getType(): string }> }).messages
      expect(messages.map((message) => message.getType())).toEqual([
        'human',
        'ai',
        'tool',
        'ai',
        'tool',
        'ai',
      ])
      expect(messages[0]).toBeInstanceOf(HumanMessage)
      expect(requestOf(player, 0).tools).toEqual(['search', 'report_status'])
      expect(requestOf(player, 0).messages.map((message) => message.type)).toEqual(['system', 'human'])
      expect(
        requestOf(player, 2)
          .messages.filter((message) => message.type === 'tool')
          .map((m) => m.content),
      ).toEqual(['Status updated', 'results for otters'])
      expect(logLines(await runner.activity.detail('otters'))).toEqual([
        'queued: Waiting to start (0%)',
        'running: Started',
        'running: Searching (30%)',
        'complete: Complete (100%)',
      ])
    })
  }

  it('streams text and reasoning deltas inside their turn, then turn-end with that turn’s usage', async () => {
    const runner = new LangChainRunner()
    const { model } = play(
      scenario()
        .toolCall('search', { query: 'otters' })
        .usage({ inputTokens: 20, outputTokens: 4, cachedInputTokens: 12 })
        .text('Otters hold hands while they sleep.', { reasoning: 'The sources agree.' })
        .usage({ inputTokens: 30, outputTokens: 9, reasoningTokens: 3 }),
    )
    const { result, events } = await runIn(
      true,
      runner,
      researchAgent(runner, model, [searchTool().definition]),
      'x',
    )
    const shape = events
      .filter((event) => event.type !== 'status-update')
      .map((event) => (event.type === 'text-delta' ? 'text' : event.type))
      .filter((type, index, all) => type !== 'text' || all[index - 1] !== 'text')
    expect(shape).toEqual([
      'run-start',
      'turn-start',
      'tool-call',
      'tool-result',
      'turn-end',
      'turn-start',
      'reasoning-delta',
      'text',
      'turn-end',
      'run-end',
    ])
    expect(events.filter((event) => event.type === 'text-delta').length).toBeGreaterThan(1)
    expect(events.find((event) => event.type === 'reasoning-delta')).toEqual({
      type: 'reasoning-delta',
      text: 'The sources agree.',
    })
    const turnEnds = events.flatMap((event) => (event.type === 'turn-end' ? [event.usage] : []))
    expect(turnEnds).toEqual([
      { inputTokens: 20, outputTokens: 4, totalTokens: 24, cachedInputTokens: 12 },
      { inputTokens: 30, outputTokens: 9, totalTokens: 39, reasoningTokens: 3 },
    ])
    expect(result.usage).toEqual({
      inputTokens: 50,
      outputTokens: 13,
      totalTokens: 63,
      cachedInputTokens: 12,
      reasoningTokens: 3,
    })
    expect(result.text).toBe('Otters hold hands while they sleep.')
  })

  it('a model that cannot stream (LangChain’s fakeModel) still streams its answer: one text-delta per call', async () => {
    const runner = new LangChainRunner()
    const model = fakeModel()
      .respondWithTools([{ name: 'search', args: { query: 'otters' }, id: 'c1' }])
      .respond(
        new AIMessage({
          content: 'Otters float.',
          usage_metadata: { input_tokens: 7, output_tokens: 3, total_tokens: 10 },
        }),
      )
    const search = searchTool()
    const { result, events } = await runIn(
      true,
      runner,
      researchAgent(runner, model, [search.definition]),
      'x',
    )
    expect(search.queries).toEqual(['otters'])
    expect(result.text).toBe('Otters float.')
    expect(result.usage).toEqual({ inputTokens: 7, outputTokens: 3, totalTokens: 10 })
    const deltas = events.flatMap((event) => (event.type === 'text-delta' ? [event.text] : []))
    // fakeModel answers a tool call with the input's text as content: the first turn's text streams too.
    expect(deltas.at(-1)).toBe('Otters float.')
    expect(events.filter((event) => event.type === 'turn-start')).toHaveLength(2)
  })

  it('a handler that prefers content-block stream events (core 1.4): the deltas come from those instead', async () => {
    const runner = new LangChainRunner()
    const blockListener = BaseCallbackHandler.fromMethods({ handleChatModelStreamEvent: () => undefined })
    Object.assign(blockListener, { lc_prefer_chat_model_stream_events: true })
    const agentFor = () =>
      createAgent({
        model: play(scenario().text('Streamed as blocks.', { reasoning: 'Block reasoning.' })).model,
        tools: [],
      }).withConfig({ callbacks: [blockListener] })
    for (const { streamed } of modes) {
      const { result, events } = await runIn(streamed, runner, agentFor(), 'x')
      expect(result.text).toBe('Streamed as blocks.')
      if (!streamed) continue
      const deltas = events.flatMap((event) => (event.type === 'text-delta' ? [event.text] : []))
      expect(deltas.length).toBeGreaterThan(1)
      expect(deltas.join('')).toBe('Streamed as blocks.')
      const reasoning = events.flatMap((event) => (event.type === 'reasoning-delta' ? [event.text] : []))
      expect(reasoning).toEqual(['Block reasoning.'])
    }
  })

  it('runs parallel tool calls, each with its events and hooks', async () => {
    const runner = new LangChainRunner()
    const search = searchTool()
    const { model } = play(
      scenario()
        .toolCalls([
          { name: 'search', input: { query: 'a' } },
          { name: 'search', input: { query: 'b' } },
        ])
        .text('Both.'),
    )
    const ended: string[] = []
    const { result, events } = await runIn(
      true,
      runner,
      researchAgent(runner, model, [search.definition]),
      'x',
      {
        hooks: { onToolCallEnd: ({ toolCallId }) => void ended.push(toolCallId) },
      },
    )
    expect(result.text).toBe('Both.')
    expect(search.queries.sort()).toEqual(['a', 'b'])
    expect(ended.sort()).toEqual(['call_0_0', 'call_0_1'])
    expect(
      events
        .filter((event) => event.type === 'tool-result')
        .map((event) => event.toolCallId)
        .sort(),
    ).toEqual(['call_0_0', 'call_0_1'])
  })

  it('includeNative passes every LangChain event of a streamed run through as native', async () => {
    const runner = new LangChainRunner({ includeNative: true })
    const { events } = await runIn(
      true,
      runner,
      createAgent({ model: play(scenario().text('Hi.')).model, tools: [] }),
      'x',
    )
    const native = events.flatMap((event) =>
      event.type === 'native' ? [event.event as { event: string }] : [],
    )
    expect(native.map((event) => event.event)).toEqual(
      expect.arrayContaining([
        'on_chain_start',
        'on_chat_model_start',
        'on_chat_model_stream',
        'on_chat_model_end',
        'on_chain_end',
      ]),
    )
    expect(native[0]?.event).toBe('on_chain_start')
    expect(native.at(-1)?.event).toBe('on_chain_end')
    expect(events.at(-1)?.type).toBe('run-end')
  })

  it('a createAgent with middleware: its before/after model hooks count in the recursion limit', async () => {
    const runner = new LangChainRunner()
    const middleware = createMiddleware({
      name: 'Spy',
      beforeModel: () => undefined,
      afterModel: () => undefined,
    })
    const search = searchTool()
    const { model } = play(
      scenario()
        .toolCall('search', { query: 'a' })
        .toolCall('search', { query: 'b' })
        .toolCall('search', { query: 'c' })
        .text('Done.'),
    )
    const agent = createAgent({
      model,
      tools: toolsOf(runner, [search.definition]),
      middleware: [middleware],
    })
    // Counted at 2 steps per turn, the limit (10) would stop the graph in its third turn.
    // 4 steps per turn (before_model, model, after_model, tools): maxTurns 4 fits with 4 × 5 = 20 steps.
    const result = await runner.run(agent, 'x', { maxTurns: 4 })
    expect(result.text).toBe('Done.')
    expect(result.turns).toBe(4)
  })
})

describe('per-run LangChain config', () => {
  it('agent.withConfig({ configurable }): a checkpointer’s thread keeps the conversation across runs', async () => {
    const runner = new LangChainRunner()
    const { model, player } = play(scenario().text('Nice to meet you, Ada.').text('Your name is Ada.'))
    const agent = createAgent({ model, tools: [], checkpointer: new MemorySaver() })
    const thread = agent.withConfig({ configurable: { thread_id: 'ada' } })
    await runner.run(thread, 'I am Ada.')
    const second = await runner.run(thread, 'What is my name?')
    expect(second.text).toBe('Your name is Ada.')
    expect(requestOf(player, 1).messages.map((message) => message.content)).toEqual([
      'I am Ada.',
      'Nice to meet you, Ada.',
      'What is my name?',
    ])
  })

  for (const { streamed, label } of modes) {
    it(`${label}: durable: false: interrupt() in a wrapped tool completes the run with __interrupt__; a Command resumes the thread`, async () => {
      const runner = new LangChainRunner()
      const approvals: unknown[] = []
      const send = tool(
        async ({ to }: { to: string }) => {
          const answer = interrupt({ question: `Send to ${to}?` })
          approvals.push(answer)
          return answer === 'yes' ? `sent to ${to}` : 'not sent'
        },
        { name: 'send', description: 'Sends a mail.', schema: z.object({ to: z.string() }) },
      )
      const { model } = play(scenario().toolCall('send', { to: 'ada' }).text('Sent.'))
      const agent = createAgent({ model, tools: runner.wrapTools([send]), checkpointer: new MemorySaver() })
      const thread = agent.withConfig({ configurable: { thread_id: `mail-${streamed}` } })
      const { result: first } = await runIn(streamed, runner, thread, 'Mail Ada.', { durable: false })
      expect(
        (first.output as { __interrupt__?: Array<{ value: unknown }> }).__interrupt__?.[0]?.value,
      ).toEqual({
        question: 'Send to ada?',
      })
      const { result: second } = await runIn(streamed, runner, thread, new Command({ resume: 'yes' }), {
        durable: false,
      })
      expect(approvals).toEqual(['yes'])
      expect(second.text).toBe('Sent.')
    })
  }

  it('a graph compiled with a name gives the activity its agentType', async () => {
    const runner = new LangChainRunner()
    const graph = new StateGraph(MessagesAnnotation)
      .addNode('answer', async () => ({ messages: [new AIMessage('ok')] }))
      .addEdge(START, 'answer')
      .addEdge('answer', END)
      .compile({ name: 'summarizer' })
    const result = await runner.run(graph, 'x')
    expect((await runner.activity.detail(result.agentId)).agentType).toBe('summarizer')
  })
})

describe('a plain chain (prompt | model)', () => {
  for (const { streamed, label } of modes) {
    it(`${label}: a string fills the prompt’s one variable; one turn, usage, text, activity complete`, async () => {
      const runner = new LangChainRunner()
      const { model, player } = play(scenario().text('Paris.').usage({ inputTokens: 12, outputTokens: 2 }))
      const prompt = ChatPromptTemplate.fromMessages([
        ['system', 'Answer in one word.'],
        ['human', 'Capital of {country}?'],
      ])
      const chain = prompt.pipe(model)
      const { result, events } = await runIn(streamed, runner, chain, 'France', { agentId: 'chain' })
      expect(result.text).toBe('Paris.')
      expect(result.turns).toBe(1)
      expect(result.usage).toEqual({ inputTokens: 12, outputTokens: 2, totalTokens: 14 })
      expect(
        AIMessage.isInstance(result.output) || (result.output as { getType(): string }).getType() === 'ai',
      ).toBe(true)
      expect(requestOf(player, 0).messages).toEqual([
        { type: 'system', content: 'Answer in one word.' },
        { type: 'human', content: 'Capital of France?' },
      ])
      expect((await runner.activity.detail('chain')).status).toBe('complete')
      const steps = result.trajectory?.steps ?? []
      expect(steps.map((step) => step.kind)).toEqual(['model-call'])
      if (streamed) expect(events.some((event) => event.type === 'text-delta')).toBe(true)
    })
  }

  it('a prompt with a messages placeholder gets { messages: [HumanMessage] }; a string output parser’s string is the text', async () => {
    const runner = new LangChainRunner()
    const { model, player } = play(scenario().text('Hello there.'))
    const chain = ChatPromptTemplate.fromMessages([
      ['system', 'Be kind.'],
      new MessagesPlaceholder('messages'),
    ])
      .pipe(model)
      .pipe(RunnableLambda.from((message: AIMessage) => message.text.toUpperCase()))
    const result = await runner.run(chain, 'Hi')
    expect(result.output).toBe('HELLO THERE.')
    expect(result.text).toBe('HELLO THERE.')
    expect(requestOf(player, 0).messages.at(-1)).toEqual({ type: 'human', content: 'Hi' })
  })

  it('a prompt with several variables refuses a string before anything starts; an object is passed through', async () => {
    const runner = new LangChainRunner()
    const { model } = play(scenario().text('Lyon.'))
    const chain = ChatPromptTemplate.fromTemplate('Second city of {country} in {year}?').pipe(model)
    const error = await rejectionOf(runner.run(chain, 'France', { agentId: 'refused' }))
    expect(InvalidOptionsError.isInstance(error), String(error)).toBe(true)
    expect((error as InvalidOptionsError).message).toContain('{country}, {year}')
    expect(await runner.activity.store.get('refused')).toBeUndefined()
    const result = await runner.run(chain, { country: 'France', year: 2020 })
    expect(result.text).toBe('Lyon.')
  })

  it('a chat model itself is an agent: a string is its input', async () => {
    const runner = new LangChainRunner()
    const { model, player } = play(scenario().text('Hi!'))
    const result = await runner.run(model, 'Hello')
    expect(result.text).toBe('Hi!')
    expect(requestOf(player, 0).messages).toEqual([{ type: 'human', content: 'Hello' }])
  })

  it('maxTurnsRecovery changes nothing for a chain: its one model call is within any limit', async () => {
    const runner = new LangChainRunner()
    const chain = ChatPromptTemplate.fromTemplate('{q}').pipe(play(scenario().text('One call.')).model)
    const result = await runner.run(chain, 'q', { maxTurns: 1, maxTurnsRecovery: true })
    expect(result.text).toBe('One call.')
    expect(result.maxTurnsReached).toBe(false)
  })
})

describe('a hand-built LangGraph graph (model node + ToolNode)', () => {
  for (const { streamed, label } of modes) {
    it(`${label}: runs to the end with the activity, hooks and trajectory complete`, async () => {
      const runner = new LangChainRunner()
      const search = searchTool()
      const { model } = play(
        scenario()
          .toolCall('report_status', { message: 'Looking it up', percentage: 50 })
          .toolCall('search', { query: 'kelp' })
          .text('Kelp shelters otters.'),
      )
      const calls: string[] = []
      const { result } = await runIn(
        streamed,
        runner,
        researchGraph(runner, model, [search.definition]),
        'Kelp?',
        {
          agentId: 'graph',
          hooks: {
            onModelCallStart: () => void calls.push('model'),
            onToolCallStart: ({ toolName }) => void calls.push(`start:${toolName}`),
            onToolCallEnd: ({ toolName }) => void calls.push(`end:${toolName}`),
          },
        },
      )
      expect(result.text).toBe('Kelp shelters otters.')
      expect(search.queries).toEqual(['kelp'])
      expect(calls).toEqual([
        'model',
        'start:report_status',
        'end:report_status',
        'model',
        'start:search',
        'end:search',
        'model',
      ])
      expect(logLines(await runner.activity.detail('graph'))).toContain('running: Looking it up (50%)')
      expect((result.trajectory?.steps ?? []).map((step) => step.kind)).toEqual([
        'model-call',
        'status',
        'tool-call',
        'model-call',
        'tool-call',
        'model-call',
      ])
    })
  }

  it('without wrapUpModel, reaching the limit with maxTurnsRecovery fails with CapabilityUnsupportedError', async () => {
    const runner = new LangChainRunner()
    const { model, player } = play(
      scenario().toolCall('search', { query: 'a' }).toolCall('search', { query: 'b' }),
    )
    const error = await rejectionOf(
      runner.run(researchGraph(runner, model, [searchTool().definition]), 'x', {
        agentId: 'no-wrap-up',
        maxTurns: 2,
        maxTurnsRecovery: true,
      }),
    )
    expect(CapabilityUnsupportedError.isInstance(error), String(error)).toBe(true)
    expect(String(error)).toContain('wrapUpModel')
    expect(player.calls).toHaveLength(2)
    expect((await runner.activity.detail('no-wrap-up')).status).toBe('error')
  })
})

describe('turn limit', () => {
  it('maxTurnsRecovery on a createAgent agent: its own model, without tools, answers the wrap-up; output keeps the conversation', async () => {
    const runner = new LangChainRunner()
    const { model, player } = play(
      scenario()
        .toolCall('search', { query: 'a' })
        .toolCall('search', { query: 'b' })
        .text('Summary so far.'),
    )
    const { result, events } = await runIn(
      true,
      runner,
      researchAgent(runner, model, [searchTool().definition]),
      'x',
      {
        agentId: 'wrap',
        maxTurns: 2,
        maxTurnsRecovery: true,
      },
    )
    expect(result.text).toBe('Summary so far.')
    expect(result.maxTurnsReached).toBe(true)
    expect(result.turns).toBe(3)
    expect(requestOf(player, 2).tools).toEqual([])
    expect(requestOf(player, 2).messages.at(-1)).toEqual({ type: 'human', content: runner.prompts.wrapUp })
    expect(requestOf(player, 2).messages[0]?.type).toBe('system')
    const messages = (result.output as { messages: Array<{ getType(): string; content: unknown }> }).messages
    expect(messages.map((message) => message.getType())).toEqual([
      'human',
      'ai',
      'tool',
      'ai',
      'tool',
      'human',
      'ai',
    ])
    expect(messages.at(-2)?.content).toBe(runner.prompts.wrapUp)
    expect(events.filter((event) => event.type === 'turn-start').map((event) => event.wrapUp)).toEqual([
      false,
      false,
      true,
    ])
    expect(events.some((event) => event.type === 'text-delta' && event.text.length > 0)).toBe(true)
    expect(logLines(await runner.activity.detail('wrap'))).toContain(
      'running: Reached the turn limit (2); asking the agent to wrap up',
    )
  })

  it('a graph that loops without calling a model hits recursionLimit: MaxTurnsExceededError', async () => {
    const runner = new LangChainRunner()
    let steps = 0
    const graph = new StateGraph(MessagesAnnotation)
      .addNode('work', async () => {
        steps++
        return { messages: [] }
      })
      .addEdge(START, 'work')
      .addConditionalEdges('work', () => 'work', ['work', END])
      .compile()
    const error = await rejectionOf(runner.run(graph, 'x', { maxTurns: 3, agentId: 'loop' }))
    expect(MaxTurnsExceededError.isInstance(error), String(error)).toBe(true)
    expect((error as MaxTurnsExceededError).maxTurns).toBe(3)
    expect((error as Error).message).toContain('recursion limit (8 super-steps')
    expect((error as Error).cause).toMatchObject({ name: 'GraphRecursionError' })
    expect(steps).toBe(8)
    expect((await runner.activity.detail('loop')).status).toBe('error')
  })

  it('stepsPerTurn sets the recursion limit: stepsPerTurn × (maxTurns + 1)', async () => {
    const runner = new LangChainRunner({ stepsPerTurn: 5 })
    const seen: number[] = []
    const graph = new StateGraph(MessagesAnnotation)
      .addNode('spy', async (_state, config) => {
        seen.push((config as unknown as { recursionLimit?: number }).recursionLimit ?? -1)
        return { messages: [new AIMessage('done')] }
      })
      .addEdge(START, 'spy')
      .addEdge('spy', END)
      .compile()
    await runner.run(graph, 'x', { maxTurns: 3 })
    expect(seen).toEqual([20])
  })
})

describe('tool hooks need wrapped tools', () => {
  const agentWith = (tools: unknown[], script: ReturnType<typeof scenario>) => {
    const { model, player } = play(script)
    return { agent: createAgent({ model, tools: tools as never[] }), player }
  }
  const rawSearch = (queries: string[]) =>
    tool(
      async ({ query }: { query: string }) => {
        queries.push(query)
        return `results for ${query}`
      },
      { name: 'search', description: 'Searches.', schema: z.object({ query: z.string() }) },
    )

  it('deny: a wrapped tool never runs; the model reads the reason as an error ToolMessage', async () => {
    const runner = new LangChainRunner({
      hooks: {
        onToolCallStart: ({ toolName }) => (toolName === 'search' ? { deny: 'not on weekends' } : undefined),
      },
    })
    const queries: string[] = []
    const { agent, player } = agentWith(
      runner.wrapTools([rawSearch(queries)]),
      scenario().toolCall('search', { query: 'q' }).text('ok'),
    )
    const { result, events } = await runIn(true, runner, agent, 'x')
    expect(queries).toEqual([])
    expect(result.text).toBe('ok')
    const toolMessage = (
      result.output as { messages: Array<{ getType(): string; content: unknown; status?: string }> }
    ).messages.find((message) => message.getType() === 'tool')
    expect(toolMessage).toMatchObject({ content: 'Tool call denied: not on weekends', status: 'error' })
    expect(requestOf(player, 1).messages.at(-1)).toMatchObject({
      type: 'tool',
      content: 'Tool call denied: not on weekends',
    })
    expect(events.find((event) => event.type === 'tool-result')).toMatchObject({
      toolName: 'search',
      isError: true,
      output: 'Tool call denied: not on weekends',
    })
  })

  it('rewrite: the wrapped tool runs with the new input, and the hooks and trajectory see it', async () => {
    const runner = new LangChainRunner()
    const queries: string[] = []
    const { agent } = agentWith(
      runner.wrapTools([rawSearch(queries)]),
      scenario().toolCall('search', { query: 'secret' }).text('ok'),
    )
    const ended: unknown[] = []
    const result = await runner.run(agent, 'x', {
      hooks: {
        onToolCallStart: ({ input }) => ({
          input: { query: `${(input as { query: string }).query} (redacted)` },
        }),
        onToolCallEnd: ({ input, output }) => void ended.push({ input, output }),
      },
    })
    expect(queries).toEqual(['secret (redacted)'])
    expect(ended).toEqual([
      { input: { query: 'secret (redacted)' }, output: 'results for secret (redacted)' },
    ])
    expect(result.trajectory?.steps.find((step) => step.kind === 'tool-call')?.data).toMatchObject({
      input: { query: 'secret (redacted)' },
    })
  })

  it('a tool that throws: the model reads Tool "x" failed: ..., and the run goes on', async () => {
    const runner = new LangChainRunner()
    const broken = tool(
      async () => {
        throw new Error('the index is down')
      },
      { name: 'search', description: 'Searches.', schema: z.object({ query: z.string() }) },
    )
    const { agent, player } = agentWith(
      runner.wrapTools([broken]),
      scenario().toolCall('search', { query: 'q' }).text('Sorry.'),
    )
    const result = await runner.run(agent, 'x')
    expect(result.text).toBe('Sorry.')
    expect(requestOf(player, 1).messages.at(-1)).toMatchObject({
      type: 'tool',
      content: 'Tool "search" failed: the index is down',
    })
  })

  it('invalid arguments: core’s InvalidToolInputError message, without running the tool', async () => {
    const runner = new LangChainRunner()
    const queries: string[] = []
    const { agent, player } = agentWith(
      runner.wrapTools([rawSearch(queries)]),
      scenario().toolCall('search', { query: 42 }).text('ok'),
    )
    const ended: Array<{ isError: boolean }> = []
    await runner.run(agent, 'x', { hooks: { onToolCallEnd: (event) => void ended.push(event) } })
    expect(queries).toEqual([])
    expect(ended).toMatchObject([{ isError: true }])
    expect(String(requestOf(player, 1).messages.at(-1)?.content)).toMatch(
      /^Invalid input for tool "search": query Invalid input: expected string, received number\. Call it again/,
    )
  })

  it('an unwrapped tool still reports its call through the callbacks (events, onToolCallEnd, trajectory)', async () => {
    const runner = new LangChainRunner()
    const queries: string[] = []
    const { agent } = agentWith(
      [rawSearch(queries)],
      scenario().toolCall('search', { query: 'q' }).text('ok'),
    )
    const ended: unknown[] = []
    const { result, events } = await runIn(true, runner, agent, 'x', {
      hooks: {
        onToolCallEnd: ({ toolName, input, output, isError }) =>
          void ended.push({ toolName, input, output, isError }),
      },
    })
    expect(queries).toEqual(['q'])
    expect(ended).toEqual([
      { toolName: 'search', input: { query: 'q' }, output: 'results for q', isError: false },
    ])
    expect(events.filter((event) => event.type === 'tool-call')).toEqual([
      { type: 'tool-call', toolCallId: 'call_0_0', toolName: 'search', input: { query: 'q' } },
    ])
    expect(result.trajectory?.steps.some((step) => step.kind === 'tool-call')).toBe(true)
  })

  it('an unwrapped tool whose call a hook denies: the run fails with CapabilityUnsupportedError (never silently allowed)', async () => {
    const runner = new LangChainRunner()
    const { agent } = agentWith([rawSearch([])], scenario().toolCall('search', { query: 'q' }).text('ok'))
    const error = await rejectionOf(
      runner.run(agent, 'x', { agentId: 'unwrapped', hooks: { onToolCallStart: () => ({ deny: 'no' }) } }),
    )
    expect(CapabilityUnsupportedError.isInstance(error), String(error)).toBe(true)
    expect((error as CapabilityUnsupportedError).capability).toBe('toolHooks')
    expect(String(error)).toContain('runner.wrapTools')
    expect((await runner.activity.detail('unwrapped')).status).toBe('error')
  })

  it('a throwing onToolCallEnd fails the run with HookError (ToolNode does not swallow it), never retried', async () => {
    const runner = new LangChainRunner()
    const { agent, player } = agentWith(
      runner.wrapTools([rawSearch([])]),
      scenario().toolCall('search', { query: 'q' }).text('ok'),
    )
    const hookError = new Error('audit log unavailable')
    const error = await rejectionOf(
      runner.run(agent, 'x', {
        agentId: 'tool-end-throws',
        retry: { attempts: 3, initialDelayMs: 1 },
        hooks: {
          onToolCallEnd: () => {
            throw hookError
          },
        },
      }),
    )
    expect(HookError.isInstance(error), String(error)).toBe(true)
    expect(error).toMatchObject({ hook: 'onToolCallEnd', cause: hookError })
    expect(player.calls).toHaveLength(1)
    const detail = await runner.activity.detail('tool-end-throws')
    expect(detail.status).toBe('error')
    expect(detail.log.filter((entry) => entry.kind === 'retry')).toEqual([])
  })

  it('a throwing onModelCallStart fails the run with HookError before the model is called', async () => {
    const runner = new LangChainRunner()
    const { agent, player } = agentWith([], scenario().text('never'))
    const hookError = new Error('budget exceeded')
    const error = await rejectionOf(
      runner.run(agent, 'x', {
        hooks: {
          onModelCallStart: () => {
            throw hookError
          },
        },
      }),
    )
    expect(HookError.isInstance(error), String(error)).toBe(true)
    expect(error).toMatchObject({ hook: 'onModelCallStart', cause: hookError })
    expect(player.calls).toHaveLength(0)
  })

  it('wrapTools: same list type and tools; wrapping twice changes nothing; outside a run the tool is itself', async () => {
    const runner = new LangChainRunner()
    const queries: string[] = []
    const original = rawSearch(queries)
    const [wrapped] = runner.wrapTools([original])
    expect(wrapped).toBeInstanceOf(original.constructor)
    expect(wrapped.name).toBe('search')
    expect(wrapped.schema).toBe(original.schema)
    expect(runner.wrapTools([wrapped])[0]).toBe(wrapped)
    expect(await wrapped.invoke({ query: 'direct' })).toBe('results for direct')
    expect(queries).toEqual(['direct'])
    const notATool = { type: 'web_search_preview' }
    expect(runner.wrapTools([notATool])[0]).toBe(notATool)
  })

  it('a wrapped tool called directly by a node (not by a model): hooks once, its own result, errors thrown', async () => {
    const runner = new LangChainRunner()
    const queries: string[] = []
    const [search] = runner.wrapTools([rawSearch(queries)])
    let refused: unknown
    const graph = new StateGraph(MessagesAnnotation)
      .addNode('lookup', async () => {
        const found = await search.invoke({ query: 'direct' })
        refused = await search.invoke({ query: 7 } as never).catch((error: unknown) => error)
        return { messages: [new AIMessage(String(found))] }
      })
      .addEdge(START, 'lookup')
      .addEdge('lookup', END)
      .compile()
    const { result, events } = await runIn(true, runner, graph, 'x')
    expect(result.text).toBe('results for direct')
    expect(InvalidToolInputError.isInstance(refused), String(refused)).toBe(true)
    expect(refused).toMatchObject({ toolName: 'search', input: { query: 7 } })
    expect((refused as Error).message).toMatch(
      /^Invalid input for tool "search": query Invalid input: expected string, received number\./,
    )
    expect(queries).toEqual(['direct'])
    const calls = events.filter((event) => event.type === 'tool-call')
    expect(calls).toHaveLength(2)
    expect(events.filter((event) => event.type === 'tool-result').map((event) => event.isError)).toEqual([
      false,
      true,
    ])
  })

  it('report_status outside a run: an error result in a ToolNode, an error for a direct call, never a crash', async () => {
    const runner = new LangChainRunner()
    const call = {
      type: 'tool_call' as const,
      id: 'c1',
      name: 'report_status',
      args: { message: 'Hi', percentage: 10 },
    }
    const { messages } = await new ToolNode([runner.tools.reportStatus]).invoke({
      messages: [new AIMessage({ content: '', tool_calls: [call] })],
    })
    expect(messages[0]).toMatchObject({ status: 'error', tool_call_id: 'c1' })
    expect(String(messages[0]?.content)).toContain('report_status reports to a run')
    await expect(runner.tools.reportStatus.invoke({ message: 'Hi', percentage: 10 })).rejects.toThrow(
      'report_status reports to a run',
    )
  })
})

describe('progress from custom events', () => {
  for (const { streamed, label } of modes) {
    it(`${label}: dispatchCustomEvent with { message, percentage } updates the activity; other events do not`, async () => {
      const runner = new LangChainRunner()
      const crawl = tool(
        async () => {
          await dispatchCustomEvent('progress', { message: 'Crawling page 2 of 4', percentage: 50 })
          await dispatchCustomEvent('metrics', { pages: 2 })
          return 'crawled'
        },
        { name: 'crawl', description: 'Crawls.', schema: z.object({}) },
      )
      const { model } = play(scenario().toolCall('crawl', {}).text('Done.'))
      const agent = createAgent({ model, tools: runner.wrapTools([crawl]) })
      const { result, events } = await runIn(streamed, runner, agent, 'x', { agentId: `custom-${streamed}` })
      expect(result.text).toBe('Done.')
      expect(logLines(await runner.activity.detail(`custom-${streamed}`))).toEqual([
        'queued: Waiting to start (0%)',
        'running: Started',
        'running: Crawling page 2 of 4 (50%)',
        'complete: Complete (100%)',
      ])
      if (streamed) {
        const update = events.findIndex(
          (event) => event.type === 'status-update' && event.message === 'Crawling page 2 of 4',
        )
        const toolResult = events.findIndex((event) => event.type === 'tool-result')
        expect(update).toBeGreaterThan(0)
        expect(update).toBeLessThan(toolResult)
      }
      expect(result.trajectory?.steps.some((step) => step.kind === 'status')).toBe(true)
    })
  }

  it('a status event with a percentage that is not an integer 0..100 fails the run (a bug in the agent’s code)', async () => {
    const runner = new LangChainRunner()
    const graph = new StateGraph(MessagesAnnotation)
      .addNode('work', async () => {
        await dispatchCustomEvent('status', { message: 'Almost', percentage: 99.5 })
        return { messages: [new AIMessage('done')] }
      })
      .addEdge(START, 'work')
      .addEdge('work', END)
      .compile()
    const error = await rejectionOf(runner.run(graph, 'x', { agentId: 'bad-status' }))
    expect(InvalidOptionsError.isInstance(error), String(error)).toBe(true)
    expect((error as InvalidOptionsError).field).toBe('percentage')
    expect((await runner.activity.detail('bad-status')).status).toBe('error')
  })

  it('a status event from a graph node, without a percentage, keeps the last percentage', async () => {
    const runner = new LangChainRunner()
    const graph = new StateGraph(MessagesAnnotation)
      .addNode('work', async () => {
        await dispatchCustomEvent('status', { message: 'Half way', percentage: 50 })
        await dispatchCustomEvent('status', { message: 'Tidying up' })
        return { messages: [new AIMessage('done')] }
      })
      .addEdge(START, 'work')
      .addEdge('work', END)
      .compile()
    const result = await runner.run(graph, 'x', { agentId: 'node' })
    expect(result.text).toBe('done')
    const detail = await runner.activity.detail('node')
    expect(logLines(detail).slice(2, 4)).toEqual(['running: Half way (50%)', 'running: Tidying up'])
    expect(detail.percentage).toBe(100)
  })
})

describe('cancellation and timeouts', () => {
  for (const { streamed, label } of modes) {
    it(`${label}: mid-model: the model call’s signal aborts, RunCanceledError, activity canceled`, async () => {
      const runner = new LangChainRunner()
      const { model, player } = play(scenario().toolCall('search', { query: 'a' }).hang())
      const controller = new AbortController()
      const running = runIn(streamed, runner, researchAgent(runner, model, [searchTool().definition]), 'x', {
        agentId: 'mid-model',
        signal: controller.signal,
      })
      running.catch(() => {})
      await until(() => player.calls.length === 2, 'the second model call')
      controller.abort()
      const error = await rejectionOf(running)
      expect(RunCanceledError.isInstance(error), String(error)).toBe(true)
      await until(() => player.calls[1]?.signal?.aborted === true, 'the call’s abort')
      expect((await runner.activity.detail('mid-model')).status).toBe('canceled')
    })

    it(`${label}: mid-tool: the tool’s signal aborts; a tool that ignores it does not hold the run; no event after run-error`, async () => {
      const runner = new LangChainRunner()
      let sawAbort = false
      let release: () => void = () => {}
      const stubborn = tool(
        async (_input, config) => {
          config.signal?.addEventListener('abort', () => {
            sawAbort = true
          })
          // Ignores the signal: only the test ends it.
          await new Promise<void>((resolve) => {
            release = resolve
          })
          return 'too late'
        },
        { name: 'slow', description: 'Slow.', schema: z.object({}) },
      )
      const { model } = play(scenario().toolCall('slow', {}).text('unreachable'))
      const agent = createAgent({ model, tools: runner.wrapTools([stubborn]) })
      const stream = runner.runStreamed(agent, 'x', { agentId: 'mid-tool' })
      const events: RunEvent[] = []
      const reading = (async () => {
        for await (const event of stream) events.push(event)
      })()
      await until(() => events.some((event) => event.type === 'tool-call'), 'the tool call')
      stream.abort('user left')
      const error = await rejectionOf(stream.result)
      expect(RunCanceledError.isInstance(error), String(error)).toBe(true)
      expect(sawAbort).toBe(true)
      release()
      await reading
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(events.at(-1)?.type).toBe('run-error')
      expect(events.some((event) => event.type === 'tool-result')).toBe(false)
      expect((await runner.activity.detail('mid-tool')).status).toBe('canceled')
    })
  }

  it('timeoutMs aborts a hanging model call: RunTimeoutError', async () => {
    const runner = new LangChainRunner()
    const { model, player } = play(scenario().hang())
    const error = await rejectionOf(runner.run(createAgent({ model, tools: [] }), 'x', { timeoutMs: 100 }))
    expect(RunTimeoutError.isInstance(error), String(error)).toBe(true)
    await until(() => player.calls[0]?.signal?.aborted === true, 'the call’s abort')
  })

  it('the agent’s own signal (createAgent({ signal })) aborting: DOMException AbortError -> RunCanceledError', async () => {
    const runner = new LangChainRunner()
    const controller = new AbortController()
    const { model, player } = play(scenario().hang())
    const running = runner.run(createAgent({ model, tools: [], signal: controller.signal }), 'x', {
      agentId: 'own-abort',
    })
    running.catch(() => {})
    await until(() => player.calls.length === 1, 'the model call')
    controller.abort()
    const error = await rejectionOf(running)
    expect(RunCanceledError.isInstance(error), String(error)).toBe(true)
    expect((error as Error).cause).toBeInstanceOf(DOMException)
    expect((await runner.activity.detail('own-abort')).status).toBe('canceled')
  })

  it('the agent’s own timeout signal: DOMException TimeoutError -> RunTimeoutError, activity error', async () => {
    const runner = new LangChainRunner()
    const { model } = play(scenario().hang())
    const agent = createAgent({ model, tools: [], signal: AbortSignal.timeout(50) })
    const error = await rejectionOf(runner.run(agent, 'x', { agentId: 'own-timeout' }))
    expect(RunTimeoutError.isInstance(error), String(error)).toBe(true)
    expect((error as RunTimeoutError).timeoutMs).toBeGreaterThan(0)
    expect((await runner.activity.detail('own-timeout')).status).toBe('error')
  })
})

describe('retries', () => {
  it('an integration’s retryable mark decides; an HTTP 500 is retried, a 400 is not', async () => {
    const { stampRetryable } = await import('@langchain/core/errors')
    const runner = new LangChainRunner({ retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 } })
    const marked = stampRetryable(Object.assign(new Error('rate limited'), { status: 400 }), true)
    const { model, player } = play(scenario().text('after retry'))
    let calls = 0
    const flaky = RunnableLambda.from(async (input: { messages: HumanMessage[] }, config) => {
      calls++
      if (calls === 1) throw marked
      return model.invoke(input.messages, config)
    })
    const result = await runner.run(flaky, 'x')
    expect(result.attempts).toBe(2)
    expect(result.text).toBe('after retry')
    player.assertDone()
    const notRetried = await rejectionOf(
      runner.run(createAgent({ model: play(scenario().error(400)).model, tools: [] }), 'x'),
    )
    expect((notRetried as { status: number }).status).toBe(400)
  })
})

describe('composition', () => {
  it('withFallback: a LangChain agent that fails hands the same run to another LangChain agent', async () => {
    const primary = new LangChainRunner({ name: 'primary' })
    const secondary = new LangChainRunner({ name: 'secondary' })
    const failing = createAgent({ model: play(scenario().error(503, 'overloaded')).model, tools: [] })
    const search = searchTool()
    const { model } = play(scenario().toolCall('search', { query: 'otters' }).text('From the fallback.'))
    const backup = researchAgent(secondary, model, [search.definition])
    const chain = withFallback({ runner: primary, agent: failing }, { runner: secondary, agent: backup })
    const result = await chain.run(failing, 'x', { agentId: 'fallback' })
    expect(result.text).toBe('From the fallback.')
    expect(search.queries).toEqual(['otters'])
    expect(logLines(await primary.activity.detail('fallback'))).toContain(
      'running: Falling back to secondary: overloaded',
    )
  })
})

describe('validation', () => {
  it('refuses what is not a Runnable, and empty input, before any activity exists', async () => {
    const runner = new LangChainRunner()
    for (const [agent, input, field] of [
      [{ invoke: 'no' }, 'x', 'agent'],
      [createAgent({ model: play(scenario().text('x')).model, tools: [] }), '  ', 'input'],
      [createAgent({ model: play(scenario().text('x')).model, tools: [] }), undefined, 'input'],
    ] as const) {
      const error = await rejectionOf(runner.run(agent as never, input as never, { agentId: 'invalid' }))
      expect(InvalidOptionsError.isInstance(error), String(error)).toBe(true)
      expect((error as InvalidOptionsError).field).toBe(field)
    }
    expect(await runner.activity.store.get('invalid')).toBeUndefined()
  })

  it('refuses a bad stepsPerTurn or wrapUpModel, and unknown options (core)', () => {
    expect(() => new LangChainRunner({ stepsPerTurn: 0 })).toThrow(
      'stepsPerTurn: must be an integer from 1 to 100',
    )
    expect(() => new LangChainRunner({ wrapUpModel: {} as never })).toThrow(
      'wrapUpModel: must be a LangChain chat model',
    )
    expect(() => new LangChainRunner({ stepPerTurn: 3 } as never)).toThrow(InvalidOptionsError)
  })

  it('a graph input other than a string is passed through unchanged', async () => {
    const runner = new LangChainRunner()
    const { model, player } = play(scenario().text('Second answer.'))
    const result = await runner.run(createAgent({ model, tools: [] }), {
      messages: [new HumanMessage('First'), new AIMessage('First answer.'), new HumanMessage('Second')],
    })
    expect(result.text).toBe('Second answer.')
    expect(requestOf(player, 0).messages.map((message) => message.content)).toEqual([
      'First',
      'First answer.',
      'Second',
    ])
  })
})

describe('nostream models', () => {
  it('a model tagged nostream (LangGraph’s convention) counts as a turn but streams no text', async () => {
    const runner = new LangChainRunner()
    const { model: inner } = play(scenario().text('internal summary'))
    const { model: outer } = play(scenario().text('Final.'))
    const graph = new StateGraph(MessagesAnnotation)
      .addNode('summarize', async (state) => ({
        messages: [await inner.withConfig({ tags: ['nostream'] }).invoke(state.messages)],
      }))
      .addNode('answer', async (state) => ({ messages: [await outer.invoke(state.messages)] }))
      .addEdge(START, 'summarize')
      .addEdge('summarize', 'answer')
      .addEdge('answer', END)
      .compile()
    const { result, events } = await runIn(true, runner, graph, 'x')
    expect(result.turns).toBe(2)
    expect(events.flatMap((event) => (event.type === 'text-delta' ? [event.text] : [])).join('')).toBe(
      'Final.',
    )
  })
})

describe('createAgent + ToolNode built by hand', () => {
  it('ToolNode with wrapped tools and a bound model work together with report_status', async () => {
    const runner = new LangChainRunner()
    const { model } = play(
      scenario().toolCall('report_status', { message: 'Going', percentage: 10 }).text('Gone.'),
    )
    const tools = [runner.tools.reportStatus]
    const bound = model.bindTools(tools)
    const graph = new StateGraph(MessagesAnnotation)
      .addNode('agent', async (state) => ({ messages: [await bound.invoke(state.messages)] }))
      .addNode('tools', new ToolNode(tools))
      .addEdge(START, 'agent')
      .addConditionalEdges('agent', (state) =>
        (state.messages.at(-1) as AIMessage).tool_calls?.length ? 'tools' : END,
      )
      .addEdge('tools', 'agent')
      .compile()
    const result = await runner.run(graph, 'x', { agentId: 'tn' })
    expect(result.text).toBe('Gone.')
    expect(logLines(await runner.activity.detail('tn'))).toContain('running: Going (10%)')
  })
})
