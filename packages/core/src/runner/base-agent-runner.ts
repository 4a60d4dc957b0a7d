import { AsyncLocalStorage } from 'node:async_hooks'
import { randomUUID } from 'node:crypto'
import { type ActivityTracker, createActivityTracker, timedOutMessage } from '../activity/tracker.js'
import { isTerminalStatus } from '../activity/transitions.js'
import type { ActivityStore } from '../activity/types.js'
import { ActivityNotFoundError } from '../errors/activity-not-found-error.js'
import { ActivityTransitionError } from '../errors/activity-transition-error.js'
import { CapabilityUnsupportedError } from '../errors/capability-unsupported-error.js'
import { ConfigError } from '../errors/config-error.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { InvalidToolInputError } from '../errors/invalid-tool-input-error.js'
import { MaxTurnsExceededError } from '../errors/max-turns-exceeded-error.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { RunTimeoutError } from '../errors/run-timeout-error.js'
import { defaultPrompts, type RunnerPrompts } from '../prompts.js'
import { reportStatusTool } from '../tools/report-status.js'
import { abortableSleep, abortReason, raceAbort } from '../util/abort.js'
import type { RunEvent } from './events.js'
import { resolveRunOptions, validateRunnerOptions } from './options.js'
import { backoffDelay, isTransientError, type RetryOptions } from './retry.js'
import { type AttemptContext, hookErrors, RunSession } from './run-session.js'
import { RunStream } from './run-stream.js'
import type {
  ExecuteResult,
  ResolvedRunOptions,
  RunContext,
  RunnerCapabilities,
  RunnerOptions,
  RunOptions,
  RunResult,
} from './types.js'

const storage = new AsyncLocalStorage<RunContext>()

/**
 * The context of the run the calling code belongs to, or `undefined` outside a run. Any tool of
 * any framework can report progress with `currentRun()?.report(message, percentage)`.
 */
export function currentRun(): RunContext | undefined {
  return storage.getStore()
}

function isTracker(value: ActivityTracker | ActivityStore): value is ActivityTracker {
  return 'store' in value && 'detail' in value
}

/** A cancel reason as a `RunCanceledError`. */
function toCanceled(reason: unknown): RunCanceledError {
  if (RunCanceledError.isInstance(reason)) return reason
  const detail = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : undefined
  return new RunCanceledError(detail ? `The run was canceled: ${detail}` : 'The run was canceled.', {
    reason,
  })
}

/**
 * The base of every runner. It owns the whole lifecycle (activity, events, hooks, retries,
 * timeouts, cancellation, turn limits, usage, trajectory); a subclass implements `execute` for its
 * framework and nothing of the lifecycle.
 *
 * `run` is `runStreamed` without a reader: both share one code path, so they cannot disagree.
 */
export abstract class BaseAgentRunner<TAgent, TInput, TOutput> {
  /** Name used in logs and as the default agentType. */
  readonly name: string
  /** The activity facade this runner records to. */
  readonly activity: ActivityTracker
  /** The prompts given to models. */
  readonly prompts: RunnerPrompts
  /** The options this runner was created with (its defaults for every run). */
  protected readonly options: RunnerOptions<TOutput>

  constructor(options: RunnerOptions<TOutput> = {}) {
    validateRunnerOptions(options)
    this.options = options
    this.name = options.name ?? this.constructor.name
    this.activity = options.activity
      ? isTracker(options.activity)
        ? options.activity
        : createActivityTracker({ store: options.activity })
      : createActivityTracker()
    this.prompts = { ...defaultPrompts, ...options.prompts }
  }

  /** Framework-native tools. The base offers the neutral `report_status`; adapters override it with their framework's shape. */
  get tools(): { reportStatus: unknown } {
    return { reportStatus: reportStatusTool }
  }

  /**
   * What this runner can do (all true in the base class). A subclass whose framework cannot do
   * something overrides this getter; the matching call then throws `CapabilityUnsupportedError`.
   */
  get capabilities(): RunnerCapabilities {
    return { streaming: true, maxTurnsRecovery: true, toolHooks: true }
  }

