import { ChatOpenAI } from '@langchain/openai'
import {
  BudgetExceededError,
  defineTool,
  MaxTurnsExceededError,
  RunCanceledError,
  type RunEvent,
} from '@runner/core'
import { type ProtocolFake, type RecordedRequest, scenario, startProtocolFake } from '@runner/testkit'
import { createAgent } from 'langchain'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { LangChainRunner } from './index.js'
import { toolsOf } from './test-helpers/agents.js'
import { rewritingFetch } from './test-helpers/rewriting-fetch.js'
import { logLines, modes, rejectionOf, runIn, until } from './test-helpers/run-modes.js'

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(() => fake.close())

const searched: string[] = []
const search = defineTool({
  name: 'search',
  description: 'Searches the web.',
  inputSchema: z.object({ query: z.string() }),
  execute: ({ query }) => {
    searched.push(query)
    return `results for ${query}`
  },
})

/** A real ChatOpenAI on the protocol fake: Chat Completions over loopback HTTP, no SDK retries. */
function chatOpenAI(model: string) {
  return new ChatOpenAI({
    model,
    apiKey: 'test-key',
    maxRetries: 0,
    configuration: { baseURL: fake.openaiBaseURL },
  })
}

/** A ChatOpenAI as users make it: LangChain's own retries on (maxRetries 6 by default). */
function defaultChatOpenAI(model: string, fetch?: typeof globalThis.fetch) {
  return new ChatOpenAI({
    model,
    apiKey: 'test-key',
    configuration: { baseURL: fake.openaiBaseURL, ...(fetch ? { fetch } : {}) },
  })
}

/** Fast retries with the default number of attempts (3). */
const retry = { initialDelayMs: 1, maxDelayMs: 5 }

const body = (request: unknown) => (request as RecordedRequest).body

/** Chat messages with their text content as a string (ChatOpenAI sends a system prompt as text blocks). */
function plain(messages: unknown): Array<{ role: string; content: unknown }> {
  return (messages as Array<{ role: string; content: unknown }>).map(({ role, content }) => ({
    role,
    content: Array.isArray(content)
      ? content.map((block: { text?: string }) => block.text ?? '').join('')
      : content,
  }))
}

