/**
 * A research agent built with `createAgent` (langchain 1.x), run by LangChainRunner: two tools,
 * `search` and `read` (src/research-tools.ts), and the runner's `report_status`. It streams its
 * answer, then prints the activity log and the usage.
 *
 * The model: ChatOpenAI when OPENAI_API_KEY is set, else ChatAnthropic when ANTHROPIC_API_KEY is
 * set, else LangChain's own fake tool-calling model playing a scripted scenario (no key, no
 * network):
 *
 *   pnpm --filter @runner/example-langchain start                               # scripted
 *   OPENAI_API_KEY=sk-... pnpm --filter @runner/example-langchain start         # OpenAI
 *   ANTHROPIC_API_KEY=sk-ant-... pnpm --filter @runner/example-langchain start  # Anthropic
 *
 * OPENAI_MODEL (default gpt-5.4-mini) and ANTHROPIC_MODEL (default claude-sonnet-5-5) pick the model.
 */
import type { BaseChatModel } from '@langchain/core/language_models/chat_models'
import { LangChainRunner } from '@runner/langchain'
import { scenario } from '@runner/testkit'
import { createAgent } from 'langchain'
import { read, search } from './research-tools.ts'
import { scriptedModel } from './scripted-model.ts'

const question = 'Why do sea otters hold hands?'

// 1. The model: a real one when a key is set, else the scripted fake.
let model: BaseChatModel
let modelName: string
if (process.env.OPENAI_API_KEY) {
  const { ChatOpenAI } = await import('@langchain/openai')
  modelName = process.env.OPENAI_MODEL ?? 'gpt-5.4-mini'
  model = new ChatOpenAI({ model: modelName, apiKey: process.env.OPENAI_API_KEY })
} else if (process.env.ANTHROPIC_API_KEY) {
  const { ChatAnthropic } = await import('@langchain/anthropic')
  modelName = process.env.ANTHROPIC_MODEL ?? 'claude-sonnet-5-5'
  model = new ChatAnthropic({ model: modelName, apiKey: process.env.ANTHROPIC_API_KEY })
} else {
  modelName = 'scripted fakeModel()'
  model = scriptedModel(
    scenario()
      .toolCall('report_status', { message: 'Searching for sources', percentage: 10 })
      .usage({ inputTokens: 412, outputTokens: 28 })
      .toolCall('search', { query: 'sea otters hold hands' })
      .usage({ inputTokens: 455, outputTokens: 21 })
      .toolCall('report_status', { message: 'Reading the best source', percentage: 50 })
      .usage({ inputTokens: 540, outputTokens: 27 })
      .toolCall('read', { url: 'https://example.org/otters/sleep' })
      .usage({ inputTokens: 583, outputTokens: 24, cachedInputTokens: 384 })
      .text(
        'Sea otters hold paws while they sleep on their backs, so that the current does not carry ' +
          'them apart (https://example.org/otters/sleep).',
      )
      .usage({ inputTokens: 655, outputTokens: 41, cachedInputTokens: 512 }),
  )
}
console.log(`Model: ${modelName}\n`)

// 2. The runner, and the agent: the tools are wrapped so that the runner's tool hooks can deny a
//    call (here, reading outside example.org); report_status comes from the runner, and the
//    system prompt tells the model to use it.
const runner = new LangChainRunner({
  hooks: {
    onToolCallStart: ({ toolName, input }) =>
      toolName === 'read' && !String((input as { url?: unknown }).url).startsWith('https://example.org/')
        ? { deny: 'only pages of example.org may be read' }
        : undefined,
  },
})
const agent = createAgent({
  name: 'researcher',
  // runner.chatModel: the model's own retries off, so the run's retries are the only ones (each on the activity).
  model: runner.chatModel(model),
  tools: [...runner.wrapTools([search, read]), runner.tools.reportStatus],
  systemPrompt:
    'You are a careful research assistant. Search, read the best source, then answer in two ' +
    `sentences and cite the url you used.\n\n${runner.prompts.reportStatus}`,
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
