import { ChatAnthropic } from '@langchain/anthropic'
import { defineTool, type RunEvent } from '@runner/core'
import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import { createAgent } from 'langchain'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { LangChainRunner } from './index.js'
import { toolsOf } from './test-helpers/agents.js'
import { rewritingFetch } from './test-helpers/rewriting-fetch.js'
import { modes, rejectionOf, runIn } from './test-helpers/run-modes.js'

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(() => fake.close())

const search = defineTool({
  name: 'search',
  description: 'Searches the web.',
  inputSchema: z.object({ query: z.string() }),
  execute: ({ query }) => `results for ${query}`,
})

/** Fast retries with the default number of attempts (3). */
const retry = { initialDelayMs: 1, maxDelayMs: 5 }

/** A real ChatAnthropic on the protocol fake (Anthropic Messages over loopback HTTP). */
function chatAnthropic(model: string, options: { fetch?: typeof fetch; streaming?: boolean } = {}) {
  return new ChatAnthropic({
    model,
    apiKey: 'test-key',
    anthropicApiUrl: fake.anthropicBaseURL,
    ...(options.streaming ? { streaming: true } : {}),
    ...(options.fetch ? { clientOptions: { fetch: options.fetch } } : {}),
  })
}

/** A fetch whose first answer is cut after `message_start` by an `event: error` (a 200 that fails midway). */
const overloadedMidStream = () =>
  rewritingFetch((body, call) => {
    if (call > 0) return body
    const [messageStart] = body.split('\n\n')
    const error = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }
    return `${messageStart}\n\nevent: error\ndata: ${JSON.stringify(error)}\n\n`
  })

describe('ChatAnthropic (@langchain/anthropic) on the protocol fake', () => {
  for (const { streamed, label } of modes) {
    it(`${label}: an overloaded_error event inside a 200 stream is retried: the agent restarts, the activity says why`, async () => {
      const { model } = fake.play(scenario().text('never shown').text('Second try.'))
      const runner = new LangChainRunner()
      // run() streams too when the model is set to: the error can only come inside a stream.
      const chat = chatAnthropic(model, { fetch: overloadedMidStream(), streaming: !streamed })
      const agent = createAgent({ model: runner.chatModel(chat), tools: [] })
      const retries: unknown[] = []
      const { result, events } = await runIn(streamed, runner, agent, 'q', {
        agentId: `overloaded-${streamed}`,
        retry,
        hooks: {
          onRetry: ({ attempt, nextAttempt, error }) => void retries.push({ attempt, nextAttempt, error }),
        },
      })
      expect(result).toMatchObject({ text: 'Second try.', attempts: 2 })
      expect(fake.requests).toHaveLength(2)
      expect(retries).toEqual([
        {
          attempt: 1,
          nextAttempt: 2,
          error: expect.objectContaining({
            type: 'overloaded_error',
            message: 'overloaded_error: Overloaded',
            error: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
          }),
        },
      ])
      if (streamed) {
        const retried = events.find(
          (event): event is Extract<RunEvent, { type: 'retry' }> => event.type === 'retry',
        )
        expect(retried).toMatchObject({ attempt: 2, maxAttempts: 3, restart: true })
      }
      const detail = await runner.activity.detail(`overloaded-${streamed}`)
      expect(
        detail.log
          .filter((entry) => entry.kind === 'retry')
          .map(({ attempt, message }) => ({ attempt, message })),
      ).toEqual([{ attempt: 2, message: 'Retrying (attempt 2 of 3): overloaded_error: Overloaded' }])
      expect(detail.status).toBe('complete')
    })
  }

  it('run and a drained runStreamed count the same tokens (message_start’s output tokens are not counted twice)', async () => {
    const usages: unknown[] = []
    for (const { streamed } of modes) {
      const { model } = fake.play(
        scenario()
          .toolCall('search', { query: 'otters' })
          .usage({ inputTokens: 100, outputTokens: 12 })
          .text('Otters hold hands.')
          .usage({ inputTokens: 150, outputTokens: 7 }),
      )
      const runner = new LangChainRunner()
      const agent = createAgent({
        model: runner.chatModel(chatAnthropic(model)),
        tools: toolsOf(runner, [search]),
      })
      const perCall: unknown[] = []
      const { result } = await runIn(streamed, runner, agent, 'Why?', {
        hooks: { onModelCallEnd: ({ usage }) => void perCall.push(usage?.outputTokens) },
      })
      expect(result.text).toBe('Otters hold hands.')
      expect(perCall, `output tokens per call (streamed: ${streamed})`).toEqual([12, 7])
      usages.push(result.usage)
    }
    expect(usages[0]).toEqual({
      inputTokens: 250,
      outputTokens: 19,
      totalTokens: 269,
      cachedInputTokens: 0,
      cacheWriteInputTokens: 0,
    })
    expect(usages[1]).toEqual(usages[0])
  })

  it('a failed call shows the provider’s message on the activity; the raw body stays on the error', async () => {
    const runner = new LangChainRunner()
    const overloaded = fake.play(scenario().error(529, 'Overloaded'))
    const agent = createAgent({ model: runner.chatModel(chatAnthropic(overloaded.model)), tools: [] })
    const error = await rejectionOf(runner.run(agent, 'q', { agentId: 'overloaded', retry: { attempts: 1 } }))
    expect(error).toMatchObject({
      status: 529,
      message: '529 overloaded_error: Overloaded',
      error: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
    })
    expect((await runner.activity.detail('overloaded')).message).toBe(
      'Failed: 529 overloaded_error: Overloaded',
    )

    // LangChain appends a troubleshooting link to errors it knows: the code stays, the link goes.
    const refused = fake.play(scenario().error(401, 'invalid x-api-key'))
    const unauthorized = createAgent({ model: runner.chatModel(chatAnthropic(refused.model)), tools: [] })
    const authError = await rejectionOf(runner.run(unauthorized, 'q', { agentId: 'unauthorized' }))
    expect(authError).toMatchObject({
      status: 401,
      message: '401 authentication_error: invalid x-api-key',
      lc_error_code: 'MODEL_AUTHENTICATION',
    })
    const detail = await runner.activity.detail('unauthorized')
    expect(detail.message).toBe('Failed: 401 authentication_error: invalid x-api-key')
    expect(detail.log.filter((entry) => entry.kind === 'retry')).toEqual([])
  })
})
