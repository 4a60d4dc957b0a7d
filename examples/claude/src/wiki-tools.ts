import { defineTool } from '@runner/core'
import { z } from 'zod'

/** A tiny offline team wiki, so that the example runs anywhere. */
const wiki: Record<string, string> = {
  'sea otters':
    'Sea otters sleep floating on their backs. Groups called rafts hold paws or wrap themselves in kelp ' +
    'so that the current does not carry them apart while they rest.',
  kelp: 'Kelp forests thrive where sea otters keep the sea urchins that graze on kelp in check.',
}

/**
 * Looks a topic up in the wiki. A neutral `defineTool` tool: the same object runs on ClaudeRunner
 * and on OpenAIRunner, which is what lets one agent definition fall back from one to the other.
 */
export const lookup = defineTool({
  name: 'lookup',
  description: `Looks a topic up in the team wiki. Known topics: ${Object.keys(wiki).join(', ')}.`,
  inputSchema: z.object({ topic: z.string().min(1).describe('The topic, in lower case.') }),
  execute: async ({ topic }, { signal }) => {
    signal.throwIfAborted()
    return wiki[topic.toLowerCase()] ?? `The wiki has nothing about "${topic}".`
  },
})
