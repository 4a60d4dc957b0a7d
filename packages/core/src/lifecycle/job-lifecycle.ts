import { type ActivityTracker, errorMessage } from '../activity/tracker.js'
import { isTerminalStatus } from '../activity/transitions.js'
import type { Activity } from '../activity/types.js'
import { ActivityNotFoundError } from '../errors/activity-not-found-error.js'
import { BudgetExceededError, budgetReachedMessage } from '../errors/budget-exceeded-error.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { RunnerError } from '../errors/runner-error.js'
import { ValueTooLargeError } from '../errors/value-too-large-error.js'
import { type ToJsonResult, toJson } from '../pool/to-json.js'
import type {
  JobOutcome,
  JobRunner,
  JsonValue,
  PoolJob,
  RegisteredTask,
  RunJobOptions,
} from '../pool/types.js'
import { failedJobs, forgetWaitingJob, saveWaitingJob, waitingJob } from '../pool/waiting-jobs.js'
import { instrumentations, withTraceContext } from '../runner/instrumentation.js'
import { abortableSleep } from '../util/abort.js'
import { zodIssues } from '../util/zod-issues.js'
import { withCurrent } from './current.js'
import { deadline } from './deadline.js'
import { Execution } from './execution.js'
import type { AttemptPolicy } from './retry-policy.js'
import type { SharedBudgetReached, SharedBudgetUse } from './shared-budget.js'

/** Options of `createJobRunner`. */
export interface JobRunnerOptions {
  /** Where the jobs' activities are. */
  activity: ActivityTracker
  /** Finds a registered task by name (tasks may be registered after the runner is created). */
  getTask: (name: string) => RegisteredTask | undefined
}

/** How one attempt of a handler ended. */
type AttemptResult = { kind: 'returned'; value: unknown } | { kind: 'threw'; error: unknown }

/**
 * The lifecycle of a pool job, shared by every engine. It drives the job's `Execution` (the only
 * writer of its activity): the move to running, one attempt per handler call on the execution's
 * counter (`Execution.retry` decides each retry, with the task's `retries` as this layer's budget),
 * the end. A runner that the handler runs with the job's agentId joins this execution. It never
 * waits for a handler past its signal: on cancel or timeout the attempt ends at once, and a handler
 * that ignores its signal keeps running in the background, its result dropped. An activity ended by
 * someone else (a user's `tracker.cancel`) decides the outcome and is never moved again.
 */
