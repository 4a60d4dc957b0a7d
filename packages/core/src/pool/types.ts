import type { z } from 'zod'
import type { ActivityTracker } from '../activity/tracker.js'
import type { JsonValue, PendingRequest, RunRecord } from '../activity/types.js'
import type { SharedBudget } from '../lifecycle/shared-budget.js'
import type { Logger } from '../runner/log-hooks.js'

/** What job inputs and results are made of. */
export type { JsonValue }

/**
 * One unit of work, as an engine sees it: plain JSON, so that a distributed engine can put it in
 * Redis (or any queue) as is and run it in another process. The handler is not in the job: it is
 * looked up by `task` in the pool that runs the job.
 */
export interface PoolJob {
  /** Id of the job and of its activity (created `queued` by `pool.enqueue` before the job is submitted). */
  agentId: string
  /** Name of the task, as registered with `pool.task(name, ...)` in every process that runs jobs. */
  task: string
  /** The caller's input, after the JSON round trip (absent when it was `undefined`); the job runner validates it again with the task's schema. */
  input?: JsonValue
  /** Higher runs first; equal priorities run in submission order. Integer from -1,000,000 to 1,000,000. */
  priority: number
  /** Milliseconds to wait, from submission, before the job may start. 0 = as soon as a slot is free. */
  delayMs: number
  /**
   * 1-based attempt the job runner starts from. 1 for a new job; an engine that redelivers a job
   * whose worker was lost passes the next attempt, so the task's `retries` stay a total budget.
   */
  attempt: number
  /** When `pool.enqueue` created the job (ISO 8601). */
  enqueuedAt: string
  /**
   * How many times the job was handed back to the engine to continue after waiting for decisions
   * (absent for a new job). Engines that dedupe by id use `<agentId>:resume-<n>`, so that two
   * processes recording the last decisions at once submit it once.
   */
  resumed?: number
  /**
   * The trace context of the code that enqueued the job (string pairs such as W3C `traceparent`),
   * from the registered instrumentations' `inject()`; the job runs inside it. Absent when none.
   */
  trace?: Record<string, string>
  /**
   * The task's `concurrency.key` for this job, computed at enqueue (absent for a task without
   * `concurrency`). Keys are per task: the same key in two tasks is two groups.
   */
  concurrencyKey?: string
  /** The task's `concurrency.limit` (absent when the task has none): most jobs of one key running at once. */
  concurrencyLimit?: number
}

/** Fields every `JobOutcome` has. */
export interface JobOutcomeBase {
  /** Id of the job and of its activity. */
  agentId: string
  /** Name of the job's task. */
  task: string
  /** The last attempt made (1-based); 0 if the handler never ran. */
  attempts: number
}

/** The handler returned and its value survived the JSON round trip. */
export interface CompleteJobOutcome extends JobOutcomeBase {
  status: 'complete'
  /** The handler's return value after the JSON round trip (absent for a handler that returns nothing). */
  result?: JsonValue
}

/** The task failed (after its retries), timed out (`RunTimeoutError`), or returned a value that is not JSON. */
export interface ErrorJobOutcome extends JobOutcomeBase {
  status: 'error'
  /** What `pool.result` rejects with. A non-`Error` thrown value is wrapped in a `RunnerError` (`cause` = the value). */
  error: Error
}

/** The job was canceled, queued or running. */
export interface CanceledJobOutcome extends JobOutcomeBase {
  status: 'canceled'
  /** A `RunCanceledError`: what `pool.result` rejects with. */
  error: Error
}

/**
 * How a job ended: what `pool.result` turns into a value or a rejection. In-process `error` is the
 * error itself; an engine that keeps outcomes out of process stores `serializeJobOutcome(outcome)`
 * and hands back `deserializeJobOutcome(stored)`.
 */
export type JobOutcome = CompleteJobOutcome | ErrorJobOutcome | CanceledJobOutcome | WaitingJobOutcome

/**
 * The job suspended (a runner inside it waits for decisions): its activity is `waiting`, it holds
 * no slot, and it has no final outcome yet. `pool.approve` / `deny` / `respond` / `resume` submit
 * it again once nothing is left undecided; `pool.result` keeps waiting for the final outcome.
 */