  /** Runs the agent to completion. Rejects with the run's error; the activity is never left running. */
  run(agent: TAgent, input: TInput, options?: RunOptions<TOutput>): Promise<RunResult<TOutput>> {
    return this.#start(agent, input, options, false).result
  }

  /** Runs the agent and streams its events. The run starts at once; see `RunStream`. */
  runStreamed(agent: TAgent, input: TInput, options?: RunOptions<TOutput>): RunStream<TOutput> {
    if (!this.capabilities.streaming) {
      throw new CapabilityUnsupportedError('streaming', `${this.name} cannot stream; use run() instead.`)
    }
    return this.#start(agent, input, options, true)
  }

  /** Runs one attempt with the framework. Honour `context.signal`; report through `context`. */
  protected abstract execute(
    context: RunContext,
    agent: TAgent,
    input: TInput,
  ): Promise<ExecuteResult<TOutput>>

  /**
   * Whether a failed attempt is worth retrying (when `retry.attempts` allows). Default: HTTP 408,
   * 409, 429, >= 500 and network errors. Adapters override it with their SDK's error classes.
   */
  protected isRetryable(error: unknown): boolean {
    return isTransientError(error)
  }

  /**
   * Checks the agent and the input before anything starts; throw `InvalidOptionsError` (see
   * `parseOrThrow`) to refuse them. A refused run creates no activity and is never retried.
   * Default: accepts everything.
   */
  protected validate(_agent: TAgent, _input: TInput): void {}

  /** The agentType of a run that does not name one. Default: the runner's name. */
  protected agentTypeOf(_agent: TAgent): string {
    return this.name
  }

  /** Releases what a run held; called once at the end of every run, whatever the outcome. */
  protected async postRun(_context: RunContext | undefined): Promise<void> {}

  /** For composition (`withFallback`): runs another runner's attempt inside the caller's lifecycle. */
  protected static executeOf<A, I, O>(
    runner: BaseAgentRunner<A, I, O>,
    context: RunContext,
    agent: A,
    input: I,
  ): Promise<ExecuteResult<O>> {
    return runner.execute(context, agent, input)
  }

  /** For composition: another runner's agent and input checks. */
  protected static validateOf<A, I>(runner: BaseAgentRunner<A, I, unknown>, agent: A, input: I): void {
    runner.validate(agent, input)
  }

  /** For composition: another runner's error classification. */
  protected static isRetryableOf(
    runner: BaseAgentRunner<unknown, unknown, unknown>,
    error: unknown,
  ): boolean {
    return runner.isRetryable(error)
  }

  /** For composition: another runner's default agentType. */
  protected static agentTypeOfRunner<A>(runner: BaseAgentRunner<A, unknown, unknown>, agent: A): string {
    return runner.agentTypeOf(agent)
  }

  /** For composition: another runner's defaults. */
  protected static optionsOf<O>(runner: BaseAgentRunner<unknown, unknown, O>): RunnerOptions<O> {
    return runner.options
  }

