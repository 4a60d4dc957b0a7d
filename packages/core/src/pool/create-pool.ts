import type { z } from 'zod'
import { assertStorableMetadata } from '../activity/text-policy.js'
import { createActivityTracker } from '../activity/tracker.js'
import type { DecisionInput, RunRecord } from '../activity/types.js'
import { ActivityNotFoundError } from '../errors/activity-not-found-error.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { RunnerError } from '../errors/runner-error.js'
import { ValueTooLargeError } from '../errors/value-too-large-error.js'
import { currentWork } from '../lifecycle/current.js'
import { decide } from '../lifecycle/decide.js'
import { createJobRunner } from '../lifecycle/job-lifecycle.js'
import { injectTrace } from '../runner/instrumentation.js'
import { errorFields, writeLog } from '../runner/log-hooks.js'
import { assertJsonDepth } from '../util/json-limits.js'
import { parseOrThrow, zodIssues } from '../util/zod-issues.js'
import { localEngine } from './local-engine.js'
import {
  closeOptionsSchema,
  DEFAULT_MAX_INPUT_BYTES,
  enqueueOptionsSchema,
  maxConcurrencyKeyLength,
  poolOptionsSchema,
  resultOptionsSchema,
  taskNameSchema,
  taskOptionsSchema,
} from './options.js'
import { logEnqueued, loggedJobRunner, type PoolLogSettings } from './pool-logs.js'
import { resultFromStore } from './result-from-store.js'
import { createLocalSchedules, firingAgentId, parseSchedule } from './schedules.js'
import { toJson } from './to-json.js'
import type {
  EnqueueManyItem,
  EnqueueResult,
  JobOutcome,
  JobRunner,
  JsonValue,
  Pool,
  PoolJob,
  PoolOptions,
  RegisteredTask,
  ScheduleDefinition,
  TaskHandler,
} from './types.js'
import { failedJobs, forgetWaitingJob, waitingJob } from './waiting-jobs.js'

/** Default of `close({ timeoutMs })`. */
const defaultCloseTimeoutMs = 30_000

/**
 * Creates a task pool. Handlers are registered by name with `pool.task`; jobs are plain JSON that
 * the engine (`localEngine()` by default) schedules and hands back to the pool's job runner, so the
 * same task code runs in-process or on many machines.
 *
 * ```ts
 * const pool = createPool({ concurrency: 4 })
 * const research = pool.task('research', { input: z.object({ topic: z.string() }), retries: 2 },
 *   async ({ input, signal, report }) => { await report('Searching', 10); return search(input.topic, { signal }) })
 * const { agentId } = await research.enqueue({ topic: 'tides' }, { priority: 5 })
 * const found = await pool.result(agentId)
 * ```
 */
