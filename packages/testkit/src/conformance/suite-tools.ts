import { defineTool } from '@runner/core'
import { z } from 'zod'

/** A `search` tool that records every query it runs. */
export function searchTool() {
  const queries: string[] = []
  const tool = defineTool({
    name: 'search',
    description: 'Searches the web for a query and returns the results.',
    inputSchema: z.object({ query: z.string() }),
    execute: async ({ query }) => {
      queries.push(query)
      return `results for ${query}`
    },
  })
  return { tool, queries }
}

/** A tool that waits until the run's signal aborts; it records that it started and what it saw. */
export function waitForAbortTool() {
  const state = { started: false, sawAbort: false }
  const tool = defineTool({
    name: 'wait_for_abort',
    description: 'Waits for a long time.',
    inputSchema: z.object({}),
    execute: (_input, { signal }) => {
      state.started = true
      return new Promise<string>((_, reject) => {
        signal.addEventListener(
          'abort',
          () => {
            state.sawAbort = true
            reject(signal.reason)
          },
          { once: true },
        )
      })
    },
  })
  return { tool, state }
}