export interface WaitingJobOutcome extends JobOutcomeBase {
  status: 'waiting'
  /** What it waits for. */
  pending: PendingRequest[]
}

/** Options of `JobRunner.runJob`. */
export interface RunJobOptions {
  /**
   * Aborting it cancels the job: the handler's signal aborts, and the activity is canceled at once,
   * even if the handler ignores its signal (it then keeps running in the background, unobserved).
   */
  signal: AbortSignal
  /**
   * Called after each progress report has been written to the activity (the handler's `report`,
   * and `report_status` of a runner that joined the task), to mirror progress (e.g. BullMQ job
   * progress). Errors it throws are ignored.
   */
  onReport?: (message: string, percentage: number | undefined) => void
  /**
   * True when the engine delivers the job again because the worker running it was lost. A job
   * whose activity shows it had started then resumes from the attempt after the last one its log
   * records (the task's `retries` stay one budget across workers), and the log says so
   * (`Worker lost; retrying (attempt n of N)`, kind `retry`).
   */
  redelivered?: boolean
}

/** Options of `JobRunner.cancelJob`. */
export interface CancelJobOptions {
  /** Message of the `RunCanceledError` that `pool.result` rejects with. Default: a generic cancel message. */
  reason?: string
}

/**
 * The pool's shared job runner: the one place that owns task lookup, input validation, activity
 * transitions (queued -> running -> complete | error | canceled), retries with backoff, timeouts and
 * the JSON round trip of results. Engines call it; they never touch activities themselves.
 */
export interface JobRunner {
  /**
   * Runs one job to its end and resolves with its outcome; never rejects. Resolves promptly once
   * `options.signal` aborts. Leaves an activity that is already terminal as it is (a runner inside
   * the handler may have completed or failed it) and never runs a job whose activity is terminal.
   */
  runJob(job: PoolJob, options: RunJobOptions): Promise<JobOutcome>
  /**
   * Ends a job that will not run (canceled while queued or delayed, or at close): its activity is
   * canceled and the outcome is `canceled`. Never rejects.
   */
  cancelJob(job: PoolJob, options?: CancelJobOptions): Promise<JobOutcome>
  /**
   * Ends the activity of a job the engine gave up on without a handler's verdict (BullMQ failed it
   * after losing its worker too often): `error` with `messages.error(error)`. An activity already
   * terminal is left as it is (and decides the outcome). Never rejects.
   */
  failJob(job: PoolJob, error: Error): Promise<JobOutcome>
  /**
   * Logs on a running job's activity that its worker handed it back to the queue (it will run
   * again, here or elsewhere). Never rejects; a job already ended is left as it is.
   */
  handBackJob(job: PoolJob, message: string): Promise<void>
  /**
   * Writes a line on a job's activity that keeps it `queued`, saying why it waits (`Waiting for a
   * concurrency slot (...)`). Never rejects; a job that started or ended meanwhile is left as it is.
   */
  noteQueued(job: PoolJob, message: string): Promise<void>
}

/** A task as the job runner needs it: `pool.task(...)` arguments, validated, defaults applied. */
export interface RegisteredTask {
  name: string
  input: z.ZodType
  retries: number
  timeoutMs: number | undefined
  retryDelayMs: number
  maxRetryDelayMs: number
  retryOn: ((error: unknown, info: { attempt: number }) => boolean) | undefined
  /** Absent for a task without `concurrency`. */
  concurrency?: TaskConcurrency<unknown> | undefined
  /** Absent for a task without `budget`. */
  budget?: TaskBudget<unknown> | undefined
  handler: TaskHandler<unknown, unknown>
}

/** What the pool gives its engine once, in `start`. */
export interface PoolEngineContext extends JobRunner {
  /** Most jobs this engine may run at once in this process (the pool's `concurrency`). */
  readonly concurrency: number
  /** The pool's activity tracker (its store may offer a `jobQueue` that an engine can keep jobs in). */
  readonly activity: ActivityTracker
  /**
   * Enqueues the firing of `schedule` planned for `tickMs` (ms since the epoch) as a pool task of
   * its own (agentId `schedule.<name>.<tickMs>`, metadata `schedule` and `scheduledFor`), for an
   * engine that keeps schedules itself (`PoolEngine.schedules`). Resolves `false`, doing nothing,
   * when that tick was enqueued already (by any process on the same store). Rejects when the task
   * is not registered in this process or the input no longer passes its schema.
   */
  fireSchedule(schedule: ScheduleDefinition, tickMs: number): Promise<boolean>
}

