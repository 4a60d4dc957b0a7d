import { compareRow, type Row } from './results.ts'
import type { Batch } from './rounds.ts'
import { type Samples, series } from './rounds.ts'

/** One streamed run: calls `onDelta` for every text delta, resolves when the stream has ended. */
export type StreamOnce = (onDelta: (text: string) => void) => Promise<void>

/**
 * A batch of `runs` streams one after the other: `firstDeltaMs` (call to first text delta) and
 * `totalMs` (call to end), means over the batch. Each stream must deliver `expectedChars` characters.
 */
export function streamBatch(runs: number, expectedChars: number, who: string, once: StreamOnce): Batch {
  return async () => {
    let first = 0
    let total = 0
    for (let index = 0; index < runs; index++) {
      const start = performance.now()
      let firstAt = 0
      let chars = 0
      await once((text) => {
        if (firstAt === 0) firstAt = performance.now()
        chars += text.length
      })
      total += performance.now() - start
      first += firstAt - start
      if (chars !== expectedChars)
        throw new Error(`${who} streamed ${chars} characters, expected ${expectedChars}.`)
    }
    return { firstDeltaMs: first / runs, totalMs: total / runs }
  }
}

/** The two rows of one adapter: time to first delta and total time, runner vs bare. */
export function streamRows(samples: Samples, runner: string, bare: string, deltas: number): Row[] {
  return [
    compareRow({
      measure: `${runner} vs ${bare}: time to first text delta`,
      unit: 'ms',
      subject: series(samples, 'runner', 'firstDeltaMs'),
      reference: series(samples, 'bare', 'firstDeltaMs'),
      referenceName: bare,
    }),
    compareRow({
      measure: `${runner} vs ${bare}: total time, ${deltas.toLocaleString('en-US')} deltas`,
      unit: 'ms',
      subject: series(samples, 'runner', 'totalMs'),
      reference: series(samples, 'bare', 'totalMs'),
      referenceName: bare,
    }),
  ]
}

/** The characters of the long answer: `w0 w1 ... w<n-1>`. */
export function longTextChars(words: number): number {
  let chars = words - 1
  for (let index = 0; index < words; index++) chars += `w${index}`.length
  return chars
}