export function createJobRunner(options: JobRunnerOptions): JobRunner {
  const { activity, getTask } = options
  const executionOf = (job: PoolJob, metadata?: Record<string, unknown>) =>
    new Execution({
      agentId: job.agentId,
      agentType: job.task,
      tracker: activity,
      ...(metadata ? { metadata } : {}),
    })

  /** Keeps a failed job for `pool.retry`; a store that cannot keep it only loses the retry. */
  const keepFailed = (job: PoolJob) => failedJobs.save(activity.store, job).catch(() => {})

  return {
    async runJob(job, runOptions) {
      const execution = executionOf(job)
      let result: JobOutcome
      try {
        // Inside the trace context the job brought from the process that enqueued it, if traced.
        result =
          instrumentations().length === 0
            ? await runJob(job, runOptions, execution)
            : await withTraceContext(job.trace, () => runJob(job, runOptions, execution))
      } catch (error) {
        // The store failed, a user callback (retryOn, messages.error) threw, or a bug: end the
        // activity if the store still can, and report the error.
        const failure = asError(error, job.task)
        if (!execution.ended) await execution.fail(failure).catch(() => {})
        result = outcome(job, 'error', execution.attempt, { error: failure })
      }
      if (result.status === 'error') await keepFailed(job)
      return result
    },

    async cancelJob(job, cancelOptions = {}) {
      const error = new RunCanceledError(cancelOptions.reason ?? 'The task was canceled before it started.')
      const execution = executionOf(job)
      try {
        const current = await activity.store.get(job.agentId)
        if (!current) return outcome(job, 'canceled', 0, { error })
        if (isTerminalStatus(current.status)) return settleFromTerminal(job, current, undefined, 0)
        await execution.fail(error)
        return outcome(job, 'canceled', 0, { error })
      } catch (failure) {
        if (execution.endedElsewhere) return settleFromTerminal(job, execution.endedElsewhere, undefined, 0)
        return outcome(job, 'canceled', 0, { error: new RunCanceledError(error.message, { cause: failure }) })
      }
    },

    async failJob(job, error) {
      const execution = executionOf(job)
      try {
        await execution.fail(error)
      } catch {
        if (execution.endedElsewhere)
          return settleFromTerminal(job, execution.endedElsewhere, undefined, job.attempt)
      }
      await keepFailed(job)
      return outcome(job, 'error', job.attempt, { error })
    },

    async noteQueued(job, message) {
      await activity.update(job.agentId, message, { status: 'queued', kind: 'lifecycle' }).catch(() => {
        // Started or ended meanwhile (or the store is down): the line no longer applies.
      })
    },

    async handBackJob(job, message) {
      await executionOf(job)
        .note(message, 'lifecycle')
        .catch(() => {
          // Already ended (or the store is down): the engine hands the job back all the same.
        })
    },
  }

  async function runJob(
    job: PoolJob,
    { signal, onReport, redelivered }: RunJobOptions,
    execution: Execution,
  ) {
    const { agentId } = job
    const current = await activity.store.get(agentId)
    if (!current) return outcome(job, 'error', 0, { error: new ActivityNotFoundError(agentId) })
    if (isTerminalStatus(current.status)) return settledAlready(job, current)
    const { metadata } = current
    let last: AttemptResult | undefined

    /** Runs a write; the outcome decided by the activity when someone else ended it, else undefined. */
    const written = async (write: () => Promise<void>): Promise<JobOutcome | undefined> => {
      try {
        await write()
        return undefined
      } catch (failure) {
        if (execution.endedElsewhere)
          return settleFromTerminal(job, execution.endedElsewhere, last, execution.attempt)
        throw failure
      }
    }
    /** Ends the job with `error` (canceled, timed out or failed), unless someone else ended it first. */
    const end = async (error: unknown): Promise<JobOutcome> =>
      (await written(() => execution.fail(error))) ??
      outcome(job, RunCanceledError.isInstance(error) ? 'canceled' : 'error', execution.attempt, {
        error: asError(error, job.task),
      })

    if (signal.aborted) return end(canceledError(signal))
    const task = getTask(job.task)
    if (!task) {
      return end(
        new RunnerError(
          `No task named "${job.task}" is registered on this pool. Register it with pool.task("${job.task}", ...) in every process that runs jobs.`,
        ),
      )
    }
    const parsed = task.input.safeParse(job.input)
    if (!parsed.success) {
      return end(
        new InvalidOptionsError(zodIssues(parsed.error, 'input'), {
          subject: `input of task "${task.name}"`,
        }),
      )
    }

    const maxAttempts = task.retries + 1
    if (current.status === 'waiting' && (await staleDelivery(job))) {
      // Still waiting for decisions (an old delivery of a job that suspended): nothing to run.
      const record = await activity.store.getRun(agentId)
      return {
        agentId,
        task: job.task,
        status: 'waiting' as const,
        attempts: lastAttempt(current),
        pending: record?.pending ?? [],
      }
    }
    const lost = redelivered === true && current.status === 'running'
    // A durable runner inside the handler continues from its checkpoint.
    execution.resumable = lost || current.status === 'waiting'
    const ended = await written(async () => {
      if (current.status === 'waiting') {
        execution.resumeRecord = await activity.store.getRun(agentId)
        execution.beginAttempt(lastAttempt(current))
        await execution.note('Resuming after decisions', 'resume')
        await forgetWaitingJob(activity.store, agentId)
      } else if (lost) {
        // The worker running it was lost: the next attempt follows the last one its log records.
        const attempt = execution.beginAttempt(Math.max(job.attempt, lastAttempt(current)) + 1)
        // A lost worker is no failure of the task: its job runs again even past the task's budget.
        const budget = attempt <= maxAttempts ? ` of ${maxAttempts}` : `, past the task's ${maxAttempts}`
        await execution.note(`Worker lost; retrying (attempt ${attempt}${budget})`, 'retry')
      } else {
        execution.beginAttempt(job.attempt)
        await execution.start()
      }
    })
    if (ended) return ended

    const policy: AttemptPolicy = {
      maxAttempts,
      initialDelayMs: task.retryDelayMs,
      maxDelayMs: task.maxRetryDelayMs,
      retryable: (error, attempt) =>
        task.retryOn ? task.retryOn(error, { attempt }) : !execution.declined(error),
    }
    const mirror = onReport
      ? execution.listen((entry) => {
          if (entry.kind !== 'progress') return
          try {
            onReport(entry.message, entry.percentage ?? undefined)
          } catch {
            // The engine's mirror of the progress must not break the task; the activity has it.
          }
        })
      : undefined
    let use: SharedBudgetUse | undefined
    try {
      use = budgetUseOf(task, parsed.data, metadata)
    } catch (error) {
      mirror?.()
      return end(error)
    }
    const onExceeded = task.budget?.onExceeded ?? 'wait'
    try {
      for (;;) {
        if (signal.aborted) return await end(canceledError(signal))
        if (use) {
          const stopped = await waitForBudget(use, onExceeded, execution, signal)
          if (stopped) return await end(stopped)
        }
        last = await runAttempt(task, execution, parsed.data, metadata, signal, use)
        if (
          use &&
          onExceeded === 'wait' &&
          last.kind === 'threw' &&
          !signal.aborted &&
          stoppedBy(last.error, use)
        ) {
          // A run inside stopped on the task's budget: wait for the window, then go on (a durable
          // run continues from its checkpoint).
          execution.resumable = true
          continue
        }
        const suspension = execution.suspension
        if (suspension && !signal.aborted) {
          // A runner inside waits for decisions: whatever the handler made of its waiting result,
          // the task waits too, holding no slot, its job kept for whoever decides last.
          execution.suspension = undefined
          const done = await written(async () => {
            await saveWaitingJob(activity.store, { ...job, resumed: (job.resumed ?? 0) + 1 })
            await execution.suspend(suspension)
          })
          if (done) return done
          return {
            agentId,
            task: job.task,
            status: 'waiting' as const,
            attempts: execution.attempt,
            pending: suspension.requests.map((request) => ({ ...request })),
          }
        }
        if (last.kind === 'returned') {
          const json = toJson(last.value)
          // Not retried: the same code would most likely return the same value again.
          if (!json.ok) return await end(notJsonError(task.name, json))
          // The result is stored with the terminal status (`null` for a handler that returns nothing).
          const done = await written(() => execution.complete(json.value ?? null))
          if (done) return done
          return outcome(
            job,
            'complete',
            execution.attempt,
            json.value === undefined ? {} : { result: json.value },
          )
        }
        const error = signal.aborted ? canceledError(signal) : last.error
        if (RunCanceledError.isInstance(error)) return await end(error)
        let again = false
        const ended = await written(async () => {
          again = await execution.retry(error, policy, signal)
        }).catch((failure: unknown) => {
          // The wait before the retry was aborted: the job was canceled.
          if (signal.aborted) return end(canceledError(signal))
          throw failure
        })
        if (ended) return ended
        if (!again) return await end(error)
      }
    } finally {
      mirror?.()
    }
  }

  /**
   * The outcome of a job whose activity is final before it ran (a redelivery after its worker
   * completed it, and the engine lost the value): a complete one carries the result stored with
   * the activity.
   */
  async function settledAlready(job: PoolJob, current: Activity): Promise<JobOutcome> {
    const settled = settleFromTerminal(job, current, undefined, 0)
    if (settled.status !== 'complete') return settled
    const record = await activity.store.getRun(job.agentId).catch(() => undefined)
    if (!record?.result) return settled
    return { ...settled, attempts: lastAttempt(current), result: record.result.value }
  }

  /**
   * Whether a delivery of a waiting task is an old one (not the submission that continues it after
   * its decisions): a first delivery, or one older than the job kept for the resume.
   */
  async function staleDelivery(job: PoolJob): Promise<boolean> {
    if (job.resumed === undefined) return true
    const kept = await waitingJob(activity.store, job.agentId).catch(() => undefined)
    return kept?.resumed !== undefined && job.resumed < kept.resumed
  }

  /** Runs the handler once; ends at once on cancel or timeout, whatever the handler does. */
  async function runAttempt(
    task: RegisteredTask,
    execution: Execution,
    input: unknown,
    metadata: Record<string, unknown>,
    jobSignal: AbortSignal,
    budget: SharedBudgetUse | undefined,
  ): Promise<AttemptResult> {
    const attempt = deadline([jobSignal], task.timeoutMs)
    const signal = attempt.signal
    const interrupted = new Promise<AttemptResult>((resolve) => {
      const onAbort = () => resolve({ kind: 'threw', error: signal.reason })
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
    })
    const report = async (message: string, percentage?: number): Promise<void> => {
      if (signal.aborted) return
      await execution.report(message, percentage)
    }
    // Called at once (a synchronous throw becomes the attempt's failure).
    const handled = withCurrent({ execution, signal, ...(budget ? { budget } : {}) }, async () =>
      task.handler({
        agentId: execution.agentId,
        task: task.name,
        input,
        metadata,
        signal,
        attempt: execution.attempt,
        report,
      }),
    ).then(
      (value): AttemptResult => ({ kind: 'returned', value }),
      (error: unknown): AttemptResult => ({ kind: 'threw', error }),
    )
    try {
      return await Promise.race([handled, interrupted])
    } finally {
      // The attempt is over: its signal aborts (a handler still running stops), its timer is cleared.
      attempt.abort(attemptEnded)
      attempt.release()
    }
  }
}

