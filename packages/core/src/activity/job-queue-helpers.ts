import { z } from 'zod'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { parseOrThrow } from '../util/zod-issues.js'
import { jsonOf, MAX_RECORD_DEPTH } from './run-record.js'
import { assertStorableText } from './text-policy.js'
import type { QueuedJob } from './types.js'

/**
 * Helpers shared by every `DurableJobQueue`, so that each store refuses the same arguments with
 * the same `InvalidOptionsError` (naming the field).
 */

const idSchema = z
  .string({ error: 'must be a string' })
  .min(1, 'must be a non-empty string')
  .max(200, 'must be at most 200 characters')

const epochSchema = z
  .number({ error: 'must be a number (epoch milliseconds)' })
  .min(0, 'must be 0 or more (epoch milliseconds)')
  .max(8.64e15, 'must be a valid time (epoch milliseconds)')

const jobSchema = z.object({
  agentId: idSchema,
  job: z.unknown().refine((value) => value !== undefined, 'is required (the job, as JSON)'),
  priority: z
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(-1_000_000_000, 'must be from -1,000,000,000 to 1,000,000,000')
    .max(1_000_000_000, 'must be from -1,000,000,000 to 1,000,000,000'),
  readyAt: epochSchema,
})

/** The fairness fields of a queued job, checked; absent ones are left out. */
interface JobConcurrency {
  concurrencyKey?: string
  concurrencyLimit?: number
}

const ownerSchema = idSchema

/** Longest `concurrencyKey` of a queued job, in characters (a task name and a key, as JSON). */
export const MAX_CONCURRENCY_KEY_LENGTH = 500

/** Largest `concurrencyLimit` of a queued job (a larger limit is no limit in practice). */
export const MAX_CONCURRENCY_LIMIT = 1_000_000_000

const concurrencySchema = z
  .object({
    concurrencyKey: z
      .string({ error: 'must be a string (the job’s fairness group)' })
      .min(1, 'must be a non-empty string')
      .max(
        MAX_CONCURRENCY_KEY_LENGTH,
        `must be at most ${MAX_CONCURRENCY_KEY_LENGTH.toLocaleString('en-US')} characters`,
      )
      .optional(),
    concurrencyLimit: z
      .number({ error: 'must be a number' })
      .int('must be an integer')
      .min(1, 'must be at least 1')
      .max(MAX_CONCURRENCY_LIMIT, `must be at most ${MAX_CONCURRENCY_LIMIT.toLocaleString('en-US')}`)
      .optional(),
  })
  .superRefine((value, context) => {
    if (value.concurrencyLimit !== undefined && value.concurrencyKey === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['concurrencyLimit'],
        message: 'needs a concurrencyKey (the group the limit applies to)',
      })
    }
  })

/** The longest lease a claim or a renewal takes: one day. */
export const MAX_LEASE_MS = 24 * 60 * 60 * 1000

const leaseSchema = z
  .number({ error: 'must be a number of milliseconds' })
  .int('must be an integer number of milliseconds')
  .min(1, 'must be at least 1 ms')
  .max(MAX_LEASE_MS, `must be at most ${MAX_LEASE_MS} ms (one day); renew the lease instead`)

const claimSchema = z.object({
  owner: ownerSchema,
  limit: z
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(1000, 'must be at most 1000'),
  leaseMs: leaseSchema,
})

const renewSchema = z.object({
  owner: ownerSchema,
  agentIds: z
    .array(idSchema, { error: 'must be an array of agentIds' })
    .max(10_000, 'must hold at most 10,000 ids'),
  leaseMs: leaseSchema,
})

/**
 * Validates a job for `push`; its `job` becomes a JSON copy, with U+FFFD for a NUL or lone
 * surrogate (`InvalidOptionsError` naming the field otherwise; an agentId holding one is refused).
 */
