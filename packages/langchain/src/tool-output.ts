import { messageTypeOf } from './message-content.js'

/**
 * What a tool produced, in the contract's terms: a `ToolMessage`'s content and whether its
 * `status` is `error`, or any other value (a `Command`, a direct call's result) as it is.
 */
export function toolOutputOf(result: unknown): { output: unknown; isError: boolean } {
  if (messageTypeOf(result) === 'tool') {
    const message = result as { content: unknown; status?: unknown }
    return { output: message.content, isError: message.status === 'error' }
  }
  return { output: result, isError: false }
}

/** A tool call's input as LangChain's callbacks give it (a JSON string, usually) as a value. */
export function parseToolInput(input: unknown): unknown {
  if (typeof input !== 'string') return input
  try {
    return JSON.parse(input)
  } catch {
    return input
  }
}
