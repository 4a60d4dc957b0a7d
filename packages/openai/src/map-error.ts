import { APIConnectionError, APIError, APIUserAbortError, OpenAIError } from 'openai'

/** Socket-level error codes that mean "the connection went away", as undici reports them. */
const connectionCodes = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_ABORTED',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
])

/** Codes of in-stream errors (status-less `APIError`s) that a new attempt may fix. */
const retryableErrorCodes = new Set([
  'server_error',
  'rate_limit_exceeded',
  'overloaded',
  'server_overloaded',
])

/**
 * The error a model call failed with, as the runner reports it. An abort of the run's signal
 * wins over anything the SDK threw (a raw stream that ended silently, `APIUserAbortError`). The
 * raw errors the SDK lets through become errors that say what happened:
 * - `TypeError: terminated` (the connection closed mid-answer) -> `APIConnectionError` (retryable);
 * - `SyntaxError` (a body or event that is not JSON) -> `OpenAIError` (not retryable).
 */
export function modelCallError(error: unknown, signal: AbortSignal): unknown {
  if (signal.aborted) return signal.reason
  if (error instanceof OpenAIError) return error
  if (isConnectionCut(error)) {
    return new APIConnectionError({
      message: `The connection closed before the answer was complete (${describe(error)}). A new attempt may succeed.`,
      cause: error as Error,
    })
  }
  if (error instanceof SyntaxError) {
    return new OpenAIError(
      `The server sent an answer that is not valid JSON (${error.message}). Check that baseURL points at an OpenAI-compatible API.`,
      { cause: error },
    )
  }
  return error
}

/** A stream that ended (without an abort) before the model said it had finished. */
export function streamEndedEarly(what: string): APIConnectionError {
  return new APIConnectionError({
    message: `The answer stream ended before the model finished (${what}): the connection or the server stopped early. A new attempt may succeed.`,
  })
}

/** An answer the runner cannot use (no choice, a response that failed or never completed). */
export function unusableAnswer(message: string): OpenAIError {
  return new OpenAIError(message)
}

/**
 * Whether a failed model call is worth another attempt: connection errors and timeouts, HTTP
 * 408, 409, 429 and >= 500, and in-stream errors with a server or rate-limit code. Never an abort,
 * 400, 401, 403, 404, 422 or an answer that cannot be read. `undefined` for an error that did not
 * come from the SDK (the base class classifies those).
 */
export function isRetryableOpenAIError(error: unknown): boolean | undefined {
  if (error instanceof APIUserAbortError) return false
  if (error instanceof APIConnectionError) return true
  if (error instanceof APIError) {
    if (typeof error.status === 'number') return retryableStatus(error.status)
    return retryableErrorCodes.has(String(error.code ?? error.type ?? ''))
  }
  if (error instanceof OpenAIError) return false
  // An error of another copy of the openai package: the same rules, by shape.
  const name = (error as { constructor?: { name?: unknown } } | null)?.constructor?.name
  if (name === 'APIUserAbortError') return false
  if (name === 'APIConnectionError' || name === 'APIConnectionTimeoutError') return true
  return undefined
}

function retryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500
}

function isConnectionCut(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  if (error instanceof TypeError && error.message === 'terminated') return true
  const code = (error as { code?: unknown }).code ?? (error.cause as { code?: unknown } | undefined)?.code
  return typeof code === 'string' && connectionCodes.has(code)
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : ''
  return `${message}${cause}`
}
