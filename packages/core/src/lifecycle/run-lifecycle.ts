import type { ActivityTracker } from '../activity/tracker.js'
import { isTerminalStatus } from '../activity/transitions.js'
import type { DecisionInput, JsonValue } from '../activity/types.js'
import { ActivityTransitionError } from '../errors/activity-transition-error.js'
import { CapabilityUnsupportedError } from '../errors/capability-unsupported-error.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { RunnerError } from '../errors/runner-error.js'
import type { RunnerPrompts } from '../prompts.js'
import type { RunEvent } from '../runner/events.js'
import { runLogHooks } from '../runner/log-hooks.js'
import { resolveRunOptions } from '../runner/options.js'
import type {
  ExecuteResult,
  ResolvedRunOptions,
  RunContext,
  RunnerCapabilities,
  RunnerOptions,
  RunOptions,
  RunResult,
  WaitingRunResult,
} from '../runner/types.js'
import { abortReason } from '../util/abort.js'
import { AttemptContext } from './attempt-context.js'
import { currentWork, withCurrent } from './current.js'
import { type DeadlineOptions, deadline } from './deadline.js'
import { expiryOf, type LoadedResume, loadResume, RunSuspension, resumeMessage } from './durable.js'
import { Execution } from './execution.js'
import { RunState } from './run-state.js'
import { type OpenedSession, openSession, type SessionCodec, sessionDocuments } from './sessions.js'
import type { SharedBudgetUse } from './shared-budget.js'

/**
 * What the lifecycle needs of a runner: its parts that know the framework. `BaseAgentRunner` is
 * one; `withFallback` composes several through this seam (`executorOf`).
 */
export interface Executor<TAgent, TInput, TOutput> {
  /** Name in logs and the default agentType. */
  readonly name: string
  /** Where the runner records activities. */
  readonly activity: ActivityTracker
  readonly prompts: RunnerPrompts
  /** The runner's defaults for every run (hooks, retry, maxTurns...). */
  readonly defaults: RunnerOptions<TOutput>
  readonly capabilities: RunnerCapabilities
  /** Refuses a bad agent or input before anything starts (throws `InvalidOptionsError`). */
  validate(agent: TAgent, input: TInput): void
  /** The agentType of a run that names none. */
  agentTypeOf(agent: TAgent): string
  /** Whether a failed attempt is worth another. */
  isRetryable(error: unknown): boolean
  /** One attempt with the framework. */
  execute(context: RunContext, agent: TAgent, input: TInput): Promise<ExecuteResult<TOutput>>
  /** Releases what a run held; called once at the end of every run. */
  postRun(context: RunContext | undefined): Promise<void>
  /** How the runner's messages carry a session; none: it cannot (`session` is refused). */
  readonly sessions?: SessionCodec<TInput, TOutput> | undefined
}

/** How a run is started: its id, the way its stream takes events, and its own cancel signal. */
export interface RunStart<TOutput> {
  agentId: string
  /** True when `agentId` was made up here (a new activity for sure: no read needed). */
  generatedId: boolean
  /** Aborted by `RunStream.abort()` and by a reader that stopped; none for `run()`, which nothing outside cancels but the run's own `signal` and `timeoutMs`. */
  signal?: AbortSignal
  streaming: boolean
  /** Takes the run's events; none when nobody reads them (`run()`): no event is then made. */
  push?: (event: RunEvent<TOutput>) => void
  /** Set by `runner.resume`: continue the unfinished run `agentId` from its checkpoint. */
  resume?: { decisions?: Record<string, DecisionInput> }
}

/** Where the events of a run nobody reads would go. */
const dropEvent = () => {}
const ignore = () => {}
const shareOwnSignal: DeadlineOptions = { shareSingleParent: true }
const ownSignal: DeadlineOptions = { shareSingleParent: false }