  #start(
    agent: TAgent,
    input: TInput,
    options: RunOptions<TOutput> | undefined,
    streaming: boolean,
  ): RunStream<TOutput> {
    const controller = new AbortController()
    const agentId =
      typeof options?.agentId === 'string' && options.agentId !== '' ? options.agentId : randomUUID()
    return new RunStream<TOutput>({
      agentId,
      buffer: streaming,
      abort: (reason) => {
        if (!controller.signal.aborted) controller.abort(toCanceled(reason))
      },
      start: (push) => this.#lifecycle(agent, input, options, { agentId, controller, push, streaming }),
    })
  }

  async #lifecycle(
    agent: TAgent,
    input: TInput,
    options: RunOptions<TOutput> | undefined,
    run: {
      agentId: string
      controller: AbortController
      push: (event: RunEvent<TOutput>) => void
      streaming: boolean
    },
  ): Promise<RunResult<TOutput>> {
    const started = performance.now()
    const { agentId, controller, push } = run
    let resolved: ReturnType<typeof resolveRunOptions<TOutput>>
    try {
      resolved = resolveRunOptions(this.options, options)
      this.#checkCapabilities(resolved)
      this.validate(agent, input)
    } catch (error) {
      push({ type: 'run-error', error })
      throw error
    }
    const signal = controller.signal
    const release = linkSignals(controller, resolved.signal, resolved.timeoutMs)
    const agentType = resolved.agentType ?? this.agentTypeOf(agent)
    const tracker = this.activity
    const session = new RunSession<TOutput>(
      agentId,
      agentType,
      resolved,
      tracker,
      this.prompts,
      signal,
      run.streaming,
      push,
      this.options.hooks,
    )
    let context: AttemptContext<TOutput> | undefined
    let activityOpen = false
    push({ type: 'run-start', agentId, agentType })
    try {
      const existing = await tracker.store.get(agentId)
      if (!existing) {
        await session.changeStatus(() =>
          tracker.store.create({
            agentId,
            agentType,
            message: tracker.messages.queued,
            metadata: resolved.metadata,
          }),
        )
      } else if (isTerminalStatus(existing.status)) {
        throw new ActivityTransitionError(agentId, existing.status, 'running')
      }
      activityOpen = true
      if (signal.aborted) throw abortReason(signal)
      // A pool job already moved its activity to running: the run continues that record.
      if (existing?.status !== 'running') {
        await session.changeStatus(() =>
          tracker.update(agentId, tracker.messages.started, { status: 'running' }),
        )
      }
      await session.fire('onRunStart', { ...session.info(), input })

      let executed: ExecuteResult<TOutput>
      for (;;) {
        context = session.newAttempt()
        const attemptContext = context
        try {
          const execution = storage.run(attemptContext, () =>
            Promise.resolve().then(() => this.execute(attemptContext, agent, input)),
          )
          executed = await raceAbort(execution, signal)
          if (signal.aborted) throw abortReason(signal)
          break
        } catch (error) {
          // The failed attempt's open turn still ends: every turn-start has its turn-end.
          attemptContext.endTurn()
          if (signal.aborted) throw abortReason(signal)
          if (!this.#shouldRetry(error, session.attempt, resolved.retry)) throw error
          const delayMs = backoffDelay(session.attempt, resolved.retry)
          const retries = resolved.retry.attempts - 1
          const reason = errorText(error)
          await session.changeStatus(() =>
            tracker.update(agentId, `Retry ${session.attempt}/${retries}: ${reason}`, { status: 'running' }),
          )
          session.recordStep({ kind: 'retry', data: { error: reason, delayMs } })
          push({
            type: 'retry',
            attempt: session.attempt,
            maxAttempts: resolved.retry.attempts,
            delayMs,
            error,
          })
          await session.fire('onRetry', {
            ...session.info(),
            error,
            maxAttempts: resolved.retry.attempts,
            delayMs,
          })
          await abortableSleep(delayMs, signal)
        }
      }
      context.endTurn()

      const result: RunResult<TOutput> = {
        agentId,
        status: 'complete',
        output: executed.output,
        text: executed.text,
        turns: session.turn,
        usage: { ...session.usage },
        attempts: session.attempt,
        durationMs: 0,
        maxTurnsReached: context.wrappingUp,
      }
      const trajectory = resolved.recordTrajectory ? session.trajectory('complete') : undefined
      if (trajectory) result.trajectory = trajectory
      result.durationMs = Math.round(performance.now() - started)
      await session.fire('onRunEnd', { ...session.info(), result })
      if (signal.aborted) throw abortReason(signal)
      if (trajectory) await tracker.store.saveTrajectory(agentId, trajectory)
      await session.changeStatus(() => tracker.complete(agentId), { hookErrors: 'ignore' })
      activityOpen = false
      push({ type: 'run-end', result })
      return result
    } catch (caught) {
      const error = signal.aborted ? abortReason(signal) : caught
      if (activityOpen) {
        const status = RunCanceledError.isInstance(error) ? 'canceled' : 'error'
        try {
          await session.changeStatus(
            () =>
              RunCanceledError.isInstance(error)
                ? tracker.cancel(agentId)
                : RunTimeoutError.isInstance(error)
                  ? tracker.store.append(agentId, {
                      status: 'error',
                      message: timedOutMessage(tracker.messages, error.timeoutMs),
                    })
                  : tracker.error(agentId, error),
            { hookErrors: 'ignore' },
          )
        } catch {
          // Already final (canceled from elsewhere, for instance): nothing is left running.
        }
        if (resolved.recordTrajectory) {
          await tracker.store.saveTrajectory(agentId, session.trajectory(status)).catch(() => {})
        }
      }
      await session.fire('onRunError', { ...session.info(), error }).catch(() => {})
      push({ type: 'run-error', error })
      throw error
    } finally {
      release()
      await this.postRun(context).catch(() => {})
    }
  }

  #checkCapabilities(resolved: ResolvedRunOptions<TOutput>): void {
    const capabilities = this.capabilities
    if (resolved.maxTurnsRecovery && !capabilities.maxTurnsRecovery) {
      throw new CapabilityUnsupportedError(
        'maxTurnsRecovery',
        `${this.name} cannot wrap up at the turn limit; leave maxTurnsRecovery off and handle MaxTurnsExceededError.`,
      )
    }
    if (!capabilities.toolHooks && (this.options.hooks?.onToolCallStart || resolved.hooks?.onToolCallStart)) {
      throw new CapabilityUnsupportedError(
        'toolHooks',
        `${this.name} cannot intercept tool calls; remove the onToolCallStart hook.`,
      )
    }
  }

  #shouldRetry(error: unknown, attempt: number, retry: RetryOptions): boolean {
    if (attempt >= retry.attempts) return false
    if (isLifecycleError(error)) return false
    if (typeof error === 'object' && error !== null && hookErrors.has(error)) return false
    return retry.retryOn ? retry.retryOn(error, { attempt }) : this.isRetryable(error)
  }
}