describe('ChatOpenAI (@langchain/openai) on the protocol fake', () => {
  for (const { streamed, label } of modes) {
    it(`${label}: one full tool loop: report, search, answer; usage from usage_metadata; activity complete`, async () => {
      searched.length = 0
      const { model, player } = fake.play(
        scenario()
          .toolCall('report_status', { message: 'Searching the web', percentage: 20 })
          .usage({ inputTokens: 100, outputTokens: 10 })
          .toolCall('search', { query: 'sea otters' })
          .usage({ inputTokens: 150, outputTokens: 12, cachedInputTokens: 64 })
          .text('Sea otters hold hands so that they do not drift apart.')
          .usage({ inputTokens: 200, outputTokens: 20, cachedInputTokens: 128 }),
      )
      const runner = new LangChainRunner()
      const agent = createAgent({
        model: chatOpenAI(model),
        tools: toolsOf(runner, [search]),
        systemPrompt: `Be brief.\n\n${runner.prompts.reportStatus}`,
      })
      const requests: unknown[] = []
      const { result, events } = await runIn(streamed, runner, agent, 'Why do sea otters hold hands?', {
        agentId: 'otters',
        hooks: { onModelCallStart: ({ request }) => void requests.push(request) },
      })
      expect(requests).toHaveLength(3)
      expect(requests[0]).toMatchObject({ runnable: 'ChatOpenAI', model })
      const first = requests[0] as {
        messages: Array<{ text: string }>
        invocationParams: { tools: unknown[] }
      }
      expect(first.messages.map((message) => message.text)).toEqual([
        `Be brief.\n\n${runner.prompts.reportStatus}`,
        'Why do sea otters hold hands?',
      ])
      expect(first.invocationParams.tools).toHaveLength(2)

      expect(result.text).toBe('Sea otters hold hands so that they do not drift apart.')
      expect(result.turns).toBe(3)
      expect(result.usage).toEqual({
        inputTokens: 450,
        outputTokens: 42,
        totalTokens: 492,
        cachedInputTokens: 192,
      })
      expect(searched).toEqual(['sea otters'])
      player.assertDone()
      expect(fake.errors).toEqual([])
      expect(logLines(await runner.activity.detail('otters'))).toEqual([
        'queued: Waiting to start (0%)',
        'running: Started',
        'running: Searching the web (20%)',
        'complete: Complete (100%)',
      ])

      // What ChatOpenAI sent: the system prompt, the question, both tools; the tool results back.
      const sent = body(player.calls[0]?.request)
      expect(Boolean(sent.stream)).toBe(streamed)
      expect((sent.tools as Array<{ function: { name: string } }>).map((tool) => tool.function.name)).toEqual(
        ['search', 'report_status'],
      )
      expect(plain(sent.messages)).toEqual([
        { role: 'system', content: `Be brief.\n\n${runner.prompts.reportStatus}` },
        { role: 'user', content: 'Why do sea otters hold hands?' },
      ])
      const last = body(player.calls[2]?.request).messages as Array<{ role: string; content: unknown }>
      expect(last.filter((message) => message.role === 'tool').map((message) => message.content)).toEqual([
        'Status updated',
        'results for sea otters',
      ])

      const steps = result.trajectory?.steps ?? []
      expect(steps.filter((step) => step.kind === 'model-call')).toHaveLength(3)
      expect(
        steps.find((step) => step.kind === 'tool-call' && step.data.toolName === 'search')?.data,
      ).toMatchObject({
        input: { query: 'sea otters' },
        output: 'results for sea otters',
        isError: false,
      })
      if (streamed) {
        const types = events.map((event) => event.type)
        expect(types.filter((type) => type === 'tool-call')).toHaveLength(2)
        const text = events.flatMap((event) => (event.type === 'text-delta' ? [event.text] : []))
        expect(text.join('')).toBe(result.text)
        expect(types.lastIndexOf('text-delta')).toBeLessThan(types.lastIndexOf('turn-end'))
        expect(types.indexOf('text-delta')).toBeGreaterThan(types.lastIndexOf('turn-start'))
      }
    })
  }

  it('maxTurns: the request past the limit never reaches the server', async () => {
    const { model, player } = fake.play(
      scenario()
        .toolCall('search', { query: 'a' })
        .toolCall('search', { query: 'b' })
        .toolCall('search', { query: 'c' }),
    )
    const runner = new LangChainRunner()
    const agent = createAgent({ model: chatOpenAI(model), tools: toolsOf(runner, [search]) })
    const error = await rejectionOf(runner.run(agent, 'Search forever.', { maxTurns: 2 }))
    expect(MaxTurnsExceededError.isInstance(error), String(error)).toBe(true)
    expect(player.calls).toHaveLength(2)
    expect(fake.requests).toHaveLength(2)
  })

  it('maxTurnsRecovery: the wrap-up request carries prompts.wrapUp and no tools; its answer is the result', async () => {
    const { model, player } = fake.play(
      scenario()
        .toolCall('search', { query: 'a' })
        .toolCall('search', { query: 'b' })
        .text('What I found so far.'),
    )
    const runner = new LangChainRunner()
    const agent = createAgent({
      model: chatOpenAI(model),
      tools: toolsOf(runner, [search]),
      systemPrompt: 'Be brief.',
    })
    const result = await runner.run(agent, 'Search.', { maxTurns: 2, maxTurnsRecovery: true })
    expect(result.text).toBe('What I found so far.')
    expect(result.maxTurnsReached).toBe(true)
    const wrapUp = body(player.calls[2]?.request)
    expect(wrapUp.tools).toBeUndefined()
    const sent = plain(wrapUp.messages)
    expect(sent.at(-1)).toEqual({ role: 'user', content: runner.prompts.wrapUp })
    expect(sent[0]).toEqual({ role: 'system', content: 'Be brief.' })
    player.assertDone()
  })

  it('budget.maxTokens: the request past the budget never reaches the server (BudgetExceededError)', async () => {
    const { model, player } = fake.play(
      scenario()
        .toolCall('search', { query: 'a' })
        .toolCall('search', { query: 'b' })
        .toolCall('search', { query: 'c' }),
    )
    const runner = new LangChainRunner()
    const agent = createAgent({ model: chatOpenAI(model), tools: toolsOf(runner, [search]) })
    // 15 tokens a call: the budget is reached after two.
    const error = await rejectionOf(runner.run(agent, 'Search forever.', { budget: { maxTokens: 30 } }))
    expect(BudgetExceededError.isInstance(error), String(error)).toBe(true)
    expect(error).toMatchObject({ budget: 'maxTokens', limit: 30, spent: 30 })
    expect(player.calls).toHaveLength(2)
    expect(fake.requests).toHaveLength(2)
  })

  it("budget onExceeded 'wrap-up': the next request carries prompts.wrapUp and no tools; its answer is the result", async () => {
    const { model, player } = fake.play(
      scenario()
        .toolCall('search', { query: 'a' })
        .toolCall('search', { query: 'b' })
        .text('What I found so far.'),
    )
    const runner = new LangChainRunner()
    const agent = createAgent({ model: chatOpenAI(model), tools: toolsOf(runner, [search]) })
    const result = await runner.run(agent, 'Search.', { budget: { maxTokens: 30, onExceeded: 'wrap-up' } })
    expect(result).toMatchObject({
      text: 'What I found so far.',
      budgetExceeded: true,
      maxTurnsReached: false,
    })
    const wrapUp = body(player.calls[2]?.request)
    expect(wrapUp.tools).toBeUndefined()
    expect(plain(wrapUp.messages).at(-1)).toEqual({ role: 'user', content: runner.prompts.wrapUp })
    player.assertDone()
  })

  for (const { streamed, label } of modes) {
    it(`${label}: a cancel during the HTTP call aborts the request`, async () => {
      const { model, player } = fake.play(scenario().toolCall('search', { query: 'a' }).hang())
      const runner = new LangChainRunner()
      const agent = createAgent({ model: chatOpenAI(model), tools: toolsOf(runner, [search]) })
      const controller = new AbortController()
      const running = runIn(streamed, runner, agent, 'x', { agentId: 'hung', signal: controller.signal })
      running.catch(() => {})
      await until(() => player.calls.length === 2, 'the hanging request')
      controller.abort()
      const error = await rejectionOf(running)
      expect(RunCanceledError.isInstance(error), String(error)).toBe(true)
      await until(() => player.calls[1]?.signal?.aborted === true, 'the request’s abort')
      expect((await runner.activity.detail('hung')).status).toBe('canceled')
    })
  }
})