/**
 * A schedule as the pool hands it to an engine: validated (its input by the task's schema, its
 * cron expression by croner), plain JSON.
 */
export interface ScheduleDefinition {
  /** Unique per pool (per queue with `bullmqEngine`): 1 to 100 letters, digits, `_`, `.`, `-`. */
  name: string
  /** The task each firing enqueues. */
  task: string
  /** Cron expression (5 fields, or 6 with seconds first); absent with `every`. */
  cron?: string
  /** Interval in ms (ticks are its multiples since the epoch); absent with `cron`. */
  every?: number
  /** IANA time zone of `cron` (default `UTC`); absent with `every`. */
  timezone?: string
  /** The input of every firing (after the JSON round trip). */
  input?: JsonValue
  /** Metadata of every firing's activity, besides `schedule` and `scheduledFor`. */
  metadata?: Record<string, JsonValue>
  /** Priority of every firing's job. */
  priority: number
  /** What happens to a firing handled more than 60 s after its time. */
  missed: 'skip' | 'run-once'
}

/** A schedule as `pool.schedules()` lists it. */
export interface ScheduleInfo extends ScheduleDefinition {
  /** Paused with `pool.pauseSchedule(name)`: it does not fire until resumed. */
  paused: boolean
  /** When it fires next (ISO 8601); absent while paused. */
  nextRunAt?: string
  /** The time of the last tick fired (ISO 8601), when known. */
  lastFiredAt?: string
}

/**
 * Optional part of a `PoolEngine` that keeps schedules itself (`bullmqEngine`: BullMQ job
 * schedulers). The engine calls `context.fireSchedule` once per tick, whatever the number of
 * processes. An engine without it gets the pool's own timers in the process that calls
 * `pool.schedule`.
 */
export interface EngineSchedules {
  /** Creates or replaces the schedule `definition.name` (a paused one stays paused). */
  upsert(definition: ScheduleDefinition): Promise<ScheduleInfo>
  /** Every schedule, by name. */
  list(): Promise<ScheduleInfo[]>
  /** Stops firing it until `resume`; `false` for an unknown name. */
  pause(name: string): Promise<boolean>
  /** Fires it again from the next tick on (missed ticks are not fired); `false` for an unknown name. */
  resume(name: string): Promise<boolean>
  /** Deletes it; `false` for an unknown name. */
  remove(name: string): Promise<boolean>
}

/** Options of `PoolEngine.close`. */
export interface EngineCloseOptions {
  /** How long to let running jobs finish before aborting them, in ms. */
  timeoutMs: number
}

/**
 * Decides where and when jobs run. `localEngine()` runs them in this process; a distributed engine
 * (`bullmqEngine` from `@runner/bullmq`) stores them in Redis and runs them in worker processes.
 * Either way every job goes through the pool's `JobRunner`, so the same task code behaves the same.
 * Called by the pool, not by users.
 */
