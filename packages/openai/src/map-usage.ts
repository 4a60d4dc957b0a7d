import type { Usage } from '@runner/core'
import type { CompletionUsage } from 'openai/resources/completions'
import type { ResponseUsage } from 'openai/resources/responses/responses'

/**
 * Chat Completions usage in the contract's names: `prompt_tokens` -> `inputTokens`,
 * `completion_tokens` -> `outputTokens`, `total_tokens` -> `totalTokens`,
 * `prompt_tokens_details.cached_tokens` -> `cachedInputTokens`,
 * `completion_tokens_details.reasoning_tokens` -> `reasoningTokens` (the last two only when sent).
 */
export function chatUsage(usage: CompletionUsage | null | undefined): Usage | undefined {
  if (!usage) return undefined
  const inputTokens = count(usage.prompt_tokens)
  const outputTokens = count(usage.completion_tokens)
  return withDetails(
    { inputTokens, outputTokens, totalTokens: count(usage.total_tokens, inputTokens + outputTokens) },
    usage.prompt_tokens_details?.cached_tokens,
    usage.completion_tokens_details?.reasoning_tokens,
  )
}

/**
 * Responses usage in the contract's names: `input_tokens` -> `inputTokens`, `output_tokens` ->
 * `outputTokens`, `total_tokens` -> `totalTokens`, `input_tokens_details.cached_tokens` ->
 * `cachedInputTokens`, `output_tokens_details.reasoning_tokens` -> `reasoningTokens`.
 */
export function responsesUsage(usage: ResponseUsage | null | undefined): Usage | undefined {
  if (!usage) return undefined
  const inputTokens = count(usage.input_tokens)
  const outputTokens = count(usage.output_tokens)
  return withDetails(
    { inputTokens, outputTokens, totalTokens: count(usage.total_tokens, inputTokens + outputTokens) },
    usage.input_tokens_details?.cached_tokens,
    usage.output_tokens_details?.reasoning_tokens,
  )
}

function withDetails(usage: Usage, cached: number | undefined, reasoning: number | undefined): Usage {
  if (typeof cached === 'number') usage.cachedInputTokens = cached
  if (typeof reasoning === 'number') usage.reasoningTokens = reasoning
  return usage
}

/** A token count, or `fallback` when a compatible server leaves it out. */
function count(value: number | null | undefined, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback
}
