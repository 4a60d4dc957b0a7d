/**
 * A research agent on AISDKRunner: an AI SDK `ToolLoopAgent` with two tools, `search` and `read`
 * (src/research-tools.ts), plus the runner's `report_status`. It streams its answer, then prints
 * the activity log and the usage.
 *
 * With OPENAI_API_KEY set it runs on OpenAI (@ai-sdk/openai), else with ANTHROPIC_API_KEY on
 * Anthropic (@ai-sdk/anthropic); with neither, on the AI SDK's MockLanguageModelV4 playing a
 * scripted scenario (no key, no network):
 *
 *   pnpm --filter @runner/example-ai-sdk start                              # scripted
 *   OPENAI_API_KEY=sk-... pnpm --filter @runner/example-ai-sdk start        # OpenAI
 *   ANTHROPIC_API_KEY=sk-ant-... pnpm --filter @runner/example-ai-sdk start # Anthropic
 *
 * OPENAI_MODEL (default gpt-5.4-mini) and ANTHROPIC_MODEL (default claude-sonnet-5-5) pick the model.
 */
import { anthropic } from '@ai-sdk/anthropic'
import { openai } from '@ai-sdk/openai'
import { AISDKRunner } from '@runner/ai-sdk'
import { scenario } from '@runner/testkit'
import { type LanguageModel, ToolLoopAgent } from 'ai'
import { read, search } from './research-tools.ts'
import { scriptedModel } from './scripted-model.ts'

const question = 'Why do sea otters hold hands?'

// 1. Where the model runs: OpenAI, Anthropic, or a scripted mock model.
let model: LanguageModel
let where: string
if (process.env.OPENAI_API_KEY) {
  const name = process.env.OPENAI_MODEL ?? 'gpt-5.4-mini'
  model = openai(name)
  where = `${name} on OpenAI`
} else if (process.env.ANTHROPIC_API_KEY) {
  const name = process.env.ANTHROPIC_MODEL ?? 'claude-sonnet-5-5'
  model = anthropic(name)
  where = `${name} on Anthropic`
} else {
  model = scriptedModel(
    scenario()
      .toolCall('report_status', { message: 'Searching for sources', percentage: 10 })
      .usage({ inputTokens: 402, outputTokens: 27 })
      .toolCall('search', { query: 'sea otters hold hands' })
      .usage({ inputTokens: 447, outputTokens: 20 })
      .toolCall('report_status', { message: 'Reading the best source', percentage: 50 })
      .usage({ inputTokens: 531, outputTokens: 26 })
      .toolCall('read', { url: 'https://example.org/otters/sleep' })
      .usage({ inputTokens: 574, outputTokens: 23, cachedInputTokens: 384 })
      .text(
        'Sea otters hold paws while they sleep on their backs, so that the current does not carry ' +
          'them apart (https://example.org/otters/sleep).',
      )
      .usage({ inputTokens: 646, outputTokens: 40, cachedInputTokens: 512 }),
    { chunkDelayMs: Number(process.env.DEMO_CHUNK_DELAY_MS ?? 30) },
  )
  where = 'scripted-researcher (MockLanguageModelV4), scripted'
}
console.log(`Model: ${where}\n`)

// 2. The agent: a plain ToolLoopAgent. Give it the runner's report_status and tell it to use it.
const runner = new AISDKRunner()
const agent = new ToolLoopAgent({
  id: 'researcher',
  model,
  instructions:
    'You are a careful research assistant. Search, read the best source, then answer in two ' +
    `sentences and cite the url you used.\n\n${runner.prompts.reportStatus}`,
  tools: { report_status: runner.tools.reportStatus, search, read },
})

// 3. Run it, streaming: the answer as it comes, each tool call on its own line.
const stream = runner.runStreamed(agent, question, { maxTurns: 8, maxTurnsRecovery: true })
for await (const event of stream) {
  if (event.type === 'text-delta') process.stdout.write(event.text)
  if (event.type === 'tool-call') console.log(`-> ${event.toolName} ${JSON.stringify(event.input)}`)
  if (event.type === 'tool-result') {
    const output = typeof event.output === 'string' ? event.output : JSON.stringify(event.output)
    console.log(
      `   ${event.isError ? 'error' : 'got'}: ${output.length > 90 ? `${output.slice(0, 87)}...` : output}`,
    )
  }
  if (event.type === 'retry') console.log(`retrying after: ${String(event.error)}`)
}
const result = await stream.result

// 4. What the run left behind: the activity log and the usage.
const activity = await runner.activity.detail(result.agentId)
console.log(`\n\nActivity log of ${result.agentId} (${activity.agentType}):`)
for (const entry of activity.log) {
  const percentage = entry.percentage === null ? '' : ` (${entry.percentage}%)`
  console.log(`  ${entry.status.padEnd(8)} ${entry.message}${percentage}`)
}
const { inputTokens, outputTokens, totalTokens, cachedInputTokens = 0 } = result.usage
console.log(
  `\nUsage: ${inputTokens} input (${cachedInputTokens} cached) + ${outputTokens} output = ${totalTokens} tokens, ` +
    `${result.turns} turns.`,
)
