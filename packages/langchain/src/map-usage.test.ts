import { describe, expect, it } from 'vitest'
import { usageOf } from './map-usage.js'

describe('usageOf', () => {
  it('maps usage_metadata to the contract’s names, cache reads and reasoning included', () => {
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
