import { nowIso } from '../activity/store-helpers.js'
import {
  type ActivityTracker,
  errorMessage,
  type LogEntryOptions,
  timedOutMessage,
  type UpdateOptions,
} from '../activity/tracker.js'
import { isTerminalStatus } from '../activity/transitions.js'
import type {
  Activity,
  ActivityLogEntry,
  ActivityLogKind,
  AppendActivityInput,
  JsonValue,
  RunRecord,
} from '../activity/types.js'
import { ActivityTransitionError } from '../errors/activity-transition-error.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { RunTimeoutError } from '../errors/run-timeout-error.js'
import { abortableSleep } from '../util/abort.js'
import { type PendingSuspension, waitingMessage } from './durable.js'
import { type AttemptPolicy, retryDelay } from './retry-policy.js'

/** Told of every entry an execution writes, in order, before the write resolves. */
export type ExecutionListener = (entry: ActivityLogEntry) => void | Promise<void>

/** A retry about to happen, as `Execution.retry` tells its caller. */
export interface RetryPlan {
  /** The attempt that follows (2 for the first retry). */
  attempt: number
  /** The attempts the retrying layer may reach. */
  maxAttempts: number
  /** The wait before it, in ms. */
  delayMs: number
  /** The failure, as the activity line gives it. */
  reason: string
}

/** What an execution is created with. */
export interface ExecutionInit {
  agentId: string
  agentType: string
  tracker: ActivityTracker
  metadata?: Record<string, unknown>
}

/**
 * The state of one unit of work that owns an activity: a run of a runner, or a pool task (with the
 * runs its handler makes on the same activity). It is the only code that writes a run's or a task's
 * activity: the creation, the move to running, progress, the retry lines, and the end
 * (complete, error, timed out, canceled). It keeps the one attempt counter that every layer
 * retrying this work shares, and takes the one retry step (`retry`).
 *
 * Someone else may end the activity (a user calling `tracker.cancel`): the write that finds it
 * terminal throws `ActivityTransitionError` and `endedElsewhere` then holds the activity as found.
 */
export class Execution {
  readonly agentId: string
  readonly agentType: string
  readonly tracker: ActivityTracker
  readonly metadata: Record<string, unknown>
  /** The current attempt (1-based; 0 before the first). Every layer of this work counts here. */
  attempt = 0
  /** The activity as found terminal by a write of this execution, when someone else ended it. */
  endedElsewhere: Activity | undefined
  /** True once this execution wrote the activity's terminal status. */
  ended = false
  /**
   * True when this work continues where an earlier process left it (a redelivered job, decisions
   * on a waiting task): a durable runner that joins it resumes from the checkpoint.
   */
  resumable = false
  /**
   * A joined runner's suspension, kept for the layer that owns the activity (the pool task) to
   * write with the task's end of attempt.
   */
  suspension: PendingSuspension | undefined
  /**
   * The run record as read before this work moved a waiting activity back to running: its
   * decisions are what a joined runner resumes with (the store clears them on leaving `waiting`).
   */
  resumeRecord: RunRecord | undefined
  /** In the order they started listening (usually one: the run). */
  #listeners: ExecutionListener[] = []
  /** Errors that the layer that saw them judged not worth another attempt. */
  #declined: WeakSet<object> | undefined

  constructor(init: ExecutionInit) {
    this.agentId = init.agentId
    this.agentType = init.agentType
    this.tracker = init.tracker
    this.metadata = init.metadata ?? {}
  }

