import { createOpenAI } from '@ai-sdk/openai'
import { defineTool } from '@runner/core'
import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import { APICallError, ToolLoopAgent } from 'ai'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { AISDKAgent } from './agent.js'
import { AISDKRunner } from './ai-sdk-runner.js'
import { toAISDKTools } from './test-helpers/neutral-tools.js'
import { rejectionOf, runIn } from './test-helpers/run-modes.js'

// The real @ai-sdk/openai provider, over HTTP, against the test kit's OpenAI protocol fake:
// Responses (`provider(model)`) and Chat Completions (`provider.chat(model)`).

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(async () => {
  await fake.close()
})

function searchTool() {
  const queries: string[] = []
  const search = defineTool({
    name: 'search',
    description: 'Searches the web.',
    inputSchema: z.object({ query: z.string() }),
    execute: async ({ query }) => {
      queries.push(query)
      return `3 results for ${query}`
    },
  })
  return { tools: toAISDKTools([search]), queries }
}

const research = () =>
  scenario()
    .toolCall('report_status', { message: 'Searching the web', percentage: 40 })
    .usage({ inputTokens: 50, outputTokens: 10, cachedInputTokens: 20 })
    .toolCall('search', { query: 'sea otters' })
    .usage({ inputTokens: 70, outputTokens: 12 })
    .text('Sea otters hold hands while they sleep.', { reasoning: 'The sources agree.' })
    .usage({ inputTokens: 90, outputTokens: 30, reasoningTokens: 8 })

const apis = [
  { api: 'responses', label: 'provider(model): Responses' },
  { api: 'chat', label: 'provider.chat(model): Chat Completions' },
] as const

