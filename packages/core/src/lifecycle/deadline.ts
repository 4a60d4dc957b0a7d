import { RunCanceledError } from '../errors/run-canceled-error.js'
import { RunTimeoutError } from '../errors/run-timeout-error.js'
import { neverAborted } from '../util/abort.js'

/** A signal that aborts at a deadline or when its parents abort, and the way to release its timer. */
export interface Deadline {
  readonly signal: AbortSignal
  /**
   * Aborts it now with `reason`; no effect when the signal is a single parent's own, or
   * `neverAborted` when there is neither a parent nor a timeout (see `deadline`).
   */
  abort(reason: unknown): void
  /** Clears the timer and the listeners on the parents; the signal stays as it is. */
  release(): void
}

/** A cancel reason as a `RunCanceledError` (an outer timeout stays a `RunTimeoutError`). */
export function toCanceled(reason: unknown): RunCanceledError | RunTimeoutError {
  if (RunCanceledError.isInstance(reason) || RunTimeoutError.isInstance(reason)) return reason
  const detail = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : undefined
  return new RunCanceledError(detail ? `The run was canceled: ${detail}` : 'The run was canceled.', {
    reason,
  })
}

/** Options of `deadline`. */
export interface DeadlineOptions {
  /**
   * Whether a single parent (and no timeout) serves as the signal itself, its reason as it is.
   * Default true; false when that parent may abort with any reason (a caller's signal), which the
   * deadline's own signal turns into a `RunCanceledError`.
   */
  shareSingleParent?: boolean
}

/** What a single parent's own signal does on `abort` and `release`: nothing. */
const ignore = () => {}

/** The deadline of work that nothing can cancel: `neverAborted`, which `abort` leaves alone. */
const never: Deadline = { signal: neverAborted, abort: ignore, release: ignore }

/**
 * Where every timeout of a run or a task comes from. The signal aborts:
 * - when a parent aborts, with the parent's reason as a cancel (`RunCanceledError`), except an outer
 *   timeout, which stays a `RunTimeoutError` (a pool task's `timeoutMs` seen by a runner inside it);
 * - when `timeoutMs` passes, with `RunTimeoutError(timeoutMs)`;
 * - when `abort(reason)` is called.
 */
export function deadline(
  parents: ReadonlyArray<AbortSignal | undefined>,
  timeoutMs?: number,
  options: DeadlineOptions = {},
): Deadline {
  if (timeoutMs === undefined) {
    let only: AbortSignal | undefined
    let count = 0
    for (const parent of parents) {
      if (parent === undefined) continue
      only = parent
      count++
    }
    // No parent and no timer: a signal that never aborts, and nothing to release.
    if (count === 0) return never
    // One parent and no timer: its signal serves as it is (a run's own cancel signal, a job's), and
    // `abort` leaves it alone: the parent's owner aborts it.
    if (count === 1 && options.shareSingleParent !== false)
      return { signal: only!, abort: ignore, release: ignore }
  }
  const given = parents.filter((parent): parent is AbortSignal => parent !== undefined)
  const controller = new AbortController()
  const cleanups: Array<() => void> = []
  const abort = (reason: unknown) => {
    if (!controller.signal.aborted) controller.abort(reason)
  }
  for (const parent of given) {
    if (parent.aborted) {
      abort(toCanceled(parent.reason))
      break
    }
    const onAbort = () => abort(toCanceled(parent.reason))
    parent.addEventListener('abort', onAbort, { once: true })
    cleanups.push(() => parent.removeEventListener('abort', onAbort))
  }
  if (timeoutMs !== undefined && !controller.signal.aborted) {
    const timer = setTimeout(() => abort(new RunTimeoutError(timeoutMs)), timeoutMs)
    cleanups.push(() => clearTimeout(timer))
  }
  return {
    signal: controller.signal,
    abort,
    release() {
      for (const cleanup of cleanups) cleanup()
      cleanups.length = 0
    },
  }
}
