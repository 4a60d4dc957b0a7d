import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { z } from 'zod'

/** What a test server lets a test observe. */
export interface TestServerHooks {
  /** A tool ran (`weather`, `mixed`, `fail`, `stats`). */
  onCall?(toolName: string): void
  /** A call of `slow` saw the client cancel it (`notifications/cancelled`). */
  onCancelled?(): void
  /** A call of `slow` began. */
  onSlowStarted?(): void
  /** `crash` was called: a stdio server exits here. */
  onCrash?(): void
}

/**
 * A real MCP server (the SDK's `McpServer`) with the tools the tests call: `weather` (text, names
 * the server by `label`), `mixed` (every kind of content), `fail` (an `isError` result), `stats`
 * (structured content only), `slow` (waits until canceled) and `crash` (for a server that dies
 * mid-call).
 */
export function testServer(label: string, hooks: TestServerHooks = {}): McpServer {
  const server = new McpServer({ name: `test-${label}`, version: '1.0.0' })
  server.registerTool(
    'weather',
    {
      description: 'The weather in a city.',
      inputSchema: { city: z.string().describe('A city name') },
    },
    ({ city }) => {
      hooks.onCall?.('weather')
      return { content: [{ type: 'text', text: `Sunny in ${city} (${label})` }] }
    },
  )
  server.registerTool('mixed', { description: 'Every kind of content.' }, () => ({
    content: [
      { type: 'text', text: 'Here is a chart.' },
      { type: 'image', data: Buffer.from('PNGDATA!').toString('base64'), mimeType: 'image/png' },
      { type: 'resource', resource: { uri: 'file:///notes.txt', mimeType: 'text/plain', text: 'a note' } },
      { type: 'resource_link', uri: 'file:///big.csv', name: 'big.csv', mimeType: 'text/csv' },
    ],
  }))
  server.registerTool(
    'fail',
    { description: 'Always fails.', inputSchema: { city: z.string() } },
    ({ city }) => ({ isError: true, content: [{ type: 'text', text: `no such city: ${city}` }] }),
  )
  server.registerTool(
    'stats',
    { description: 'Structured output.', outputSchema: { count: z.number() } },
    () => ({ content: [], structuredContent: { count: 3 } }),
  )
  server.registerTool('slow', { description: 'Waits until canceled.' }, (extra) => {
    hooks.onSlowStarted?.()
    return new Promise((resolve) => {
      extra.signal.addEventListener('abort', () => {
        hooks.onCancelled?.()
        resolve({ content: [{ type: 'text', text: 'canceled' }] })
      })
    })
  })
  server.registerTool('crash', { description: 'The server dies.' }, () => {
    hooks.onCrash?.()
    return new Promise(() => {})
  })
  return server
}