  /** Starts telling `listener` of every entry written; returns the way to stop (or call `unlisten`). */
  listen(listener: ExecutionListener): () => void {
    if (!this.#listeners.includes(listener)) this.#listeners = [...this.#listeners, listener]
    return () => this.unlisten(listener)
  }

  /** Stops telling `listener`. */
  unlisten(listener: ExecutionListener): void {
    if (this.#listeners.includes(listener))
      this.#listeners = this.#listeners.filter((told) => told !== listener)
  }

  /** Creates the activity, `queued` with `messages.queued`. */
  async create(): Promise<void> {
    const { tracker } = this
    await tracker.create(this.agentType, { agentId: this.agentId, metadata: this.metadata })
    if (this.#listeners.length === 0) return
    const told = this.#tell({
      status: 'queued',
      message: tracker.messages.queued,
      percentage: 0,
      at: nowIso(),
      kind: 'lifecycle',
    })
    if (told) await told
  }

  /** Moves the activity to running (`messages.started`). */
  async start(): Promise<void> {
    const { tracker } = this
    const options = this.#stamp<UpdateOptions>({ status: 'running' }, 'lifecycle')
    await this.#written(tracker.update(this.agentId, tracker.messages.started, options))
  }

  /** Makes `attempt` (at least 1) the current attempt, unless the counter is already past it. */
  beginAttempt(attempt = 1): number {
    this.attempt = Math.max(this.attempt, Math.max(1, Math.floor(attempt) || 1))
    return this.attempt
  }

  /** Progress from the agent or the task (status `running`, kind `progress`). */
  async report(message: string, percentage?: number): Promise<void> {
    const options = this.#stamp<UpdateOptions>({}, 'progress')
    if (percentage !== undefined) options.percentage = percentage
    await this.#written(this.tracker.update(this.agentId, message, options))
  }

  /** A line of the given kind that does not change the status (a fallback, a worker lost...). */
  async note(message: string, kind: ActivityLogKind, attempt?: number): Promise<void> {
    await this.#written(this.tracker.update(this.agentId, message, this.#stamp({}, kind, attempt)))
  }

  /**
   * The one retry step, whoever retries (a run restarting its attempt, a run repeating a model
   * request in place, a pool task re-running its handler): decides with `retryDelay` whether another
   * attempt follows the failed current one; when it does, writes the retry line
   * (`Retrying (attempt 2 of 3): <reason>`, kind `retry`), lets `announce` tell the run (event,
   * hook), waits the delay (abortable by `signal`) and moves the counter on. Resolves `false` when
   * no retry follows: the caller then fails with `error`.
   */
  async retry(
    error: unknown,
    policy: AttemptPolicy,
    signal: AbortSignal,
    announce?: (plan: RetryPlan) => Promise<void>,
  ): Promise<boolean> {
    const delayMs = retryDelay(error, this.attempt, policy)
    if (delayMs === undefined) return false
    const plan: RetryPlan = {
      attempt: this.attempt + 1,
      maxAttempts: policy.maxAttempts,
      delayMs,
      reason: RunTimeoutError.isInstance(error)
        ? timedOutMessage(this.tracker.messages, error.timeoutMs)
        : errorMessage(error),
    }
    await this.note(
      `Retrying (attempt ${plan.attempt} of ${plan.maxAttempts}): ${plan.reason}`,
      'retry',
      plan.attempt,
    )
    await announce?.(plan)
    await abortableSleep(delayMs, signal)
    this.attempt = plan.attempt
    return true
  }

  /** Records that the layer that saw `error` judged it not worth another attempt (an outer layer then leaves it too). */
  decline(error: unknown): void {
    if (typeof error !== 'object' || error === null) return
    this.#declined ??= new WeakSet()
    this.#declined.add(error)
  }

  /** Whether a layer already judged `error` not worth another attempt. */
  declined(error: unknown): boolean {
    return typeof error === 'object' && error !== null && this.#declined?.has(error) === true
  }

  /** Ends the activity `complete` at 100%, with the run's `result` stored in the same write when given. */
  async complete(result?: JsonValue): Promise<void> {
    const { tracker } = this
    if (result === undefined) {
      await this.#end(tracker.complete(this.agentId, undefined, this.#stamp({}, 'lifecycle')))
      return
    }
    const input = this.#stamp<AppendActivityInput>(
      { status: 'complete', message: tracker.messages.complete, percentage: 100 },
      'lifecycle',
    )
    input.result = result
    await this.#end(tracker.store.append(this.agentId, input))
  }