export function createPool(options: PoolOptions = {}): Pool {
  const valid = parseOrThrow(poolOptionsSchema, options, 'pool options')
  const activity = valid.activity ?? createActivityTracker()
  const engine = valid.engine ?? localEngine()
  const concurrency = valid.concurrency ?? 4
  const maxInputBytes = valid.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES
  const tasks = new Map<string, RegisteredTask>()
  const logs: PoolLogSettings | undefined = valid.structuredLogger
    ? { logger: valid.structuredLogger, logContent: valid.logContent ?? false }
    : undefined
  const jobRunner = createJobRunner({ activity, getTask: (name) => tasks.get(name) })
  const logged = logs ? loggedJobRunner(jobRunner, logs) : jobRunner
  const runner: JobRunner = {
    ...logged,
    async runJob(job, runOptions) {
      const outcome = await logged.runJob(job, runOptions)
      // A task that ends canceled or in error takes its children with it, wherever they run.
      if (outcome.status === 'canceled' || outcome.status === 'error') await cancelChildren(job.agentId)
      return outcome
    },
  }

  /** Cancels the unfinished tasks whose activity names `parentId` as its parent (`metadata.parentId`). */
  async function cancelChildren(parentId: string): Promise<void> {
    try {
      const children: string[] = []
      let cursor: string | undefined
      do {
        const page = await activity.store.list({
          metadata: { parentId },
          status: ['queued', 'running', 'waiting'],
          limit: 1000,
          ...(cursor === undefined ? {} : { cursor }),
        })
        children.push(...page.items.map((item) => item.agentId))
        cursor = page.nextCursor
      } while (cursor !== undefined)
      await Promise.allSettled(children.map((child) => pool.cancel(child)))
    } catch {
      // The store is down: the children run on; their own timeouts still hold.
    }
  }
  const inFlight = new Set<Promise<unknown>>()
  let closed = false
  let closing: Promise<void> | undefined

  // Started at once (a distributed worker consumes jobs without ever enqueueing). A synchronous
  // failure (an engine already used by another pool) throws from createPool.
  const started = Promise.resolve(engine.start({ concurrency, activity, ...runner, fireSchedule }))
  started.catch(() => {})
  // Timers of this process, for an engine that keeps no schedules itself.
  const localSchedules = createLocalSchedules({
    store: activity.store,
    fire: fireSchedule,
    onError: (error, schedule) => {
      const message = `schedule "${schedule.name}": a firing of task "${schedule.task}" failed: ${messageOf(error)}`
      if (logs)
        writeLog(logs.logger, 'error', {
          event: 'schedule.failed',
          schedule: schedule.name,
          task: schedule.task,
          ...errorFields(error),
        })
      else console.error(`[@runner/core] ${message}`)
    },
  })

  const pool: Pool = {
    activity,
    engine,

    task(name, taskOptions, handler) {
      const taskName = parseOrThrow(taskNameSchema, name, 'task', 'name')
      if (tasks.has(taskName)) {
        throw new InvalidOptionsError(
          [
            {
              field: 'name',
              message: `a task named "${taskName}" is already registered on this pool; pick another name`,
            },
          ],
          { subject: 'task' },
        )
      }
      const settings = parseOrThrow(taskOptionsSchema, taskOptions, 'task options')
      if (typeof handler !== 'function') {
        throw new InvalidOptionsError(
          [
            {
              field: 'handler',
              message: 'must be a function ({ agentId, input, signal, attempt, report }) => result',
            },
          ],
          { subject: 'task' },
        )
      }
      tasks.set(taskName, {
        name: taskName,
        input: settings.input,
        retries: settings.retries ?? 0,
        timeoutMs: settings.timeoutMs,
        retryDelayMs: settings.retryDelayMs ?? 500,
        maxRetryDelayMs: settings.maxRetryDelayMs ?? 10_000,
        retryOn: settings.retryOn,
        concurrency: settings.concurrency,
        budget: settings.budget as RegisteredTask['budget'],
        handler: handler as TaskHandler<unknown, unknown>,
      })
      return {
        name: taskName,
        enqueue: (input, enqueueOptions) => pool.enqueue(taskName, input, enqueueOptions),
        result: (agentId, resultOptions) => pool.result(agentId, resultOptions),
        schedule: (scheduleName, scheduleOptions) =>
          pool.schedule(scheduleName, { ...scheduleOptions, task: taskName }),
      }
    },

    async schedule(name, scheduleOptions) {
      if (closed) throw closedError()
      const parsed = parseSchedule(name, scheduleOptions)
      const task = taskNamed(parsed.task, 'task', 'schedule')
      if (parsed.metadata) assertStorableMetadata(parsed.metadata, 'schedule options')
      const jobInput = validateInput(task, parsed.input, maxInputBytes, 'input', 'schedule input')
      concurrencyKeyOf(task, jobInput.parsed, firingMetadata(parsed, Date.now()), 'schedule')
      const { input: _, ...rest } = parsed
      const definition: ScheduleDefinition = {
        ...rest,
        ...(jobInput.value === undefined ? {} : { input: jobInput.value }),
      }
      await started
      return schedulesOf().upsert(definition)
    },

    async schedules() {
      await started
      return schedulesOf().list()
    },

    async pauseSchedule(name) {
      await started
      return schedulesOf().pause(parseOrThrow(taskNameSchema, name, 'pauseSchedule', 'name'))
    },

    async resumeSchedule(name) {
      await started
      return schedulesOf().resume(parseOrThrow(taskNameSchema, name, 'resumeSchedule', 'name'))
    },

    async removeSchedule(name) {
      await started
      return schedulesOf().remove(parseOrThrow(taskNameSchema, name, 'removeSchedule', 'name'))
    },

    async enqueue(name, input, enqueueOptions = {}) {
      if (closed) throw closedError()
      const task = taskNamed(name, 'task', 'enqueue')
      const settings = parseEnqueueOptions(enqueueOptions, 'enqueue options')
      const jobInput = validateInput(task, input, maxInputBytes)
      const key = concurrencyKeyOf(task, jobInput.parsed, settings.metadata, 'enqueue')
      const work = submit(task, jobInput.value, settings, key)
      inFlight.add(work)
      try {
        return await work
      } finally {
        inFlight.delete(work)
      }
    },

    async enqueueMany(items) {
      if (closed) throw closedError()
      const prepared = prepareMany(items)
      if (prepared.length === 0) return []
      const work = submitMany(prepared)
      inFlight.add(work)
      try {
        return await work
      } finally {
        inFlight.delete(work)
      }
    },

    async result<T>(agentId: string, resultOptions = {}) {
      const settings = parseOptions(resultOptionsSchema, resultOptions, 'result options')
      const id = parseId(agentId, 'result')
      await started
      const controller = new AbortController()
      const onAbort = () => controller.abort(settings.signal?.reason)
      if (settings.signal?.aborted) onAbort()
      else settings.signal?.addEventListener('abort', onAbort, { once: true })
      const timer =
        settings.timeoutMs === undefined
          ? undefined
          : setTimeout(
              () =>
                controller.abort(
                  new RunnerError(
                    `pool.result() waited timeoutMs (${settings.timeoutMs} ms) and task ${id} has not finished; it keeps running. Wait again, or stop it with pool.cancel().`,
                  ),
                ),
              settings.timeoutMs,
            )
      let outcome: JobOutcome | undefined
      try {
        outcome = await engine.result(id, controller.signal)
        // Not kept by the engine (evicted, another process's, lost in an outage), waiting for
        // decisions, or complete without its value (a delivery that found the activity complete and
        // did not run the handler): the store has the activity and the result written with it.
        if (!outcome || outcome.status === 'waiting' || unrun(outcome))
          return (await resultFromStore(activity, id, controller.signal)) as T
      } finally {
        clearTimeout(timer)
        settings.signal?.removeEventListener('abort', onAbort)
      }
      if (outcome.status === 'complete') return outcome.result as T
      throw outcome.error
    },

    approve(agentId, toolCallId, decisionOptions = {}) {
      return decideAndResume(agentId, toolCallId, {
        type: 'approve',
        ...(decisionOptions as object),
      } as DecisionInput)
    },

    deny(agentId, toolCallId, decisionOptions = {}) {
      return decideAndResume(agentId, toolCallId, { type: 'deny', ...decisionOptions })
    },

    respond(agentId, requestId, value, decisionOptions = {}) {
      return decideAndResume(agentId, requestId, {
        type: 'respond',
        value: value as JsonValue,
        ...decisionOptions,
      })
    },

    async retry(agentId) {
      const id = parseOrThrow(taskNameSchema, agentId, 'retry', 'agentId')
      if (closed) throw closedError()
      const current = await activity.store.get(id)
      if (!current) throw new ActivityNotFoundError(id)
      if (current.status !== 'error') {
        throw new InvalidOptionsError(
          [
            {
              field: 'agentId',
              message: `task ${id} is ${current.status}: only a task that failed (status "error") can be retried`,
            },
          ],
          { subject: 'retry' },
        )
      }
      const job = await failedJobs.get(activity.store, id)
      if (!job) {
        throw new RunnerError(
          `The input of task ${id} was not kept, so it cannot be retried: a failed task's job is kept in the store's document table when it fails (in this process only for a store without one), from this version on. Enqueue it again with its input.`,
        )
      }
      const retried = await pool.enqueue(job.task, job.input, {
        metadata: { ...current.metadata, retryOf: id },
        priority: job.priority,
      })
      // Retried once: a second retry of the same failure (a double click) finds nothing to retry.
      await failedJobs.forget(activity.store, id)
      return retried
    },

    async resume(agentId) {
      const id = parseOrThrow(taskNameSchema, agentId, 'resume', 'agentId')
      const record = await activity.store.getRun(id)
      if (!record) throw new ActivityNotFoundError(id)
      return resubmit(record)
    },

    async cancel(agentId) {
      const id = parseOrThrow(taskNameSchema, agentId, 'cancel', 'agentId')
      await started
      if (await engine.cancel(id)) return true
      // A task waiting for decisions is in no engine: cancel its activity.
      const current = await activity.store.get(id)
      if (current?.status !== 'waiting') return false
      try {
        await activity.cancel(id, undefined, { kind: 'lifecycle' })
      } catch {
        return false
      }
      await forgetWaitingJob(activity.store, id)
      return true
    },

    close(closeOptions = {}) {
      closing ??= (async () => {
        const settings = parseOrThrow(closeOptionsSchema, closeOptions, 'close options')
        closed = true
        localSchedules.close()
        await Promise.allSettled(inFlight)
        await started.catch(() => {})
        await engine.close({ timeoutMs: settings.timeoutMs ?? defaultCloseTimeoutMs })
      })()
      // A close with invalid options changes nothing: the next call may try again.
      closing.catch(() => {
        if (!closed) closing = undefined
      })
      return closing
    },

    [Symbol.asyncDispose]() {
      return pool.close()
    },
  }
  return pool

  /** The engine's schedules, or this process's timers. */
  function schedulesOf() {
    return engine.schedules ?? localSchedules
  }

  /**
   * Enqueues the firing of `schedule` at `tickMs` as a task of its own, under an agentId that is
   * the same in every process: `false` when that tick's task exists already.
   */
  async function fireSchedule(schedule: ScheduleDefinition, tickMs: number): Promise<boolean> {
    if (closed) throw closedError()
    const subject = `firing of schedule "${schedule.name}"`
    const task = taskNamed(schedule.task, 'task', subject)
    const metadata = firingMetadata(schedule, tickMs)
    const settings = parseEnqueueOptions(
      { priority: schedule.priority, metadata, agentId: firingAgentId(schedule.name, tickMs) },
      subject,
    )
    const jobInput = validateInput(task, schedule.input, maxInputBytes, 'input', subject)
    const key = concurrencyKeyOf(task, jobInput.parsed, settings.metadata, subject)
    const work = submit(task, jobInput.value, settings, key)
    inFlight.add(work)
    try {
      await work
      return true
    } catch (error) {
      // That tick was enqueued already, by this process or another one on the same store.
      if (InvalidOptionsError.isInstance(error) && error.issues.some((issue) => issue.field === 'agentId'))
        return false
      throw error
    } finally {
      inFlight.delete(work)
    }
  }

  /** Records a decision, then submits the task again when nothing is left undecided. */
  async function decideAndResume(
    agentId: string,
    requestId: string,
    decision: DecisionInput,
  ): Promise<RunRecord> {
    const id = parseOrThrow(taskNameSchema, agentId, 'decision', 'agentId')
    const record = await decide(activity, id, requestId, decision)
    await resubmit(record)
    return record
  }

  /** Submits the job of a waiting task whose requests are all decided; false while some are not. */
  async function resubmit(record: RunRecord): Promise<boolean> {
    if (record.status !== 'waiting' || (record.pending ?? []).some((request) => !request.decision))
      return false
    await started
    const job = await waitingJob(activity.store, record.agentId)
    if (!job) {
      throw new RunnerError(
        `Task ${record.agentId} is waiting but its job is not kept in this store (a store without a document table keeps it in the process that ran it). Resume it from that process.`,
      )
    }
    try {
      await engine.submit(job)
    } catch (error) {
      // Submitted already by another decision of the same round (an engine that dedupes by id).
      if (InvalidOptionsError.isInstance(error)) return false
      throw error
    }
    return true
  }

  /** The registered task `name`, or `InvalidOptionsError` naming `field`. */
  function taskNamed(name: unknown, field: string, subject: string): RegisteredTask {
    const task = typeof name === 'string' ? tasks.get(name) : undefined
    if (task) return task
    const known = [...tasks.keys()].map((key) => `"${key}"`).join(', ') || 'none'
    throw new InvalidOptionsError(
      [
        {
          field,
          message: `no task named ${JSON.stringify(name)} is registered on this pool (registered: ${known}); register it with pool.task() first`,
        },
      ],
      { subject },
    )
  }

  /**
   * Validates every task of `enqueueMany` before anything is written; the first bad one throws
   * `InvalidOptionsError` naming `tasks[index]` and its field.
   */
  function prepareMany(items: unknown): Prepared[] {
    const subject = 'enqueueMany tasks'
    if (!Array.isArray(items)) {
      throw new InvalidOptionsError(
        [{ field: 'tasks', message: 'must be an array of { task, input, options }' }],
        { subject },
      )
    }
    const ids = new Map<string, number>()
    return items.map((item: unknown, index): Prepared => {
      const at = `tasks[${index}]`
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        throw new InvalidOptionsError(
          [{ field: at, message: 'must be an object { task, input, options }' }],
          {
            subject,
          },
        )
      }
      const unknownKey = Object.keys(item).find((key) => !itemKeys.has(key))
      if (unknownKey !== undefined) {
        throw new InvalidOptionsError(
          [{ field: `${at}.${unknownKey}`, message: 'is not a field (known: task, input, options)' }],
          { subject },
        )
      }
      const { task: name, input, options: enqueueOptions = {} } = item as EnqueueManyItem
      const task = taskNamed(name, `${at}.task`, subject)
      const settings = parseEnqueueOptions(enqueueOptions, subject, `${at}.options`)
      const jobInput = validateInput(task, input, maxInputBytes, `${at}.input`, subject)
      const key = concurrencyKeyOf(task, jobInput.parsed, settings.metadata, subject, at)
      if (settings.agentId !== undefined) {
        const first = ids.get(settings.agentId)
        if (first !== undefined) {
          throw new InvalidOptionsError(
            [
              {
                field: `${at}.options.agentId`,
                message: `"${settings.agentId}" is also the agentId of tasks[${first}]; each task needs its own`,
              },
            ],
            { subject },
          )
        }
        ids.set(settings.agentId, index)
      }
      return { task, input: jobInput.value, settings, key }
    })
  }

  /**
   * Creates the activities concurrently, then hands the jobs to the engine, all or none: when a
   * create or the submission fails, the activities created end `error` and no job runs.
   */
  async function submitMany(prepared: Prepared[]): Promise<EnqueueResult[]> {
    await started
    const created = await Promise.allSettled(
      prepared.map(({ task, settings }) => activity.create(task.name, createOptions(settings))),
    )
    const agentIds = created.map((result) => (result.status === 'fulfilled' ? result.value : undefined))
    const failed = created.findIndex((result) => result.status === 'rejected')
    if (failed !== -1 || closed) {
      const error =
        failed === -1
          ? closedError()
          : createFailure((created[failed] as PromiseRejectedResult).reason, failed, prepared.length)
      await withdraw(agentIds, error)
      throw error
    }
    const enqueuedAt = new Date().toISOString()
    const trace = injectTrace()
    const jobs = prepared.map(({ task, input, settings, key }, index) =>
      jobOf(agentIds[index] as string, task, input, settings, enqueuedAt, trace, key),
    )
    if (engine.submitMany) {
      try {
        await engine.submitMany(jobs)
      } catch (error) {
        // Nothing of the batch was stored: none of it will run.
        await withdraw(agentIds, error)
        throw error
      }
    } else {
      const submitted = await Promise.allSettled(jobs.map((job) => engine.submit(job)))
      const refused = submitted.findIndex((result) => result.status === 'rejected')
      if (refused !== -1) {
        const error = (submitted[refused] as PromiseRejectedResult).reason
        // Taken back from the engine where it accepted the job; the others never ran.
        await Promise.all(
          jobs.map(async (job, index) => {
            if (submitted[index]?.status === 'fulfilled') await engine.cancel(job.agentId).catch(() => false)
          }),
        )
        await withdraw(agentIds, error)
        throw error
      }
    }
    if (logs)
      for (const [index, job] of jobs.entries()) logEnqueued(logs, job, prepared[index]?.settings.metadata)
    return (agentIds as string[]).map((agentId) => ({ agentId }))
  }

  /** Ends the activities of a batch that will not run (those not ended already stay as they are). */
  async function withdraw(agentIds: ReadonlyArray<string | undefined>, cause: unknown): Promise<void> {
    const error = new RunnerError(
      `Not enqueued: enqueueMany enqueues all of its tasks or none, and this batch failed (${messageOf(cause)}).`,
      { cause },
    )
    await Promise.all(
      agentIds.map((agentId) =>
        agentId === undefined ? undefined : activity.error(agentId, error).catch(() => {}),
      ),
    )
  }

  /** Creates the activity, then hands the job to the engine. */
  async function submit(
    task: RegisteredTask,
    input: JsonValue | undefined,
    settings: z.output<typeof enqueueOptionsSchema>,
    key: string | undefined,
  ): Promise<EnqueueResult> {
    await started
    const agentId = await activity.create(task.name, createOptions(settings))
    if (closed) {
      // close() began while the activity was being created: never leave it queued.
      await activity.cancel(agentId).catch(() => {})
      throw closedError()
    }
    const job = jobOf(agentId, task, input, settings, new Date().toISOString(), injectTrace(), key)
    try {
      await engine.submit(job)
    } catch (error) {
      // The job could not be stored: it will never run, so its activity must not stay queued.
      await activity.error(agentId, error).catch(() => {})
      throw error
    }
    if (logs) logEnqueued(logs, job, settings.metadata)
    return { agentId }
  }
}

