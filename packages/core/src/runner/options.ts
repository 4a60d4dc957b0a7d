import { z } from 'zod'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { defaultRetryOptions } from '../lifecycle/retry-policy.js'
import { parseOrThrow } from '../util/zod-issues.js'
import type { ResolvedRunOptions, RunnerOptions, RunOptions } from './types.js'

const positiveInt = (what: string) =>
  z
    .number({ error: `must be ${what}` })
    .int(`must be ${what}`)
    .positive(`must be ${what}`)
const hookFunction = z.function().optional()

const hooksSchema = z
  .strictObject(
    {
      onRunStart: hookFunction,
      onRunEnd: hookFunction,
      onRunError: hookFunction,
      onModelCallStart: hookFunction,
      onModelCallEnd: hookFunction,
      onToolCallStart: hookFunction,
      onToolCallEnd: hookFunction,
      onStatusUpdate: hookFunction,
      onRetry: hookFunction,
    },
    { error: 'must be an object of hook functions' },
  )
  .optional()

const retrySchema = z
  .strictObject({
    attempts: z
      .number()
      .int('must be an integer')
      .min(1, 'must be at least 1')
      .max(100, 'must be at most 100')
      .optional(),
    initialDelayMs: z.number().int('must be an integer').min(0, 'must be at least 0').optional(),
    maxDelayMs: z.number().int('must be an integer').min(0, 'must be at least 0').optional(),
    retryOn: z.function().optional(),
  })
  .optional()

const sharedShape = {
  timeoutMs: positiveInt('a positive integer number of milliseconds').optional(),
  maxTurns: positiveInt('a positive integer').optional(),
  maxTurnsRecovery: z.boolean({ error: 'must be true or false' }).optional(),
  recoveryTurns: positiveInt('a positive integer').optional(),
  retry: retrySchema,
  hooks: hooksSchema,
  metadata: z.record(z.string(), z.unknown(), { error: 'must be a plain object' }).optional(),
  recordTrajectory: z.boolean({ error: 'must be true or false' }).optional(),
  includeNative: z.boolean({ error: 'must be true or false' }).optional(),
  durable: z.boolean({ error: 'must be true or false' }).optional(),
  approvalTimeoutMs: positiveInt('a positive integer number of milliseconds').optional(),
}

const runOptionsSchema = z.strictObject({
  ...sharedShape,
  decisions: z
    .record(z.string(), z.unknown(), { error: 'must be an object of decisions by request id' })
    .optional(),
  agentId: z
    .string()
    .min(1, 'must be a non-empty string')
    .max(200, 'must be at most 200 characters')
    .optional(),
  agentType: z
    .string()
    .min(1, 'must be a non-empty string')
    .max(200, 'must be at most 200 characters')
    .optional(),
  signal: z.instanceof(AbortSignal, { error: 'must be an AbortSignal' }).optional(),
})

const runnerOptionsSchema = z.strictObject({
  ...sharedShape,
  activity: z
    .custom(
      (value) => typeof value === 'object' && value !== null,
      'must be an ActivityTracker or ActivityStore',
    )
    .optional(),
  name: z.string().min(1, 'must be a non-empty string').optional(),
  prompts: z.strictObject({ reportStatus: z.string().optional(), wrapUp: z.string().optional() }).optional(),
})

/** Validates runner options; throws `InvalidOptionsError` naming the field. */
export function validateRunnerOptions<TOutput>(options: RunnerOptions<TOutput>): RunnerOptions<TOutput> {
  parseOrThrow(runnerOptionsSchema, options, 'runner options')
  return options
}

/** Applies runner defaults under per-run options and validates the result. */
export function resolveRunOptions<TOutput>(
  defaults: RunnerOptions<TOutput>,
  options: RunOptions<TOutput> = {},
  durableCapable = false,
): ResolvedRunOptions<TOutput> {
  parseOrThrow(runOptionsSchema, options, 'run options')
  const retry = { ...defaultRetryOptions, ...defaults.retry, ...options.retry }
  if (retry.maxDelayMs < retry.initialDelayMs) {
    throw new InvalidOptionsError(
      [
        {
          field: 'retry.maxDelayMs',
          message: `must be at least retry.initialDelayMs (${retry.initialDelayMs})`,
        },
      ],
      { subject: 'run options' },
    )
  }
  const resolved: ResolvedRunOptions<TOutput> = {
    maxTurns: options.maxTurns ?? defaults.maxTurns ?? 10,
    maxTurnsRecovery: options.maxTurnsRecovery ?? defaults.maxTurnsRecovery ?? false,
    recoveryTurns: options.recoveryTurns ?? defaults.recoveryTurns ?? 1,
    retry,
    metadata: { ...defaults.metadata, ...options.metadata },
    recordTrajectory: options.recordTrajectory ?? defaults.recordTrajectory ?? true,
    includeNative: options.includeNative ?? defaults.includeNative ?? false,
    durable: durableCapable && (options.durable ?? defaults.durable ?? true),
  }
  const approvalTimeoutMs = options.approvalTimeoutMs ?? defaults.approvalTimeoutMs
  if (approvalTimeoutMs !== undefined) resolved.approvalTimeoutMs = approvalTimeoutMs
  const timeoutMs = options.timeoutMs ?? defaults.timeoutMs
  if (timeoutMs !== undefined) resolved.timeoutMs = timeoutMs
  if (options.agentId !== undefined) resolved.agentId = options.agentId
  if (options.agentType !== undefined) resolved.agentType = options.agentType
  if (options.signal !== undefined) resolved.signal = options.signal
  if (options.hooks !== undefined) resolved.hooks = options.hooks
  return resolved
}
