import { defineTool } from '@runner/core'
import { z } from 'zod'

/** The neutral `search` tool the test runs offer. */
export function searchTool() {
  return defineTool({
    name: 'search',
    description: 'Searches the web.',
    inputSchema: z.object({ query: z.string() }),
    execute: async ({ query }) => `results for ${query}`,
  })
}
