import { RunnerError } from '@runner/core'
import { isTransientError } from '@runner/core/adapter'
import { ClaudeConnectionError } from './errors/claude-connection-error.js'

/** Error types of an `event: error` in the middle of a stream (no HTTP status) worth another attempt. */
const retryableErrorTypes = new Set(['overloaded_error', 'api_error', 'rate_limit_error', 'timeout_error'])

function header(error: Record<string, unknown>, name: string): string | null | undefined {
  const headers = error.headers as { get?: (name: string) => string | null } | undefined
  return typeof headers?.get === 'function' ? headers.get(name) : undefined
}

/**
 * Whether a retry may fix what failed. Yes: HTTP 408, 409, 429, 529 (overloaded) and other
 * statuses >= 500, the SDK's connection errors and timeouts (`APIConnectionError`,
 * `APIConnectionTimeoutError`), a cut connection (`ClaudeConnectionError`), an overloaded or API
 * error announced inside a stream, and network errors (`ECONNRESET`...). No: 400, 401, 403, 404,
 * 413, 422 and other 4xx, an aborted request, a malformed answer and every `RunnerError` (stop
 * reasons, invalid options). An `x-should-retry` header from the server wins. Classified by name
 * and status, so that errors of another copy of the SDK are classified too.
 */
export function isRetryableClaudeError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  if (ClaudeConnectionError.isInstance(error)) return true
  if (RunnerError.isInstance(error)) return false
  const record = error as Record<string, unknown>
  const name = record.name
  if (name === 'APIUserAbortError' || name === 'AbortError') return false
  const hint = header(record, 'x-should-retry')
  if (hint === 'true') return true
  if (hint === 'false') return false
  if (name === 'APIConnectionError' || name === 'APIConnectionTimeoutError') return true
  const status = record.status
  if (typeof status === 'number') {
    return status === 408 || status === 409 || status === 429 || status >= 500
  }
  if (typeof record.type === 'string' && retryableErrorTypes.has(record.type)) return true
  return isTransientError(error)
}
