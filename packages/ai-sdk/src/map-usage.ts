import type { Usage } from '@runner/core'
import type { LanguageModelUsage } from 'ai'

/**
 * The AI SDK's usage of one model call in the contract's names: `inputTokens` (cached included)
 * -> `inputTokens`, `outputTokens` (reasoning included) -> `outputTokens`, `totalTokens` ->
 * `totalTokens`, `inputTokenDetails.cacheReadTokens` -> `cachedInputTokens`,
 * `inputTokenDetails.cacheWriteTokens` -> `cacheWriteInputTokens`,
 * `outputTokenDetails.reasoningTokens` -> `reasoningTokens` (the last three only when reported).
 * A provider that reports nothing counts 0.
 */
export function usageOf(usage: LanguageModelUsage | undefined): Usage {
  const inputTokens = count(usage?.inputTokens)
  const outputTokens = count(usage?.outputTokens)
  const result: Usage = {
    inputTokens,
    outputTokens,
    totalTokens: count(usage?.totalTokens, inputTokens + outputTokens),
  }
  const cached = usage?.inputTokenDetails?.cacheReadTokens
  if (typeof cached === 'number' && Number.isFinite(cached)) result.cachedInputTokens = cached
  const written = usage?.inputTokenDetails?.cacheWriteTokens
  if (typeof written === 'number' && Number.isFinite(written)) result.cacheWriteInputTokens = written
  const reasoning = usage?.outputTokenDetails?.reasoningTokens
  if (typeof reasoning === 'number' && Number.isFinite(reasoning)) result.reasoningTokens = reasoning
  return result
}

function count(value: number | undefined, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback
}