/** The metadata of a schedule's firing at `tickMs`: its own, plus `schedule` and `scheduledFor`. */
function firingMetadata(
  schedule: { name: string; metadata?: Record<string, unknown> | undefined },
  tickMs: number,
): Record<string, unknown> {
  return { ...schedule.metadata, schedule: schedule.name, scheduledFor: new Date(tickMs).toISOString() }
}

/** The fields of an `enqueueMany` item. */
const itemKeys = new Set(['task', 'input', 'options'])

/** One task of `enqueueMany`, validated. */
interface Prepared {
  task: RegisteredTask
  input: JsonValue | undefined
  settings: z.output<typeof enqueueOptionsSchema>
  /** The task's concurrency key for this input, if it has `concurrency`. */
  key: string | undefined
}

/** What `activity.create` takes from the enqueue options. */
function createOptions(settings: z.output<typeof enqueueOptionsSchema>): {
  agentId?: string
  metadata?: Record<string, unknown>
} {
  return {
    ...(settings.agentId === undefined ? {} : { agentId: settings.agentId }),
    ...(settings.metadata === undefined ? {} : { metadata: settings.metadata }),
  }
}

/** The job of a task whose activity `agentId` was created. */
function jobOf(
  agentId: string,
  task: RegisteredTask,
  input: JsonValue | undefined,
  settings: z.output<typeof enqueueOptionsSchema>,
  enqueuedAt: string,
  trace: Record<string, string> | undefined,
  concurrencyKey: string | undefined,
): PoolJob {
  return {
    agentId,
    task: task.name,
    ...(input === undefined ? {} : { input }),
    priority: settings.priority ?? 0,
    delayMs: settings.delayMs ?? 0,
    attempt: 1,
    enqueuedAt,
    ...(trace === undefined ? {} : { trace }),
    ...(concurrencyKey === undefined ? {} : { concurrencyKey }),
    ...(task.concurrency?.limit === undefined ? {} : { concurrencyLimit: task.concurrency.limit }),
  }
}