/** What a handler's signal aborts with once its attempt is over: one object, no stack captured per job. */
const attemptEnded = new RunCanceledError('The attempt ended.')

/** The latest attempt an activity's log records (0 when none does). */
function lastAttempt(activity: Activity): number {
  let attempt = 0
  for (const entry of activity.log)
    if (entry.attempt !== undefined && entry.attempt > attempt) attempt = entry.attempt
  return attempt
}

/**
 * The outcome of a job whose activity someone else made terminal. The activity's status wins for
 * `canceled` and `error`; for `complete`, the handler's own result decides (a value needs the
 * handler to have returned one).
 */
function settleFromTerminal(
  job: PoolJob,
  current: Activity,
  last: AttemptResult | undefined,
  attempt: number,
): JobOutcome {
  const thrown = last?.kind === 'threw' ? last.error : undefined
  switch (current.status) {
    case 'canceled': {
      const error = RunCanceledError.isInstance(thrown)
        ? thrown
        : new RunCanceledError(
            `The task's activity ${job.agentId} was canceled: ${current.message}`,
            thrown === undefined ? {} : { cause: thrown },
          )
      return outcome(job, 'canceled', attempt, { error })
    }
    case 'error': {
      const error =
        thrown === undefined
          ? new RunnerError(`The task's activity ${job.agentId} ended in error: ${current.message}`)
          : asError(thrown, job.task)
      return outcome(job, 'error', attempt, { error })
    }
    default: {
      if (last === undefined) return outcome(job, 'complete', attempt, {})
      if (last.kind !== 'returned') {
        const error = RunCanceledError.isInstance(last.error) ? 'canceled' : 'error'
        return outcome(job, error, attempt, { error: asError(last.error, job.task) })
      }
      const json = toJson(last.value)
      if (!json.ok) return outcome(job, 'error', attempt, { error: notJsonError(job.task, json) })
      return outcome(job, 'complete', attempt, json.value === undefined ? {} : { result: json.value })
    }
  }
}

