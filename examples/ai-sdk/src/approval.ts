/**
 * A tool that needs a person's approval, on AISDKRunner: the agent researches, then wants to
 * `publish` a note (an AI SDK tool with `needsApproval: true`). The run stops there, `waiting`,
 * with the call pending and its conversation checkpointed in the store; a reviewer (here another
 * runner on the same store, as another process would be) approves or denies it, and the run
 * resumes from the checkpoint: approved, `publish` runs once; denied, the model reads why.
 *
 *   pnpm --filter @runner/example-ai-sdk approval            # scripted, approved
 *   pnpm --filter @runner/example-ai-sdk approval -- --deny  # scripted, denied
 *   OPENAI_API_KEY=sk-... pnpm --filter @runner/example-ai-sdk approval
 */
import { anthropic } from '@ai-sdk/anthropic'
import { openai } from '@ai-sdk/openai'
import { AISDKRunner } from '@runner/ai-sdk'
import { currentRun, MemoryActivityStore } from '@runner/core'
import { scenario } from '@runner/testkit'
import { type LanguageModel, ToolLoopAgent, tool } from 'ai'
import { z } from 'zod'
import { read, search } from './research-tools.ts'
import { scriptedModel } from './scripted-model.ts'

const deny = process.argv.includes('--deny')

let model: LanguageModel
if (process.env.OPENAI_API_KEY) model = openai(process.env.OPENAI_MODEL ?? 'gpt-5.4-mini')
else if (process.env.ANTHROPIC_API_KEY) model = anthropic(process.env.ANTHROPIC_MODEL ?? 'claude-sonnet-5-5')
else
  model = scriptedModel(
    scenario()
      .toolCall('search', { query: 'sea otters hold hands' })
      .toolCall('publish', {
        title: 'Why sea otters hold hands',
        body: 'So that the current does not carry them apart while they sleep.',
      })
      .text(
        deny
          ? 'I did not publish the note: the reviewer asked for a source first.'
          : 'Published: https://example.org/notes/why-sea-otters-hold-hands',
      ),
    { chunkDelayMs: 0 },
  )

// The side effect a person must approve. Its idempotency key is stable across processes, for an
// API that dedupes: a crash after the publish and before the journal write cannot publish twice.
const publish = tool({
  description: 'Publishes a short note on the public site.',
  inputSchema: z.object({ title: z.string(), body: z.string() }),
  needsApproval: true,
  execute: async ({ title }, { toolCallId }) => {
    console.log(`   publishing "${title}" (idempotency key ${currentRun()?.idempotencyKey(toolCallId)})`)
    return `https://example.org/notes/${title.toLowerCase().replaceAll(/\W+/g, '-')}`
  },
})

const agent = new ToolLoopAgent({
  id: 'publisher',
  model,
  instructions: 'Research the question, then publish a two-line note about it with the publish tool.',
  tools: { search, read, publish },
})

// One store for both "processes". MemoryActivityStore lives in this process only; a store on
// disk or a database lets the reviewer and the resume run anywhere.
const store = new MemoryActivityStore()
const writer = new AISDKRunner({ activity: store })
const first = await writer.run(agent, 'Why do sea otters hold hands? Publish a note.')
console.log(`Run ${first.agentId}: ${first.status} after ${first.turns} turns`)
if (first.status !== 'waiting') {
  // A real model may answer without publishing: nothing to approve then.
  console.log(first.text)
  process.exit(0)
}
for (const request of first.pending) {
  console.log(`   waiting for approval of ${request.toolName} ${JSON.stringify(request.input)}`)
}

// Later, elsewhere: a reviewer decides, and the run continues from its checkpoint.
const reviewer = new AISDKRunner({ activity: store })
const callId = first.pending[0]!.id
if (deny) await reviewer.deny(first.agentId, callId, { reason: 'cite a source first', by: 'ada' })
else await reviewer.approve(first.agentId, callId, { by: 'ada' })
const done = await reviewer.resume(agent, first.agentId)
if (done.status !== 'complete') process.exit(1)
console.log(`Run ${done.agentId}: ${done.status} after ${done.turns} turns`)
console.log(done.text)

console.log('\nActivity log:')
for (const entry of (await reviewer.activity.detail(done.agentId)).log) {
  console.log(`  ${entry.status.padEnd(8)} ${entry.message}`)
}
