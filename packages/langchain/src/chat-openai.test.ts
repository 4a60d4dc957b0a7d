import { ChatOpenAI } from '@langchain/openai'
import { defineTool, MaxTurnsExceededError, RunCanceledError } from '@runner/core'
import { type ProtocolFake, type RecordedRequest, scenario, startProtocolFake } from '@runner/testkit'
import { createAgent } from 'langchain'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { LangChainRunner } from './index.js'
import { toolsOf } from './test-helpers/agents.js'
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
