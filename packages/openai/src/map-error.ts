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

/** Reason phrases of the statuses an API or a proxy in front of it answers with. */
const statusTexts: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

/**
 * The error a model call failed with, as the runner reports it. An abort of the run's signal
 * wins over anything the SDK threw (a raw stream that ended silently, `APIUserAbortError`). The
 * SDK's errors keep their class; an `APIError` whose message the SDK could not make readable is
 * given one (`readableApiError`). The raw errors the SDK lets through become errors that say
 * what happened:
 * - `TypeError: terminated` (the connection closed mid-answer) -> `APIConnectionError` (retryable);
 * - `SyntaxError` (a body or event that is not JSON) -> `OpenAIError` (not retryable).
 */
export function modelCallError(error: unknown, signal: AbortSignal): unknown {
  if (signal.aborted) return signal.reason
  if (isApiError(error)) return readableApiError(error)
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

/** The SDK's `APIError`, of this copy of the SDK or another (a client may come from another copy). */
interface ApiErrorLike extends Error {
  status: number | undefined
  error: unknown
  type?: unknown
  code?: unknown
}

function isApiError(error: unknown): error is ApiErrorLike {
  return (
    error instanceof APIError ||
    (error instanceof Error && 'status' in error && 'headers' in error && 'error' in error)
  )
}

/**
 * The SDK writes an HTTP error's message as `<status> <body's error.message>`, and when the body
 * has none, the body itself: JSON (`400 {"message":"","type":"invalid_request_error",...}`), an
 * HTML page from a proxy (`502 <html>...`), or `status code (no body)`. Those reach the activity
 * log as they are; this gives them a readable message instead: the provider's words where the
 * body has some (`message`, `detail`, or `error` as a string), else the status's reason phrase
 * with the error's type and code (`400 Bad Request (invalid_request_error)`). A readable message
 * is left alone; the class, `status`, `headers` and `error` (the parsed body) do not change, and
 * a body that was not JSON is kept there as text.
 */
function readableApiError<T extends ApiErrorLike>(error: T): T {
  const prefix = error.status === undefined ? '' : `${error.status} `
  if (!error.message.startsWith(prefix)) return error
  const said = error.message.slice(prefix.length)
  const isPage = error.error === undefined && said.trimStart().startsWith('<')
  const isEmpty = said === 'status code (no body)'
  if (!isPage && !isEmpty && !/^\s*[{["]/.test(said)) return error
  const words = wordsOf(error.error)
  let message: string
  if (words !== undefined) {
    message = `${prefix}${words}`
  } else {
    const kind = [error.type, error.code].filter((part) => typeof part === 'string' && part !== '')
    const named =
      error.status === undefined
        ? 'The server reported an error'
        : `${prefix}${statusTexts[error.status] ?? 'error'}`
    message = isPage
      ? `${named}: the server sent an HTML page, not an API error (is a proxy or gateway in between?)`
      : `${named} (${kind.length > 0 ? kind.join(', ') : isEmpty ? 'empty body' : 'no error message'})`
  }
  Object.defineProperty(error, 'message', { value: message, writable: true, configurable: true })
  if (isPage) Object.defineProperty(error, 'error', { value: said, writable: true, configurable: true })
  return error
}

/** The provider's own words in an error body: `message`, `detail` or `error` as a string. */
function wordsOf(body: unknown): string | undefined {
  if (typeof body === 'string') return body.trim() || undefined
  if (typeof body !== 'object' || body === null) return undefined
  const record = body as Record<string, unknown>
  const nested = record.error as Record<string, unknown> | undefined
  for (const candidate of [record.message, record.detail, record.error, nested?.message]) {
    if (typeof candidate === 'string' && candidate.trim() !== '') return candidate.trim()
  }
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