export interface PoolEngine {
  /** Short name for messages and logs (`"local"`, `"bullmq"`). */
  readonly name: string
  /**
   * Called once by `createPool`, before any other method. The engine keeps `context` and calls
   * `context.runJob` for each job it runs (never more than `context.concurrency` at once in this
   * process). An engine instance belongs to one pool: a second `start` must throw.
   */
  start(context: PoolEngineContext): void | Promise<void>
  /**
   * Accepts a job whose activity is already created (`queued`). Resolves once the job is stored,
   * without running it synchronously: the caller must get control back before the handler starts.
   * Rejects if the engine is closed or the job cannot be stored (the pool then fails the activity).
   */
  submit(job: PoolJob): Promise<void>
  /**
   * Optional: accepts several jobs at once (`pool.enqueueMany`), their activities already created,
   * all or none: resolves once every job is stored; rejects with none of them stored (nothing runs)
   * when one cannot be (a duplicate id, the queue unreachable). Same rules as `submit` otherwise.
   * An engine without it gets one `submit` per job, and the pool cancels those that were accepted
   * when another one was refused.
   */
  submitMany?(jobs: PoolJob[]): Promise<void>
  /**
   * Cancels a job wherever it is. Queued or delayed: removed, then ended with `context.cancelJob`.
   * Running: the signal given to `runJob` aborts. Resolves once the job has ended, with `true` if it
   * ended `canceled` because of this call, `false` if it was unknown, finished, or finished anyway.
   */
  cancel(agentId: string): Promise<boolean>
  /**
   * The outcome of a job: at once if it has finished and is still kept, after it finishes if it is
   * pending, `undefined` if the engine does not know it (never submitted, or evicted). Rejects with
   * `signal.reason` when `signal` aborts first.
   */
  result(agentId: string, signal: AbortSignal): Promise<JobOutcome | undefined>
  /**
   * Stops accepting jobs, ends queued and delayed ones with `context.cancelJob`, waits up to
   * `timeoutMs` for running ones, then aborts them and waits for `runJob` to resolve (promptly).
   * Afterwards no job of this engine is running. Calling it again returns the same promise.
   */
  close(options: EngineCloseOptions): Promise<void>
  /**
   * Optional: the engine keeps schedules itself, firing each tick once across its processes (see
   * `EngineSchedules`). Read after `start`.
   */
  readonly schedules?: EngineSchedules | undefined
}

/** Per-task settings, given to `pool.task(name, options, handler)`. */
export interface TaskOptions<TSchema extends z.ZodType = z.ZodType> {
  /** zod schema of the input. `enqueue` validates with it (errors name the field, e.g. `input.topic`); the handler receives its output. */
  input: TSchema
  /**
   * How many times a failed or timed-out attempt is tried again: the task's attempts never exceed
   * `retries + 1`. A runner that the handler runs with the task's `agentId` counts its own retries
   * on the same attempt counter, so the two layers never multiply (see "Who retries what" in the
   * README). Default 0.
   */
  retries?: number
  /** Limit of each attempt, in ms: the handler's signal aborts and the attempt fails with `RunTimeoutError`. Default: no limit. */
  timeoutMs?: number
  /** Delay before the first retry, in ms, doubled at each retry, with jitter (a random point in its upper half). Default 500. */
  retryDelayMs?: number
  /** Upper bound of any retry delay, in ms. Default 10000. */
  maxRetryDelayMs?: number
  /**
   * Decides whether a failed attempt is worth another one (timeouts arrive as `RunTimeoutError`).
   * Default: every failure is retried while retries remain, except an error that a runner inside
   * the handler already judged not worth retrying (a 400 from its provider, say). Cancellation,
   * a hook that threw (`HookError`), the turn limit and invalid options or input are never
   * retried, whatever this returns.
   */
  retryOn?: (error: unknown, info: { attempt: number }) => boolean
  /**
   * Fair concurrency per key (see "Fair concurrency per key" in the README): `key` is computed at
   * enqueue from the validated input and the metadata; the local engine picks runnable jobs
   * round-robin across keys (within a priority) and runs at most `limit` jobs of one key at once,
   * under the pool's `concurrency`.
   */
  concurrency?: TaskConcurrency<z.output<TSchema>>
  /**
   * A shared budget the task's jobs spend under (see "Shared budgets" in the README): checked
   * before each attempt (`onExceeded`: wait for the window to end, or fail), and given to the runs
   * the handler starts with the task's `agentId`, which charge it with every model call.
   */
  budget?: TaskBudget<z.output<TSchema>>
}

/** `TaskOptions.budget`. */
export interface TaskBudget<TInput> {
  /** The budget, made by `createSharedBudget` (`@runner/core/adapter`). */
  shared: SharedBudget
  /** The key a job spends under, such as `(_, metadata) => String(metadata.tenant)`: a non-empty string. */
  key: (input: TInput, metadata: Record<string, unknown>) => string
  /**
   * When the key's budget is reached before an attempt, or a run inside stops on it: `'wait'`
   * (default) waits, running, until the window ends, then runs (a durable run continues from its
   * checkpoint); `'fail'` ends the job with `BudgetExceededError`.
   */
  onExceeded?: 'wait' | 'fail'
}

