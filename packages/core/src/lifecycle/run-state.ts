import { nowIso } from '../activity/store-helpers.js'
import type { ActivityLogEntry, JournalEntry, Trajectory, TrajectoryStep, Usage } from '../activity/types.js'
import { HookError } from '../errors/hook-error.js'
import type { RunnerPrompts } from '../prompts.js'
import type { RunEvent, RunWait, StatusUpdateEvent } from '../runner/events.js'
import type { HookName, HookRunInfo, RunHooks, ToolCallInfo } from '../runner/hooks.js'
import { type Instrumentation, instrumentations } from '../runner/instrumentation.js'
import type { ModelPrice, ResolvedRunOptions, StepInput } from '../runner/types.js'
import type { LoadedResume } from './durable.js'
import type { Execution, RetryPlan } from './execution.js'
import type { RateLimiter } from './rate-limit.js'
import type { AttemptPolicy } from './retry-policy.js'

const dropEvent = () => {}

/** Sums token counts; optional counters stay absent until some call reports them. */
export function addUsage(total: Usage, usage: Partial<Usage>): void {
  const input = usage.inputTokens ?? 0
  const output = usage.outputTokens ?? 0
  total.inputTokens += input
  total.outputTokens += output
  total.totalTokens += usage.totalTokens ?? input + output
  if (usage.cachedInputTokens !== undefined)
    total.cachedInputTokens = (total.cachedInputTokens ?? 0) + usage.cachedInputTokens
  if (usage.reasoningTokens !== undefined)
    total.reasoningTokens = (total.reasoningTokens ?? 0) + usage.reasoningTokens
  if (usage.cacheWriteInputTokens !== undefined)
    total.cacheWriteInputTokens = (total.cacheWriteInputTokens ?? 0) + usage.cacheWriteInputTokens
  if (usage.costUsd !== undefined) addCost(total, usage.costUsd)
}

/** Adds a priced call's cost to `total` (rounded to a billionth of a dollar: no float dust in sums). */
export function addCost(total: Usage, costUsd: number): void {
  total.costUsd = Math.round(((total.costUsd ?? 0) + costUsd) * 1e9) / 1e9
}

export function emptyUsage(): Usage {
  return { inputTokens: 0, outputTokens: 0, totalTokens: 0 }
}

/** A JSON copy of `value`, or `undefined` when it cannot be serialised (trajectories hold JSON only). */
export function jsonOrUndefined(value: unknown): unknown {
  if (value === undefined) return undefined
  try {
    const text = JSON.stringify(value)
    return text === undefined ? undefined : JSON.parse(text)
  } catch {
    return undefined
  }
}

/** What a run is made of, beside its execution. */
export interface RunStateInit<TOutput> {
  agentId: string
  agentType: string
  options: ResolvedRunOptions<TOutput>
  prompts: RunnerPrompts
  execution: Execution
  /** Aborts on cancel, timeout or a consumer that stopped; every attempt's signal follows it. */
  signal: AbortSignal
  streaming: boolean
  /** Takes the run's events; none when nobody reads them. */
  push: ((event: RunEvent<TOutput>) => void) | undefined
  runnerHooks: RunHooks<TOutput> | undefined
  /** The hooks that write the run's structured logs (the runner's `structuredLogger`): fired last, never failing the run. */
  logHooks?: RunHooks | undefined
  /** The runner's classification of errors (its `isRetryable`), used unless `retry.retryOn` is set. */
  isRetryable: (error: unknown) => boolean
  /** Name of the runner (written on checkpoints). */
  runner: string
  /** The runner's `prices` (over the model catalog's). */
  prices?: Readonly<Record<string, ModelPrice>> | undefined
  /** The runner's `rateLimiter`, shared with other runners. */
  rateLimiter?: RateLimiter | undefined
}

/**
 * The state of one run across its attempts: events, hooks, usage, turns and the trajectory. The
 * activity is its execution's; adapters see the run through `RunContext`.
 */
