/**
 * Approvals on LangChainRunner: a createAgent agent whose `publish` tool needs a person's yes,
 * through LangChain's own `humanInTheLoopMiddleware`. The run stops as `waiting` before the tool
 * runs; a second runner on the same store (another process, in real life) approves and resumes
 * it; the graph's state went through the store in between (`RunnerCheckpointSaver`).
 *
 *   pnpm --filter @runner/example-langchain approvals                        # scripted model
 *   OPENAI_API_KEY=sk-... pnpm --filter @runner/example-langchain approvals  # OpenAI
 *
 * The store here is in memory, shared by the two runners; a SqliteActivityStore or a
 * PostgresActivityStore keeps the waiting run across restarts the same way.
 */
import type { BaseChatModel } from '@langchain/core/language_models/chat_models'
import { tool } from '@langchain/core/tools'
import { MemoryActivityStore } from '@runner/core'
import { LangChainRunner } from '@runner/langchain'
import { scenario } from '@runner/testkit'
import { createAgent, humanInTheLoopMiddleware } from 'langchain'
import { z } from 'zod'
import { scriptedModel } from './scripted-model.ts'

let model: BaseChatModel
if (process.env.OPENAI_API_KEY) {
  const { ChatOpenAI } = await import('@langchain/openai')
  model = new ChatOpenAI({
    model: process.env.OPENAI_MODEL ?? 'gpt-5.4-mini',
    apiKey: process.env.OPENAI_API_KEY,
  })
} else {
  model = scriptedModel(
    scenario()
      .toolCall('publish', { title: 'Why sea otters hold hands' })
      .usage({ inputTokens: 120, outputTokens: 18 })
      .text('The article "Why sea otters hold hands" is published.')
      .usage({ inputTokens: 160, outputTokens: 14 }),
  )
}

// The side effect that must wait for a person: it gets a key that is the same on every attempt.
const publish = tool(
  async ({ title }, config) => {
    console.log(
      `   (publishing "${title}", idempotency key ${String(config.metadata?.runner_idempotency_key)})`,
    )
    return `published "${title}"`
  },
  { name: 'publish', description: 'Publishes an article.', schema: z.object({ title: z.string() }) },
)

const store = new MemoryActivityStore()
const agentOf = (runner: LangChainRunner) =>
  createAgent({
    name: 'editor',
    model: runner.chatModel(model),
    tools: runner.wrapTools([publish]),
    middleware: [humanInTheLoopMiddleware({ interruptOn: { publish: true } })],
    systemPrompt: 'You are an editor. Publish the article the user asks for, then say so in one sentence.',
  })

// Process 1: the run stops before `publish` runs.
const writer = new LangChainRunner({ activity: store })
const first = await writer.run(agentOf(writer), 'Publish "Why sea otters hold hands".')
if (first.status !== 'waiting') throw new Error('expected the run to wait for an approval')
console.log(`Run ${first.agentId} is ${first.status}:`)
for (const request of first.pending) {
  console.log(`  ${request.id}: ${request.kind} of ${request.toolName} ${JSON.stringify(request.input)}`)
}

// Process 2: a person approves; the run continues from the store.
const reviewer = new LangChainRunner({ activity: store })
await reviewer.approve(first.agentId, first.pending[0]!.id, { by: 'editor-in-chief' })
const done = await reviewer.resume(agentOf(reviewer), first.agentId)
if (done.status !== 'complete') throw new Error('expected the run to complete')
console.log(`\n${done.text}\n`)

const activity = await reviewer.activity.detail(first.agentId)
console.log('Activity log:')
for (const entry of activity.log) console.log(`  ${entry.status.padEnd(8)} ${entry.message}`)
