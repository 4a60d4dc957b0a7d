import type { Usage } from '@runner/core'
import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { chatUsage, responsesUsage } from './map-usage.js'
import { OpenAIRunner } from './openai-runner.js'
import { fakeClient } from './test-helpers/fake-client.js'
import { rewritingFetch } from './test-helpers/rewriting-fetch.js'
import { modes, runIn } from './test-helpers/run-modes.js'

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(() => fake.close())

describe('usage', () => {
  for (const { api, streamed, label } of modes) {
    it(`${label}: tokens per turn and summed, cached and reasoning tokens included`, async () => {
      const { model } = fake.play(
        scenario()
          .toolCall('report_status', { message: 'Thinking', percentage: 50 })
          .usage({ inputTokens: 100, outputTokens: 20, cachedInputTokens: 60, reasoningTokens: 12 })
          .text('Done.')
          .usage({ inputTokens: 150, outputTokens: 30, cachedInputTokens: 100, reasoningTokens: 8 }),
      )
      const perCall: Array<Usage | undefined> = []
      const runner = new OpenAIRunner({
        client: fakeClient(fake.openaiBaseURL),
        hooks: { onModelCallEnd: ({ usage }) => void perCall.push(usage) },
      })
      const { result, events } = await runIn(streamed, runner, { model, api }, 'x')
      const first = {
        inputTokens: 100,
        outputTokens: 20,
        totalTokens: 120,
        cachedInputTokens: 60,
        reasoningTokens: 12,
      }
      const second = {
        inputTokens: 150,
        outputTokens: 30,
        totalTokens: 180,
        cachedInputTokens: 100,
        reasoningTokens: 8,
      }
      expect(perCall).toEqual([first, second])
      expect(result.usage).toEqual({
        inputTokens: 250,
        outputTokens: 50,
        totalTokens: 300,
        cachedInputTokens: 160,
        reasoningTokens: 20,
      })
      expect(result.trajectory?.usage).toEqual(result.usage)
      if (streamed) {
        expect(events.flatMap((event) => (event.type === 'turn-end' ? [event.usage] : []))).toEqual([
          first,
          second,
        ])
      }
    })
  }

  it('chat: counters the server leaves out stay out; a server that sends no usage counts nothing', async () => {
    const plain = fake.play(scenario().text('a'))
    const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
    expect((await runIn(true, runner, { model: plain.model }, 'x')).result.usage).toEqual({
      inputTokens: 10,
      outputTokens: 5,
      totalTokens: 15,
    })

    const noUsage = rewritingFetch((chunk) => {
      if (Array.isArray(chunk.choices) && chunk.choices.length === 0) return undefined // the usage chunk
      const { usage: _usage, ...rest } = chunk
      return rest
    })
    const quiet = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL, { fetch: noUsage }) })
    for (const streamed of [false, true]) {
      const { model } = fake.play(scenario().text('b'))
      const { result } = await runIn(streamed, quiet, { model }, 'x')
      expect(result.text).toBe('b')
      expect(result.usage).toEqual({ inputTokens: 0, outputTokens: 0, totalTokens: 0 })
    }
  })

  it('maps the API names and fills in a missing total', () => {
    expect(chatUsage({ prompt_tokens: 3, completion_tokens: 4 } as never)).toEqual({
      inputTokens: 3,
      outputTokens: 4,
      totalTokens: 7,
    })
    expect(chatUsage(null)).toBeUndefined()
    expect(
      responsesUsage({
        input_tokens: 5,
        output_tokens: 6,
        total_tokens: 11,
        input_tokens_details: { cached_tokens: 2, cache_write_tokens: 0 },
        output_tokens_details: { reasoning_tokens: 1 },
      }),
    ).toEqual({ inputTokens: 5, outputTokens: 6, totalTokens: 11, cachedInputTokens: 2, reasoningTokens: 1 })
  })
})