/** Checks what the runner declares it cannot do against what the run asks. */
function checkCapabilities<TOutput>(
  executor: Executor<unknown, unknown, TOutput>,
  capabilities: RunnerCapabilities,
  resolved: ResolvedRunOptions<TOutput>,
  resuming: boolean,
): void {
  const { name } = executor
  if (resolved.maxTurnsRecovery && !capabilities.maxTurnsRecovery) {
    throw new CapabilityUnsupportedError(
      'maxTurnsRecovery',
      `${name} cannot wrap up at the turn limit; leave maxTurnsRecovery off and handle MaxTurnsExceededError.`,
    )
  }
  if (resolved.budget?.onExceeded === 'wrap-up' && !capabilities.maxTurnsRecovery) {
    throw new CapabilityUnsupportedError(
      'maxTurnsRecovery',
      `${name} cannot make a wrap-up call, so budget.onExceeded cannot be 'wrap-up'; leave it 'fail' and handle BudgetExceededError.`,
    )
  }
  if (resuming && !capabilities.durable) {
    throw new CapabilityUnsupportedError(
      'durable',
      `${name} cannot continue a run from a checkpoint; run it again with its input instead.`,
    )
  }
  if (
    !capabilities.toolHooks &&
    (executor.defaults.hooks?.onToolCallStart || resolved.hooks?.onToolCallStart)
  ) {
    throw new CapabilityUnsupportedError(
      'toolHooks',
      `${name} cannot intercept tool calls; remove the onToolCallStart hook.`,
    )
  }
}

/**
 * Refuses a session the run cannot carry (before anything starts): a runner without session
 * support, or a resume (it continues from its checkpoint, which holds the session's messages).
 */
function checkSessionSupport(
  executor: Pick<Executor<unknown, unknown, unknown>, 'name' | 'activity' | 'sessions'>,
  resuming: boolean,
): void {
  if (!executor.sessions) {
    throw new CapabilityUnsupportedError(
      'session',
      `${executor.name} does not carry sessions (its runner supplies no session messages); leave session out.`,
    )
  }
  if (resuming) {
    throw new InvalidOptionsError(
      [
        {
          field: 'session',
          message:
            'is not taken by resume: the run continues from its checkpoint, which holds the session’s messages; a resumed run appends nothing to the session',
        },
      ],
      { subject: 'resume options' },
    )
  }
  sessionDocuments(executor.activity.store)
}

/** Calls the framework's `execute` for one attempt (a synchronous throw becomes a rejection). */
function execute<TAgent, TInput, TOutput>(
  executor: Executor<TAgent, TInput, TOutput>,
  attempt: AttemptContext<TOutput>,
  agent: TAgent,
  input: TInput,
): Promise<ExecuteResult<TOutput>> {
  try {
    return executor.execute(attempt, agent, input)
  } catch (error) {
    return Promise.reject(error)
  }
}

/**
 * The lifecycle of one run, the only one there is: resolve and check the options, open the
 * activity (or join the pool task the run is inside), run the attempts (`Execution.retry` decides
 * each retry), and end: complete, error, timed out or canceled, written once by the execution.
 * A run inside a pool task that passes the task's `agentId` joins the task's execution: one
 * activity, one attempt counter; the task writes the activity's start and end.
 */
