import type { z } from 'zod'
import type { ActivityTracker } from '../activity/tracker.js'
import { errorMessage, timedOutMessage } from '../activity/tracker.js'
import { isTerminalStatus } from '../activity/transitions.js'
import type { Activity } from '../activity/types.js'
import { ActivityNotFoundError } from '../errors/activity-not-found-error.js'
import { ActivityTransitionError } from '../errors/activity-transition-error.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { RunTimeoutError } from '../errors/run-timeout-error.js'
import { RunnerError } from '../errors/runner-error.js'
import { backoffDelay } from '../runner/retry.js'
import { abortableSleep } from '../util/abort.js'
import { zodIssues } from '../util/zod-issues.js'
import { toJson } from './to-json.js'
import type { JobOutcome, JobRunner, JsonValue, PoolJob, RunJobOptions, TaskHandler } from './types.js'

/** A task as the job runner needs it: `pool.task(...)` arguments, validated, defaults applied. */
export interface RegisteredTask {
  name: string
  input: z.ZodType
  retries: number
  timeoutMs: number | undefined
  retryDelayMs: number
  maxRetryDelayMs: number
  retryOn: ((error: unknown, info: { attempt: number }) => boolean) | undefined
  handler: TaskHandler<unknown, unknown>
}

/** Options of `createJobRunner`. */
export interface JobRunnerOptions {
  /** Where the jobs' activities are. */
  activity: ActivityTracker
  /** Finds a registered task by name (tasks may be registered after the runner is created). */
  getTask: (name: string) => RegisteredTask | undefined
}

/** How one attempt ended. */
type AttemptResult =
  | { kind: 'returned'; value: unknown }
  | { kind: 'threw'; error: unknown }
  | { kind: 'timeout'; error: RunTimeoutError }
  | { kind: 'canceled'; error: RunCanceledError }

/**
 * Creates the job runner shared by every engine: the single owner of a job's lifecycle. See
 * `JobRunner` for the contract; the rules it keeps:
 * - it looks at the activity before every write and after every attempt: an activity made
 *   terminal by someone else (a runner inside the handler, a user) is left as it is and decides the
 *   outcome; a terminal activity is never retried and never moved again;
 * - it never waits for a handler past its signal: on cancel or timeout the attempt ends at once
 *   and a handler that ignores its signal keeps running in the background, its result dropped;
 * - every exit writes a terminal status, so no activity is left `running` (unless the store fails).
 */