/**
 * Errors of the lifecycle itself, never worth another attempt. Other `RunnerError`s (an
 * adapter's own error classes) go through `isRetryable` like any error.
 */
function isLifecycleError(error: unknown): boolean {
  return (
    RunCanceledError.isInstance(error) ||
    RunTimeoutError.isInstance(error) ||
    InvalidOptionsError.isInstance(error) ||
    MaxTurnsExceededError.isInstance(error) ||
    ActivityTransitionError.isInstance(error) ||
    ActivityNotFoundError.isInstance(error) ||
    CapabilityUnsupportedError.isInstance(error) ||
    ConfigError.isInstance(error) ||
    InvalidToolInputError.isInstance(error)
  )
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message || error.name
  return String(error)
}

/** Aborts `controller` when the caller's signal aborts or the timeout expires; returns the cleanup. */
function linkSignals(
  controller: AbortController,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
): () => void {
  const cleanups: Array<() => void> = []
  if (signal) {
    const onAbort = () => {
      // An outer timeout (a pool task's timeoutMs, say) stays a timeout; anything else cancels.
      const reason = RunTimeoutError.isInstance(signal.reason) ? signal.reason : toCanceled(signal.reason)
      if (!controller.signal.aborted) controller.abort(reason)
    }
    if (signal.aborted) onAbort()
    else {
      signal.addEventListener('abort', onAbort, { once: true })
      cleanups.push(() => signal.removeEventListener('abort', onAbort))
    }
  }
  if (timeoutMs !== undefined && !controller.signal.aborted) {
    const timer = setTimeout(() => {
      if (!controller.signal.aborted) controller.abort(new RunTimeoutError(timeoutMs))
    }, timeoutMs)
    cleanups.push(() => clearTimeout(timer))
  }
  return () => {
    for (const cleanup of cleanups) cleanup()
  }
}
