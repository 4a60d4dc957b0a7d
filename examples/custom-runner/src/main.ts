/**
 * Demo: a TinyAgent run by TinyRunner on a scripted model (no API key, no network). The first
 * model call fails with a 503, which `TinyRunner.isRetryable` accepts, so the run repeats that call
 * in place; then the agent reports progress, looks a fact up and streams its answer.
 *
 *   pnpm --filter @runner/example-custom-runner start
 */
import { scriptedTinyModel, TinyAgent, TinyModelError, type TinyTool } from './tiny-framework.ts'
import { TinyRunner } from './tiny-runner.ts'

// 1. A tool written for the tiny framework, in its own shape.
const wiki: Record<string, string> = {
  'sea otters': 'Sea otters sleep floating on their backs and hold paws so that they do not drift apart.',
}
const lookup: TinyTool<{ topic: string }> = {
  name: 'lookup',
  description: 'Looks a topic up in the team wiki.',
  parameters: {
    type: 'object',
    properties: { topic: { type: 'string', minLength: 1 } },
    required: ['topic'],
  },
  handler: async ({ topic }) => wiki[topic] ?? `The wiki has nothing about ${topic}.`,
}

// 2. A model that answers from a script, and an agent. report_status is added by the runner.
const model = scriptedTinyModel(
  [
    new TinyModelError('The model is overloaded, try again later.', { status: 503 }),
    {
      toolCalls: [
        {
          name: 'report_status',
          arguments: { message: 'Looking sea otters up in the wiki', percentage: 30 },
        },
      ],
    },
    { toolCalls: [{ name: 'lookup', arguments: { topic: 'sea otters' } }] },
    { toolCalls: [{ name: 'report_status', arguments: { message: 'Writing the answer', percentage: 80 } }] },
    { content: 'Sea otters hold paws while they sleep, so that the current does not pull them apart.' },
  ],
  { chunkDelayMs: Number(process.env.DEMO_CHUNK_DELAY_MS ?? 40) },
)
const agent = new TinyAgent({
  name: 'researcher',
  instructions: 'You answer questions from the team wiki, in one sentence.',
  model,
  tools: [lookup],
})

// 3. Run it, streaming: text to stdout as it comes, tool calls and retries on their own lines.
// The default retry allows 3 attempts; the first wait is shortened for the demo.
const runner = new TinyRunner({ retry: { initialDelayMs: 50 } })
const stream = runner.runStreamed(agent, 'Why do sea otters hold paws?')
for await (const event of stream) {
  if (event.type === 'text-delta') process.stdout.write(event.text)
  if (event.type === 'tool-call') console.log(`-> ${event.toolName} ${JSON.stringify(event.input)}`)
  if (event.type === 'retry') {
    const how = event.restart ? 'the agent starts over' : 'the model call is repeated in place'
    console.log(
      `retry: attempt ${event.attempt} of ${event.maxAttempts}, ${how}, after ${String(event.error)}`,
    )
  }
}
const result = await stream.result

// 4. What the run left behind: the activity log (each entry with its kind) and the usage.
const activity = await runner.activity.detail(result.agentId)
console.log(`\n\nActivity log of ${result.agentId} (${activity.agentType}):`)
for (const entry of activity.log) {
  const percentage = entry.percentage === null ? '' : ` (${entry.percentage}%)`
  console.log(`  ${entry.status.padEnd(8)} ${(entry.kind ?? '').padEnd(9)} ${entry.message}${percentage}`)
}
const { inputTokens, outputTokens, totalTokens } = result.usage
console.log(
  `\nUsage: ${inputTokens} input + ${outputTokens} output = ${totalTokens} tokens, ` +
    `${result.turns} turns, ${result.attempts} attempts.`,
)