export class RunState<TOutput> {
  readonly agentId: string
  readonly agentType: string
  readonly options: ResolvedRunOptions<TOutput>
  readonly prompts: RunnerPrompts
  readonly execution: Execution
  readonly signal: AbortSignal
  readonly streaming: boolean
  readonly push: (event: RunEvent<TOutput>) => void
  /** Whether anybody reads the run's events: when not, the lifecycle makes none. */
  readonly emits: boolean
  readonly usage = emptyUsage()
  readonly steps: TrajectoryStep[] = []
  readonly startedAt = nowIso()
  /** Attempts this run made. */
  attempts = 0
  turn = 0
  /** Whether the run had its wrap-up call of `budget.onExceeded: 'wrap-up'` (one per run). */
  budgetWrappedUp = false
  /** Whether the activity was told that a model without a price counts as $0 against `budget.maxCostUsd`. */
  budgetUnpricedNoted = false
  readonly #isRetryable: (error: unknown) => boolean
  #policy: AttemptPolicy | undefined
  readonly #runnerHooks: RunHooks | undefined
  readonly #runHooks: RunHooks | undefined
  /**
   * The structured logger's hooks, then the instrumentations registered when the run started
   * (`undefined`: none, the common case). Fired after the runner's and the run's hooks; what they
   * throw is ignored.
   */
  readonly instrumented: readonly Instrumentation[] | undefined
  /** The attempt running now, failed by a hook that throws. */
  current: { fail(error: unknown): void } | undefined
  /** Name of the runner (written on checkpoints). */
  readonly runner: string
  /** The runner's `prices` (over the model catalog's). */
  readonly prices: Readonly<Record<string, ModelPrice>> | undefined
  /** The runner's `rateLimiter`: each model call waits for its slot. */
  readonly rateLimiter: RateLimiter | undefined
  /** What this run continues from, when it resumes. */
  resume: LoadedResume | undefined
  #journal: Map<string, JournalEntry> | undefined

  constructor(init: RunStateInit<TOutput>) {
    this.agentId = init.agentId
    this.agentType = init.agentType
    this.options = init.options
    this.prompts = init.prompts
    this.execution = init.execution
    this.signal = init.signal
    this.streaming = init.streaming
    this.push = init.push ?? dropEvent
    this.emits = init.push !== undefined
    this.#runnerHooks = init.runnerHooks as RunHooks | undefined
    this.#runHooks = init.options.hooks as RunHooks | undefined
    const registered = instrumentations()
    const observers = init.logHooks ? [{ hooks: init.logHooks }, ...registered] : registered
    this.instrumented = observers.length === 0 ? undefined : observers
    this.#isRetryable = init.isRetryable
    this.runner = init.runner
    this.prices = init.prices
    this.rateLimiter = init.rateLimiter
  }

  /** Continues from a checkpoint: its turn, usage and journal. */
  resumeFrom(loaded: LoadedResume): void {
    this.resume = loaded
    this.turn = loaded.checkpoint.turn
    Object.assign(this.usage, loaded.checkpoint.usage)
    for (const [id, entry] of loaded.journal) this.journal.set(id, entry)
  }

  /** Completed tool calls: the journal read on resume, and every call this run completed. */
  get journal(): Map<string, JournalEntry> {
    this.#journal ??= new Map()
    return this.#journal
  }

  /** The journaled call `toolCallId`, if any (without making the journal). */
  journaled(toolCallId: string): JournalEntry | undefined {
    return this.#journal?.get(toolCallId)
  }

