import type { Pool } from '@runner/core'
import { z } from 'zod'
import type { BullMQConnection, BullMQEngineOptions, StartWorkerOptions } from './types.js'

/** Validation of the options of `bullmqEngine` and `startWorker`, so that each error names its field. */

/** Longest `setTimeout` delay Node accepts. */
const maxTimerMs = 2_147_483_647

const milliseconds = (minimum: number) =>
  z
    .number({ error: 'must be a number of milliseconds' })
    .int('must be an integer number of milliseconds')
    .min(minimum, `must be at least ${minimum}`)
    .max(maxTimerMs, `must be at most ${maxTimerMs}`)

const positiveInteger = z
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .min(1, 'must be at least 1')

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null

/** An ioredis instance (or anything that duplicates like one). */
export function isRedisInstance(value: unknown): value is Extract<BullMQConnection, { duplicate: unknown }> {
  return isObject(value) && typeof value.duplicate === 'function' && typeof value.publish === 'function'
}

const connectionSchema = z.custom<BullMQConnection>(
  (value) =>
    (typeof value === 'string' && /^rediss?:\/\//i.test(value) && URL.canParse(value)) ||
    (isObject(value) && !Array.isArray(value)),
  { error: 'must be a redis:// or rediss:// URL, ioredis options, or an ioredis instance' },
)

export const engineOptionsSchema = z.strictObject({
  connection: connectionSchema,
  queueName: z
    .string({ error: 'must be a string' })
    .min(1, 'must be a non-empty string')
    .max(200, 'must be at most 200 characters')
    .refine((value) => !value.includes(':'), 'must not contain ":" (BullMQ separates its keys with it)'),
  prefix: z.string({ error: 'must be a string' }).min(1, 'must be a non-empty string').optional(),
  keepResults: z
    .strictObject({
      maxAgeMs: milliseconds(1000).optional(),
      maxCount: positiveInteger.optional(),
    })
    .optional(),
  worker: z
    .strictObject({
      lockDurationMs: milliseconds(100).optional(),
      stalledIntervalMs: milliseconds(100).optional(),
      maxStalledCount: z
        .number({ error: 'must be a number' })
        .int('must be an integer')
        .min(0, 'must be 0 or more')
        .optional(),
      limiter: z
        .strictObject({
          max: positiveInteger,
          durationMs: milliseconds(1),
        })
        .optional(),
    })
    .optional(),
  onError: z
    .custom<(error: Error) => void>((value) => typeof value === 'function', {
      error: 'must be a function (error) => void',
    })
    .optional(),
}) satisfies z.ZodType<BullMQEngineOptions>

export const startWorkerOptionsSchema = z.strictObject({
  pool: z.custom<Pool>(
    (value) =>
      isObject(value) &&
      typeof value.task === 'function' &&
      typeof value.enqueue === 'function' &&
      isObject(value.engine),
    { error: 'must be a pool from createPool({ engine: bullmqEngine(...) })' },
  ),
  concurrency: positiveInteger.optional(),
  signals: z
    .custom<readonly NodeJS.Signals[] | false>(
      (value) =>
        value === false ||
        (Array.isArray(value) &&
          value.every((item) => typeof item === 'string' && /^SIG[A-Z0-9]+$/.test(item))),
      { error: 'must be an array of signal names such as ["SIGTERM", "SIGINT"], or false' },
    )
    .optional(),
  shutdownTimeoutMs: milliseconds(0).optional(),
  requeueOnShutdown: z.boolean({ error: 'must be true or false' }).optional(),
  onShutdown: z
    .custom<() => void | Promise<void>>((value) => typeof value === 'function', {
      error: 'must be a function () => void | Promise<void>',
    })
    .optional(),
}) satisfies z.ZodType<StartWorkerOptions>

export const workerCloseOptionsSchema = z.strictObject({ timeoutMs: milliseconds(0).optional() }).optional()