function outcome(
  job: PoolJob,
  status: JobOutcome['status'],
  attempts: number,
  fields: { result?: JsonValue; error?: Error },
): JobOutcome {
  return { agentId: job.agentId, task: job.task, status, attempts, ...fields } as JobOutcome
}

/** The cancel error of an aborted job signal: its reason if it is one, a new one otherwise. */
function canceledError(signal: AbortSignal): RunCanceledError {
  const reason: unknown = signal.reason
  if (RunCanceledError.isInstance(reason)) return reason
  return new RunCanceledError('The task was canceled.', { reason })
}

/** `value` if it is an `Error`; otherwise a `RunnerError` with a readable message and the value as `cause`. */
function asError(value: unknown, task: string): Error {
  if (value instanceof Error) return value
  return new RunnerError(`Task "${task}" failed with a non-Error value: ${errorMessage(value)}`, {
    cause: value,
  })
}

function notJsonError(task: string, refused: Extract<ToJsonResult, { ok: false }>): RunnerError {
  if (refused.tooDeep) {
    return new ValueTooLargeError('result', 'levels', refused.tooDeep.depth, refused.tooDeep.limit, {
      subject: `result of task "${task}"`,
      advice: 'flatten it (task results cross processes as JSON)',
    })
  }
  const where = refused.path === '' ? 'its return value' : `result.${refused.path}`
  return new RunnerError(
    `Task "${task}" returned a value that is not JSON: ${where} ${refused.problem}. Task results cross processes as JSON; return plain objects, arrays, strings, numbers, booleans and null.`,
  )
}

