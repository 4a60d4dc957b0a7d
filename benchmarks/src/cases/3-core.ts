/**
 * Case 3, `@runner/core` alone: what `BaseAgentRunner` costs around an `execute` that does nothing
 * (per-run overhead in microseconds, memory and SQLite stores), and how many events per second go
 * through a `RunStream` to a reader.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  BaseAgentRunner,
  createActivityTracker,
  createPool,
  type ExecuteResult,
  MemoryActivityStore,
  type RunContext,
} from '@runner/core'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { z } from 'zod'
import { type BenchCase, size } from '../lib/case.ts'
import { compareRow, type Row, targets, valueRow } from '../lib/results.ts'
import { type Contender, interleavedRounds, type Samples, sequential, series } from '../lib/rounds.ts'
import { differences } from '../lib/stats.ts'

/** A runner whose framework does nothing: what is left is the lifecycle. */
class NoopRunner extends BaseAgentRunner<null, string, null> {
  protected override async execute(): Promise<ExecuteResult<null>> {
    return { output: null, text: '' }
  }
}

/** A runner whose framework streams `events` text deltas at once. */
class DeltaRunner extends BaseAgentRunner<number, string, null> {
  protected override async execute(context: RunContext, events: number): Promise<ExecuteResult<null>> {
    await context.startTurn()
    for (let index = 0; index < events; index++) context.emit({ type: 'text-delta', text: 'x' })
    return { output: null, text: '' }
  }
}

/** The same no-op with no lifecycle: an async call. */
async function bareNoop(_agent: null, _input: string): Promise<{ output: null; text: string }> {
  return { output: null, text: '' }
}

async function* bareEvents(events: number): AsyncGenerator<{ type: 'text-delta'; text: string }> {
  for (let index = 0; index < events; index++) yield { type: 'text-delta', text: 'x' }
}

/** A runner on a store of its own: each batch starts from an empty memory store, whatever the mode's sizes. */
const freshRunner = (options: { recordTrajectory?: boolean } = {}) =>
  new NoopRunner({ activity: new MemoryActivityStore(), ...options })

/** A local pool whose task runs the no-op runner on the task's activity. */
function freshPool() {
  const tracker = createActivityTracker()
  const runner = new NoopRunner({ activity: tracker })
  const pool = createPool({ activity: tracker, concurrency: 1 })
  pool.task('noop', { input: z.object({ topic: z.string() }) }, async ({ agentId, input }) => {
    await runner.run(null, input.topic, { agentId })
    return null
  })
  return pool
}

/** The bare no-op call and the runner around a no-op `execute` on the memory store. */
export function noopContenders(): Contender[] {
  return [
    { name: 'bare', prepare: (count) => sequential(count, () => bareNoop(null, 'input')) },
    {
      name: 'memory',
      prepare: (count) => {
        const runner = freshRunner()
        return sequential(count, () => runner.run(null, 'input'))
      },
    },
    {
      name: 'memory-no-trajectory',
      prepare: (count) => {
        const runner = freshRunner({ recordTrajectory: false })
        return sequential(count, () => runner.run(null, 'input'))
      },
    },
    {
      name: 'memory-streamed',
      prepare: (count) => {
        const runner = freshRunner()
        return sequential(count, async () => {
          const stream = runner.runStreamed(null, 'input')
          for await (const _event of stream) {
            // drain
          }
          await stream.result
        })
      },
    },
    {
      name: 'pool-local',
      prepare: (count) => {
        const pool = freshPool()
        const batch = sequential(count, async () => {
          const { agentId } = await pool.enqueue('noop', { topic: 'input' })
          await pool.result(agentId)
        })
        return async () => {
          const metrics = await batch()
          await pool.close({ timeoutMs: 1000 })
          return metrics
        }
      },
    },
  ]
}

/** The bare no-op call and the runner on the SQLite store, measured in rounds of their own. */
export function sqliteContenders(sqlite: SqliteActivityStore): Contender[] {
  const onSqlite = new NoopRunner({ activity: sqlite })
  return [
    { name: 'bare', prepare: (count) => sequential(count, () => bareNoop(null, 'input')) },
    { name: 'sqlite', prepare: (count) => sequential(count, () => onSqlite.run(null, 'input')) },
  ]
}

/**
 * CPU time per run, in µs, of the main thread (`threadCpuMs`: the run's own work, what adds to its
 * latency) or of the whole process (`cpuMs`: garbage collection and JIT threads too). No I/O here,
 * so CPU time leaves out only what other processes of a busy machine take.
 */
function microseconds(
  samples: Samples,
  name: string,
  metric: 'threadCpuMs' | 'cpuMs' = 'threadCpuMs',
): number[] {
  return series(samples, name, metric).map((ms) => ms * 1000)
}

/** Drains `events` text deltas; resolves events per CPU-second of this process. */
async function eventsPerSecond(
  events: number,
  source: () => AsyncIterable<{ type: string }>,
): Promise<number> {
  const cpu = process.cpuUsage()
  let seen = 0
  for await (const event of source()) if (event.type === 'text-delta') seen++
  const used = process.cpuUsage(cpu)
  if (seen !== events) throw new Error(`got ${seen} text deltas, expected ${events}`)
  return events / ((used.user + used.system) / 1e6)
}

