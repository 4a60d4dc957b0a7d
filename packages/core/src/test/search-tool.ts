import { z } from 'zod'
import { defineTool } from '../tools/define-tool.js'

/**
 * A `search` tool that records every query it is called with and answers `results for <query>`:
 * the tool the adapters' tests give their agents to see that a tool ran, and how often.
 */
export function searchTool() {
  const queries: string[] = []
  const tool = defineTool({
    name: 'search',
    description: 'Searches the web.',
    inputSchema: z.object({ query: z.string() }),
    execute: async ({ query }) => {
      queries.push(query)
      return `results for ${query}`
    },
  })
  return { tool, queries }
}