  /**
   * Moves the activity to `waiting` with what it waits for and the checkpoint to continue from,
   * in one write (kind `approval`).
   */
  async suspend(suspension: PendingSuspension): Promise<void> {
    const input = this.#stamp<AppendActivityInput>(
      { status: 'waiting', message: waitingMessage(suspension.requests), percentage: null },
      'approval',
    )
    input.checkpoint = suspension.checkpoint
    input.pending = suspension.requests
    if (suspension.expiresAt !== undefined) input.expiresAt = suspension.expiresAt
    await this.#written(this.tracker.store.append(this.agentId, input))
  }

  /**
   * Ends the activity for `error`: `canceled` for a `RunCanceledError`, `error` with
   * `messages.timedOut` for a `RunTimeoutError`, else `error` with `messages.error(error)`. When
   * `messages.error` itself throws, the line is `Failed: <message>`.
   */
  async fail(error: unknown): Promise<void> {
    const { tracker, agentId } = this
    if (RunCanceledError.isInstance(error)) {
      await this.#end(tracker.cancel(agentId, undefined, this.#stamp({}, 'lifecycle')))
      return
    }
    let message: string
    if (RunTimeoutError.isInstance(error)) message = timedOutMessage(tracker.messages, error.timeoutMs)
    else {
      try {
        message = tracker.messages.error(error)
      } catch {
        message = `Failed: ${errorMessage(error)}`
      }
    }
    await this.#end(
      tracker.update(agentId, message, this.#stamp<UpdateOptions>({ status: 'error' }, 'lifecycle')),
    )
  }

  async #end(write: Promise<Activity>): Promise<void> {
    await this.#written(write, 'ignore')
    this.ended = true
  }

  /** `options` with the entry's kind and attempt (the current one unless given; none before the first). */
  #stamp<T extends LogEntryOptions>(options: T, kind: ActivityLogKind, attempt?: number): T {
    const at = attempt ?? this.attempt
    options.kind = kind
    if (at > 0) options.attempt = at
    return options
  }

  /**
   * Waits for one write made through the tracker (its entry stamped by `#stamp`), then tells the
   * listeners. A write refused because the activity is terminal records the activity as found
   * (`endedElsewhere`) and rethrows.
   */
  async #written(write: Promise<Activity>, listenerErrors: 'throw' | 'ignore' = 'throw'): Promise<void> {
    let activity: Activity
    try {
      activity = await write
    } catch (error) {
      if (ActivityTransitionError.isInstance(error)) {
        const current = await this.tracker.store.get(this.agentId).catch(() => undefined)
        if (current && isTerminalStatus(current.status)) this.endedElsewhere = current
      }
      throw error
    }
    const entry = activity.log.at(-1)
    if (!entry || this.#listeners.length === 0) return
    const told = this.#tell(entry)
    if (!told) return
    if (listenerErrors === 'throw') await told
    else await told.catch(ignore)
  }

  /** Tells every listener, in order; a promise only when some listener returned one. */
  #tell(entry: ActivityLogEntry): Promise<void> | undefined {
    // Never changed in place (listen and unlisten replace it): a listener that stops listening
    // while told does not disturb this loop.
    const listeners = this.#listeners
    for (let index = 0; index < listeners.length; index++) {
      const pending = listeners[index]!(entry)
      if (pending) return this.#tellRest(pending, listeners.slice(index + 1), entry)
    }
    return undefined
  }

  async #tellRest(pending: Promise<void>, rest: ExecutionListener[], entry: ActivityLogEntry): Promise<void> {
    await pending
    for (const listener of rest) await listener(entry)
  }
}

const ignore = () => {}