/**
 * The concurrency key of a job of `task` (undefined for a task without `concurrency`): a key
 * function that throws or returns anything but a non-empty string of at most 200 characters is
 * refused with `InvalidOptionsError` naming `concurrency.key`, before anything is written.
 */
function concurrencyKeyOf(
  task: RegisteredTask,
  input: unknown,
  metadata: Record<string, unknown> | undefined,
  subject: string,
  at?: string,
): string | undefined {
  if (!task.concurrency) return undefined
  const field = at === undefined ? 'concurrency.key' : `${at}.concurrency.key`
  let key: unknown
  try {
    key = task.concurrency.key(input, metadata ?? {})
  } catch (error) {
    throw new InvalidOptionsError(
      [
        {
          field,
          message: `the concurrency key of task "${task.name}" threw (${messageOf(error)}); make it return a string for every input and metadata it gets`,
        },
      ],
      { subject, cause: error },
    )
  }
  if (typeof key !== 'string' || key.length === 0 || key.length > maxConcurrencyKeyLength) {
    const got =
      typeof key === 'string'
        ? key.length === 0
          ? 'an empty string'
          : `a string of ${key.length} characters`
        : (JSON.stringify(key) ?? String(key))
    throw new InvalidOptionsError(
      [
        {
          field,
          message: `the concurrency key of task "${task.name}" returned ${got}; it must return a non-empty string of at most ${maxConcurrencyKeyLength} characters`,
        },
      ],
      { subject },
    )
  }
  return key
}

