/**
 * Quickstart: a pool of research agents backed by a SQLite file, with live progress bars from the
 * store's `watch`. The agents run on `OpenAIRunner` (`@runner/openai`):
 * - by default on the built-in scripted model: the test kit's protocol fake, a loopback server
 *   inside this process that speaks the OpenAI API and plays one scripted scenario per topic (no
 *   API key, no network);
 * - on the real OpenAI API when OPENAI_API_KEY is set (OPENAI_MODEL, default gpt-5.4-mini;
 *   OPENAI_BASE_URL for an OpenAI-compatible server).
 *
 * Restartable: the queue and every run's checkpoint are in the SQLite file. Stop it (Ctrl-C, or a
 * kill) and start it again: it finishes the same four tasks, the queued ones from the start, the
 * running ones from their last checkpoint.
 *
 *   pnpm demo                           # from the repository root
 *   QUICKSTART_DB=./runs.db pnpm demo   # another database file, kept at the end
 */

import { randomUUID } from 'node:crypto'
import { mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import {
  type ActivitySummary,
  createActivityTracker,
  createPool,
  defineTool,
  localEngine,
} from '@runner/core'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { type ServedDashboard, serveDashboard } from '@runner/dashboard'
import { type OpenAIAgent, OpenAIRunner } from '@runner/openai'
import { scenario, startProtocolFake } from '@runner/testkit'
import { z } from 'zod'

// The database outlives the process until the four tasks are done: QUICKSTART_DB (kept), or a
// fixed file under the OS temp directory (deleted once all four finished and were printed).
const keepDatabase = Boolean(process.env.QUICKSTART_DB)
const databasePath = process.env.QUICKSTART_DB || join(tmpdir(), 'runner-quickstart', 'activities.db')
mkdirSync(dirname(databasePath), { recursive: true })
const store = new SqliteActivityStore({ path: databasePath })
const activity = createActivityTracker({ store })
const topics = ['sea otters', 'the Voyager probes', 'sourdough starters', 'the Rosetta Stone']
/** How long a running task's claim lasts unless its process renews it: a restart picks up the orphans after it. */
const leaseMs = 2_000

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
  ...(fake
    ? {
        apiKey: 'scripted',
        baseURL: fake.openaiBaseURL,
        maxRetries: 0,
        // The scripted models are priced as gpt-4o-mini, so that the dashboard shows a cost.
        prices: { 'scripted-research-*': { inputPerMTokUsd: 0.15, outputPerMTokUsd: 0.6 } },
      }
    : {}),
})
let plays = 0

// A previous run stopped before its four tasks finished: finish those (read before the pool starts).
const previous = await unfinishedBatch()

// 3. A pool with one task: its input is validated at enqueue, its activity is the run's. Its queue
// is in the SQLite file (localEngine's durable mode), claimed with leases of `leaseMs`.
const concurrency = 2
const pool = createPool({ activity, concurrency, engine: localEngine({ leaseMs, pollMs: 250 }) })
pool.task(
  'research',
  { input: z.object({ topic: z.string().min(1) }), timeoutMs: 60_000 },
  async ({ agentId, input, signal }) => {
    const model = fake
      ? await scriptedModel(agentId, input.topic)
      : (process.env.OPENAI_MODEL ?? 'gpt-5.4-mini')
    // A task whose process stopped mid-run is delivered again: the runner continues it from its checkpoint.
    const result = await runner.run({ ...agent, model }, input.topic, { agentId, signal })
    return { text: result.text, turns: result.turns, tokens: result.usage.totalTokens }
  },
)

// The four tasks: those of a previous run that did not finish, or four new ones.
const batch = previous?.batch ?? randomUUID()
const tasks = new Map((previous?.tasks ?? []).map((task) => [String(task.metadata.topic), task]))
const agentIds: string[] = []
for (const topic of topics) {
  const task = tasks.get(topic)
  if (task) {
    agentIds.push(task.agentId)
    continue
  }
  // (A previous run stopped while enqueueing: its missing topics are enqueued now.)
  const metadata = { example: 'quickstart', batch, topic }
  const { agentId } = await pool.enqueue('research', { topic }, { metadata })
  agentIds.push(agentId)
}
if (previous) {
  const unfinished = previous.tasks.filter((task) => !isFinal(task.status)).length
  console.log(
    `Resuming ${unfinished} unfinished task${unfinished === 1 ? '' : 's'} of a previous run ` +
      `(${previous.tasks.length - unfinished} already finished) from ${databasePath}.\n` +
      'Queued tasks start from the beginning; tasks that were running continue from their last ' +
      `checkpoint once their lease (${leaseMs / 1000} s) has expired and one of the ${concurrency} slots is free.\n`,
  )
} else {
  console.log(
    `Four research tasks, queued in ${databasePath}.\n` +
      'Stop it (Ctrl-C) and start it again: it finishes the same four tasks.\n',
  )
}