  /** The retry policy of this run, on the execution's attempt counter (made when first needed). */
  get policy(): AttemptPolicy {
    if (this.#policy) return this.#policy
    const { retry } = this.options
    const classify = retry.retryOn ?? ((error: unknown) => this.#isRetryable(error))
    this.#policy = {
      maxAttempts: retry.attempts,
      initialDelayMs: retry.initialDelayMs,
      maxDelayMs: retry.maxDelayMs,
      retryable: (error, attempt) => {
        const worth = classify(error, { attempt })
        // A pool task around this run leaves it too: the runner knows its SDK's errors.
        if (!worth) this.execution.decline(error)
        return worth
      },
    }
    return this.#policy
  }

  info(): HookRunInfo {
    return {
      agentId: this.agentId,
      agentType: this.agentType,
      attempt: this.execution.attempt,
      turn: this.turn,
      metadata: this.options.metadata,
    }
  }

  /**
   * Fires a hook of the runner, then of the run, then of the logger and the instrumentations. What
   * a runner's or run's hook throws becomes a `HookError` that fails the current attempt at once, so
   * that a framework that swallows the throw (callbacks) cannot let the run go on; what the logger
   * or an instrumentation throws is ignored.
   */
  fire<K extends HookName>(
    name: K,
    event: () => Parameters<NonNullable<RunHooks[K]>>[0],
  ): Promise<void> | undefined {
    // Most runs set few hooks: no promise, no event object for a hook nobody set.
    if (!this.hasHook(name)) return undefined
    return this.#fire(name, event)
  }

  /** Whether the runner or the run set hook `name` (callers skip building its event when not). */
  hasHook(name: HookName): boolean {
    return (
      this.#runnerHooks?.[name] !== undefined ||
      this.#runHooks?.[name] !== undefined ||
      this.instrumented?.some((entry) => entry.hooks?.[name] !== undefined) === true
    )
  }

  async #fire<K extends HookName>(
    name: K,
    event: () => Parameters<NonNullable<RunHooks[K]>>[0],
  ): Promise<void> {
    let built: unknown
    for (let index = 0; index < 2; index++) {
      const hooks = index === 0 ? this.#runnerHooks : this.#runHooks
      const hook = hooks?.[name] as ((event: unknown) => unknown) | undefined
      if (!hook) continue
      built ??= event()
      try {
        await hook(built)
      } catch (error) {
        throw this.#hookFailed(name, error)
      }
    }
    if (this.instrumented) await this.#instrument(name, built ?? event())
  }

