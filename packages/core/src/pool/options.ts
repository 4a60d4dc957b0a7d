import { z } from 'zod'
import { DEFAULT_MAX_RECORD_BYTES } from '../activity/run-record.js'
import type { ActivityTracker } from '../activity/tracker.js'
import { sharedBudgetSchema } from '../lifecycle/shared-budget.js'
import { isLogger, type Logger, loggerMessage } from '../runner/log-hooks.js'
import { toJson } from './to-json.js'
import type { PoolEngine } from './types.js'

/** Validation of every option the pool takes, so that each error names its field. */

/** Longest `setTimeout` delay Node accepts (a larger one fires at once). */
const maxTimerMs = 2_147_483_647
/**
 * Default of `createPool({ maxInputBytes })`: the largest task input, as UTF-8 JSON, that enqueue
 * accepts. The stores' `maxRecordBytes` default (16 MiB).
 */
export const DEFAULT_MAX_INPUT_BYTES = DEFAULT_MAX_RECORD_BYTES

/** Priorities are bounded so that a distributed engine can map them onto its own range (BullMQ: 2^21 levels). */
export const maxPriority = 1_000_000

const milliseconds = (minimum: number) =>
  z
    .number({ error: 'must be a number of milliseconds' })
    .int('must be an integer number of milliseconds')
    .min(minimum, minimum === 0 ? 'must be 0 or more' : `must be at least ${minimum}`)
    .max(maxTimerMs, `must be at most ${maxTimerMs}`)

const nameSchema = z
  .string({ error: 'must be a string' })
  .min(1, 'must be a non-empty string')
  .max(200, 'must be at most 200 characters')

const hasMethods =
  (...names: string[]) =>
  (value: unknown): boolean =>
    typeof value === 'object' &&
    value !== null &&
    names.every((name) => typeof (value as Record<string, unknown>)[name] === 'function')

export const poolOptionsSchema = z.strictObject({
  activity: z
    .custom<ActivityTracker>(hasMethods('create', 'update', 'complete', 'error', 'cancel', 'detail'), {
      error: 'must be an ActivityTracker (from createActivityTracker())',
    })
    .optional(),
  engine: z
    .custom<PoolEngine>(hasMethods('start', 'submit', 'cancel', 'result', 'close'), {
      error: 'must be a PoolEngine (such as localEngine())',
    })
    .optional(),
  concurrency: z
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .optional(),
  maxInputBytes: z
    .number({ error: 'must be a number of bytes' })
    .int('must be an integer number of bytes')
    .min(1, 'must be at least 1')
    .optional(),
  structuredLogger: z.custom<Logger>(isLogger, loggerMessage).optional(),
  logContent: z.boolean({ error: 'must be true or false' }).optional(),
})

export const taskNameSchema = nameSchema

export const taskOptionsSchema = z.strictObject({
  input: z.custom<z.ZodType>(hasMethods('safeParse'), {
    error: 'must be a zod schema, such as z.object({...})',
  }),
  retries: z
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(0, 'must be 0 or more')
    .max(100, 'must be at most 100')
    .optional(),
  timeoutMs: milliseconds(1).optional(),
  retryDelayMs: milliseconds(0).optional(),
  maxRetryDelayMs: milliseconds(0).optional(),
  retryOn: z
    .custom<(error: unknown, info: { attempt: number }) => boolean>((value) => typeof value === 'function', {
      error: 'must be a function (error, { attempt }) => boolean',
    })
    .optional(),
  concurrency: z
    .strictObject(
      {
        key: z.custom<(input: unknown, metadata: Record<string, unknown>) => string>(
          (value) => typeof value === 'function',
          { error: 'must be a function (input, metadata) => string, such as (_, m) => String(m.tenant)' },
        ),
        limit: z
          .number({ error: 'must be a number' })
          .int('must be an integer')
          .min(1, 'must be at least 1')
          .optional(),
      },
      { error: 'must be an object { key, limit? }' },
    )
    .optional(),
  budget: z
    .strictObject(
      {
        shared: sharedBudgetSchema,
        key: z.custom<(input: unknown, metadata: Record<string, unknown>) => string>(
          (value) => typeof value === 'function',
          { error: 'must be a function (input, metadata) => string, such as (_, m) => String(m.tenant)' },
        ),
        onExceeded: z.enum(['wait', 'fail'], { error: "must be 'wait' or 'fail'" }).optional(),
      },
      { error: "must be an object { shared, key, onExceeded?: 'wait' | 'fail' }" },
    )
    .optional(),
})

/** Longest concurrency key a task's `concurrency.key` may return, in characters. */
export const maxConcurrencyKeyLength = 200

const jsonObjectSchema = z
  .record(z.string(), z.unknown(), { error: 'must be an object' })
  .superRefine((value, context) => {
    const json = toJson(value)
    if (!json.ok && json.tooDeep) {
      context.addIssue({ code: 'custom', path: [], message: `${json.problem}; flatten it` })
    } else if (!json.ok) {
      context.addIssue({
        code: 'custom',
        path: json.path === '' ? [] : json.path.split('.'),
        message: `${json.problem}; metadata must be JSON`,
      })
    }
  })

/** A job's priority: an integer from -1,000,000 to 1,000,000. */
export const prioritySchema = z
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .min(-maxPriority, `must be at least -${maxPriority}`)
  .max(maxPriority, `must be at most ${maxPriority}`)

export const enqueueOptionsSchema = z.strictObject({
  priority: prioritySchema.optional(),
  metadata: jsonObjectSchema.optional(),
  delayMs: milliseconds(0).optional(),
  agentId: nameSchema.optional(),
  parent: z
    .union([nameSchema, z.literal(false)], {
      error: 'must be an agentId (a string of 1 to 200 characters) or false',
    })
    .optional(),
})

export const resultOptionsSchema = z.strictObject({
  timeoutMs: milliseconds(0).optional(),
  signal: z
    .custom<AbortSignal>((value) => value instanceof AbortSignal, { error: 'must be an AbortSignal' })
    .optional(),
})

export const closeOptionsSchema = z.strictObject({
  timeoutMs: milliseconds(0).optional(),
})
