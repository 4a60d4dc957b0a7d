/**
 * Child process of the durable local engine tests: a pool on the SQLite file `argv[2]` (local
 * engine, durable queue, short leases) whose task runs a durable `ScriptedRunner` agent of three
 * tool turns, two side-effecting tool calls each. Every execution of a tool is recorded in the
 * table `executions` of the same file (key = the tool's idempotency key, the process id) before
 * the tool returns. `argv[3]`: `enqueue:<n>` enqueues n tasks first; `work` only works. Exits 0
 * once no task of the file is unfinished. Prints `enqueued` after enqueueing.
 *
 * Node runs this file with type stripping; it loads the package as built (`dist/`, which the
 * test command builds first), as an application would.
 */

const { DatabaseSync } = await import('node:sqlite')
const { z } = await import('zod')
const { SqliteActivityStore } = await import('../../../dist/sqlite/sqlite-store.js')
const { createActivityTracker } = await import('../../../dist/activity/tracker.js')
const { createPool } = await import('../../../dist/pool/create-pool.js')
const { localEngine } = await import('../../../dist/pool/local-engine.js')
const { ScriptedRunner } = await import('../../../dist/test/scripted-runner.js')
const { defineTool } = await import('../../../dist/tools/define-tool.js')
const { abortableSleep } = await import('../../../dist/util/abort.js')

const [path, mode = 'work'] = process.argv.slice(2)
if (!path) throw new Error('usage: durable-pool-process.ts <database file> enqueue:<n> | work')

const store = new SqliteActivityStore({ path })
const activity = createActivityTracker({ store })
const record = new DatabaseSync(path, { timeout: 5000 })
record.exec(
  'CREATE TABLE IF NOT EXISTS executions (key TEXT NOT NULL, pid INTEGER NOT NULL, at REAL NOT NULL)',
)
const insert = record.prepare('INSERT INTO executions (key, pid, at) VALUES (?, ?, ?)')

const TURNS = 3
const step = defineTool({
  name: 'step',
  description: 'A side effect',
  inputSchema: z.object({ name: z.string() }),
  execute: async ({ name }, { idempotencyKey, signal }) => {
    await abortableSleep(5 + Math.floor(Math.random() * 20), signal)
    insert.run(idempotencyKey, process.pid, Date.now())
    return `${name} done`
  },
})

/** Answers from the conversation, not from a position in a script: a resumed run gets the same answers. */
const model = {
  async next(signal: AbortSignal, request: { messages: string[] }) {
    await abortableSleep(5 + Math.floor(Math.random() * 20), signal)
    const turn = request.messages.filter((message) => message.startsWith('step:')).length / 2 + 1
    if (turn > TURNS)
      return { text: `done: ${request.messages[0]}`, usage: { inputTokens: 3, outputTokens: 1 } }
    return {
      toolCalls: [
        { name: 'step', input: { name: `t${turn}a` }, id: `t${turn}a` },
        { name: 'step', input: { name: `t${turn}b` }, id: `t${turn}b` },
      ],
      usage: { inputTokens: 2, outputTokens: 1 },
    }
  },
}

const runner = new ScriptedRunner({ activity })
const pool = createPool({ activity, engine: localEngine({ leaseMs: 400, pollMs: 50 }), concurrency: 3 })
pool.task('agent', { input: z.string() }, async ({ agentId, input, signal }) => {
  const result = await runner.run({ model, tools: [step] }, input, { agentId, signal })
  return result.text ?? null
})

if (mode.startsWith('enqueue:')) {
  const count = Number(mode.slice('enqueue:'.length))
  for (let index = 0; index < count; index++)
    await pool.enqueue('agent', `task ${index}`, { agentId: `task-${index}` })
  process.stdout.write('enqueued\n')
}

// Work until nothing of the file is unfinished (queued, running, waiting).
for (;;) {
  if ((await activity.countActive()) === 0) break
  await new Promise((resolve) => setTimeout(resolve, 50))
}
await pool.close({ timeoutMs: 1000 })
record.close()
await store.close()
process.stdout.write('finished\n')
