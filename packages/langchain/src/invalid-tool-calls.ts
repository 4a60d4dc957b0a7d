/** A model's answer as far as its tool calls go (an `AIMessage` or `AIMessageChunk`). */
interface AnswerWithToolCalls {
  tool_calls?: Array<{ id?: string; name: string; args: unknown; type?: 'tool_call' }>
  invalid_tool_calls?: Array<{ id?: string; name?: string; args?: string; error?: string }>
}

/**
 * Makes the tool calls of an answer whose arguments are not valid JSON (LangChain's
 * `invalid_tool_calls`) ordinary calls that carry their raw arguments, so that the graph runs its
 * tool node for them and the model reads what was wrong, instead of the graph ending on an answer
 * that has no text (a `createAgent` agent or a `ToolNode` only follow `tool_calls`). Changes
 * `answer` in place and returns the moved calls: their id and the raw arguments. A call without
 * an id or a name cannot be answered and stays where it is.
 */
export function answerInvalidToolCalls(answer: unknown): Map<string, string> {
  const moved = new Map<string, string>()
  const message = answer as AnswerWithToolCalls | undefined
  const invalid = message?.invalid_tool_calls
  if (!message || !Array.isArray(invalid) || invalid.length === 0) return moved
  const kept: NonNullable<AnswerWithToolCalls['invalid_tool_calls']> = []
  const calls = [...(message.tool_calls ?? [])]
  for (const call of invalid) {
    if (!call.id || !call.name) {
      kept.push(call)
      continue
    }
    const raw = call.args ?? ''
    calls.push({ id: call.id, name: call.name, args: raw, type: 'tool_call' })
    moved.set(call.id, raw)
  }
  message.tool_calls = calls
  message.invalid_tool_calls = kept
  return moved
}