/** Longest key a task's `budget.key` may return, in characters. */
const maxBudgetKeyLength = 200

/** The shared budget a job spends under (its task's `budget`, keyed for this job), if any. */
function budgetUseOf(
  task: RegisteredTask,
  input: unknown,
  metadata: Record<string, unknown>,
): SharedBudgetUse | undefined {
  if (!task.budget) return undefined
  let key: unknown
  try {
    key = task.budget.key(input, metadata)
  } catch (error) {
    throw new InvalidOptionsError(
      [
        {
          field: 'budget.key',
          message: `the budget key of task "${task.name}" threw (${errorMessage(error)}); make it return a string for every input and metadata it gets`,
        },
      ],
      { subject: `task "${task.name}"` },
    )
  }
  if (typeof key !== 'string' || key.length === 0 || key.length > maxBudgetKeyLength) {
    throw new InvalidOptionsError(
      [
        {
          field: 'budget.key',
          message: `the budget key of task "${task.name}" returned ${typeof key === 'string' ? `a string of ${key.length} characters` : typeof key}; it must return a non-empty string of at most ${maxBudgetKeyLength} characters`,
        },
      ],
      { subject: `task "${task.name}"` },
    )
  }
  return { budget: task.budget.shared, key }
}

/** The shared-budget details of a reached limit, as errors and messages give them. */
function sharedInfo(use: SharedBudgetUse, reached: SharedBudgetReached) {
  return {
    name: use.budget.name,
    key: use.key,
    per: use.budget.per,
    resetsAt: new Date(reached.resetsAt).toISOString(),
  }
}

/** Whether `error` is a run's stop on the budget `use` (same budget, same key). */
function stoppedBy(error: unknown, use: SharedBudgetUse): boolean {
  return (
    BudgetExceededError.isInstance(error) &&
    error.shared !== undefined &&
    error.shared.name === use.budget.name &&
    error.shared.key === use.key
  )
}

/** Longest wait between two checks of a reached budget (another process may have its window end). */
const budgetRecheckMs = 60_000

/**
 * Before an attempt: resolves `undefined` when the job's key has budget left. A reached budget
 * ends the job with `BudgetExceededError` (`'fail'`), or is waited for (`'wait'`: one activity
 * line, then a check at the window's end) until it has room or the job is canceled.
 */
async function waitForBudget(
  use: SharedBudgetUse,
  onExceeded: 'wait' | 'fail',
  execution: Execution,
  signal: AbortSignal,
): Promise<unknown> {
  let told = false
  for (;;) {
    const reached = await use.budget.reached(use.key)
    if (!reached) {
      if (told) await execution.note(`Budget ${use.budget.name} has room again; going on`, 'lifecycle')
      return undefined
    }
    const shared = sharedInfo(use, reached)
    if (onExceeded === 'fail')
      return new BudgetExceededError(reached.budget, reached.limit, reached.spent, { shared })
    if (!told) {
      told = true
      const message = budgetReachedMessage(reached.budget, reached.limit, reached.spent, shared)
      await execution.note(`Waiting for budget: ${message}`, 'lifecycle')
    }
    try {
      await abortableSleep(Math.min(Math.max(reached.resetsAt - Date.now(), 10), budgetRecheckMs), signal)
    } catch {
      return canceledError(signal)
    }
  }
}