describe('retries: the runner owns them, the chat model’s own are off', () => {
  it('runner.chatModel(model) in a createAgent agent: with one attempt, a 500 fails after one request', async () => {
    const { model, player } = fake.play(scenario().error(500, 'Scripted server error').text('never'))
    const runner = new LangChainRunner()
    const agent = createAgent({ model: runner.chatModel(defaultChatOpenAI(model)), tools: [] })
    const error = await rejectionOf(runner.run(agent, 'q', { agentId: 'once', retry: { attempts: 1 } }))
    expect(error).toMatchObject({ status: 500, message: '500 Scripted server error' })
    expect(fake.requests).toHaveLength(1)
    expect(player.remaining).toBe(1)
    const detail = await runner.activity.detail('once')
    expect(detail.status).toBe('error')
    expect(detail.log.filter((entry) => entry.kind === 'retry')).toEqual([])
  })

  it('a chat model or a chain run directly: the runner switches the model’s retries off itself', async () => {
    const runner = new LangChainRunner()
    const bare = fake.play(scenario().error(500).text('never'))
    await rejectionOf(runner.run(defaultChatOpenAI(bare.model), 'q', { retry: { attempts: 1 } }))
    const bound = fake.play(scenario().error(500).text('never'))
    const withTools = defaultChatOpenAI(bound.model).bindTools(toolsOf(runner, [search]))
    await rejectionOf(runner.run(withTools, 'q', { retry: { attempts: 1 } }))
    expect(fake.requests).toHaveLength(2)
  })

  for (const { streamed, label } of modes) {
    it(`${label}: a 500 then an answer: the agent restarts once, announced and logged with its attempt`, async () => {
      const { model, player } = fake.play(scenario().error(500, 'Scripted server error').text('Recovered.'))
      const runner = new LangChainRunner()
      const agent = createAgent({ model: runner.chatModel(defaultChatOpenAI(model)), tools: [] })
      const retried: unknown[] = []
      const { result, events } = await runIn(streamed, runner, agent, 'q', {
        agentId: `restart-${streamed}`,
        retry,
        hooks: {
          onRetry: ({ attempt, nextAttempt, maxAttempts }) =>
            void retried.push({ attempt, nextAttempt, maxAttempts }),
        },
      })
      expect(result).toMatchObject({ text: 'Recovered.', attempts: 2 })
      player.assertDone()
      expect(retried).toEqual([{ attempt: 1, nextAttempt: 2, maxAttempts: 3 }])
      if (streamed) {
        const event = events.find(
          (item): item is Extract<RunEvent, { type: 'retry' }> => item.type === 'retry',
        )
        expect(event).toMatchObject({ attempt: 2, maxAttempts: 3, restart: true, error: { status: 500 } })
      }
      const detail = await runner.activity.detail(`restart-${streamed}`)
      expect(
        detail.log
          .filter((entry) => entry.kind === 'retry')
          .map(({ attempt, message }) => ({ attempt, message })),
      ).toEqual([{ attempt: 2, message: 'Retrying (attempt 2 of 3): 500 Scripted server error' }])
    })
  }

  it('an error LangChain knows shows the provider’s message on the activity, without its troubleshooting link', async () => {
    const { model } = fake.play(scenario().error(401, 'Incorrect API key provided'))
    const runner = new LangChainRunner()
    const agent = createAgent({ model: runner.chatModel(defaultChatOpenAI(model)), tools: [] })
    const error = await rejectionOf(runner.run(agent, 'q', { agentId: 'unauthorized' }))
    expect(error).toMatchObject({
      status: 401,
      message: '401 Incorrect API key provided',
      lc_error_code: 'MODEL_AUTHENTICATION',
    })
    expect((await runner.activity.detail('unauthorized')).message).toBe(
      'Failed: 401 Incorrect API key provided',
    )
  })
})