/** `TaskOptions.concurrency`. */
export interface TaskConcurrency<TInput> {
  /**
   * The group of a job, such as `(_, metadata) => String(metadata.tenant)`: a non-empty string of
   * at most 200 characters. Called once, at enqueue; an error it throws rejects the enqueue.
   */
  key: (input: TInput, metadata: Record<string, unknown>) => string
  /** Most jobs of one key running at once (`1`: one at a time per key). Default: no limit beyond the pool's `concurrency`. */
  limit?: number
}

/** What a task handler receives. */
export interface TaskContext<TInput> {
  /** Id of the job and of its activity: pass it to a runner (`run(agent, input, { agentId })`) to track the run on the same activity. */
  agentId: string
  /** Name of the task. */
  task: string
  /** The input, validated (and transformed) by the task's schema. */
  input: TInput
  /** Metadata given to `enqueue`, as stored on the activity. */
  metadata: Record<string, unknown>
  /**
   * Aborts on cancel, on close after its timeout, and when the attempt's `timeoutMs` runs out. Pass
   * it to everything that can stop: the pool does not wait for a handler past its signal, so one
   * that ignores it keeps running in the background, unobserved, outside the concurrency limit.
   */
  signal: AbortSignal
  /** 1-based attempt number: 1, then 2 on the first retry... */
  attempt: number
  /**
   * Writes progress on the activity (status `running`; `percentage` an integer 0..100). After the
   * attempt has ended (canceled, timed out) it does nothing.
   */
  report(message: string, percentage?: number): Promise<void>
}

/** The code of a task. Its return value must be JSON (it crosses processes with a distributed engine). */
export type TaskHandler<TInput, TResult> = (context: TaskContext<TInput>) => Promise<TResult> | TResult

/** Options of `pool.enqueue`. */
export interface EnqueueOptions {
  /** Higher runs first; equal priorities run first-in first-out. Integer from -1,000,000 to 1,000,000. Default 0. */
  priority?: number
  /** Caller-defined JSON data stored on the activity (tenant, user...), filterable by key equality. */
  metadata?: Record<string, unknown>
  /** Milliseconds to wait before the task may start. Default 0. */
  delayMs?: number
  /** Use this id instead of a random UUID. Must not be in use by another activity. */
  agentId?: string
  /**
   * The task's parent, recorded as `metadata.parentId` on its activity. Default: the run or task
   * this enqueue is called inside, if any. A child task is canceled when its parent task ends
   * canceled or in error (on any engine: children are found by `metadata.parentId` in the store).
   * `false`: no parent.
   */
  parent?: string | false
}

/** One task of `pool.enqueueMany`: what `pool.enqueue(task, input, options)` takes, as one object. */
export interface EnqueueManyItem {
  /** Name of a registered task. */
  task: string
  /** The task's input, validated with its schema. */
  input?: unknown
  /** Same options as `pool.enqueue`: priority, metadata, delayMs, agentId. */
  options?: EnqueueOptions
}

/** What `pool.enqueue` resolves with, as soon as the job is queued. */
export interface EnqueueResult {
  /** Id of the job and of its activity: give it to `result`, `cancel`, or the activity tracker. */
  agentId: string
}

/** Options of `pool.result`. */
export interface ResultOptions {
  /** Stop waiting after this many ms and reject with a `RunnerError` (the task keeps running). Default: wait as long as it takes. */
  timeoutMs?: number
  /** Stop waiting when it aborts and reject with its reason (the task keeps running). */
  signal?: AbortSignal
}

/** Options of `pool.close`. */
export interface CloseOptions {
  /** How long running tasks may take to finish before they are aborted (canceled), in ms. Default 30000. */
  timeoutMs?: number
}

