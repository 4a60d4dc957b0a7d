import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'

/** The base64 text's decoded size, for the summary of binary content. */
function decodedBytes(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0
  return Math.max(0, Math.floor((base64.length * 3) / 4) - padding)
}

/** One content block as text: text as it is, anything else summarised in brackets. */
function blockText(block: CallToolResult['content'][number]): string {
  switch (block.type) {
    case 'text':
      return block.text
    case 'image':
    case 'audio':
      return `[${block.type} ${block.mimeType}, ${decodedBytes(block.data)} bytes]`
    case 'resource_link':
      return `[resource link ${block.uri}${block.name ? ` (${block.name})` : ''}${block.mimeType ? `, ${block.mimeType}` : ''}]`
    case 'resource': {
      const resource = block.resource
      if ('text' in resource && typeof resource.text === 'string')
        return `[resource ${resource.uri}${resource.mimeType ? `, ${resource.mimeType}` : ''}]\n${resource.text}`
      const blob = 'blob' in resource && typeof resource.blob === 'string' ? resource.blob : ''
      return `[resource ${resource.uri}${resource.mimeType ? `, ${resource.mimeType}` : ''}, ${decodedBytes(blob)} bytes]`
    }
    default:
      return `[${String((block as { type?: unknown }).type)} content]`
  }
}

/**
 * The text a model reads for an MCP tool result: text blocks as they are, other blocks summarised
 * (`[image image/png, 1234 bytes]`, `[resource file:///a.txt, text/plain]` followed by the
 * resource's text, `[resource link <uri> (name)]`), joined by new lines. A result with no content
 * but `structuredContent` reads as that object's JSON.
 */
export function mcpResultText(result: CallToolResult): string {
  const content = Array.isArray(result.content) ? result.content : []
  if (content.length === 0 && result.structuredContent !== undefined)
    return JSON.stringify(result.structuredContent)
  return content.map(blockText).join('\n')
}
