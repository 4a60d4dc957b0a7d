import { AsyncLocalStorage } from 'node:async_hooks'
import type { RunContext } from '../runner/types.js'
import type { Execution } from './execution.js'
import type { SharedBudgetUse } from './shared-budget.js'

/** What code inside a run or a pool task can reach. */
export interface CurrentWork {
  /** The execution that owns the activity (a run's own, or the pool task's that a run joined). */
  execution: Execution
  /** The attempt context of the innermost run, when inside one. */
  run?: RunContext
  /** The signal of the current attempt: a run joining the execution stops with it. */
  signal?: AbortSignal
  /** The pool task's shared budget (its task option `budget`): a run joining the execution spends under it. */
  budget?: SharedBudgetUse
}

const storage = new AsyncLocalStorage<CurrentWork>()

/** Runs `work(...args)` with `current` as what `currentRun()` and a joining runner see. */
export function withCurrent<T, TArgs extends unknown[]>(
  current: CurrentWork,
  work: (...args: TArgs) => T,
  ...args: TArgs
): T {
  return storage.run(current, work, ...args)
}

/** The execution and run the calling code belongs to, if any. */
export function currentWork(): CurrentWork | undefined {
  return storage.getStore()
}

/**
 * The context of the run the calling code belongs to, or `undefined` outside a run. Any tool of
 * any framework can report progress with `currentRun()?.report(message, percentage)`.
 */
export function currentRun(): RunContext | undefined {
  return storage.getStore()?.run
}
