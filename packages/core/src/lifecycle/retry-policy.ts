import { ActivityNotFoundError } from '../errors/activity-not-found-error.js'
import { ActivityTransitionError } from '../errors/activity-transition-error.js'
import { BudgetExceededError } from '../errors/budget-exceeded-error.js'
import { CapabilityUnsupportedError } from '../errors/capability-unsupported-error.js'
import { ConfigError } from '../errors/config-error.js'
import { HookError } from '../errors/hook-error.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { InvalidToolInputError } from '../errors/invalid-tool-input-error.js'
import { MaxTurnsExceededError } from '../errors/max-turns-exceeded-error.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'

/** How a run retries a failed attempt (`RunOptions.retry`). */
export interface RetryOptions {
  /**
   * Attempts the run may reach, the first included. Default 3. Adapters switch their SDK's own
   * request retries off, so this is the only retry a run makes, and each one is on the activity.
   */
  attempts: number
  /** Delay before the first retry, in ms; doubled for each next one, with jitter. Default 500. */
  initialDelayMs: number
  /** Upper bound of any delay, a server's `Retry-After` included, in ms. Default 10000. */
  maxDelayMs: number
  /**
   * Decides whether an error is worth another attempt; replaces the runner's `isRetryable`.
   * Cancellation, timeouts, hook errors and invalid options are never retried, whatever it returns.
   */
  retryOn?: (error: unknown, info: { attempt: number }) => boolean
}

/** The retry policy of a run that sets none. */
export const defaultRetryOptions: RetryOptions = { attempts: 3, initialDelayMs: 500, maxDelayMs: 10_000 }

/**
 * Delay before retry number `retry` (1-based): exponential (`initialDelayMs * 2^(retry-1)`),
 * capped at `maxDelayMs`, with "equal jitter" (a random point in the upper half), so that many
 * clients failing together do not retry together.
 */
export function backoffDelay(
  retry: number,
  options: Pick<RetryOptions, 'initialDelayMs' | 'maxDelayMs'>,
  random = Math.random,
): number {
  const exponential = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.max(0, retry - 1))
  return Math.round(exponential / 2 + random() * (exponential / 2))
}

/** A header of an error's HTTP response, whatever shape the SDK keeps headers in. */
function headerOf(error: unknown, name: string): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const record = error as Record<string, unknown>
  const headers = (record.headers ??
    (record.response as Record<string, unknown> | undefined)?.headers ??
    record.responseHeaders) as unknown
  if (typeof headers !== 'object' || headers === null) return undefined
  const get = (headers as { get?: unknown }).get
  if (typeof get === 'function') {
    const value = (get as (key: string) => unknown).call(headers, name)
    return typeof value === 'string' ? value : undefined
  }
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name && typeof value === 'string') return value
  }
  return undefined
}

/**
 * The wait a server asked for before the next request, in ms: `retry-after-ms` (OpenAI), else
 * `retry-after` in seconds or as an HTTP date, read from the error's response headers (`headers`,
 * `response.headers` or `responseHeaders`, a `Headers` object or a plain record). `undefined` when
 * the error carries none, or a value that is not a non-negative number or date.
 */
export function retryAfterMs(error: unknown, now = Date.now()): number | undefined {
  const ms = headerOf(error, 'retry-after-ms')
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms))
  const after = headerOf(error, 'retry-after')?.trim()
  if (after === undefined || after === '') return undefined
  if (/^\d+(\.\d+)?$/.test(after)) return Math.ceil(Number(after) * 1000)
  const date = Date.parse(after)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

const retryableCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
])

/**
 * The default classification used by `BaseAgentRunner.isRetryable`: HTTP statuses 408, 409, 429 and
 * >= 500 (read from `status` or `statusCode`), common network error codes, and errors that say
 * `retryable: true`. Adapters override it with their SDK's error classes.
 */
export function isTransientError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const record = error as Record<string, unknown>
  if (record.retryable === true) return true
  if (record.retryable === false) return false
  const status = typeof record.status === 'number' ? record.status : record.statusCode
  if (typeof status === 'number') return status === 408 || status === 409 || status === 429 || status >= 500
  const code = record.code ?? (record.cause as Record<string, unknown> | undefined)?.code
  return typeof code === 'string' && retryableCodes.has(code)
}

/**
 * Errors that no attempt can fix, whatever a classification says: the lifecycle's own (cancel, turn
 * limit, invalid options or tool input, the budget, a refused transition, a missing capability or config) and
 * a hook that threw. A `RunTimeoutError` is not among them: a pool task's `timeoutMs` limits one
 * attempt, which another may beat (a run's `timeoutMs` limits the whole run, so nothing follows it).
 */
export function isFinalError(error: unknown): boolean {
  return (
    RunCanceledError.isInstance(error) ||
    HookError.isInstance(error) ||
    InvalidOptionsError.isInstance(error) ||
    MaxTurnsExceededError.isInstance(error) ||
    BudgetExceededError.isInstance(error) ||
    ActivityTransitionError.isInstance(error) ||
    ActivityNotFoundError.isInstance(error) ||
    CapabilityUnsupportedError.isInstance(error) ||
    ConfigError.isInstance(error) ||
    InvalidToolInputError.isInstance(error)
  )
}

/** What one layer (a run, a pool task) allows: its share of the attempt counter and its delays. */
export interface AttemptPolicy {
  /** The attempt counter may reach this many; no retry once it has. */
  maxAttempts: number
  initialDelayMs: number
  maxDelayMs: number
  /** Whether this layer considers the error worth another attempt (final errors never reach it). */
  retryable(error: unknown, attempt: number): boolean
}

/**
 * The delay before the next attempt after `attempt` failed with `error`, or `undefined` when there
 * is none: the budget is spent, the error is final, or the policy declines it. The delay is the
 * backoff, or the server's `Retry-After` when longer, never above `maxDelayMs`.
 */
export function retryDelay(error: unknown, attempt: number, policy: AttemptPolicy): number | undefined {
  if (attempt >= policy.maxAttempts || isFinalError(error)) return undefined
  if (!policy.retryable(error, attempt)) return undefined
  const backoff = backoffDelay(attempt, policy)
  const asked = retryAfterMs(error)
  return Math.min(policy.maxDelayMs, Math.max(backoff, asked ?? 0))
}
