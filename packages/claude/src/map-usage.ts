import type { Usage } from '@runner/core'

/** The token counters of a Messages `usage` (of a message, or of a `message_delta` event). */
export interface ClaudeUsageFields {
  input_tokens?: number | null
  output_tokens?: number | null
  cache_creation_input_tokens?: number | null
  cache_read_input_tokens?: number | null
  output_tokens_details?: { thinking_tokens?: number | null } | null
}

const count = (value: number | null | undefined): number => (typeof value === 'number' ? value : 0)

/**
 * Anthropic's usage in the contract's names. The API's `input_tokens` excludes the prompt-cache
 * tokens, so `inputTokens` adds them back (`input_tokens + cache_creation_input_tokens +
 * cache_read_input_tokens`: every input token of the call, as OpenAI counts them);
 * `cachedInputTokens` is the part read from the cache (`cache_read_input_tokens`),
 * `cacheWriteInputTokens` the part written to it (`cache_creation_input_tokens`). `reasoningTokens`
 * is `output_tokens_details.thinking_tokens` (included in `outputTokens`, as on the API).
 */
export function mapUsage(usage: ClaudeUsageFields | null | undefined): Usage {
  const cacheRead = usage?.cache_read_input_tokens
  const inputTokens =
    count(usage?.input_tokens) + count(usage?.cache_creation_input_tokens) + count(cacheRead)
  const outputTokens = count(usage?.output_tokens)
  const mapped: Usage = { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens }
  if (typeof cacheRead === 'number') mapped.cachedInputTokens = cacheRead
  const cacheWrite = usage?.cache_creation_input_tokens
  if (typeof cacheWrite === 'number') mapped.cacheWriteInputTokens = cacheWrite
  const thinking = usage?.output_tokens_details?.thinking_tokens
  if (typeof thinking === 'number') mapped.reasoningTokens = thinking
  return mapped
}
