/** How a run retries a failed attempt. */
export interface RetryOptions {
  /** Total attempts, the first included. Default 1 (no retry: the SDKs already retry HTTP calls). */
  attempts: number
  /** Delay before the first retry, in ms. Default 500. */
  initialDelayMs: number
  /** Upper bound of any delay, in ms. Default 10000. */
  maxDelayMs: number
  /**
   * Decides whether an error is worth another attempt; replaces the runner's `isRetryable`.
   * Cancellation, timeouts and invalid options are never retried, whatever this returns.
   */
  retryOn?: (error: unknown, info: { attempt: number }) => boolean
}

export const defaultRetryOptions: RetryOptions = { attempts: 1, initialDelayMs: 500, maxDelayMs: 10_000 }

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