export function createJobRunner(options: JobRunnerOptions): JobRunner {
  const { activity, getTask } = options
  const { messages } = activity

  /** Reads the activity; `undefined` if it is gone. */
  const read = (agentId: string) => activity.store.get(agentId)

  /**
   * Performs an activity write. `undefined` when written; the activity when the write was refused
   * because someone else made it terminal first (the caller then settles from it).
   */
  async function write(agentId: string, perform: () => Promise<unknown>): Promise<Activity | undefined> {
    try {
      await perform()
      return undefined
    } catch (error) {
      if (!ActivityTransitionError.isInstance(error)) throw error
      const current = await read(agentId)
      if (!current || !isTerminalStatus(current.status)) throw error
      return current
    }
  }

  return {
    async runJob(job, runOptions) {
      const attempts = { last: 0 }
      try {
        return await runJobUnsafe(job, runOptions, attempts)
      } catch (error) {
        // The store failed, a user callback (retryOn, messages.error) threw, or a bug: end the
        // activity if the store still can, and report the error.
        const failure = asError(error, job.task)
        try {
          const current = await read(job.agentId)
          if (current && !isTerminalStatus(current.status)) {
            // Written without `messages.error`, which may be what threw.
            await activity.store.append(job.agentId, {
              status: 'error',
              message: `Failed: ${errorMessage(error)}`,
              percentage: null,
            })
          }
        } catch {
          // Nothing more can be done: the store is the problem.
        }
        return outcome(job, 'error', attempts.last, { error: failure })
      }
    },

    async cancelJob(job, cancelOptions = {}) {
      const error = new RunCanceledError(cancelOptions.reason ?? 'The task was canceled before it started.')
      try {
        const current = await read(job.agentId)
        if (!current) return outcome(job, 'canceled', 0, { error })
        if (isTerminalStatus(current.status)) return settleFromTerminal(job, current, undefined, 0)
        const terminal = await write(job.agentId, () => activity.cancel(job.agentId))
        if (terminal) return settleFromTerminal(job, terminal, undefined, 0)
        return outcome(job, 'canceled', 0, { error })
      } catch (failure) {
        return outcome(job, 'canceled', 0, { error: new RunCanceledError(error.message, { cause: failure }) })
      }
    },
  }

  async function runJobUnsafe(
    job: PoolJob,
    { signal, onReport }: RunJobOptions,
    attempts: { last: number },
  ): Promise<JobOutcome> {
    const { agentId } = job
    const current = await read(agentId)
    if (!current) return outcome(job, 'error', 0, { error: new ActivityNotFoundError(agentId) })
    if (isTerminalStatus(current.status)) return settleFromTerminal(job, current, undefined, 0)

    /** Ends the job as canceled (activity canceled), or as the activity says if it is already terminal. */
    const cancel = async (error: RunCanceledError, attempt: number): Promise<JobOutcome> => {
      const terminal = await write(agentId, () => activity.cancel(agentId))
      if (terminal) return settleFromTerminal(job, terminal, { kind: 'canceled', error }, attempt)
      return outcome(job, 'canceled', attempt, { error })
    }
    /** Ends the job in error (activity error with `message`), or as the activity says if it is already terminal. */
    const fail = async (
      error: Error,
      message: string,
      last: AttemptResult | undefined,
      attempt: number,
    ): Promise<JobOutcome> => {
      const terminal = await write(agentId, () => activity.update(agentId, message, { status: 'error' }))
      if (terminal) return settleFromTerminal(job, terminal, last, attempt)
      return outcome(job, 'error', attempt, { error })
    }

    if (signal.aborted) return cancel(canceledError(signal), 0)

    const task = getTask(job.task)
    if (!task) {
      const error = new RunnerError(
        `No task named "${job.task}" is registered on this pool. Register it with pool.task("${job.task}", ...) in every process that runs jobs.`,
      )
      return fail(error, messages.error(error), undefined, 0)
    }
    const parsed = task.input.safeParse(job.input)
    if (!parsed.success) {
      const error = new InvalidOptionsError(zodIssues(parsed.error, 'input'), {
        subject: `input of task "${task.name}"`,
      })
      return fail(error, messages.error(error), undefined, 0)
    }

    const started = await write(agentId, () => activity.update(agentId, messages.started))
    if (started) return settleFromTerminal(job, started, undefined, 0)

    for (let attempt = Math.max(1, Math.floor(job.attempt) || 1); ; attempt++) {
      attempts.last = attempt
      if (signal.aborted) return cancel(canceledError(signal), attempt - 1)
      const result = await runAttempt(task, job, parsed.data, current.metadata, attempt, signal, onReport)

      const after = await read(agentId)
      if (!after) return outcome(job, 'error', attempt, { error: new ActivityNotFoundError(agentId) })
      if (isTerminalStatus(after.status)) return settleFromTerminal(job, after, result, attempt)

      if (result.kind === 'returned') {
        const json = toJson(result.value)
        if (!json.ok) {
          // Not retried: the same code would most likely return the same value again.
          const error = notJsonError(task.name, json.path, json.problem)
          return fail(error, messages.error(error), result, attempt)
        }
        const terminal = await write(agentId, () => activity.complete(agentId))
        if (terminal) return settleFromTerminal(job, terminal, result, attempt)
        return outcome(job, 'complete', attempt, json.value === undefined ? {} : { result: json.value })
      }
      if (result.kind === 'canceled') return cancel(result.error, attempt)

      const error = result.error
      if (RunCanceledError.isInstance(error)) return cancel(error, attempt)
      const reason =
        result.kind === 'timeout' ? timedOutMessage(messages, result.error.timeoutMs) : errorMessage(error)
      if (attempt <= task.retries && isRetryable(task, error, attempt)) {
        const logged = await write(agentId, () =>
          activity.update(agentId, `Retry ${attempt}/${task.retries}: ${reason}`),
        )
        if (logged) return settleFromTerminal(job, logged, result, attempt)
        const delayMs = backoffDelay(attempt, {
          initialDelayMs: task.retryDelayMs,
          maxDelayMs: task.maxRetryDelayMs,
        })
        if (
          !(await abortableSleep(delayMs, signal).then(
            () => true,
            () => false,
          ))
        ) {
          return cancel(canceledError(signal), attempt)
        }
        const again = await read(agentId)
        if (again && isTerminalStatus(again.status)) return settleFromTerminal(job, again, result, attempt)
        continue
      }
      const message = result.kind === 'timeout' ? reason : messages.error(error)
      return fail(asError(error, task.name), message, result, attempt)
    }
  }

  /** Runs the handler once; ends at once on cancel or timeout, whatever the handler does. */
  async function runAttempt(
    task: RegisteredTask,
    job: PoolJob,
    input: unknown,
    metadata: Record<string, unknown>,
    attempt: number,
    jobSignal: AbortSignal,
    onReport: RunJobOptions['onReport'],
  ): Promise<AttemptResult> {
    const controller = new AbortController()
    const interruption = Promise.withResolvers<AttemptResult>()
    let over = false
    // The attempt's outcome is settled before the handler's signal aborts, so that a handler that
    // rejects on abort can never be mistaken for a failure.
    const onJobAbort = () => {
      const error = canceledError(jobSignal)
      interruption.resolve({ kind: 'canceled', error })
      controller.abort(error)
    }
    jobSignal.addEventListener('abort', onJobAbort, { once: true })
    const timeoutMs = task.timeoutMs
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            const error = new RunTimeoutError(timeoutMs)
            interruption.resolve({ kind: 'timeout', error })
            controller.abort(error)
          }, timeoutMs)

    const report = async (message: string, percentage?: number): Promise<void> => {
      if (over || controller.signal.aborted) return
      await activity.update(job.agentId, message, percentage === undefined ? {} : { percentage })
      try {
        onReport?.(message, percentage)
      } catch {
        // The engine's mirror of the progress must not break the task; the activity has it.
      }
    }

    const handled = (async () =>
      task.handler({
        agentId: job.agentId,
        task: task.name,
        input,
        metadata,
        signal: controller.signal,
        attempt,
        report,
      }))().then(
      (value): AttemptResult => ({ kind: 'returned', value }),
      (error: unknown): AttemptResult => ({ kind: 'threw', error }),
    )
    try {
      return await Promise.race([handled, interruption.promise])
    } finally {
      over = true
      if (timer !== undefined) clearTimeout(timer)
      jobSignal.removeEventListener('abort', onJobAbort)
    }
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
    const thrown = last?.kind === 'returned' || last === undefined ? undefined : last.error
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
        if (last.kind === 'canceled') return outcome(job, 'canceled', attempt, { error: last.error })
        if (last.kind !== 'returned')
          return outcome(job, 'error', attempt, { error: asError(last.error, job.task) })
        const json = toJson(last.value)
        if (!json.ok)
          return outcome(job, 'error', attempt, { error: notJsonError(job.task, json.path, json.problem) })
        return outcome(job, 'complete', attempt, json.value === undefined ? {} : { result: json.value })
      }
    }
  }
}

function isRetryable(task: RegisteredTask, error: unknown, attempt: number): boolean {
  if (RunCanceledError.isInstance(error) || InvalidOptionsError.isInstance(error)) return false
  return task.retryOn ? task.retryOn(error, { attempt }) : true
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

function notJsonError(task: string, path: string, problem: string): RunnerError {
  const where = path === '' ? 'its return value' : `result.${path}`
  return new RunnerError(
    `Task "${task}" returned a value that is not JSON: ${where} ${problem}. Task results cross processes as JSON; return plain objects, arrays, strings, numbers, booleans and null.`,
  )
}