describe.each(apis)('@ai-sdk/openai on the protocol fake, $label', ({ api }) => {
  const modelOf = (name: string) => {
    const provider = createOpenAI({ baseURL: fake.openaiBaseURL, apiKey: 'test' })
    return api === 'chat' ? provider.chat(name) : provider(name)
  }

  for (const kind of ['agent', 'settings'] as const) {
    for (const streamed of [false, true]) {
      it(`one full tool loop (${kind === 'agent' ? 'ToolLoopAgent' : 'settings'}, ${streamed ? 'runStreamed' : 'run'})`, async () => {
        const runner = new AISDKRunner()
        const { tools, queries } = searchTool()
        const { model, player } = fake.play(research())
        const agent: AISDKAgent =
          kind === 'agent'
            ? new ToolLoopAgent({
                model: modelOf(model),
                instructions: 'You are a research assistant.',
                tools: { report_status: runner.tools.reportStatus, ...tools },
              })
            : { model: modelOf(model), instructions: 'You are a research assistant.', tools }
        const { result, events } = await runIn(streamed, runner, agent, 'Tell me about sea otters', {
          agentId: 'otters',
        })
        expect(result.text).toBe('Sea otters hold hands while they sleep.')
        expect(result.turns).toBe(3)
        expect(queries).toEqual(['sea otters'])
        // Summed once from each model call, cached and reasoning details included.
        expect(result.usage).toEqual({
          inputTokens: 210,
          outputTokens: 52,
          totalTokens: 262,
          cachedInputTokens: 20,
          reasoningTokens: 8,
        })
        expect(result.output.totalUsage.inputTokens).toBe(210)
        expect(result.output.mode).toBe(streamed ? 'stream' : 'generate')
        player.assertDone()
        fake.assertDone()
        const requests = fake.requestsFor(model)
        expect(requests.map((request) => request.path)).toEqual(
          Array(3).fill(api === 'chat' ? '/v1/chat/completions' : '/v1/responses'),
        )
        expect(requests.every((request) => request.stream === streamed)).toBe(true)
        const toolNames = (
          requests[0]!.body.tools as Array<{ name?: string; function?: { name: string } }>
        ).map((tool) => tool.function?.name ?? tool.name)
        expect(toolNames.sort()).toEqual(['report_status', 'search'])
        // The tool results went back to the model.
        expect(JSON.stringify(requests[2]!.body)).toContain('3 results for sea otters')
        const detail = await runner.activity.detail('otters')
        expect(detail.status).toBe('complete')
        expect(
          detail.log.some((entry) => entry.message === 'Searching the web' && entry.percentage === 40),
        ).toBe(true)
        if (streamed) {
          const text = events.flatMap((event) => (event.type === 'text-delta' ? [event.text] : [])).join('')
          expect(text).toBe('Sea otters hold hands while they sleep.')
          const types = events.map((event) => event.type)
          expect(types.filter((type) => type === 'tool-call')).toHaveLength(2)
          expect(types.filter((type) => type === 'turn-end')).toHaveLength(3)
          if (api === 'responses') expect(types).toContain('reasoning-delta')
        }
      })
    }
  }

  for (const streamed of [false, true]) {
    it(`a 429 is repeated in place by the run, once on the activity (${streamed ? 'runStreamed' : 'run'})`, async () => {
      const runner = new AISDKRunner()
      const { tools, queries } = searchTool()
      const { model } = fake.play(
        scenario().toolCall('search', { query: 'otters' }).error(429, 'Rate limit reached').text('Fine now.'),
      )
      const { result, events } = await runIn(streamed, runner, { model: modelOf(model), tools }, 'hi', {
        agentId: 'limited',
        retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
      })
      expect(result.text).toBe('Fine now.')
      expect(result.attempts).toBe(2)
      expect(result.turns).toBe(2)
      // In place: the tool of the first turn ran once, the failed request was sent again as it was.
      expect(queries).toEqual(['otters'])
      const requests = fake.requestsFor(model)
      expect(requests).toHaveLength(3)
      expect(requests[2]!.body).toEqual(requests[1]!.body)
      const retryLines = (await runner.activity.detail('limited')).log.filter(
        (entry) => entry.kind === 'retry',
      )
      expect(retryLines).toMatchObject([
        { attempt: 2, message: 'Retrying (attempt 2 of 3): Rate limit reached', status: 'running' },
      ])
      if (streamed) {
        expect(events.filter((event) => event.type === 'retry')).toMatchObject([
          { attempt: 2, maxAttempts: 3, restart: false },
        ])
      }
    })
  }

  it('no hidden retry: with one attempt, a 500 is requested once and the run fails', async () => {
    const runner = new AISDKRunner()
    for (const streamed of [false, true]) {
      const { model, player } = fake.play(scenario().error(500, 'Server error').text('Never asked.'))
      const agentId = `once-${streamed}`
      const error = await rejectionOf(
        runIn(streamed, runner, { model: modelOf(model) }, 'hi', { agentId, retry: { attempts: 1 } }),
      )
      expect(APICallError.isInstance(error), String(error)).toBe(true)
      expect((error as APICallError).statusCode).toBe(500)
      expect(fake.requestsFor(model)).toHaveLength(1)
      expect(player.remaining).toBe(1)
      expect((await runner.activity.detail(agentId)).log.filter((entry) => entry.kind === 'retry')).toEqual(
        [],
      )
    }
  })

  it('the maxRetries setting turns the AI SDK’s own retries back on: inside the request, not on the activity', async () => {
    const runner = new AISDKRunner({ maxRetries: 1 })
    // A 429 from the fake says retry-after: 0, which the AI SDK honours.
    const { model } = fake.play(scenario().error(429, 'Rate limit reached').text('Fine now.'))
    const result = await runner.run({ model: modelOf(model) }, 'hi', {
      agentId: 'sdk-retries',
      retry: { attempts: 1 },
    })
    expect(result.text).toBe('Fine now.')
    expect(result.attempts).toBe(1)
    expect(fake.requestsFor(model)).toHaveLength(2)
    const detail = await runner.activity.detail('sdk-retries')
    expect(detail.log.filter((entry) => entry.kind === 'retry')).toEqual([])
  })

  it('a 400 fails at once with the SDK’s APICallError', async () => {
    const runner = new AISDKRunner()
    const { model } = fake.play(scenario().error(400, 'Bad request'))
    const error = await rejectionOf(
      runner.run({ model: modelOf(model) }, 'hi', {
        retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
      }),
    )
    expect(APICallError.isInstance(error)).toBe(true)
    expect(fake.requestsFor(model)).toHaveLength(1)
  })
})
