import { describe, expect, it } from 'vitest'
import { usageOf } from './map-usage.js'

describe('usageOf', () => {
  it('maps the AI SDK’s usage to the contract’s names, details only when reported', () => {
    expect(
      usageOf({
        inputTokens: 100,
        inputTokenDetails: { noCacheTokens: 40, cacheReadTokens: 60, cacheWriteTokens: 5 },
        outputTokens: 30,
        outputTokenDetails: { textTokens: 20, reasoningTokens: 10 },
        totalTokens: 130,
      }),
    ).toEqual({
      inputTokens: 100,
      outputTokens: 30,
      totalTokens: 130,
      cachedInputTokens: 60,
      cacheWriteInputTokens: 5,
      reasoningTokens: 10,
    })
    expect(
      usageOf({
        inputTokens: 7,
        inputTokenDetails: {
          noCacheTokens: undefined,
          cacheReadTokens: undefined,
          cacheWriteTokens: undefined,
        },
        outputTokens: undefined,
        outputTokenDetails: { textTokens: undefined, reasoningTokens: undefined },
        totalTokens: undefined,
      }),
    ).toEqual({ inputTokens: 7, outputTokens: 0, totalTokens: 7 })
    expect(usageOf(undefined)).toEqual({ inputTokens: 0, outputTokens: 0, totalTokens: 0 })
  })
})