export async function runLifecycle<TAgent, TInput, TOutput>(
  executor: Executor<TAgent, TInput, TOutput>,
  agent: TAgent,
  input: TInput,
  options: RunOptions<TOutput> | undefined,
  start: RunStart<TOutput>,
): Promise<RunResult<TOutput>> {
  const started = performance.now()
  const { agentId } = start
  const push = start.push ?? dropEvent
  let resolved: ResolvedRunOptions<TOutput>
  const explicitResume = start.resume !== undefined
  try {
    const capabilities = executor.capabilities
    resolved = resolveRunOptions(executor.defaults, options, capabilities.durable)
    checkCapabilities(executor as Executor<unknown, unknown, TOutput>, capabilities, resolved, explicitResume)
    // A resume continues a conversation: there is no input to check.
    if (!explicitResume) executor.validate(agent, input)
    if (resolved.session) checkSessionSupport(executor, explicitResume)
  } catch (error) {
    if (start.push) push({ type: 'run-error', error })
    throw error
  }
  const agentType = resolved.agentType ?? executor.agentTypeOf(agent)
  const outer = currentWork()
  const joined = outer !== undefined && outer.execution.agentId === agentId ? outer : undefined
  if (joined?.budget) resolved = withTaskBudget(resolved, joined.budget)
  // Started inside another run or task (another id): a child, that records its parent and stops with it.
  const parent = !joined && resolved.parent === undefined ? outer : undefined
  const parentId = typeof resolved.parent === 'string' ? resolved.parent : parent?.execution.agentId
  const metadata =
    parentId === undefined || 'parentId' in resolved.metadata
      ? resolved.metadata
      : { parentId, ...resolved.metadata }
  const execution =
    joined?.execution ?? new Execution({ agentId, agentType, tracker: executor.activity, metadata })
  const outerSignal = joined ?? parent
  const runDeadline = deadline(
    [
      start.signal,
      resolved.signal,
      outerSignal ? (outerSignal.signal ?? outerSignal.run?.signal) : undefined,
    ],
    resolved.timeoutMs,
    // Only the run's own cancel signal aborts with a `RunCanceledError` already.
    start.signal ? shareOwnSignal : ownSignal,
  )
  const signal = runDeadline.signal
  const run = new RunState<TOutput>({
    agentId,
    agentType,
    options: resolved,
    prompts: executor.prompts,
    execution,
    signal,
    streaming: start.streaming,
    push: start.push,
    runnerHooks: executor.defaults.hooks,
    // Structured logs: hooks of their own, made only when the runner has a logger.
    logHooks: executor.defaults.structuredLogger
      ? runLogHooks({
          logger: executor.defaults.structuredLogger,
          logContent: executor.defaults.logContent ?? false,
          runner: executor.name,
          maxTurns: resolved.maxTurns,
          maxTurnsRecovery: resolved.maxTurnsRecovery,
        })
      : undefined,
    isRetryable: executor.isRetryable,
    runner: executor.name,
    prices: executor.defaults.prices,
    rateLimiter: executor.defaults.rateLimiter,
  })
  // The run hears of activity changes only to tell a reader or a hook.
  const listening = start.push !== undefined || run.hasHook('onStatusUpdate')
  if (listening) execution.listen(run.onEntry)
  let context: AttemptContext<TOutput> | undefined
  let activityOpen = false
  if (start.push) push({ type: 'run-start', agentId, agentType })
  try {
    let loaded: LoadedResume | undefined
    if (explicitResume) {
      loaded = await resumeActivity(execution, executor.name, start.resume?.decisions)
      activityOpen = true
    } else if (!joined) {
      // A new id is a new activity for sure: no read needed.
      if (start.generatedId || !(await reuseQueued(execution))) await execution.create()
      activityOpen = true
      if (signal.aborted) throw abortReason(signal)
      execution.beginAttempt()
      await execution.start()
    } else if (execution.resumable && resolved.durable) {
      // A redelivered pool job (or one continued after decisions): go on from the checkpoint.
      loaded = await loadResume(execution, { explicit: false, runner: executor.name })
      if (loaded) await execution.note(resumeMessage(loaded), 'resume')
    }
    execution.beginAttempt()
    if (loaded) {
      run.resumeFrom(loaded)
      if (resolved.recordTrajectory) {
        const previous = await executor.activity.store.getTrajectory(agentId).catch(() => undefined)
        if (previous) run.steps.push(...previous.steps)
      }
    }
    // A session's messages go before the input; the run's own are appended when it completes.
    let session: OpenedSession | undefined
    let runInput = input
    if (resolved.session) {
      session = await openSession(sessionDocuments(executor.activity.store), resolved.session)
      runInput = (executor.sessions as SessionCodec<TInput, TOutput>).continueFrom(
        session.history,
        input,
        agent,
      ) as TInput
    }
    if (run.hasHook('onRunStart')) await run.fire('onRunStart', () => ({ ...run.info(), input }))

    let executed!: ExecuteResult<TOutput>
    let suspension: RunSuspension | undefined
    for (;;) {
      // Each attempt starts the agent over (from the checkpoint when resuming): its turns count again.
      run.turn = run.resume ? run.resume.checkpoint.turn : 0
      const attempt = new AttemptContext(run)
      context = attempt
      run.current = attempt
      run.attempts++
      try {
        // Called at once, inside the attempt's `currentRun()`.
        const current = { execution, run: attempt }
        const work = run.instrumented
          ? withCurrent(current, () =>
              run.withInstrumentation(() => execute(executor, attempt, agent, runInput)),
            )
          : withCurrent(current, execute, executor, attempt, agent, runInput)
        executed = await attempt.race(work)
        if (signal.aborted) throw abortReason(signal)
        break
      } catch (caught) {
        // The failed attempt's open turn still ends: every turn-start has its turn-end.
        attempt.endTurn()
        if (RunSuspension.isInstance(caught) && !signal.aborted) {
          attempt.close()
          suspension = caught
          break
        }
        const error = signal.aborted ? abortReason(signal) : caught
        attempt.close(error)
        if (signal.aborted || attempt.outputShown) throw error
        const again = await execution.retry(error, run.policy, signal, (plan) =>
          run.announceRetry(error, plan, true),
        )
        if (!again) throw error
      }
    }
    context.endTurn()
    context.close()
    run.current = undefined

    if (suspension) {
      const waiting = await suspend(executor, run, resolved, joined !== undefined, suspension, started)
      if (start.push) push({ type: 'run-end', result: waiting })
      return waiting
    }

    const result: RunResult<TOutput> = {
      agentId,
      status: 'complete',
      output: executed.output,
      text: executed.text,
      turns: run.turn,
      usage: { ...run.usage },
      attempts: run.attempts,
      durationMs: 0,
      maxTurnsReached: context.turnLimitReached,
    }
    if (run.budgetWrappedUp) result.budgetExceeded = true
    const trajectory = resolved.recordTrajectory ? run.trajectory('complete') : undefined
    if (trajectory) result.trajectory = trajectory
    result.durationMs = Math.round(performance.now() - started)
    if (run.hasHook('onRunEnd')) await run.fire('onRunEnd', () => ({ ...run.info(), result }))
    if (signal.aborted) throw abortReason(signal)
    if (trajectory) await executor.activity.store.saveTrajectory(agentId, trajectory)
    if (session) {
      const conversation = (executor.sessions as SessionCodec<TInput, TOutput>).conversation(
        runInput,
        executed.output,
      )
      await session.append(conversation.slice(session.history.length), agentId)
    }
    if (!joined) await execution.complete(storedResult(result))
    if (start.push) push({ type: 'run-end', result })
    return result
  } catch (caught) {
    run.current = undefined
    const error = signal.aborted ? abortReason(signal) : caught
    if (activityOpen && !execution.ended) {
      await execution.fail(error).catch(() => {
        // Already final (ended elsewhere, or the store is down): nothing more can be written.
      })
    }
    if (resolved.recordTrajectory && (activityOpen || joined)) {
      const status = RunCanceledError.isInstance(error) ? 'canceled' : 'error'
      await executor.activity.store.saveTrajectory(agentId, run.trajectory(status)).catch(() => {})
    }
    await run.fire('onRunError', () => ({ ...run.info(), error }))?.catch(() => {})
    if (start.push) push({ type: 'run-error', error })
    throw error
  } finally {
    if (listening) execution.unlisten(run.onEntry)
    runDeadline.release()
    await executor.postRun(context).catch(ignore)
  }
}

