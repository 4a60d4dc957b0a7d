/**
 * What `@runner/core` costs per run, against the same agent loop with no lifecycle at all.
 *
 * The "model" answers instantly (three turns: report_status, a tool call, the answer), so the
 * figures isolate the runner's own work: option validation, activity writes, events, hooks,
 * tool validation, usage and trajectory. Real model calls take 100 ms to many seconds; the
 * overhead per run printed here is what to compare with that.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type AnyToolDefinition,
  BaseAgentRunner,
  createActivityTracker,
  createPool,
  defineTool,
  type ExecuteResult,
  MemoryActivityStore,
  type RunContext,
  runToolCalls,
} from '@runner/core'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { Bench } from 'tinybench'
import { z } from 'zod'

interface Turn {
  text: string
  calls: Array<{ id: string; name: string; input: unknown }>
}

/** An instant three-turn model. */
function model(turn: number): Turn {
  if (turn === 1)
    return {
      text: '',
      calls: [{ id: 'c1', name: 'report_status', input: { message: 'Searching', percentage: 50 } }],
    }
  if (turn === 2) return { text: '', calls: [{ id: 'c2', name: 'search', input: { query: 'otters' } }] }
  return { text: 'Otters hold hands.', calls: [] }
}

const search = defineTool({
  name: 'search',
  description: 'search',
  inputSchema: z.object({ query: z.string() }),
  execute: async ({ query }) => `results for ${query}`,
})

/** The same loop with nothing around it: what a hand-rolled agent does. */
async function bareLoop(): Promise<string> {
  for (let turn = 1; ; turn++) {
    const answer = model(turn)
    if (answer.calls.length === 0) return answer.text
    for (const call of answer.calls) {
      if (call.name === 'search')
        await search.execute(search.inputSchema.parse(call.input), undefined as never)
    }
  }
}

class BenchRunner extends BaseAgentRunner<null, string, Turn> {
  protected override async execute(context: RunContext): Promise<ExecuteResult<Turn>> {
    const tools = [this.tools.reportStatus as AnyToolDefinition, search]
    for (;;) {
      const { turn } = await context.startTurn()
      await context.hooks.modelCallStart({ request: null })
      const answer = model(turn)
      context.addUsage({ inputTokens: 100, outputTokens: 10 })
      const toolCalls = answer.calls.map((call) => ({
        toolCallId: call.id,
        toolName: call.name,
        input: call.input,
      }))
      await context.hooks.modelCallEnd({ response: null, text: answer.text, toolCalls })
      if (toolCalls.length === 0) return { output: answer, text: answer.text }
      await runToolCalls(context, tools, toolCalls)
    }
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'runner-bench-'))
const sqlite = new SqliteActivityStore({ path: join(scratch, 'bench.db') })
const memoryRunner = new BenchRunner({ activity: new MemoryActivityStore() })
const noTrajectoryRunner = new BenchRunner({ activity: new MemoryActivityStore(), recordTrajectory: false })
const sqliteRunner = new BenchRunner({ activity: sqlite })
const pool = createPool({ activity: createActivityTracker(), concurrency: 4 })
pool.task('bench', { input: z.object({ topic: z.string() }) }, async ({ agentId, input }) => {
  const result = await memoryRunner.run(null, input.topic, { agentId })
  return result.text
})

const timeMs = Number(process.env.BENCH_TIME_MS ?? 1500)
const bench = new Bench({ time: timeMs, warmupTime: 300 })
bench
  .add('bare loop (no lifecycle)', bareLoop)
  .add('runner.run, memory store', () => memoryRunner.run(null, 'otters'))
  .add('runner.run, memory store, no trajectory', () => noTrajectoryRunner.run(null, 'otters'))
  .add('runner.runStreamed, drained', async () => {
    const stream = memoryRunner.runStreamed(null, 'otters')
    for await (const _event of stream) {
      // drain
    }
    await stream.result
  })
  .add('runner.run, SQLite file store', () => sqliteRunner.run(null, 'otters'))
  .add('pool.enqueue + pool.result (local engine)', async () => {
    const { agentId } = await pool.enqueue('bench', { topic: 'otters' })
    await pool.result(agentId)
  })

await bench.run()

const bare = bench.tasks[0]?.result
const bareMean = bare && 'latency' in bare ? bare.latency.mean : Number.NaN
console.log(`\n@runner/core overhead (Node ${process.versions.node}; ${timeMs} ms per case)\n`)
console.log(`${'case'.padEnd(46)} ${'ops/s'.padStart(10)} ${'mean µs'.padStart(10)} ${'vs bare'.padStart(9)}`)
for (const task of bench.tasks) {
  const result = task.result
  if (!result || !('latency' in result)) {
    console.log(
      `${task.name.padEnd(46)} failed: ${result && 'error' in result ? String(result.error) : 'no result'}`,
    )
    process.exitCode = 1
    continue
  }
  const mean = result.latency.mean
  console.log(
    `${task.name.padEnd(46)} ${Math.round(result.throughput.mean).toString().padStart(10)} ${(mean * 1000).toFixed(1).padStart(10)} ${`${(mean / bareMean).toFixed(1)}x`.padStart(9)}`,
  )
}
console.log(
  '\nA real model call costs 100 000 µs or more; the runner adds the "mean µs" above per three-turn run.',
)

await pool.close({ timeoutMs: 1000 })
await sqlite.close()
rmSync(scratch, { recursive: true, force: true })
