/**
 * Quickstart: a pool of research agents backed by a SQLite file, run by a small runner over a
 * scripted in-process model (no API key). Live progress bars come from the store's `watch`.
 *
 *   pnpm demo                       # from the repository root
 *   QUICKSTART_DB=./runs.db pnpm demo   # keep the database file
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ActivitySummary, createActivityTracker, createPool, defineTool } from '@runner/core'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { z } from 'zod'
import { type ResearchAgent, ResearchRunner } from './research-runner.ts'

const scratch = process.env.QUICKSTART_DB ? undefined : mkdtempSync(join(tmpdir(), 'runner-quickstart-'))
const databasePath = process.env.QUICKSTART_DB ?? join(scratch!, 'activities.db')
const store = new SqliteActivityStore({ path: databasePath })
const activity = createActivityTracker({ store })

// 1. An agent: instructions and two tools. report_status is added by the runner.
const agent: ResearchAgent = {
  instructions: 'You are a careful research assistant. Use the tools, then answer in two sentences.',
  tools: [
    defineTool({
      name: 'search',
      description: 'Searches the web and returns the best links.',
      inputSchema: z.object({ query: z.string().min(1) }),
      execute: async ({ query }) => [`https://example.org/${encodeURIComponent(query)}`],
    }),
    defineTool({
      name: 'read',
      description: 'Reads a web page.',
      inputSchema: z.object({ url: z.url() }),
      execute: async ({ url }) => `The page at ${url} says interesting things.`,
    }),
    defineTool({
      name: 'note',
      description: 'Keeps a note for the final answer.',
      inputSchema: z.object({ text: z.string() }),
      execute: async ({ text }) => `Noted: ${text}`,
    }),
  ],
}
const runner = new ResearchRunner({ activity, maxTurns: 12 })

// 2. A pool with one task: its input is validated at enqueue, its activity is the run's.
const pool = createPool({ activity, concurrency: 2 })
pool.task(
  'research',
  { input: z.object({ topic: z.string().min(1) }), timeoutMs: 30_000 },
  async ({ agentId, input, signal }) => {
    const result = await runner.run(agent, input.topic, { agentId, signal })
    return { text: result.text, turns: result.turns, tokens: result.usage.totalTokens }
  },
)

const topics = ['sea otters', 'the Voyager probes', 'sourdough starters', 'the Rosetta Stone']
const agentIds: string[] = []
for (const topic of topics) {
  const { agentId } = await pool.enqueue('research', { topic }, { metadata: { topic } })
  agentIds.push(agentId)
}

// 3. Live progress from the store: push, no polling.
const watching = new AbortController()
const rows = new Map<string, ActivitySummary>()
for (const agentId of agentIds) rows.set(agentId, await activity.detail(agentId))
const live = process.stdout.isTTY === true
let drawn = 0
const draw = (changed?: ActivitySummary) => {
  if (!live) {
    if (changed) console.log(line(changed))
    return
  }
  if (drawn) process.stdout.write(`\x1b[${drawn}A`)
  for (const row of rows.values()) process.stdout.write(`\x1b[2K${line(row)}\n`)
  drawn = rows.size
}
draw()
const watcher = (async () => {
  for await (const event of activity.watch({}, watching.signal)) {
    if (!rows.has(event.agentId)) continue
    rows.set(event.agentId, event.activity)
    draw(event.activity)
  }
})()

const results = await Promise.allSettled(agentIds.map((agentId) => pool.result(agentId)))
watching.abort()
await watcher
await pool.close({ timeoutMs: 5_000 })

// 4. The answers, and the whole log of one run.
console.log('')
results.forEach((result, index) => {
  const topic = topics[index]
  if (result.status === 'fulfilled') {
    const value = result.value as { text: string; turns: number; tokens: number }
    console.log(`✔ ${topic}: ${value.text} (${value.turns} turns, ${value.tokens} tokens)`)
  } else {
    console.log(`✘ ${topic}: ${String(result.reason)}`)
  }
})
const first = await activity.detail(agentIds[0]!)
console.log(`\nActivity log of ${first.agentId} (${first.metadata.topic}):`)
for (const entry of first.log) {
  const percentage = entry.percentage === null ? '' : ` (${entry.percentage}%)`
  console.log(`  ${entry.at}  ${entry.status.padEnd(8)} ${entry.message}${percentage}`)
}
const page = await activity.list()
console.log(`\n${page.total} activities in ${databasePath}, ${await activity.countActive()} still active.`)

await store.close()
if (scratch) rmSync(scratch, { recursive: true, force: true })
const failed = results.filter((result) => result.status === 'rejected').length
process.exitCode = failed === 0 ? 0 : 1

function line(row: ActivitySummary): string {
  const width = 24
  const filled = Math.round((row.percentage / 100) * width)
  const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`
  const topic = String(row.metadata.topic ?? row.agentId).padEnd(20)
  return `${topic} ${bar} ${String(row.percentage).padStart(3)}%  ${row.status.padEnd(8)} ${row.message}`
}
