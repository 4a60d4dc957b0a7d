/**
 * A research agent on OpenAIRunner with two tools, `search` and `read` (src/research-tools.ts).
 * It streams its answer, then prints the activity log and the usage.
 *
 * With OPENAI_API_KEY (or OPENAI_BASE_URL) set it talks to that server; otherwise to the test
 * kit's protocol fake, a loopback server in this process that speaks the OpenAI API and plays a
 * scripted scenario (no key, no network):
 *
 *   pnpm --filter @runner/example-openai start                                   # scripted
 *   OPENAI_API_KEY=sk-... pnpm --filter @runner/example-openai start             # OpenAI
 *   OPENAI_BASE_URL=http://localhost:11434/v1 OPENAI_MODEL=qwen3 \
 *     pnpm --filter @runner/example-openai start                                 # Ollama
 *
 * OPENAI_MODEL picks the model (default gpt-5.4-mini), EXAMPLE_API=responses the Responses API.
 */
import type { OpenAIAgent } from '@runner/openai'
import { OpenAIRunner } from '@runner/openai'
import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import { read, search } from './research-tools.ts'

const question = 'Why do sea otters hold hands?'
const api = process.env.EXAMPLE_API === 'responses' ? 'responses' : 'chat'
const live = Boolean(process.env.OPENAI_API_KEY || process.env.OPENAI_BASE_URL)

// 1. Where the model runs: a real server, or the scripted protocol fake.
let fake: ProtocolFake | undefined
let runner: OpenAIRunner
let model: string
if (live) {
  // Local servers need no key, but the SDK wants one: any non-empty string will do.
  runner = new OpenAIRunner({
    apiKey: process.env.OPENAI_API_KEY || 'no-key',
    baseURL: process.env.OPENAI_BASE_URL,
  })
  model = process.env.OPENAI_MODEL ?? 'gpt-5.4-mini'
} else {
  fake = await startProtocolFake({ frameDelayMs: Number(process.env.DEMO_FRAME_DELAY_MS ?? 15) })
  model = fake.play(
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
    { model: 'scripted-researcher' },
  ).model
  runner = new OpenAIRunner({ apiKey: 'scripted', baseURL: fake.openaiBaseURL })
}
console.log(`Model: ${model} on ${runner.client.baseURL} (${api} API)${live ? '' : ', scripted'}\n`)

// 2. The agent: plain data. The runner adds report_status and tells the model to use it.
const agent: OpenAIAgent = {
  name: 'researcher',
  model,
  api,
  instructions:
    'You are a careful research assistant. Search, read the best source, then answer in two ' +
    'sentences and cite the url you used.',
  tools: [search, read],
}

try {
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
    if (event.type === 'retry') {
      const reason = event.error instanceof Error ? event.error.message : String(event.error)
      console.log(`retrying (attempt ${event.attempt} of ${event.maxAttempts}): ${reason}`)
    }
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
} finally {
  await fake?.close()
}
