/**
 * Case 5, scale: 10,000 runs started at once in one process, each one model call of 20 ms on an
 * in-process fake model. Wall time against the 20 ms ideal, and memory per 1,000 runs. Each round
 * runs in a fresh child process (`--expose-gc`), so that RSS growth belongs to the runs measured.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { type BenchCase, size } from '../lib/case.ts'
import { compareRow, targets, valueRow } from '../lib/results.ts'
import type { ScaleFigures } from './5-scale-child.ts'

const run = promisify(execFile)
const childPath = fileURLToPath(new URL('./5-scale-child.ts', import.meta.url))
const LATENCY_MS = 20

export const scaleCase: BenchCase = {
  id: '5-scale',
  group: 5,
  title: 'Scale: concurrent runs against a 20 ms fake model',
  async run(context) {
    const settings = {
      concurrentRuns: size(context, 2000, 10_000),
      rounds: size(context, 3, 5),
      latencyMs: LATENCY_MS,
    }
    const rounds: ScaleFigures[] = []
    for (let round = 0; round < settings.rounds; round++) {
      const { stdout } = await run(
        process.execPath,
        ['--expose-gc', childPath, String(settings.concurrentRuns), String(LATENCY_MS)],
        {
          maxBuffer: 1024 * 1024,
        },
      )
      rounds.push(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as ScaleFigures)
    }
    const ideal = rounds.map(() => LATENCY_MS)
    const perThousand = (megabytes: number) => (megabytes * 1000) / settings.concurrentRuns
    const count = settings.concurrentRuns.toLocaleString('en-US')
    return {
      settings,
      rows: [
        compareRow({
          measure: `runner vs bare Node: ${count} concurrent runs vs the same ${count} bare ${LATENCY_MS} ms calls`,
          unit: 'ms',
          subject: rounds.map((figures) => figures.runnerWallMs),
          reference: rounds.map((figures) => figures.bareWallMs),
          referenceName: 'bare',
          target: targets.scaleVsBare,
          note: 'wall time, same process, bare first',
        }),
        compareRow({
          measure: `runner: ${count} concurrent runs, wall time vs the ${LATENCY_MS} ms ideal`,
          unit: 'ms',
          subject: rounds.map((figures) => figures.runnerWallMs),
          reference: ideal,
          referenceName: 'ideal',
          note: 'information: the ideal is below what Node itself reaches (next row)',
        }),
        compareRow({
          measure: `bare: ${count} concurrent ${LATENCY_MS} ms calls, wall time vs the ideal`,
          unit: 'ms',
          subject: rounds.map((figures) => figures.bareWallMs),
          reference: ideal,
          referenceName: 'ideal',
          note: 'what Node itself needs: the floor',
        }),
        valueRow({
          measure: 'peak RSS growth per 1,000 runs',
          unit: 'MB',
          values: rounds.map((figures) => perThousand(figures.peakRssGrowthMb)),
          target: targets.scaleMemory,
        }),
        valueRow({
          measure: 'peak heap growth per 1,000 runs',
          unit: 'MB',
          values: rounds.map((figures) => perThousand(figures.peakHeapGrowthMb)),
        }),
        valueRow({
          measure: 'heap kept after the runs and a full GC, per 1,000 runs',
          unit: 'MB',
          values: rounds.map((figures) => perThousand(figures.retainedHeapMb)),
          note: 'the default memory store keeps every activity and trajectory',
        }),
      ],
      notes: [
        'Each run: activity created, running, one model call (a 20 ms timer, hooks, usage, trajectory), complete; default memory store, recordTrajectory on. All runs start in the same tick.',
        'RSS and heap are sampled every 2 ms during the runs, after a full GC before them; one fresh child process per round. V8 keeps the pages of a peak, so RSS does not fall back after the runs: what stays allocated is the heap row.',
        'The ideal assumes a runner and a Node that cost nothing: the bare row is the floor Node itself reaches with the same number of timers and promises.',
      ],
    }
  },
}
