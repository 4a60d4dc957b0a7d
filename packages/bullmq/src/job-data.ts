import { RunnerError } from '@runner/core'
import {
  deserializeJobOutcome,
  type JobOutcome,
  type PoolJob,
  type SerializedJobOutcome,
} from '@runner/core/engine'
import { type Job, UnrecoverableError } from 'bullmq'

/**
 * How a pool job lives in BullMQ: job id = agentId (`<agentId>:resume:<n>` for the n-th submission
 * of a task that waited for decisions, see `jobIdOf`), job name = task name, job data = the
 * `PoolJob` (plain JSON), return value = `serializeJobOutcome(outcome)`. Every outcome, `error`,
 * `canceled` and `waiting` included, is a BullMQ *return value*: the job runner owns retries, so
 * BullMQ never retries a job (attempts: 1) and only redelivers one whose worker was lost.
 */

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null

/** Whether `agentId` can be a BullMQ job id: no `:` (BullMQ's key separator) and not an integer (reserved for BullMQ's own ids). */
export function isValidJobId(agentId: string): boolean {
  return agentId.length > 0 && !agentId.includes(':') && `${Number.parseInt(agentId, 10)}` !== agentId
}

/**
 * The BullMQ job id of a pool job: its agentId, or `<agentId>:resume:<n>` when the job is the n-th
 * submission of a task that waited for decisions (`job.resumed`). An agentId never contains `:`, so
 * no resume id can be another task's id; two processes that submit the same resume add one job
 * (BullMQ dedupes on the id). BullMQ takes a custom id with a `:` only in three parts
 * (`a:b:c`), hence `resume:<n>` rather than `resume-<n>`.
 */
export function jobIdOf(job: Pick<PoolJob, 'agentId' | 'resumed'>): string {
  return job.resumed === undefined ? job.agentId : resumeJobId(job.agentId, job.resumed)
}

/** The BullMQ job id of the n-th resume of `agentId`. */
export function resumeJobId(agentId: string, resumed: number): string {
  return `${agentId}:resume:${resumed}`
}

/** The agentId of a BullMQ job id (see `jobIdOf`). */
export function agentIdOf(jobId: string): string {
  const colon = jobId.indexOf(':')
  return colon === -1 ? jobId : jobId.slice(0, colon)
}

/**
 * The `PoolJob` of a BullMQ job. A job that is not one (added to the queue by other code) fails
 * without retry: it has no activity and no task to run.
 */
export function readPoolJob(job: Job): PoolJob {
  const data: unknown = job.data
  const resumed = isObject(data) && isResumeCount(data.resumed) ? data.resumed : undefined
  if (
    !isObject(data) ||
    typeof data.agentId !== 'string' ||
    typeof data.task !== 'string' ||
    (data.resumed !== undefined && resumed === undefined) ||
    jobIdOf({ agentId: data.agentId, ...(resumed === undefined ? {} : { resumed }) }) !== job.id
  ) {
    throw new UnrecoverableError(
      `Job ${job.id} of queue "${job.queueName}" is not a task of a @runner pool (its data has no task name, or no agentId matching its id), so it has no activity to run: enqueue tasks with pool.enqueue(), never with queue.add().`,
    )
  }
  return {
    agentId: data.agentId,
    task: data.task,
    ...(data.input === undefined ? {} : { input: data.input as PoolJob['input'] }),
    priority: typeof data.priority === 'number' ? data.priority : 0,
    delayMs: typeof data.delayMs === 'number' ? data.delayMs : 0,
    attempt: typeof data.attempt === 'number' ? data.attempt : 1,
    enqueuedAt: typeof data.enqueuedAt === 'string' ? data.enqueuedAt : new Date(job.timestamp).toISOString(),
    ...(resumed === undefined ? {} : { resumed }),
    ...(isTraceCarrier(data.trace) ? { trace: data.trace } : {}),
    ...(isKey(data.concurrencyKey) ? { concurrencyKey: data.concurrencyKey } : {}),
    ...(isKey(data.concurrencyKey) && isLimit(data.concurrencyLimit)
      ? { concurrencyLimit: data.concurrencyLimit }
      : {}),
  }
}

/** A `PoolJob.concurrencyKey`: a non-empty string. */
function isKey(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0
}

/** A `PoolJob.concurrencyLimit`: a positive integer. */
function isLimit(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1
}

/** A `PoolJob.trace`: string pairs (a carrier of another shape is dropped, never fails the job). */
function isTraceCarrier(value: unknown): value is Record<string, string> {
  return (
    isObject(value) &&
    !Array.isArray(value) &&
    Object.values(value).every((entry) => typeof entry === 'string')
  )
}

/** A `PoolJob.resumed`: a positive integer. */
function isResumeCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1
}

/** The outcome in a job's return value (or a stored outcome), if it is one written by this engine. */
export function parseOutcome(value: unknown): JobOutcome | undefined {
  if (!isObject(value) || typeof value.agentId !== 'string' || typeof value.task !== 'string')
    return undefined
  if (typeof value.attempts !== 'number') return undefined
  if (value.status === 'complete') return deserializeJobOutcome(value as unknown as SerializedJobOutcome)
  if (value.status === 'waiting') {
    // The job suspended: its activity waits for decisions, and no final outcome exists yet.
    if (!Array.isArray(value.pending)) return undefined
    return deserializeJobOutcome(value as unknown as SerializedJobOutcome)
  }
  if (value.status !== 'error' && value.status !== 'canceled') return undefined
  const error = value.error
  if (!isObject(error) || typeof error.name !== 'string' || typeof error.message !== 'string')
    return undefined
  return deserializeJobOutcome(value as unknown as SerializedJobOutcome)
}

/** BullMQ's reason for failing a job whose workers kept dying (see `maxStalledCount`). */
const stalledTooOften = 'job stalled more than allowable limit'

/** What a job that BullMQ failed (it never returned an outcome) says on its activity and to `pool.result`. */
export function describeFailure(failedReason: string): string {
  if (failedReason === stalledTooOften) {
    return `Worker lost more times than maxStalledCount allows; giving up (BullMQ: ${failedReason})`
  }
  return failedReason
}

/** The outcome of a job that BullMQ failed without a return value (stalled too often, or not a pool job). */
export function failedOutcome(job: Job): JobOutcome {
  return {
    agentId: agentIdOf(job.id ?? ''),
    task: job.name,
    status: 'error',
    attempts: job.attemptsStarted,
    error: new RunnerError(describeFailure(job.failedReason || 'The job failed in BullMQ')),
  }
}
