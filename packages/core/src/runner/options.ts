import { z } from 'zod'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { defaultRetryOptions } from '../lifecycle/retry-policy.js'
import { checkSession } from '../lifecycle/sessions.js'
import { sharedBudgetSchema } from '../lifecycle/shared-budget.js'
import { parseOrThrow } from '../util/zod-issues.js'
import { isLogger, loggerMessage } from './log-hooks.js'
import type { ResolvedRunOptions, RunBudget, RunnerOptions, RunOptions } from './types.js'

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

const sharedUse = z.strictObject(
  {
    budget: sharedBudgetSchema,
    key: z
      .string({ error: 'must be a non-empty string (a tenant, a user...)' })
      .min(1, 'must be a non-empty string (a tenant, a user...)'),
  },
  { error: 'must be { budget: createSharedBudget(...), key }' },
)

const sharedShape = {
  timeoutMs: positiveInt('a positive integer number of milliseconds').optional(),
  maxTurns: positiveInt('a positive integer').optional(),
  maxTurnsRecovery: z.boolean({ error: 'must be true or false' }).optional(),
  recoveryTurns: positiveInt('a positive integer').optional(),
  budget: z
    .strictObject(
      {
        maxTokens: positiveInt('a positive integer number of tokens').optional(),
        maxCostUsd: z
          .number({ error: 'must be a positive number of US dollars' })
          .positive('must be a positive number of US dollars')
          .refine(Number.isFinite, 'must be a positive number of US dollars')
          .optional(),
        onExceeded: z.enum(['fail', 'wrap-up'], { error: "must be 'fail' or 'wrap-up'" }).optional(),
        shared: z
          .unknown()
          .superRefine((value, context) => {
            // One use or a list of them; issues name the field as given (`shared.key`, `shared[1].key`).
            const list = Array.isArray(value) ? value : [value]
            list.forEach((each, index) => {
              const parsed = sharedUse.safeParse(each)
              if (parsed.success) return
              for (const issue of parsed.error.issues)
                context.addIssue({
                  code: 'custom',
                  path: Array.isArray(value) ? [index, ...issue.path] : issue.path,
                  message: issue.message,
                })
            })
          })
          .optional(),
      },
      { error: "must be { maxTokens?, maxCostUsd?, onExceeded?: 'fail' | 'wrap-up', shared? }" },
    )
    .optional(),
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
  parent: z
    .union([z.string().min(1).max(200), z.literal(false)], {
      error: 'must be an agentId (a string of 1 to 200 characters) or false',
    })
    .optional(),
  agentType: z
    .string()
    .min(1, 'must be a non-empty string')
    .max(200, 'must be at most 200 characters')
    .optional(),
  signal: z.instanceof(AbortSignal, { error: 'must be an AbortSignal' }).optional(),
  // Checked by `checkSession`, which names the field.
  session: z.unknown().optional(),
})

const perMTok = z
  .number({ error: 'must be a number (US dollars per million tokens)' })
  .min(0, 'must be 0 or more')
  .max(1_000_000, 'must be at most 1000000')

const pricesSchema = z
  .record(
    z.string().min(1, 'must be a model id or provider/model'),
    z.strictObject(
      {
        inputPerMTokUsd: perMTok,
        outputPerMTokUsd: perMTok,
        cacheReadPerMTokUsd: perMTok.optional(),
        cacheWritePerMTokUsd: perMTok.optional(),
      },
      {
        error:
          'must be { inputPerMTokUsd, outputPerMTokUsd, cacheReadPerMTokUsd?, cacheWritePerMTokUsd? } (US dollars per million tokens)',
      },
    ),
    { error: 'must be an object of prices by model id (or provider/model)' },
  )
  .optional()

const runnerOptionsSchema = z.strictObject({
  prices: pricesSchema,
  ...sharedShape,
  activity: z
    .custom(
      (value) => typeof value === 'object' && value !== null,
      'must be an ActivityTracker or ActivityStore',
    )
    .optional(),
  name: z.string().min(1, 'must be a non-empty string').optional(),
  prompts: z.strictObject({ reportStatus: z.string().optional(), wrapUp: z.string().optional() }).optional(),
  structuredLogger: z.custom(isLogger, loggerMessage).optional(),
  logContent: z.boolean({ error: 'must be true or false' }).optional(),
  rateLimiter: z
    .custom(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        typeof (value as { acquire?: unknown }).acquire === 'function' &&
        typeof (value as { block?: unknown }).block === 'function',
      'must be a RateLimiter made by createRateLimiter',
    )
    .optional(),
})