/**
 * The error of an `enqueueMany` whose create of `tasks[index]` failed: a refusal by the store
 * (an agentId in use) names the task's field; any other failure says which task it was.
 */
function createFailure(reason: unknown, index: number, count: number): Error {
  if (InvalidOptionsError.isInstance(reason)) {
    return new InvalidOptionsError(
      reason.issues.map((issue) => ({
        field: `tasks[${index}].${issue.field === 'agentId' ? 'options.agentId' : issue.field}`,
        message: `${issue.message} (no task of the batch was enqueued)`,
      })),
      { subject: 'enqueueMany tasks', cause: reason },
    )
  }
  return new RunnerError(
    `enqueueMany: creating the activity of tasks[${index}] (of ${count}) failed: ${messageOf(reason)}. No task of the batch was enqueued.`,
    { cause: reason },
  )
}

function messageOf(value: unknown): string {
  return value instanceof Error ? value.message : String(value)
}

/**
 * `parseOrThrow` for per-call options, without running zod for the common call that passes none
 * (an empty plain object: every option is optional and has no default, so it parses to itself).
 */
function parseOptions<T extends z.ZodType>(
  schema: T,
  value: unknown,
  subject: string,
  prefix?: string,
): z.output<T> {
  if (isEmptyPlainObject(value)) return {} as z.output<T>
  return parseOrThrow(schema, value, subject, prefix)
}