/** Options of `createPool`. */
export interface PoolOptions {
  /** Where task activities are recorded. Default: `createActivityTracker()` (in memory). */
  activity?: ActivityTracker
  /** Where and when jobs run. Default: `localEngine()` (in this process). */
  engine?: PoolEngine
  /** Most task handlers running at once (per process for a distributed engine). Default 4. */
  concurrency?: number
  /**
   * The largest task input `enqueue` and `enqueueMany` accept, in bytes of UTF-8 JSON: a larger one
   * is refused with `ValueTooLargeError` (`unit: 'bytes'`) and nothing is enqueued. Default 16 MiB
   * (16,777,216, the stores' `maxRecordBytes` default). Inputs nested more than `MAX_JSON_DEPTH`
   * (512) levels are refused likewise (`unit: 'levels'`).
   */
  maxInputBytes?: number
  /**
   * Writes one structured line per task event (`task.enqueued`, `task.start`, `task.end`,
   * `task.failed`, `task.canceled`, `task.waiting`) to a pino logger (or any with its
   * `(fields, message)` signature). Inputs, results and metadata values are left out unless
   * `logContent`; every string is redacted. A logger that throws never fails a task. Runners inside
   * the tasks log with their own `structuredLogger` option. Default: none.
   */
  structuredLogger?: Logger
  /** Include task inputs, results and metadata in the `structuredLogger`'s lines. Default false. */
  logContent?: boolean
}

/** Options of `pool.schedule(name, options)`. */
export interface ScheduleOptions<TInput = unknown> {
  /** Name of a registered task: each firing enqueues one task of it. */
  task: string
  /**
   * Cron expression, read by croner: 5 fields (`minute hour day month weekday`), or 6 with seconds
   * first (`0/10 * * * * *`: every 10 s); nicknames such as `@daily` too. Give `cron` or `every`.
   */
  cron?: string
  /** Interval in ms, at least 1000: ticks are its multiples since the epoch (every minute on the minute). */
  every?: number
  /** IANA time zone in which `cron` is read. Default `UTC`. Not with `every`. */
  timezone?: string
  /** The input of every firing, validated now with the task's schema. */
  input?: TInput
  /** Metadata of every firing's activity; the pool adds `schedule` (the name) and `scheduledFor` (ISO time of the tick). */
  metadata?: Record<string, unknown>
  /** Priority of every firing. Default 0. */
  priority?: number
  /**
   * A firing handled more than 60 s after its time (no process was running; all workers were
   * down) is `skip`ped (default) or run once (`run-once`: one firing for the whole gap).
   */
  missed?: 'skip' | 'run-once'
}

/** A registered task: enqueue it with its input typed by the schema. */
export interface TaskHandle<TInput, TResult> {
  /** The task's name. */
  readonly name: string
  /** Same as `pool.enqueue(name, input, options)`, with the input typed by the task's schema. */
  enqueue(input: TInput, options?: EnqueueOptions): Promise<EnqueueResult>
  /** Same as `pool.result(agentId, options)`, typed with the handler's return type (after the JSON round trip). */
  result(agentId: string, options?: ResultOptions): Promise<TResult>
  /** Same as `pool.schedule(name, { ...options, task })`, with the input typed by the task's schema. */
  schedule(name: string, options: Omit<ScheduleOptions<TInput>, 'task'>): Promise<ScheduleInfo>
}

/**
 * A task pool: register handlers by name, enqueue jobs, await their results. Every job gets an
 * activity (`agentType` = task name) that follows queued -> running -> complete | error | canceled.
 */