/** Validates runner options; throws `InvalidOptionsError` naming the field. */
export function validateRunnerOptions<TOutput>(options: RunnerOptions<TOutput>): RunnerOptions<TOutput> {
  parseOrThrow(runnerOptionsSchema, options, 'runner options')
  return options
}

const hookNames = new Set(Object.keys(hooksSchema.unwrap().shape))
const retryKeys = new Set(Object.keys(retrySchema.unwrap().shape))

const isPositiveInt = (value: unknown) => Number.isSafeInteger(value) && (value as number) > 0
const isNonNegativeInt = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0
const isIdString = (value: unknown) => typeof value === 'string' && value.length >= 1 && value.length <= 200
const isBoolean = (value: unknown) => typeof value === 'boolean'

/** An object literal (or `Object.create(null)`): what the schemas' object and record checks accept. */
function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

function isHooks(value: unknown): boolean {
  if (!isPlainRecord(value)) return false
  for (const key in value) {
    const hook = value[key]
    if (!hookNames.has(key) || (hook !== undefined && typeof hook !== 'function')) return false
  }
  return true
}

function isRetry(value: unknown): boolean {
  if (!isPlainRecord(value)) return false
  for (const key in value) {
    const field = value[key]
    if (!retryKeys.has(key)) return false
    if (field === undefined) continue
    if (
      key === 'attempts'
        ? !isPositiveInt(field) || (field as number) > 100
        : key === 'retryOn'
          ? typeof field !== 'function'
          : !isNonNegativeInt(field)
    )
      return false
  }
  return true
}

/** Cheap checks of the run options that need no schema: each accepts a subset of what the schema accepts. */
const simpleChecks = new Map<string, (value: unknown) => boolean>(
  Object.entries({
    agentId: isIdString,
    agentType: isIdString,
    signal: (value) => value instanceof AbortSignal,
    timeoutMs: isPositiveInt,
    maxTurns: isPositiveInt,
    maxTurnsRecovery: isBoolean,
    recoveryTurns: isPositiveInt,
    retry: isRetry,
    hooks: isHooks,
    metadata: isPlainRecord,
    recordTrajectory: isBoolean,
    includeNative: isBoolean,
    durable: isBoolean,
    approvalTimeoutMs: isPositiveInt,
  }),
)

/**
 * Whether the run options are valid by the cheap checks alone (the common case: none, or a few
 * plain fields). Anything else goes through the schema, which names what is wrong.
 */
function isSimpleRunOptions(options: unknown): boolean {
  if (!isPlainRecord(options)) return false
  for (const key in options) {
    const check = simpleChecks.get(key)
    const value = options[key]
    if (!check || (value !== undefined && !check(value))) return false
  }
  return true
}

/** Applies runner defaults under per-run options and validates the result. */
export function resolveRunOptions<TOutput>(
  defaults: RunnerOptions<TOutput>,
  options: RunOptions<TOutput> = {},
  durableCapable = false,
): ResolvedRunOptions<TOutput> {
  if (!isSimpleRunOptions(options)) parseOrThrow(runOptionsSchema, options, 'run options')
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
  // Field by field: a run's budget overrides the runner's limits it names, keeps the others.
  if (options.budget !== undefined || defaults.budget !== undefined) {
    const budget: RunBudget = { ...defaults.budget, ...options.budget }
    for (const key of Object.keys(budget) as Array<keyof RunBudget>)
      if (budget[key] === undefined) delete budget[key]
    if (budget.maxTokens !== undefined || budget.maxCostUsd !== undefined || budget.shared !== undefined)
      resolved.budget = budget
  }
  const timeoutMs = options.timeoutMs ?? defaults.timeoutMs
  if (timeoutMs !== undefined) resolved.timeoutMs = timeoutMs
  if (options.agentId !== undefined) resolved.agentId = options.agentId
  if (options.agentType !== undefined) resolved.agentType = options.agentType
  if (options.parent !== undefined) resolved.parent = options.parent
  if (options.signal !== undefined) resolved.signal = options.signal
  if (options.hooks !== undefined) resolved.hooks = options.hooks
  if (options.session !== undefined) {
    checkSession(options.session)
    resolved.session = options.session
  }
  return resolved
}
