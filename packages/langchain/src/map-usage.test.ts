import { describe, expect, it } from 'vitest'
import { usageOf, withoutAnthropicStartTokens } from './map-usage.js'

describe('usageOf', () => {
  it('maps usage_metadata to the contract’s names, cache reads, writes and reasoning included', () => {
    expect(
      usageOf({
        input_tokens: 120,
        output_tokens: 30,
        total_tokens: 150,
        input_token_details: { cache_read: 64, cache_creation: 8 },
        output_token_details: { reasoning: 12 },
      }),
    ).toEqual({
      inputTokens: 120,
      outputTokens: 30,
      totalTokens: 150,
      cachedInputTokens: 64,
      cacheWriteInputTokens: 8,
      reasoningTokens: 12,
    })
  })

  it('sums input and output when total_tokens is missing; leaves the optional counters out when unreported', () => {
    expect(usageOf({ input_tokens: 5, output_tokens: 2, input_token_details: {} })).toEqual({
      inputTokens: 5,
      outputTokens: 2,
      totalTokens: 7,
    })
  })

  it('falls back to llmOutput.tokenUsage; undefined when nothing was reported', () => {
    expect(
      usageOf(undefined, { tokenUsage: { promptTokens: 9, completionTokens: 4, totalTokens: 13 } }),
    ).toEqual({
      inputTokens: 9,
      outputTokens: 4,
      totalTokens: 13,
    })
    expect(usageOf(undefined, {})).toBeUndefined()
    expect(usageOf(undefined, { tokenUsage: {} })).toBeUndefined()
    expect(usageOf(undefined)).toBeUndefined()
  })

  it('ignores counts that are not non-negative numbers', () => {
    expect(usageOf({ input_tokens: -1, output_tokens: '3' })).toEqual({
      inputTokens: 0,
      outputTokens: 0,
      totalTokens: 0,
    })
  })
})

describe('withoutAnthropicStartTokens', () => {
  const summed = { inputTokens: 10, outputTokens: 8, totalTokens: 18 }
  it('takes message_start’s output tokens out of a streamed Anthropic answer’s usage', () => {
    const answer = { response_metadata: { model_provider: 'anthropic' } }
    expect(withoutAnthropicStartTokens(summed, answer, 1)).toEqual({
      inputTokens: 10,
      outputTokens: 7,
      totalTokens: 17,
    })
  })

  it('leaves other providers, and answers that streamed no usage first, as they are', () => {
    expect(withoutAnthropicStartTokens(summed, { response_metadata: { model_provider: 'openai' } }, 1)).toBe(
      summed,
    )
    expect(
      withoutAnthropicStartTokens(summed, { response_metadata: { model_provider: 'anthropic' } }, undefined),
    ).toBe(summed)
  })
})
