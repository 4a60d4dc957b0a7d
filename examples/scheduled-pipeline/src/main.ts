/**
 * A scheduled pipeline with child runs.
 *
 * - **A schedule** (`task.schedule`) fires the task `digest` every 2 seconds; each firing is a
 *   task of its own (agentId `schedule.team-digest.<tick>`).
 * - **A pipeline** (`pipeline().step(...)`) is the task's handler: `collect` picks the topics,
 *   `research` fans out, `write` joins the notes. The activity says `Step 2/3: research`.
 * - **Child runs** (`childRuns()`): the research step starts one child run per topic, on
 *   `OpenAIRunner` and `ClaudeRunner` in turn, waits for all of them, and rolls the task's progress
 *   up from them. Each child's activity names the task as its parent.
 * - **The tree** of each firing is printed with the test kit's `activityTree`.
 *
 * The models are the test kit's protocol fakes: a loopback server in this process that speaks the
 * OpenAI and Anthropic APIs and plays one scripted answer per child (no API key, no network).
 *
 *   pnpm --filter @runner/example-scheduled-pipeline start
 *   SCHEDULED_PIPELINE_FIRINGS=3 pnpm --filter @runner/example-scheduled-pipeline start
 */

import { type ClaudeAgent, ClaudeRunner } from '@runner/claude'
import { createActivityTracker, createPool, MemoryActivityStore, type RunResult } from '@runner/core'
import { childRuns, pipeline } from '@runner/core/adapter'
import { type OpenAIAgent, OpenAIRunner } from '@runner/openai'
import { activityTree, formatActivityTree, scenario, startProtocolFake } from '@runner/testkit'
import { z } from 'zod'

const firings = Number(process.env.SCHEDULED_PIPELINE_FIRINGS ?? 2)
const store = new MemoryActivityStore()
const activity = createActivityTracker({ store })
const fake = await startProtocolFake()

// Two runners of two frameworks on one activity tracker: the children of one task may use either.
// The fake takes any key; the runners register it as a secret (redacted from activities), so it is
// a value that appears nowhere else.
const apiKey = 'fake-key-for-the-protocol-fake'
// The scripted models are priced (so each run has a cost and no warning says it has none).
const prices = { 'research-*': { inputPerMTokUsd: 0.15, outputPerMTokUsd: 0.6 } }
const openai = new OpenAIRunner({ activity, apiKey, baseURL: fake.openaiBaseURL, maxRetries: 0, prices })
const claude = new ClaudeRunner({ activity, apiKey, baseURL: fake.anthropicBaseURL, prices })
let plays = 0

/** The researcher's agent for one topic: a scripted model that answers in one line. */
function researcher(topic: string): ClaudeAgent & OpenAIAgent {
  const { model } = fake.play(
    scenario()
      .text(`${topic}: three new findings this week.`)
      .slow(20)
      .usage({ inputTokens: 120, outputTokens: 12 }),
    // One model name per scenario: that is how the fake routes each call to its script.
    { model: `research-${topic}-${++plays}` },
  )
  return {
    name: 'researcher',
    model,
    maxTokens: 256,
    instructions: 'Summarise the week on one topic in one line.',
  }
}

const pool = createPool({ activity, concurrency: 4 })
const digest = pool.task(
  'digest',
  { input: z.object({ team: z.string(), topics: z.array(z.string()).min(1) }), retries: 1 },
  pipeline<{ team: string; topics: string[] }>()
    .step('collect', ({ team, topics }) => ({ team, topics: [...new Set(topics)] }))
    .step('research', async ({ team, topics }) => {
      const children = childRuns()
      topics.forEach((topic, index) => {
        const question = `What happened in ${topic} this week?`
        if (index % 2 === 0) children.run(openai, researcher(topic), question)
        else children.run(claude, researcher(topic), question)
      })
      const results = (await children.all()) as RunResult<string>[]
      return { team, notes: results.map((result) => result.text ?? '') }
    })
    .step(
      'write',
      ({ team, notes }) => `Digest for ${team}:\n${notes.map((note) => `  - ${note}`).join('\n')}`,
    ),
)

// Fires at every even second; declaring it again at the next start replaces it (one schedule).
await digest.schedule('team-digest', {
  every: 2000,
  input: { team: 'research', topics: ['otters', 'beavers', 'herons'] },
  missed: 'skip',
})
console.log(
  `Schedule "team-digest": every 2 s, ${firings} firings; each a pipeline of 3 steps with 3 child runs.`,
)

// Wait for the firings to end, then stop the schedule and the pool.
const seen: string[] = []
while (seen.length < firings) {
  const { items } = await store.list({ metadata: { schedule: 'team-digest' }, status: ['complete', 'error'] })
  for (const item of items.sort((a, b) => a.createdAt.localeCompare(b.createdAt)))
    if (!seen.includes(item.agentId) && seen.length < firings) seen.push(item.agentId)
  await new Promise((resolve) => setTimeout(resolve, 100))
}
await pool.removeSchedule('team-digest')
await pool.close({ timeoutMs: 5_000 })
await fake.close()

for (const agentId of seen) {
  const detail = await activity.detail(agentId)
  const result = await store.getRun(agentId)
  console.log(`\nFiring ${agentId} (scheduled for ${String(detail.metadata.scheduledFor)}):`)
  console.log(
    `  progress: ${detail.log
      .filter((entry) => entry.message.startsWith('Step') || entry.message.startsWith('Children'))
      .map((entry) => entry.message)
      .join(' → ')}`,
  )
  console.log(String(result?.result?.value ?? '').replace(/^/gm, '  '))
  const tree = await activityTree(store, agentId)
  if (tree) console.log(formatActivityTree(tree).replace(/^/gm, '  '))
  if (detail.status !== 'complete') process.exitCode = 1
}
