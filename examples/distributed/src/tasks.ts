/**
 * The shared task module: the API registers it to enqueue (typed handles), every worker registers
 * it to run the tasks. The same file would run unchanged on `localEngine()` in one process.
 *
 * The agent is the test kit's `ScriptedRunner` playing a research scenario, so the example runs
 * without an API key; swap in `OpenAIRunner`, `ClaudeRunner`... and a real agent for production.
 * Passing `agentId` to the runner makes the run's progress (its `report_status` calls) land on the
 * task's activity, which the API watches from another process.
 */
import { defineTool, type Pool } from '@runner/core'
import { ScriptedRunner, scenario, scriptedAgent } from '@runner/testkit'
import { z } from 'zod'

/** How long each scripted model turn "thinks", in ms (short in the smoke test). */
const thinkMs = Number(process.env.DISTRIBUTED_THINK_MS ?? 600)

const search = defineTool({
  name: 'search',
  description: 'Searches the web and returns the best links.',
  inputSchema: z.object({ query: z.string().min(1) }),
  execute: async ({ query }) => [`https://example.org/${encodeURIComponent(query)}`],
})

/** What the scripted model does for a topic: three reported steps, a search, then an answer. */
function researchScenario(topic: string) {
  return scenario()
    .toolCall('report_status', { message: `Searching for ${topic}`, percentage: 20 })
    .slow(thinkMs)
    .toolCall('search', { query: topic })
    .slow(thinkMs)
    .toolCall('report_status', { message: `Reading the best source on ${topic}`, percentage: 60 })
    .slow(thinkMs)
    .toolCall('report_status', { message: 'Writing the summary', percentage: 90 })
    .slow(thinkMs)
    .text(`${topic}: a short summary from the best source.`)
}

export default function registerTasks(pool: Pool) {
  const runner = new ScriptedRunner({ activity: pool.activity })
  const research = pool.task(
    'research',
    { input: z.object({ topic: z.string().min(1) }), retries: 1, timeoutMs: 120_000 },
    async ({ agentId, input, signal }) => {
      const agent = scriptedAgent(researchScenario(input.topic), [search])
      const result = await runner.run(agent, `Research ${input.topic}`, { agentId, signal })
      return { topic: input.topic, summary: result.text, turns: result.turns, workerPid: process.pid }
    },
  )
  return { research }
}