export function validateQueuedJob(job: QueuedJob): QueuedJob {
  const valid = parseOrThrow(jobSchema, job, 'queued job')
  assertStorableText(valid.agentId, 'agentId', 'queued job')
  const concurrency = validateJobConcurrency(job)
  return {
    agentId: valid.agentId,
    // A pool job holds its input one level down: an input at MAX_JSON_DEPTH fits.
    job: jsonOf(valid.job, 'job', MAX_RECORD_DEPTH),
    priority: valid.priority,
    readyAt: valid.readyAt,
    ...concurrency,
  }
}

/**
 * Validates the fairness fields of a queued job (`concurrencyKey`, `concurrencyLimit`), for stores
 * that validate the rest themselves: `InvalidOptionsError` naming the field (after `prefix`, such
 * as `jobs[2]`) for a key that is not a non-empty string of at most `MAX_CONCURRENCY_KEY_LENGTH`
 * characters (or holds a NUL), a limit that is not an integer from 1 to `MAX_CONCURRENCY_LIMIT`,
 * or a limit without a key.
 */
export function validateJobConcurrency(
  job: Pick<QueuedJob, 'concurrencyKey' | 'concurrencyLimit'>,
  prefix?: string,
  subject = 'queued job',
): JobConcurrency {
  const source = (typeof job === 'object' && job !== null ? job : {}) as JobConcurrency
  const valid = parseOrThrow(
    concurrencySchema,
    { concurrencyKey: source.concurrencyKey, concurrencyLimit: source.concurrencyLimit },
    subject,
    prefix ?? '',
  )
  if (valid.concurrencyKey !== undefined) {
    assertStorableText(
      valid.concurrencyKey,
      prefix === undefined ? 'concurrencyKey' : `${prefix}.concurrencyKey`,
      subject,
    )
  }
  return {
    ...(valid.concurrencyKey === undefined ? {} : { concurrencyKey: valid.concurrencyKey }),
    ...(valid.concurrencyLimit === undefined ? {} : { concurrencyLimit: valid.concurrencyLimit }),
  }
}

/**
 * Validates the jobs of `pushMany`, all of them before any is stored: the first bad one throws
 * `InvalidOptionsError` naming `jobs[index]` and its field; an agentId given twice is refused too.
 */
export function validateQueuedJobs(jobs: QueuedJob[]): QueuedJob[] {
  return validateEach(jobs, validateQueuedJob)
}

/**
 * Runs `validate` on each job of a `pushMany` batch, naming the index in the fields of the error it
 * throws (`jobs[3].priority`), then refuses an agentId that appears twice in the batch.
 */
export function validateEach<T extends { agentId: string }>(
  jobs: unknown,
  validate: (job: QueuedJob) => T,
): T[] {
  if (!Array.isArray(jobs)) {
    throw new InvalidOptionsError([{ field: 'jobs', message: 'must be an array of queued jobs' }], {
      subject: 'queued jobs',
    })
  }
  const seen = new Map<string, number>()
  return jobs.map((job: QueuedJob, index) => {
    let valid: T
    try {
      valid = validate(job)
    } catch (error) {
      if (!InvalidOptionsError.isInstance(error)) throw error
      throw new InvalidOptionsError(
        error.issues.map((issue) => ({ ...issue, field: `jobs[${index}].${issue.field}` })),
        { subject: 'queued jobs' },
      )
    }
    const first = seen.get(valid.agentId)
    if (first !== undefined) {
      throw new InvalidOptionsError(
        [
          {
            field: `jobs[${index}].agentId`,
            message: `"${valid.agentId}" is also the agentId of jobs[${first}]; each job of a batch needs its own`,
          },
        ],
        { subject: 'queued jobs' },
      )
    }
    seen.set(valid.agentId, index)
    return valid
  })
}

/** Validates the arguments of `claim`. */
export function validateClaimArguments(owner: string, limit: number, leaseMs: number): void {
  parseOrThrow(claimSchema, { owner, limit, leaseMs }, 'job claim')
  assertStorableText(owner, 'owner', 'job claim')
}

/** Validates the arguments of `renew`. */
export function validateRenewArguments(owner: string, agentIds: string[], leaseMs: number): void {
  parseOrThrow(renewSchema, { owner, agentIds, leaseMs }, 'lease renewal')
}
