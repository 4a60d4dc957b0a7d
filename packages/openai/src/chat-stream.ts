import type { RunContext } from '@runner/core'
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionMessageFunctionToolCall,
} from 'openai/resources/chat/completions'
import type { CompletionUsage } from 'openai/resources/completions'
import { streamEndedEarly } from './map-error.js'

/** Reasoning text some OpenAI-compatible servers stream (vLLM, LM Studio: `reasoning_content`; Ollama, OpenRouter: `reasoning`). */
type CompatibleDelta = ChatCompletionChunk.Choice.Delta & { reasoning_content?: unknown; reasoning?: unknown }

interface ToolCallInProgress {
  id: string
  name: string
  arguments: string
}

/**
 * Reads a raw Chat Completions stream (`stream: true`) into the `ChatCompletion` it stands for,
 * emitting `text-delta` (content and refusal), `reasoning-delta` (the reasoning text of
 * compatible servers) and, with `includeNative`, every chunk as a `native` event.
 *
 * Only the first choice is read. Tool calls are put together by their `index` (by `id`, or their
 * position, from servers that leave `index` out). An abort ends the raw stream silently: the
 * signal's reason is thrown then. A stream that ends with no `finish_reason` throws
 * `APIConnectionError`: a truncated answer is never a success.
 */
export async function readChatStream(
  stream: AsyncIterable<ChatCompletionChunk>,
  context: RunContext,
): Promise<ChatCompletion> {
  let id = ''
  let created = 0
  let model = ''
  let systemFingerprint: string | undefined
  let serviceTier: ChatCompletion['service_tier']
  let content = ''
  let refusal = ''
  let finishReason: ChatCompletion.Choice['finish_reason'] | undefined
  let usage: CompletionUsage | undefined
  const calls = new Map<number, ToolCallInProgress>()

  for await (const chunk of stream) {
    // The run settles at once on abort: stop reading too, so that no delta follows its end.
    context.signal.throwIfAborted()
    if (context.includeNative) context.emit({ type: 'native', event: chunk })
    id ||= chunk.id ?? ''
    created ||= chunk.created ?? 0
    model ||= chunk.model ?? ''
    systemFingerprint ??= chunk.system_fingerprint
    serviceTier ??= chunk.service_tier
    if (chunk.usage) usage = chunk.usage
    const choice = chunk.choices?.find((candidate) => (candidate.index ?? 0) === 0)
    if (!choice) continue
    const delta = (choice.delta ?? {}) as CompatibleDelta
    const reasoning = delta.reasoning_content ?? delta.reasoning
    if (typeof reasoning === 'string' && reasoning !== '') {
      context.emit({ type: 'reasoning-delta', text: reasoning })
    }
    if (typeof delta.content === 'string' && delta.content !== '') {
      content += delta.content
      context.emit({ type: 'text-delta', text: delta.content })
    }
    if (typeof delta.refusal === 'string' && delta.refusal !== '') {
      refusal += delta.refusal
      context.emit({ type: 'text-delta', text: delta.refusal })
    }
    for (const [position, piece] of (delta.tool_calls ?? []).entries()) {
      const key = callKey(calls, piece, position)
      let call = calls.get(key)
      if (!call) {
        call = { id: '', name: '', arguments: '' }
        calls.set(key, call)
      }
      if (piece.id) call.id = piece.id
      if (piece.function?.name && !call.name) call.name = piece.function.name
      if (typeof piece.function?.arguments === 'string') call.arguments += piece.function.arguments
    }
    if (choice.finish_reason) finishReason = choice.finish_reason
  }
  context.signal.throwIfAborted()
  if (!finishReason) throw streamEndedEarly('no finish_reason')

  const toolCalls: ChatCompletionMessageFunctionToolCall[] = [...calls.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, call]) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }))
  const completion: ChatCompletion = {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [
      {
        index: 0,
        finish_reason: finishReason,
        logprobs: null,
        message: {
          role: 'assistant',
          content: content === '' && (toolCalls.length > 0 || refusal !== '') ? null : content,
          refusal: refusal === '' ? null : refusal,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
      },
    ],
  }
  if (usage) completion.usage = usage
  if (systemFingerprint) completion.system_fingerprint = systemFingerprint
  if (serviceTier) completion.service_tier = serviceTier
  return completion
}

/** Which tool call a delta continues. */
function callKey(
  calls: Map<number, ToolCallInProgress>,
  piece: ChatCompletionChunk.Choice.Delta.ToolCall,
  position: number,
): number {
  if (typeof piece.index === 'number') return piece.index
  if (piece.id) {
    for (const [key, call] of calls) if (call.id === piece.id) return key
    return calls.size
  }
  return position
}