export interface Pool extends AsyncDisposable {
  /** The tracker task activities are written to. */
  readonly activity: ActivityTracker
  /** The engine that runs the jobs. */
  readonly engine: PoolEngine
  /** Registers a task. Names are unique per pool; register the same tasks in every process that runs jobs. */
  task<TSchema extends z.ZodType, TResult>(
    name: string,
    options: TaskOptions<TSchema>,
    handler: TaskHandler<z.output<TSchema>, TResult>,
  ): TaskHandle<z.input<TSchema>, Awaited<TResult>>
  /**
   * Validates the input and options, creates the activity (`queued`), submits the job and returns
   * at once, before the handler starts. Throws `InvalidOptionsError` (naming the field) for an
   * unknown task, an invalid input or bad options, and `RunnerError` once the pool is closed.
   */
  enqueue(task: string, input: unknown, options?: EnqueueOptions): Promise<EnqueueResult>
  /**
   * Enqueues many tasks at once, all or none, and resolves with their ids in the order given.
   * Every task is validated before anything is written (`InvalidOptionsError` naming the index and
   * the field, `tasks[3].input.topic`; an agentId given twice is refused too). The activities are
   * then created concurrently (a store that groups concurrent writes commits them together), and
   * the jobs handed to the engine in one call where it can (`submitMany`: one transaction on a
   * durable local queue, one `addBulk` on BullMQ). If a create or the submission fails, no job of
   * the batch runs: the activities already created end `error` (the message says why), and the
   * call rejects with the first failure, naming the task's index.
   */
  enqueueMany(tasks: readonly EnqueueManyItem[]): Promise<EnqueueResult[]>
  /**
   * Resolves with the task's return value (after the JSON round trip). Rejects with the task's
   * error, `RunCanceledError` if it was canceled, `RunTimeoutError` if it timed out,
   * `ActivityNotFoundError` for an unknown id, and `RunnerError` if the result is no longer kept.
   */
  result<T = unknown>(agentId: string, options?: ResultOptions): Promise<T>
  /**
   * Cancels a queued task (removed, activity canceled) or a running one (its signal aborts; the
   * activity is canceled at once even if the handler ignores its signal). A handler that ignores
   * its signal keeps running in the background until it returns: its result is dropped, its
   * reports are ignored, and it no longer holds a `concurrency` slot. Resolves `true` if the task
   * was canceled, `false` if it was unknown or already finished.
   */
  cancel(agentId: string): Promise<boolean>
  /**
   * Enqueues a failed task again, as a new task with the same task name, input and priority, and
   * the failed one's metadata plus `retryOf: <its agentId>`. The failed task's job is kept (in the
   * store's document table, from any process; in this process for a store without one) when it
   * ends `error`, until it is retried (a second retry of the same task finds nothing).
   * `InvalidOptionsError` naming `agentId` when the task did not fail, `ActivityNotFoundError` for
   * an unknown id, `RunnerError` when its job was not kept.
   */
  retry(agentId: string): Promise<EnqueueResult>
  /**
   * Refuses new jobs, cancels queued ones, waits up to `timeoutMs` for running ones, then aborts
   * them. Afterwards no task of this pool is queued or running. Does not close the activity store.
   */
  close(options?: CloseOptions): Promise<void>
  /**
   * Approves a pending tool call of a waiting task (optionally with edited `input`), from any
   * process; once nothing is left undecided the task is submitted again and continues from its
   * checkpoint. `DecisionError` when the call is not pending (nothing changes).
   */
  approve(
    agentId: string,
    toolCallId: string,
    options?: { input?: unknown; reason?: string; by?: string },
  ): Promise<RunRecord>
  /** Denies a pending tool call of a waiting task (the model reads the denial); continues it as `approve` does. */
  deny(agentId: string, toolCallId: string, options?: { reason?: string; by?: string }): Promise<RunRecord>
  /** Answers a custom suspension of a waiting task; continues it as `approve` does. */
  respond(agentId: string, requestId: string, value: unknown, options?: { by?: string }): Promise<RunRecord>
  /**
   * Submits a waiting task whose requests are all decided (decisions recorded elsewhere, such as
   * through the store). Resolves `false` when it still waits for some decision, or is not waiting.
   */
  resume(agentId: string): Promise<boolean>
  /**
   * Creates or replaces (same name: upsert, so every process may declare it at start) a schedule
   * that enqueues `options.task` with `options.input` at each tick of `cron` or `every`. Each
   * firing is a task of its own (agentId `schedule.<name>.<tick ms>`), so a tick fires once
   * however many processes declare it. `InvalidOptionsError` naming the field for an unknown task,
   * an input its schema refuses, a bad cron expression, an unknown time zone, `every` under 1000.
   */
  schedule(name: string, options: ScheduleOptions): Promise<ScheduleInfo>
  /** The schedules: declared in this process, or kept by the engine (`bullmqEngine`: all of the queue's). */
  schedules(): Promise<ScheduleInfo[]>
  /** Stops a schedule from firing until `resumeSchedule`; `false` for an unknown name. */
  pauseSchedule(name: string): Promise<boolean>
  /** Fires a paused schedule again from its next tick; `false` for an unknown name. */
  resumeSchedule(name: string): Promise<boolean>
  /** Deletes a schedule (its firings already enqueued stay); `false` for an unknown name. */
  removeSchedule(name: string): Promise<boolean>
}