// 4. The dashboard over the same store: the runs, live, in the browser (127.0.0.1 only).
const dashboard = await openDashboard()
console.log(`Dashboard: ${dashboard.url}\n`)

// 5. Live progress from the store: push, no polling.
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

// 6. The answers, and the whole log of one run.
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
// The log of the first task; after a restart, of all four (where each one resumed).
for (const agentId of previous ? agentIds : agentIds.slice(0, 1)) {
  const detail = await activity.detail(agentId)
  console.log(`\nActivity log of ${detail.agentId} (${detail.metadata.topic}):`)
  for (const entry of detail.log) {
    const percentage = entry.percentage === null ? '' : ` (${entry.percentage}%)`
    console.log(
      `  ${entry.at}  ${entry.status.padEnd(8)} ${(entry.kind ?? '').padEnd(9)} ${entry.message}${percentage}`,
    )
  }
}
const page = await activity.list()
console.log(`\n${page.total} activities in ${databasePath}, ${await activity.countActive()} still active.`)

// In a terminal, the dashboard stays up to look at the finished runs until Ctrl-C.
if (tty && process.env.QUICKSTART_KEEP_SERVING !== '0') {
  console.log(`\nThe dashboard keeps serving at ${dashboard.url} (Ctrl-C to stop).`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
}
await dashboard.close()

await store.close()
// All four finished and printed: the default database is not needed any more.
if (!keepDatabase)
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${databasePath}${suffix}`, { force: true })
const failed = results.filter((result) => result.status === 'rejected').length
process.exitCode = failed === 0 ? 0 : 1

/** The dashboard on QUICKSTART_PORT (default 4317), or on a free port when that one is taken. */
async function openDashboard(): Promise<ServedDashboard> {
  const port = Number(process.env.QUICKSTART_PORT ?? 4317)
  try {
    return await serveDashboard({ activity, pool, port })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error
    return serveDashboard({ activity, pool, port: 0 })
  }
}

/** The tasks of the latest quickstart run in the database that has some unfinished, if any. */
async function unfinishedBatch(): Promise<{ batch: string; tasks: ActivitySummary[] } | undefined> {
  const active = await store.list({
    status: ['queued', 'running', 'waiting'],
    metadata: { example: 'quickstart' },
    limit: 1,
  })
  const batch = active.items[0]?.metadata.batch
  if (typeof batch !== 'string') return undefined
  const page = await store.list({ metadata: { example: 'quickstart', batch }, limit: topics.length })
  return { batch, tasks: page.items }
}

function isFinal(status: ActivitySummary['status']): boolean {
  return status === 'complete' || status === 'error' || status === 'canceled'
}

/**
 * The scripted model of one task: a model name the fake plays its topic's scenario under. A task
 * resumed from a checkpoint (its process stopped) continues the conversation: the next model call
 * is the one after the checkpoint's turn, so its scenario starts there; a task that never
 * checkpointed starts at the first step.
 */
async function scriptedModel(agentId: string, topic: string): Promise<string> {
  const record = await store.getRun(agentId)
  const from = record?.checkpoint?.turn ?? 0
  return (fake as NonNullable<typeof fake>).play(researchScenario(topic, from), {
    model: `scripted-research-${++plays}`,
  }).model
}

/**
 * What the scripted model does for one topic, one model call per step: report progress, search,
 * report, read, report, take a note, answer; from step `from` on (a resumed run). Each call
 * "thinks" for a while (QUICKSTART_THINK_MS, default 120, plus up to as much again) so the bars
 * have something to show. Usage and tool call ids depend on the step only, so that a resumed run
 * ends with the same answer, turns and tokens as one that was never stopped.
 */
function researchScenario(topic: string, from = 0) {
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
  const steps = plan.flatMap((step, index) => [
    { tool: 'report_status', input: { message: `${step.report} on ${topic}`, percentage: 10 + index * 30 } },
    { tool: step.tool, input: step.input },
  ])
  const usage = (step: number) => ({ inputTokens: 200 + 80 * step, outputTokens: 30 })
  const script = scenario()
  steps.forEach((step, index) => {
    if (index < from) return
    script
      .toolCall(step.tool, step.input, { id: `call_${index}_0` })
      .slow(think())
      .usage(usage(index))
  })
  return script
    .text(`${topic}: a short summary built from 1 search and ${plan.length} steps of research.`)
    .slow(think())
    .usage({ ...usage(steps.length), outputTokens: 120 })
}

function line(row: ActivitySummary): string {
  const width = 24
  const filled = Math.round((row.percentage / 100) * width)
  const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`
  const topic = String(row.metadata.topic ?? row.agentId).padEnd(20)
  return `${topic} ${bar} ${String(row.percentage).padStart(3)}%  ${row.status.padEnd(8)} ${row.message}`
}