/**
 * Ends the run's part as `waiting`: the activity moves to `waiting` with the checkpoint and the
 * requests in one write (a pool task writes it itself, after its handler returns), the
 * trajectory so far is saved, `onRunEnd` fires with the waiting result.
 */
async function suspend<TOutput>(
  executor: { readonly name: string; readonly activity: ActivityTracker },
  run: RunState<TOutput>,
  resolved: ResolvedRunOptions<TOutput>,
  joined: boolean,
  found: RunSuspension,
  started: number,
): Promise<WaitingRunResult> {
  const { execution, agentId } = run
  const expiresAt = expiryOf(resolved.approvalTimeoutMs)
  const pending = {
    requests: found.requests,
    checkpoint: {
      state: found.state,
      runner: executor.name,
      turn: run.turn,
      usage: { ...run.usage },
      attempt: Math.max(1, execution.attempt),
    },
    ...(expiresAt === undefined ? {} : { expiresAt }),
  }
  if (joined) execution.suspension = pending
  else await execution.suspend(pending)
  const waiting: WaitingRunResult = {
    agentId,
    status: 'waiting',
    pending: found.requests.map((request) => ({ ...request })),
    turns: run.turn,
    usage: { ...run.usage },
    attempts: run.attempts,
    durationMs: Math.round(performance.now() - started),
    maxTurnsReached: false,
  }
  if (expiresAt !== undefined) waiting.expiresAt = expiresAt
  if (resolved.recordTrajectory) {
    const trajectory = run.trajectory('waiting')
    waiting.trajectory = trajectory
    await executor.activity.store.saveTrajectory(agentId, trajectory)
  }
  await run.fire('onRunEnd', () => ({ ...run.info(), result: waiting }))
  return waiting
}