/**
 * Enqueue options, their metadata checked by the stores' policy first: zod's record would drop an
 * own `__proto__` key, which must be refused, never lost.
 */
function parseEnqueueOptions(value: unknown, subject: string, prefix?: string) {
  const metadata = (value as { metadata?: unknown } | null | undefined)?.metadata
  if (typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata)) {
    assertStorableMetadata(metadata as Record<string, unknown>, subject)
  }
  const { parent, ...settings } = parseOptions(enqueueOptionsSchema, value, subject, prefix)
  // Enqueued inside a run or task: a child of it (its activity records the parent).
  const parentId = parent === undefined ? currentWork()?.execution.agentId : parent || undefined
  if (parentId === undefined || (settings.metadata && 'parentId' in settings.metadata)) return settings
  return { ...settings, metadata: { parentId, ...settings.metadata } }
}

function isEmptyPlainObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype)
    return false
  for (const _ in value) return false
  return true
}

/** An agentId argument: checked by hand when valid (the common case), by zod to name the problem. */
function parseId(value: unknown, subject: string): string {
  if (typeof value === 'string' && value.length >= 1 && value.length <= 200) return value
  return parseOrThrow(taskNameSchema, value, subject, 'agentId')
}

/** A complete outcome of a delivery that did not run the handler, whose value the engine lost. */
function unrun(outcome: JobOutcome): boolean {
  return outcome.status === 'complete' && outcome.attempts === 0 && !('result' in outcome)
}

