import type { ModelMessage } from 'ai'

type ToolResultOutput = { type: string; value?: unknown; reason?: string }

/** A tool result as the text a model reads. */
function outputText(output: ToolResultOutput | undefined): string {
  if (!output) return ''
  switch (output.type) {
    case 'text':
    case 'error-text':
      return String(output.value ?? '')
    case 'json':
    case 'error-json':
      return JSON.stringify(output.value ?? null)
    case 'execution-denied':
      return `execution denied${output.reason ? `: ${output.reason}` : ''}`
    case 'content':
      return Array.isArray(output.value)
        ? output.value
            .map((part: { type?: string; text?: string }) =>
              part?.type === 'text' && typeof part.text === 'string'
                ? part.text
                : `[${part?.type ?? 'unknown'} content]`,
            )
            .join('\n')
        : ''
    default:
      return ''
  }
}

function resultText(part: { toolName: string; output: ToolResultOutput }): string {
  const label = part.output?.type?.startsWith('error') ? 'Error from' : 'Result of'
  return `[${label} ${part.toolName}: ${outputText(part.output)}]`
}

/**
 * The conversation of a wrap-up turn of `maxTurnsRecovery`, which offers no tools: tool calls and
 * results become text that keeps what was called and what came back
 * (`[Called tool search with {"query":"otters"}]`, `[Result of search: ...]`), since some
 * providers refuse tool blocks in a request without tools, and `prompts.wrapUp` is appended as a
 * user message (once). Everything else is sent as it was.
 */
export function wrapUpMessages(messages: ReadonlyArray<ModelMessage>, wrapUp: string): ModelMessage[] {
  const converted: ModelMessage[] = []
  for (const message of messages) {
    if (message.role === 'assistant' && Array.isArray(message.content)) {
      const content = message.content.flatMap((part) => {
        if (part.type === 'tool-call') {
          return [
            {
              type: 'text' as const,
              text: `[Called tool ${part.toolName} with ${JSON.stringify(part.input ?? {})}]`,
            },
          ]
        }
        if (part.type === 'tool-result') return [{ type: 'text' as const, text: resultText(part) }]
        if (part.type === 'tool-approval-request') return []
        return [part]
      })
      if (content.length > 0) converted.push({ ...message, content })
      continue
    }
    if (message.role === 'tool') {
      const text = message.content
        .flatMap((part) => (part.type === 'tool-result' ? [resultText(part)] : []))
        .join('\n')
      if (text !== '') converted.push({ role: 'user', content: [{ type: 'text', text }] })
      continue
    }
    converted.push(message)
  }
  const asked = converted.some(
    (message) =>
      message.role === 'user' &&
      (message.content === wrapUp ||
        (Array.isArray(message.content) &&
          message.content.some((part) => part.type === 'text' && part.text === wrapUp))),
  )
  if (!asked) converted.push({ role: 'user', content: wrapUp })
  return converted
}
