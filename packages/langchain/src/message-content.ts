import type { ToolCallInfo } from '@runner/core'

/** A LangChain message as far as the runner reads it (works for chunks and duplicate installs). */
interface MessageLike {
  content?: unknown
  contentBlocks?: unknown
  additional_kwargs?: { reasoning_content?: unknown }
  response_metadata?: { model_provider?: unknown; output_version?: unknown }
  tool_calls?: Array<{ id?: string; name: string; args: unknown }>
  usage_metadata?: unknown
  getType?: () => string
  type?: unknown
}

function blocksOf(message: MessageLike): unknown[] {
  // Text as a string, no provider translator: the standard blocks are that one text block (the
  // translation would build and walk arrays for each streamed token to say so).
  const metadata = message.response_metadata
  if (
    typeof message.content === 'string' &&
    typeof metadata?.model_provider !== 'string' &&
    metadata?.output_version !== 'v1'
  )
    return [{ type: 'text', text: message.content }]
  try {
    // `contentBlocks` translates each provider's content (Anthropic thinking, OpenAI reasoning...) into standard blocks.
    const blocks = message.contentBlocks
    if (Array.isArray(blocks)) return blocks
  } catch {
    // A provider shape the translator does not know: read the raw content below.
  }
  if (typeof message.content === 'string') return [{ type: 'text', text: message.content }]
  return Array.isArray(message.content) ? message.content : []
}

/**
 * The answer text and the reasoning text of a message or of a streamed chunk: text blocks, and
 * `reasoning` / `thinking` blocks (or `additional_kwargs.reasoning_content`, which some
 * OpenAI-compatible servers send).
 */
export function partsOf(message: unknown): { text: string; reasoning: string } {
  if (typeof message !== 'object' || message === null) return { text: '', reasoning: '' }
  let text = ''
  let reasoning = ''
  for (const block of blocksOf(message as MessageLike)) {
    if (typeof block === 'string') text += block
    if (typeof block !== 'object' || block === null) continue
    const { type, text: blockText, reasoning: blockReasoning, thinking } = block as Record<string, unknown>
    if (type === 'text' && typeof blockText === 'string') text += blockText
    else if (type === 'reasoning' && typeof blockReasoning === 'string') reasoning += blockReasoning
    else if (type === 'thinking' && typeof thinking === 'string') reasoning += thinking
  }
  const extra = (message as MessageLike).additional_kwargs?.reasoning_content
  if (reasoning === '' && typeof extra === 'string') reasoning = extra
  return { text, reasoning }
}

/** The text of a message (`''` for anything that is not one). */
export function textOf(message: unknown): string {
  return partsOf(message).text
}

/** The tool calls of a model's answer, in the contract's shape. */
export function toolCallsOf(message: unknown): ToolCallInfo[] {
  const calls = (message as MessageLike | undefined)?.tool_calls
  if (!Array.isArray(calls)) return []
  return calls.map((call, position) => ({
    toolCallId: call.id ?? `call_${position}`,
    toolName: call.name,
    input: call.args,
  }))
}

/** The type of a LangChain message (`ai`, `human`, `tool`, `system`...), or undefined for anything else. */
export function messageTypeOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || !('content' in value)) return undefined
  const message = value as MessageLike
  if (typeof message.getType === 'function') return message.getType()
  return typeof message.type === 'string' ? message.type : undefined
}

/**
 * The final answer text of a run: a string output itself; a message's text; for a state with
 * `messages`, the last AI message's text (or the last message's, when a `returnDirect` tool's
 * result ends the run); else the text of the last model answer the run saw.
 */
export function finalTextOf(output: unknown, lastAnswer: unknown): string {
  if (typeof output === 'string') return output
  if (messageTypeOf(output) !== undefined) return textOf(output)
  const messages = (output as { messages?: unknown } | null | undefined)?.messages
  if (Array.isArray(messages) && messages.length > 0) {
    const last = messages.at(-1)
    if (messageTypeOf(last) === 'tool') return textOf(last)
    const answer = messages.findLast((message) => {
      const type = messageTypeOf(message)
      return type === 'ai' || type === 'AIMessageChunk'
    })
    if (answer !== undefined) return textOf(answer)
  }
  return lastAnswer === undefined ? '' : textOf(lastAnswer)
}
