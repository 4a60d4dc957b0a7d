import type { Usage } from '@runner/core'

/** LangChain's `UsageMetadata` (`AIMessage.usage_metadata`), as far as the runner reads it. */
interface UsageMetadataLike {
  input_tokens?: number
  output_tokens?: number
  total_tokens?: number
  input_token_details?: { cache_read?: number; cache_creation?: number }
  output_token_details?: { reasoning?: number }
}

/** The older `llmOutput.tokenUsage` some integrations (and plain LLMs) report instead. */
interface TokenUsageLike {
  promptTokens?: number
  completionTokens?: number
  totalTokens?: number
}

const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined

/**
 * The usage of one model call in the contract's names. From `usage_metadata`: `input_tokens` ->
 * `inputTokens`, `output_tokens` -> `outputTokens`, `total_tokens` -> `totalTokens` (their sum
 * when absent), `input_token_details.cache_read` -> `cachedInputTokens`,
 * `input_token_details.cache_creation` -> `cacheWriteInputTokens`,
 * `output_token_details.reasoning` -> `reasoningTokens` (these three only when reported). Falls
 * back to `llmOutput.tokenUsage` (`promptTokens`, `completionTokens`, `totalTokens`).
 * `undefined` when the call reported nothing.
 */
export function usageOf(metadata: unknown, llmOutput?: unknown): Usage | undefined {
  if (typeof metadata === 'object' && metadata !== null) {
    const usage = metadata as UsageMetadataLike
    const inputTokens = count(usage.input_tokens) ?? 0
    const outputTokens = count(usage.output_tokens) ?? 0
    const result: Usage = {
      inputTokens,
      outputTokens,
      totalTokens: count(usage.total_tokens) ?? inputTokens + outputTokens,
    }
    const cached = count(usage.input_token_details?.cache_read)
    if (cached !== undefined) result.cachedInputTokens = cached
    const written = count(usage.input_token_details?.cache_creation)
    if (written !== undefined) result.cacheWriteInputTokens = written
    const reasoning = count(usage.output_token_details?.reasoning)
    if (reasoning !== undefined) result.reasoningTokens = reasoning
    return result
  }
  const tokenUsage = (llmOutput as { tokenUsage?: TokenUsageLike } | undefined)?.tokenUsage
  if (typeof tokenUsage === 'object' && tokenUsage !== null) {
    const inputTokens = count(tokenUsage.promptTokens) ?? 0
    const outputTokens = count(tokenUsage.completionTokens) ?? 0
    if (inputTokens === 0 && outputTokens === 0 && count(tokenUsage.totalTokens) === undefined)
      return undefined
    return {
      inputTokens,
      outputTokens,
      totalTokens: count(tokenUsage.totalTokens) ?? inputTokens + outputTokens,
    }
  }
  return undefined
}

/**
 * The usage of a streamed Anthropic answer without the tokens `@langchain/anthropic` counts twice:
 * it adds the preliminary `output_tokens` of `message_start` to those of `message_delta`, which
 * are already the total, so that a streamed call would count more than the same call unstreamed.
 * `startOutputTokens` is the `output_tokens` of the call's first streamed chunk (its `message_start`).
 * Any other provider's usage is returned as it is.
 */
export function withoutAnthropicStartTokens(
  usage: Usage,
  message: unknown,
  startOutputTokens: number | undefined,
): Usage {
  const metadata = (message as { response_metadata?: { model_provider?: unknown } } | undefined)
    ?.response_metadata
  if (metadata?.model_provider !== 'anthropic' || !startOutputTokens) return usage
  const counted = Math.min(startOutputTokens, usage.outputTokens)
  return { ...usage, outputTokens: usage.outputTokens - counted, totalTokens: usage.totalTokens - counted }
}
