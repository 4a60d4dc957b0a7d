/**
 * The agent every adapter case runs: one `search` tool, and the runner's `report_status` tool and
 * prompt. Baselines and peers send the same tools and the same system prompt, so that the requests
 * weigh the same and the ratio measures the libraries, not the payload.
 */
import { defaultPrompts, defineTool } from '@runner/core'
import {
  REPORT_STATUS_DESCRIPTION,
  reportStatusInputSchema,
  reportStatusTool,
  toolInputJsonSchema,
} from '@runner/core/adapter'
import { z } from 'zod'

export const PROMPT = 'Why do sea otters hold hands?'
/** What the scripted model answers on its second turn (see `fake-server-worker.ts`). */
export const ANSWER = 'Sea otters hold hands while they sleep.'
export const INSTRUCTIONS = defaultPrompts.reportStatus

export const searchInput = z.object({ query: z.string() })
export const SEARCH_DESCRIPTION = 'Searches the web.'
export { REPORT_STATUS_DESCRIPTION }

export async function searchWeb({ query }: { query: string }): Promise<string> {
  return `3 results for ${query}`
}

/** `search` as the runners take it. */
export const searchTool = defineTool({
  name: 'search',
  description: SEARCH_DESCRIPTION,
  inputSchema: searchInput,
  execute: searchWeb,
})

/** JSON Schemas of both tools, computed once: what a hand-written loop would keep in a constant. */
export const toolSchemas = {
  search: toolInputJsonSchema(searchTool),
  report_status: toolInputJsonSchema(reportStatusTool),
}

/** A hand-written loop's tool dispatch: parse the arguments, validate, call. */
export async function callTool(name: string, input: unknown): Promise<string> {
  if (name === 'search') return searchWeb(searchInput.parse(input))
  if (name === 'report_status') {
    reportStatusInputSchema.parse(input)
    return 'Status updated'
  }
  return `Unknown tool ${name}`
}

/** What a hand-written loop returns. */
export interface BareResult {
  text: string
  inputTokens: number
  outputTokens: number
}

/** Fails a batch whose runs did not end as scripted. */
export function expectAnswer(text: string | null | undefined, who: string): void {
  if (text !== ANSWER)
    throw new Error(`${who} answered ${JSON.stringify(text)}, expected ${JSON.stringify(ANSWER)}.`)
}
