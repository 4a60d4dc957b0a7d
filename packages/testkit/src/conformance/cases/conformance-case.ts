import type { ActivityTracker, LifecycleMessages, RunHooks } from '@runner/core'
import type { ConformanceFeatures, RunnerHarness } from '../types.js'

/** What every case gets: a way to make a harness on a fresh tracker, and the declared features. */
export interface CaseContext {
  features: ConformanceFeatures
  /** A fresh harness; `hooks` become runner-level hooks. Closed by the suite after the case. */
  harness(options?: { hooks?: RunHooks; messages?: Partial<LifecycleMessages> }): Promise<{
    harness: RunnerHarness
    activity: ActivityTracker
  }>
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
  /** Runs only when this feature is declared; `missing:<feature>` runs only when it is declared missing. */
  when?: keyof ConformanceFeatures | `missing:${keyof ConformanceFeatures}`
  run(context: CaseContext): Promise<void>
}