  /** Fires the logger's and the instrumentations' hook `name`; what they throw is ignored. */
  async #instrument(name: HookName, event: unknown): Promise<void> {
    for (const instrumentation of this.instrumented ?? []) {
      const hook = instrumentation.hooks?.[name] as ((event: unknown) => unknown) | undefined
      if (!hook) continue
      try {
        await hook(event)
      } catch {
        // An instrumentation never fails a run.
      }
    }
  }

  /**
   * Runs `work` (an attempt's framework work) inside every instrumentation's `withRun`, so that
   * what the framework traces itself nests under the run; `work` as it is when none has one.
   */
  withInstrumentation<T>(work: () => T): T {
    const instrumented = this.instrumented
    if (!instrumented) return work()
    let wrapped = work
    for (let index = instrumented.length - 1; index >= 0; index--) {
      const instrumentation = instrumented[index] as Instrumentation
      if (!instrumentation.withRun) continue
      const inner = wrapped
      wrapped = (): T => {
        let called = false
        const once = () => {
          called = true
          return inner()
        }
        try {
          return instrumentation.withRun ? instrumentation.withRun<T>(this.info(), once) : once()
        } catch (error) {
          if (called) throw error
          return once()
        }
      }
    }
    return wrapped()
  }

  /** Runs `onToolCallStart` of the runner, then of the run: a denial stops, a new input passes on. */
  async decideToolCall(call: ToolCallInfo): Promise<{ deny: string } | { input: unknown }> {
    let input = call.input
    for (const hooks of [this.#runnerHooks, this.#runHooks]) {
      const hook = hooks?.onToolCallStart
      if (!hook) continue
      let decision: unknown
      try {
        decision = await hook({ ...this.info(), toolCallId: call.toolCallId, toolName: call.toolName, input })
      } catch (error) {
        throw this.#hookFailed('onToolCallStart', error)
      }
      if (decision && typeof decision === 'object') {
        if ('deny' in decision) return { deny: String((decision as { deny: unknown }).deny) }
        if ('input' in decision) input = (decision as { input: unknown }).input
      }
    }
    if (this.instrumented)
      await this.#instrument('onToolCallStart', {
        ...this.info(),
        toolCallId: call.toolCallId,
        toolName: call.toolName,
        input,
      })
    return { input }
  }

  #hookFailed(name: string, error: unknown): HookError {
    const failure = HookError.isInstance(error) ? error : new HookError(name, error)
    this.current?.fail(failure)
    return failure
  }

  /** Tells the stream and `onStatusUpdate` of an activity change written during the run. */
  get onEntry(): (entry: ActivityLogEntry) => Promise<void> | undefined {
    // Made when first asked for: a run that nobody streams and no hook watches never listens.
    this.#onEntry ??= (entry) => this.#tellEntry(entry)
    return this.#onEntry
  }

  #onEntry: ((entry: ActivityLogEntry) => Promise<void> | undefined) | undefined

  /** The wait a line being written says (`noteWait`), for its `status-update` event. */
  #wait: { message: string; wait: RunWait } | undefined

  /** Writes an activity line that says the run waits (its `status-update` event carries `wait`). */
  async noteWait(message: string, wait: RunWait): Promise<void> {
    this.#wait = { message, wait }
    try {
      await this.execution.note(message, 'lifecycle')
    } finally {
      this.#wait = undefined
    }
  }

  #tellEntry(entry: ActivityLogEntry): Promise<void> | undefined {
    if (this.emits) {
      const event: StatusUpdateEvent = {
        type: 'status-update',
        status: entry.status,
        message: entry.message,
        percentage: entry.percentage,
      }
      if (this.#wait && this.#wait.message === entry.message) event.wait = this.#wait.wait
      this.push(event)
    }
    return this.fire('onStatusUpdate', () => {
      const event = {
        ...this.info(),
        status: entry.status,
        message: entry.message,
        percentage: entry.percentage,
      }
      return entry.kind === undefined ? event : { ...event, kind: entry.kind }
    })
  }

  /** Tells the stream, the trajectory and `onRetry` of a retry the execution is about to make. */
  async announceRetry(error: unknown, plan: RetryPlan, restart: boolean): Promise<void> {
    this.recordStep({ kind: 'retry', data: { error: plan.reason, delayMs: plan.delayMs, restart } })
    if (this.emits)
      this.push({
        type: 'retry',
        attempt: plan.attempt,
        maxAttempts: plan.maxAttempts,
        delayMs: plan.delayMs,
        restart,
        error,
      })
    await this.fire('onRetry', () => ({
      ...this.info(),
      error,
      nextAttempt: plan.attempt,
      maxAttempts: plan.maxAttempts,
      delayMs: plan.delayMs,
    }))
  }

  recordStep(step: StepInput): void {
    if (!this.options.recordTrajectory) return
    this.recordCopiedStep(step.kind, jsonOrUndefined(step.data), step.durationMs)
  }

  /** `recordStep` with `data` already a JSON copy (or `undefined` when it had none). */
  recordCopiedStep(kind: StepInput['kind'], data: unknown, durationMs: number | undefined): void {
    if (!this.options.recordTrajectory) return
    const recorded: TrajectoryStep = {
      index: this.steps.length,
      kind,
      attempt: this.execution.attempt,
      turn: this.turn,
      at: nowIso(),
      data: (data as Record<string, unknown> | undefined) ?? {},
    }
    if (durationMs !== undefined) recorded.durationMs = durationMs
    this.steps.push(recorded)
  }

  trajectory(status: Trajectory['status']): Trajectory {
    return {
      agentId: this.agentId,
      agentType: this.agentType,
      status,
      startedAt: this.startedAt,
      finishedAt: nowIso(),
      usage: { ...this.usage },
      steps: this.steps,
    }
  }
}
