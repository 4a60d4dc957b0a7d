import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import type { HookRunInfo, RunHooks } from './hooks.js'

/**
 * What a tracing or metrics library plugs into every run of the process (`registerInstrumentation`):
 * hooks that watch each run, and the way a trace crosses from the process that enqueues a pool task
 * to the one that runs it.
 */
export interface Instrumentation {
  /**
   * Fired for every run, after the runner's and the run's own hooks. What they throw (or reject
   * with) is ignored: an instrumentation never fails a run. What `onToolCallStart` returns is ignored
   * too (it watches, it does not decide).
   */
  hooks?: RunHooks
  /**
   * The trace context to carry with a pool task, read when it is enqueued (`PoolJob.trace`), as
   * string pairs (W3C `traceparent`, say); `undefined` when there is none.
   */
  inject?(): Record<string, string> | undefined
  /** Runs a pool job inside the trace context `carrier` brought (`undefined`: the job had none). */
  withContext?<T>(carrier: Record<string, string> | undefined, fn: () => Promise<T>): Promise<T>
  /**
   * Runs `fn` (one attempt of the run `run.agentId`, its framework's own work) inside the
   * instrumentation's context for that run, so that what the framework traces itself nests under
   * the run. Called after `onRunStart`, once per attempt; `fn` must be called at once, exactly once.
   */
  withRun?<T>(run: HookRunInfo, fn: () => T): T
}

/** The registered instrumentations (a new array on each change: a run keeps the one it started with). */
let registered: readonly Instrumentation[] = []

const methods = ['inject', 'withContext', 'withRun'] as const

/**
 * Registers `instrumentation` for every run of this process (like OpenTelemetry's global
 * providers): its hooks fire for every run started after this call, its `inject`/`withContext`
 * carry traces through the pool. Returns the function that unregisters it (calling it twice is
 * harmless). With nothing registered, a run pays one check.
 */
export function registerInstrumentation(instrumentation: Instrumentation): () => void {
  checkInstrumentation(instrumentation)
  registered = [...registered, instrumentation]
  return () => {
    registered = registered.filter((entry) => entry !== instrumentation)
  }
}

/** The instrumentations registered now (empty when none). */
export function instrumentations(): readonly Instrumentation[] {
  return registered
}

/** The trace carrier of every registered `inject`, merged; `undefined` when none gives one. */
export function injectTrace(): Record<string, string> | undefined {
  let carrier: Record<string, string> | undefined
  for (const instrumentation of registered) {
    if (!instrumentation.inject) continue
    try {
      const found = instrumentation.inject()
      if (found && typeof found === 'object' && Object.keys(found).length > 0)
        carrier = { ...carrier, ...found }
    } catch {
      // An instrumentation never fails an enqueue.
    }
  }
  return carrier
}

/** Runs `fn` inside the `withContext` of every registered instrumentation (the first outermost). */
export function withTraceContext<T>(
  carrier: Record<string, string> | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  let work = fn
  for (let index = registered.length - 1; index >= 0; index--) {
    const instrumentation = registered[index] as Instrumentation
    if (!instrumentation.withContext) continue
    const inner = work
    work = () => {
      // A broken instrumentation runs the job all the same, outside its context, and once only.
      let called = false
      const once = () => {
        called = true
        return inner()
      }
      try {
        return instrumentation.withContext ? instrumentation.withContext(carrier, once) : once()
      } catch (error) {
        if (called) throw error
        return once()
      }
    }
  }
  return work()
}

function checkInstrumentation(instrumentation: unknown): asserts instrumentation is Instrumentation {
  const issue = (field: string, message: string) =>
    new InvalidOptionsError([{ field, message }], { subject: 'instrumentation' })
  if (typeof instrumentation !== 'object' || instrumentation === null)
    throw issue('instrumentation', 'must be an object with hooks, inject, withContext or withRun')
  const { hooks } = instrumentation as Instrumentation
  if (hooks !== undefined && (typeof hooks !== 'object' || hooks === null))
    throw issue('hooks', 'must be an object of run hooks (onRunStart, onModelCallEnd, ...)')
  for (const [name, hook] of Object.entries(hooks ?? {})) {
    if (hook !== undefined && typeof hook !== 'function') throw issue(`hooks.${name}`, 'must be a function')
  }
  for (const name of methods) {
    const method = (instrumentation as Record<string, unknown>)[name]
    if (method !== undefined && typeof method !== 'function') throw issue(name, 'must be a function')
  }
}
