/**
 * One agent definition, two frameworks: `withFallback(claudeRunner, openaiRunner)` runs it on
 * Claude first and, when Claude still fails after the run's retries (a 529 "overloaded", an
 * outage...), on OpenAI, in the same run: same agentId, same activity, "Retrying (attempt 2 of 3)"
 * and "Falling back to OpenAIRunner: ..." entries in its log.
 *
 * With ANTHROPIC_API_KEY set it talks to Anthropic, and falls back to OpenAI when OPENAI_API_KEY
 * is set too. Otherwise both runners talk to the test kit's protocol fake, a loopback server in
 * this process that speaks both APIs, where the Claude model answers 529 Overloaded to every
 * attempt so that the OpenAI runner finishes the run (no key, no network):
 *
 *   pnpm --filter @runner/example-claude start                                        # scripted
 *   ANTHROPIC_API_KEY=sk-ant-... OPENAI_API_KEY=sk-... pnpm --filter @runner/example-claude start
 *
 * ANTHROPIC_MODEL (default claude-sonnet-5-5) and OPENAI_MODEL (default gpt-5.4-mini) pick the
 * models; DEMO_FRAME_DELAY_MS the pace of the scripted stream (default 15).
 */
import { type ClaudeAgent, ClaudeRunner } from '@runner/claude'
import { withFallback } from '@runner/core'
import { type OpenAIAgent, OpenAIRunner } from '@runner/openai'
import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import { lookup } from './wiki-tools.ts'

const question = 'Why do sea otters hold paws?'
const live = Boolean(process.env.ANTHROPIC_API_KEY)

// 1. The runners. The shared definition names Claude's model; the OpenAI runner brings its own
//    (a runner's `model` replaces the definition's).
let fake: ProtocolFake | undefined
let claudeModel: string
let openaiModel: string
let claude: ClaudeRunner
let openai: OpenAIRunner | undefined
if (live) {
  claudeModel = process.env.ANTHROPIC_MODEL ?? 'claude-sonnet-5-5'
  openaiModel = process.env.OPENAI_MODEL ?? 'gpt-5.4-mini'
  claude = new ClaudeRunner({ apiKey: process.env.ANTHROPIC_API_KEY })
  if (process.env.OPENAI_API_KEY) {
    openai = new OpenAIRunner({ apiKey: process.env.OPENAI_API_KEY, model: openaiModel })
  }
} else {
  fake = await startProtocolFake({ frameDelayMs: Number(process.env.DEMO_FRAME_DELAY_MS ?? 15) })
  // The Claude model is overloaded, on the first request and on the run's two retries of it...
  claudeModel = fake.play(
    scenario().error(529, 'Overloaded').error(529, 'Overloaded').error(529, 'Overloaded'),
    { model: 'claude-scripted' },
  ).model
  // ...and the OpenAI one reports, looks the topic up and answers.
  openaiModel = fake.play(
    scenario()
      .toolCall('report_status', { message: 'Looking sea otters up in the wiki', percentage: 30 })
      .usage({ inputTokens: 402, outputTokens: 31 })
      .toolCall('lookup', { topic: 'sea otters' })
      .usage({ inputTokens: 451, outputTokens: 18 })
      .text('Sea otters hold paws while they sleep, so that the current does not carry them apart.')
      .usage({ inputTokens: 540, outputTokens: 24, cachedInputTokens: 384 }),
    { model: 'gpt-scripted' },
  ).model
  // ClaudeRunner switches the Anthropic SDK's own retries off on every request (the run retries,
  // on the activity); the OpenAI client is told so here, so that the scripted turns are not replayed.
  claude = new ClaudeRunner({ apiKey: 'scripted', baseURL: fake.anthropicBaseURL })
  openai = new OpenAIRunner({
    apiKey: 'scripted',
    baseURL: fake.openaiBaseURL,
    maxRetries: 0,
    model: openaiModel,
  })
}

// 2. One agent definition for both: plain data, the same defineTool tools. Each runner ignores
//    the other's fields (`maxTokens` is Claude's; `instructions` is the system prompt on both).
const agent: ClaudeAgent & OpenAIAgent = {
  name: 'researcher',
  model: claudeModel,
  instructions: 'You answer questions from the team wiki, in one or two sentences.',
  tools: [lookup],
  maxTokens: 2048,
}

// 3. Claude first, OpenAI when Claude fails. Without an OpenAI key (live), Claude alone.
const runner = openai ? withFallback(claude, openai) : claude
const scripted = live ? '' : ' (scripted: answers 529 Overloaded)'
console.log(`Claude: ${claude.client.baseURL}, model ${claudeModel}${scripted}`)
console.log(
  openai ? `OpenAI: ${openai.client.baseURL}, model ${openaiModel}\n` : 'OpenAI: no key, no fallback\n',
)

try {
  const stream = runner.runStreamed(agent, question, { maxTurns: 6 })
  console.log(`Run ${stream.agentId}: ${question}`)
  // The answer as it comes; status changes (the fallback among them) and tool calls on their own lines.
  let midLine = false
  const line = (text: string) => {
    console.log(`${midLine ? '\n' : ''}${text}`)
    midLine = false
  }
  for await (const event of stream) {
    if (event.type === 'text-delta') {
      process.stdout.write(event.text)
      midLine = true
    }
    if (event.type === 'status-update') line(`[${event.status}] ${event.message}`)
    if (event.type === 'tool-call') line(`-> ${event.toolName} ${JSON.stringify(event.input)}`)
  }
  const result = await stream.result

  // 4. What the run left behind: one activity, whichever runner answered.
  const activity = await runner.activity.detail(result.agentId)
  console.log(`\nActivity log of ${result.agentId} (${activity.agentType}):`)
  for (const entry of activity.log) {
    const percentage = entry.percentage === null ? '' : ` (${entry.percentage}%)`
    console.log(`  ${entry.status.padEnd(8)} ${(entry.kind ?? '').padEnd(9)} ${entry.message}${percentage}`)
  }
  const fellBack = result.trajectory?.steps.some((step) => step.kind === 'fallback') ?? false
  const { inputTokens, outputTokens, totalTokens, cachedInputTokens = 0 } = result.usage
  console.log(
    `\nAnswered by ${fellBack ? 'OpenAIRunner (after the fallback)' : 'ClaudeRunner'}. ` +
      `Usage: ${inputTokens} input (${cachedInputTokens} cached) + ${outputTokens} output = ${totalTokens} tokens, ` +
      `${result.turns} turns.`,
  )
} finally {
  await fake?.close()
}
