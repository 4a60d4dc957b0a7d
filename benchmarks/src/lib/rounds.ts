import { settle } from './gc.ts'

/** What one timed batch measured: `ms` per run, and any other figure a case wants (first delta...). */
export type Metrics = Record<string, number>

/** The timed part of a batch. */
export type Batch = () => Promise<Metrics>

/** One side of a comparison: a baseline, the runner, a peer. */
export interface Contender {
  readonly name: string
  /**
   * Prepares a batch of `runs` runs outside the timed part (a fresh scenario on the fake server,
   * a new agent) and returns the timed work. `tag` is unique per batch: use it in model names.
   */
  prepare(runs: number, tag: string): Promise<Batch> | Batch
}

export interface RoundsOptions {
  /** Repetitions: each gives one sample per contender, so one ratio per pair. */
  rounds: number
  /** Runs per batch. */
  runs: number
  /** Runs per contender before the first round (JIT, connection pools, caches). */
  warmupRuns: number
}

/** `samples[contender][metric][round]`. */
export type Samples = Record<string, Record<string, number[]>>

/**
 * Runs every contender once per round, rotating the order from round to round so that no one
 * always goes first (or always follows the same neighbour's garbage). Garbage is collected before
 * each batch when `--expose-gc` is on. Ratios are then taken per round, between batches measured
 * seconds apart in the same process, which cancels most of the drift of a shared machine.
 */
export async function interleavedRounds(
  contenders: readonly Contender[],
  options: RoundsOptions,
): Promise<Samples> {
  const samples: Samples = {}
  for (const contender of contenders) {
    samples[contender.name] = {}
    if (options.warmupRuns > 0) await (await contender.prepare(options.warmupRuns, 'warmup'))()
  }
  for (let round = 0; round < options.rounds; round++) {
    for (let position = 0; position < contenders.length; position++) {
      const contender = contenders[(round + position) % contenders.length]!
      const batch = await contender.prepare(options.runs, `r${round}`)
      settle()
      const metrics = await batch()
      const series = samples[contender.name]!
      for (const [metric, value] of Object.entries(metrics)) {
        series[metric] = [...(series[metric] ?? []), value]
      }
    }
  }
  return samples
}

/**
 * A batch that runs `once` `runs` times one after the other. Means per run: `ms`, wall time;
 * `cpuMs`, CPU time of this process (the client's own work, garbage collection and JIT threads
 * included: the fake server is another process, and other processes on the machine do not count);
 * `threadCpuMs`, CPU time of the main thread only (what adds to a run's latency; the kernel counts
 * it in ticks of about 1 ms, so it needs batches of tens of milliseconds).
 */
export function sequential(runs: number, once: (index: number) => Promise<unknown>): Batch {
  return async () => {
    const cpu = process.cpuUsage()
    const thread = process.threadCpuUsage()
    const start = performance.now()
    for (let index = 0; index < runs; index++) await once(index)
    const wall = performance.now() - start
    const usedThread = process.threadCpuUsage(thread)
    const used = process.cpuUsage(cpu)
    return {
      ms: wall / runs,
      cpuMs: (used.user + used.system) / 1000 / runs,
      threadCpuMs: (usedThread.user + usedThread.system) / 1000 / runs,
    }
  }
}

/** The series of one metric of one contender. */
export function series(samples: Samples, contender: string, metric = 'ms'): number[] {
  const values = samples[contender]?.[metric]
  if (!values) throw new Error(`No "${metric}" samples for "${contender}".`)
  return values
}
