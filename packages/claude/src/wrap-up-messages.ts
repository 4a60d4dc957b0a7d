import type { ContentBlockParam, MessageParam, TextBlockParam } from '@anthropic-ai/sdk/resources/messages'

function resultText(content: unknown): string {
  if (content === undefined) return ''
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content
    .map((block: { type?: string; text?: string }) =>
      block?.type === 'text' && typeof block.text === 'string'
        ? block.text
        : `[${block?.type ?? 'unknown'} content]`,
    )
    .join('\n')
}

/**
 * The conversation of a wrap-up turn, which offers no tools. The API refuses `tool_use` and
 * `tool_result` blocks in a request without tools ("Requests which include tool_use or
 * tool_result blocks must define tools"), so they are sent as text that keeps what was called and
 * what came back: `[Called tool search with {"query":"otters"}]`, `[Result of search: ...]`.
 * Everything else (text, images, thinking) is sent as it was.
 */
export function withToolBlocksAsText(messages: ReadonlyArray<MessageParam>): MessageParam[] {
  const names = new Map<string, string>()
  return messages.map((message) => {
    if (typeof message.content === 'string') return message
    const content = message.content.map((block): ContentBlockParam => {
      if (block.type === 'tool_use') {
        names.set(block.id, block.name)
        const text: TextBlockParam = {
          type: 'text',
          text: `[Called tool ${block.name} with ${JSON.stringify(block.input ?? {})}]`,
        }
        return text
      }
      if (block.type === 'tool_result') {
        const name = names.get(block.tool_use_id) ?? block.tool_use_id
        const label = block.is_error ? `Error from ${name}` : `Result of ${name}`
        const text: TextBlockParam = { type: 'text', text: `[${label}: ${resultText(block.content)}]` }
        return text
      }
      return block
    })
    return { ...message, content } as MessageParam
  })
}