describe('tool calls whose arguments are not valid JSON', () => {
  // The provider sends `{{"query":"otters"}`: in the JSON answer and in the SSE deltas alike.
  const brokenArguments = () =>
    rewritingFetch((body, call) => (call === 0 ? body.replace('"arguments":"{', '"arguments":"{{') : body))

  for (const { streamed, label } of modes) {
    it(`${label}: the model reads an invalid-input result and the run goes on`, async () => {
      searched.length = 0
      const { model, player } = fake.play(
        scenario().toolCall('search', { query: 'otters' }, { id: 'call_broken' }).text('Let me fix that.'),
      )
      const runner = new LangChainRunner()
      const agent = createAgent({
        model: runner.chatModel(defaultChatOpenAI(model, brokenArguments())),
        tools: toolsOf(runner, [search]),
      })
      const ended: unknown[] = []
      const { result } = await runIn(streamed, runner, agent, 'Search otters.', {
        hooks: { onToolCallEnd: ({ toolCallId, isError }) => void ended.push({ toolCallId, isError }) },
      })
      expect(result.text).toBe('Let me fix that.')
      player.assertDone()
      expect(searched).toEqual([])
      expect(ended).toEqual([{ toolCallId: 'call_broken', isError: true }])
      const told = (body(player.calls[1]?.request).messages as Array<{ role: string; content: unknown }>).at(
        -1,
      )
      expect(told).toEqual(
        expect.objectContaining({
          role: 'tool',
          content:
            'Invalid input for tool "search": the arguments are not valid JSON. Call it again with arguments that match its schema.',
        }),
      )
      const step = result.trajectory?.steps.find((item) => item.kind === 'tool-call')
      expect(step?.data).toMatchObject({ toolName: 'search', input: '{{"query":"otters"}', isError: true })
    })
  }
})

describe('the wire form of a failed run', () => {
  it('an SSE run-error frame names the SDK’s error class (BadRequestError), with status and message', async () => {
    const { model } = fake.play(scenario().error(400, 'Invalid value for messages'))
    const runner = new LangChainRunner()
    const agent = createAgent({ model: runner.chatModel(defaultChatOpenAI(model)), tools: [] })
    const text = await runner.runStreamed(agent, 'q').toSSEResponse().text()
    const frame = text.split('\n\n').find((block) => block.startsWith('event: run-error'))
    const data = JSON.parse(frame?.split('\ndata: ')[1] ?? 'null')
    expect(data).toEqual({
      type: 'run-error',
      error: { name: 'BadRequestError', message: '400 Invalid value for messages', status: 400 },
    })
  })
})