/**
 * Validates the input: its depth first (before the task's schema or anything recursive walks it),
 * then the task's schema, then that it survives the JSON round trip every job goes through (the job
 * runner validates it again on the other side) within `maxInputBytes`.
 */
function validateInput(
  task: RegisteredTask,
  input: unknown,
  maxInputBytes: number,
  field = 'input',
  subject = `input of task "${task.name}"`,
): { value: JsonValue | undefined; parsed: unknown } {
  const advice = 'flatten it (task inputs cross processes as JSON)'
  assertJsonDepth(input, field, { subject, advice })
  const first = task.input.safeParse(input)
  if (!first.success) throw new InvalidOptionsError(zodIssues(first.error, field), { subject })
  const json = toJson(input)
  if (!json.ok) {
    if (json.tooDeep) {
      // Deeper once its toJSON methods have run.
      throw new ValueTooLargeError(field, 'levels', json.tooDeep.depth, json.tooDeep.limit, {
        subject,
        advice,
      })
    }
    throw new InvalidOptionsError(
      [
        {
          field: json.path === '' ? field : `${field}.${json.path}`,
          message: `${json.problem}; task inputs must be JSON`,
        },
      ],
      { subject },
    )
  }
  const again = task.input.safeParse(json.value)
  if (!again.success) {
    throw new InvalidOptionsError(
      zodIssues(again.error, field).map((issue) => ({
        ...issue,
        message: `${issue.message} (after the JSON round trip every task input goes through: pass JSON values, such as an ISO string instead of a Date)`,
      })),
      { subject },
    )
  }
  const text = json.value === undefined ? '' : JSON.stringify(json.value)
  // UTF-8 takes at most 3 bytes per UTF-16 unit: only a long text needs counting.
  const bytes = text.length * 3 > maxInputBytes ? Buffer.byteLength(text, 'utf8') : text.length
  if (bytes > maxInputBytes) {
    throw new ValueTooLargeError(field, 'bytes', bytes, maxInputBytes, {
      subject,
      advice:
        'make it smaller: pass a reference (a URL, a file path, a record id) to large data instead of the data',
    })
  }
  return { value: json.value, parsed: again.data }
}

function closedError(): RunnerError {
  return new RunnerError(
    'This pool is closed: enqueue() is refused after pool.close(). Create a new pool to run more tasks.',
  )
}
