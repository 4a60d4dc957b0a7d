import type { FakeServer } from './fake-server.ts'
import type { CaseSettings, Row } from './results.ts'

/** What every case gets from the entry point. */
export interface CaseContext {
  /** `--quick`: fewer runs and repetitions (the CI smoke run). */
  quick: boolean
  /** The shared protocol fake (started on first use, in a child process). */
  fake(): Promise<FakeServer>
  /** A progress line on stderr. */
  log(message: string): void
}

/** A case's figures, or why it did not run. */
export type CaseOutcome =
  | { rows: Row[]; settings: CaseSettings; notes?: string[] }
  | { skipped: string; settings?: CaseSettings; notes?: string[] }

export interface BenchCase {
  /** `1-openai`, `3-core`...: `--only` takes ids or their prefix (`--only 1`). */
  id: string
  /** The case number. */
  group: number
  title: string
  run(context: CaseContext): Promise<CaseOutcome>
}

/** Picks the size for the mode. */
export const size = <T>(context: CaseContext, quick: T, full: T): T => (context.quick ? quick : full)