export const coreCase: BenchCase = {
  id: '3-core',
  group: 3,
  title: 'Core alone: BaseAgentRunner around a no-op execute, RunStream throughput',
  async run(context) {
    const scratch = mkdtempSync(join(tmpdir(), 'runner-bench-core-'))
    const sqlite = new SqliteActivityStore({ path: join(scratch, 'runs.db') })
    try {
      const settings = {
        runs: size(context, 1000, 3000),
        sqliteRuns: size(context, 100, 300),
        rounds: size(context, 5, 12),
        warmupRuns: size(context, 500, 2000),
        streamEvents: size(context, 10_000, 100_000),
      }
      // Memory first, in rounds of its own: the SQLite store's code must not make the runner's
      // call sites polymorphic before the memory figures are taken.
      const perRun = await interleavedRounds(noopContenders(), settings)
      const bare = microseconds(perRun, 'bare')
      const overhead = (name: string) => differences(microseconds(perRun, name), bare)
      const processOverhead = (name: string) =>
        differences(microseconds(perRun, name, 'cpuMs'), microseconds(perRun, 'bare', 'cpuMs'))
      const onSqlite = await interleavedRounds(sqliteContenders(sqlite), {
        rounds: settings.rounds,
        runs: settings.sqliteRuns,
        warmupRuns: Math.min(settings.sqliteRuns, 200),
      })
      // SQLite writes a file: wall time, so that the time spent in the file system counts.
      const wallMicroseconds = (name: string) => series(onSqlite, name).map((ms) => ms * 1000)
      const sqliteOverhead = differences(wallMicroseconds('sqlite'), wallMicroseconds('bare'))
      const rows: Row[] = [
        valueRow({
          measure: 'per-run overhead, memory store',
          unit: 'µs/run',
          values: overhead('memory'),
          target: targets.corePerRun,
          note: 'main-thread CPU time of runner.run(no-op) minus an async no-op call, same rounds',
        }),
        valueRow({
          measure: 'per-run overhead, memory store, process CPU',
          unit: 'µs/run',
          values: processOverhead('memory'),
          note: 'the same, with the garbage collection and JIT work of background threads',
        }),
        valueRow({
          measure: 'per-run overhead, memory store, recordTrajectory off',
          unit: 'µs/run',
          values: overhead('memory-no-trajectory'),
        }),
        valueRow({
          measure: 'per-run overhead, memory store, runStreamed drained',
          unit: 'µs/run',
          values: overhead('memory-streamed'),
        }),
        valueRow({
          measure: 'per-task overhead, pool.enqueue + pool.result (local engine) around runner.run',
          unit: 'µs/task',
          values: overhead('pool-local'),
          note: 'the task runs the no-op runner on its activity',
        }),
        valueRow({
          measure: 'per-run overhead, SQLite file store (WAL), wall time',
          unit: 'µs/run',
          values: sqliteOverhead,
        }),
      ]

      const events = settings.streamEvents
      const deltaRunner = new DeltaRunner({ recordTrajectory: false })
      const throughput: Contender[] = [
        {
          name: 'bare',
          prepare: () => async () => ({ perSecond: await eventsPerSecond(events, () => bareEvents(events)) }),
        },
        {
          name: 'runner',
          prepare: () => async () => {
            const stream = deltaRunner.runStreamed(events, 'input')
            const perSecond = await eventsPerSecond(events, () => stream)
            await stream.result
            return { perSecond }
          },
        },
      ]
      const eventRounds = await interleavedRounds(throughput, {
        rounds: settings.rounds,
        runs: 1,
        warmupRuns: 1,
      })
      rows.push(
        compareRow({
          measure: 'RunStream: text deltas per CPU-second to a for-await reader',
          unit: 'events/s',
          subject: series(eventRounds, 'runner', 'perSecond'),
          reference: series(eventRounds, 'bare', 'perSecond'),
          referenceName: 'a bare async generator',
          target: targets.runStreamThroughput,
          note: `${events.toLocaleString('en-US')} events per stream; ratio < 1 is slower than bare`,
        }),
      )
      return {
        settings,
        rows,
        notes: [
          `Bare no-op call: ${(bare.reduce((sum, value) => sum + value, 0) / bare.length).toFixed(2)} µs/run. The overhead is the lifecycle: options, activity create/running/complete in the store, events, hooks, usage and trajectory.`,
          'Memory-store figures are CPU time, not wall time: nothing there waits on I/O, and CPU time leaves out what other processes of a busy machine take. Main-thread CPU (`process.threadCpuUsage`) unless the row says process CPU (`process.cpuUsage`, background GC and JIT threads included); RunStream throughput is per process CPU-second. The SQLite row is wall time (it writes a file).',
        ],
      }
    } finally {
      await sqlite.close()
      rmSync(scratch, { recursive: true, force: true })
    }
  },
}
