/**
 * Quickstart: a pool of research agents backed by a SQLite file, with live progress bars from the
 * store's `watch`. The agents run on `OpenAIRunner` (`@runner/openai`):
 * - by default on the built-in scripted model: the test kit's protocol fake, a loopback server
 *   inside this process that speaks the OpenAI API and plays one scripted scenario per topic (no
 *   API key, no network);
 * - on the real OpenAI API when OPENAI_API_KEY is set (OPENAI_MODEL, default gpt-5.4-mini;
 *   OPENAI_BASE_URL for an OpenAI-compatible server).
 *
 *   pnpm demo                           # from the repository root
 *   QUICKSTART_DB=./runs.db pnpm demo   # keep the database file
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ActivitySummary, createActivityTracker, createPool, defineTool } from '@runner/core'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { type OpenAIAgent, OpenAIRunner } from '@runner/openai'
import { scenario, startProtocolFake } from '@runner/testkit'
import { z } from 'zod'

const scratch = process.env.QUICKSTART_DB ? undefined : mkdtempSync(join(tmpdir(), 'runner-quickstart-'))
const databasePath = process.env.QUICKSTART_DB ?? join(scratch!, 'activities.db')
const store = new SqliteActivityStore({ path: databasePath })
const activity = createActivityTracker({ store })
const topics = ['sea otters', 'the Voyager probes', 'sourdough starters', 'the Rosetta Stone']

// 1. An agent: instructions and three tools. report_status is added by the runner.
const agent: Omit<OpenAIAgent, 'model'> = {
  name: 'research',
  instructions:
    'You are a careful research assistant. Search, read the best source and note the key facts, ' +
    'then answer in two sentences.',
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

// 2. The model: the real API, or the scripted protocol fake with one scenario per topic (the
// model name routes each request to its topic's scenario, so concurrent runs never mix).
const live = Boolean(process.env.OPENAI_API_KEY)
const fake = live ? undefined : await startProtocolFake()
const runner = new OpenAIRunner({
  activity,
  maxTurns: 12,
  ...(fake ? { apiKey: 'scripted', baseURL: fake.openaiBaseURL, maxRetries: 0 } : {}),
})
const modelFor = new Map(
  topics.map((topic, index) => [
    topic,
    fake ? fake.play(researchScenario(topic), { model: `scripted-research-${index + 1}` }).model : undefined,
  ]),
)

// 3. A pool with one task: its input is validated at enqueue, its activity is the run's.
const pool = createPool({ activity, concurrency: 2 })
pool.task(
  'research',
  { input: z.object({ topic: z.string().min(1) }), timeoutMs: 60_000 },
  async ({ agentId, input, signal }) => {
    const model = modelFor.get(input.topic) ?? process.env.OPENAI_MODEL ?? 'gpt-5.4-mini'
    const result = await runner.run({ ...agent, model }, input.topic, { agentId, signal })
    return { text: result.text, turns: result.turns, tokens: result.usage.totalTokens }
  },
)

const agentIds: string[] = []
for (const topic of topics) {
  const { agentId } = await pool.enqueue('research', { topic }, { metadata: { topic } })
  agentIds.push(agentId)
}

// 4. Live progress from the store: push, no polling.
const watching = new AbortController()
const rows = new Map<string, ActivitySummary>()
for (const agentId of agentIds) rows.set(agentId, await activity.detail(agentId))
const tty = process.stdout.isTTY === true
let drawn = 0
const draw = (changed?: ActivitySummary) => {
  if (!tty) {
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
await fake?.close()

// 5. The answers, and the whole log of one run.
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

/**
 * What the scripted model does for one topic, one model call per step: report progress, search,
 * report, read, report, take a note, answer. Each call "thinks" for a while
 * (QUICKSTART_THINK_MS, default 120, plus up to as much again) so the bars have something to show.
 */
function researchScenario(topic: string) {
  const thinkMs = Number(process.env.QUICKSTART_THINK_MS ?? 120)
  const think = () => thinkMs + Math.round(Math.random() * thinkMs)
  const plan = [
    { report: 'Searching for sources', tool: 'search', input: { query: topic } },
    {
      report: 'Reading the best source',
      tool: 'read',
      input: { url: `https://example.org/${encodeURIComponent(topic)}` },
    },
    { report: 'Writing notes', tool: 'note', input: { text: `Key facts about ${topic}` } },
  ]
  const script = scenario()
  let call = 0
  const usage = () => ({ inputTokens: 200 + 80 * call++, outputTokens: 30 })
  plan.forEach((step, index) => {
    script
      .toolCall('report_status', { message: `${step.report} on ${topic}`, percentage: 10 + index * 30 })
      .slow(think())
      .usage(usage())
      .toolCall(step.tool, step.input)
      .slow(think())
      .usage(usage())
  })
  return script
    .text(`${topic}: a short summary built from 1 search and ${plan.length} steps of research.`)
    .slow(think())
    .usage({ ...usage(), outputTokens: 120 })
}

function line(row: ActivitySummary): string {
  const width = 24
  const filled = Math.round((row.percentage / 100) * width)
  const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`
  const topic = String(row.metadata.topic ?? row.agentId).padEnd(20)
  return `${topic} ${bar} ${String(row.percentage).padStart(3)}%  ${row.status.padEnd(8)} ${row.message}`
}