/** What a complete run stores with its terminal status: its text, turns and usage (its native output stays in process). */
function storedResult<TOutput>(result: RunResult<TOutput>): JsonValue {
  return { text: result.text ?? '', turns: result.turns, usage: { ...result.usage } } as unknown as JsonValue
}

/**
 * Opens the activity of an explicit resume: reads the record (refusing an unknown, finished,
 * undecided, expired or foreign run with `RunNotResumableError`), then moves the activity back to
 * running with a `resume` line saying where and why. An expired wait ends the run `error`.
 */
async function resumeActivity(
  execution: Execution,
  runner: string,
  decisions: Record<string, DecisionInput> | undefined,
): Promise<LoadedResume> {
  const found = (await loadResume(execution, {
    explicit: true,
    runner,
    ...(decisions ? { decisions } : {}),
  })) as LoadedResume
  execution.beginAttempt(found.checkpoint.attempt)
  await execution.note(resumeMessage(found), 'resume')
  return found
}

/**
 * Whether the run's given id names an activity that is `queued` (made by a UI, say), which the run
 * then reuses; false when there is none (the run creates it). A terminal one is refused
 * (`ActivityTransitionError`); a running one belongs to another run or task and is refused too.
 */
async function reuseQueued(execution: Execution): Promise<boolean> {
  const existing = await execution.tracker.store.get(execution.agentId)
  if (!existing) return false
  if (isTerminalStatus(existing.status)) {
    throw new ActivityTransitionError(execution.agentId, existing.status, 'running')
  }
  if (existing.status !== 'queued') {
    throw new RunnerError(
      `Activity ${execution.agentId} is already ${existing.status}: another run or pool task owns it. ` +
        'Run the runner inside that pool task (with the task’s agentId) to join it, or give this run a new agentId.',
    )
  }
  return true
}

/** The run's options with the pool task's shared budget added to `budget.shared` (once). */
function withTaskBudget<TOutput>(
  resolved: ResolvedRunOptions<TOutput>,
  use: SharedBudgetUse,
): ResolvedRunOptions<TOutput> {
  const shared = resolved.budget?.shared
  const uses = shared === undefined ? [] : Array.isArray(shared) ? shared : [shared]
  if (uses.some((each) => each.budget === use.budget && each.key === use.key)) return resolved
  return { ...resolved, budget: { ...resolved.budget, shared: [...uses, use] } }
}
