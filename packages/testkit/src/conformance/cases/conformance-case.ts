import type { ActivityTracker, LifecycleMessages, RunHooks } from '@runner/core'
import type { ConformanceFeatures, RunnerHarness } from '../types.js'

/** A harness and the tracker its runner was built with. */
export interface OpenedHarness {
  harness: RunnerHarness
  activity: ActivityTracker
}

/** What every case gets: a way to make a harness on a fresh tracker, and the declared features. */
export interface CaseContext {
  features: ConformanceFeatures
  /** A fresh harness; `hooks` become runner-level hooks. Closed by the suite after the case. */
  harness(options?: { hooks?: RunHooks; messages?: Partial<LifecycleMessages> }): Promise<OpenedHarness>
  /**
   * A second harness over the store of `first` (the harness's `reopen`, given a new tracker over
   * that store): a new runner instance, as another process would build it. Skips the case, saying
   * why, when the harness has no `reopen`. Closed by the suite after the case.
   */
  reopen(first: OpenedHarness): Promise<OpenedHarness>
  /** Ends the case as skipped, with the reason shown in the test report. */
  skip(reason: string): never
  /** Limit for one run to settle, in ms. */
  settleMs: number
}

/** One behaviour of the contract, checked against any runner. */
export interface ConformanceCase {
  /** Stable id (`lifecycle.success`), used by the test kit's own tests. */
  id: string
  /** Group shown as a `describe` block. */
  group: string
  title: string
  /**
   * Runs only when this feature is declared; `missing:<feature>` runs only when it is declared
   * missing. A feature left to the runner (`durable`) registers both, and each case skips itself
   * when the runner's capabilities say it does not apply.
   */
  when?: keyof ConformanceFeatures | `missing:${keyof ConformanceFeatures}`
  run(context: CaseContext): Promise<void>
}

/** How a case ended when it did not fail. */
export type CaseOutcome = { status: 'passed' } | { status: 'skipped'; reason: string }
