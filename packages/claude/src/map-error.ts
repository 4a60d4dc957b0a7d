import { APIError } from '@anthropic-ai/sdk'
import { ClaudeConnectionError } from './errors/claude-connection-error.js'
import { ClaudeMalformedResponseError } from './errors/claude-malformed-response-error.js'

/** Network error codes of a connection that broke while a response was read. */
const brokenConnectionCodes = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ERR_STREAM_PREMATURE_CLOSE',
])

/**
 * Messages of the SDK's stream helper when the stream ended cleanly but before `message_stop`:
 * the server hung up early, which a retry may fix like a cut connection.
 */
const endedEarlyMessages = [
  'stream ended without producing a Message',
  'request ended without sending any chunks',
]

/** The stream helper's message when events come out of order: a broken answer, not a broken connection. */
const outOfOrderMessage = 'Unexpected event order'

/** Where a model call failed, for the error message. */
export interface FailedCall {
  /** The model asked. */
  model: string
  /** Where the answer was when it broke (`inside the tool_use block of "search" ...`). */
  cutAt: string
}

/** The chain of causes: the error, its `cause`, the cause's `cause`... */
function causesOf(error: unknown): unknown[] {
  const chain: unknown[] = []
  let current: unknown = error
  while (current !== undefined && current !== null && chain.length < 5 && !chain.includes(current)) {
    chain.push(current)
    current = (current as { cause?: unknown }).cause
  }
  return chain
}

function isBrokenConnection(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  // undici's way to say that the body stopped in the middle: `TypeError: terminated`.
  if (error.name === 'TypeError' && error.message === 'terminated') return true
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' && brokenConnectionCodes.has(code)
}

/** The SDK's `APIError`, of this copy of the SDK or another (the client may come from another copy). */
interface ApiErrorLike extends Error {
  status: number | undefined
  apiMessage?: string | null
  type?: string | null
}

function isApiError(error: unknown): error is ApiErrorLike {
  return (
    error instanceof APIError ||
    (error instanceof Error && 'status' in error && 'headers' in error && 'error' in error)
  )
}

/**
 * The SDK puts the whole error body in an HTTP error's message (`529 {"type":"error","error":{...}}`),
 * which then reaches the activity log. Shortens it to `529 overloaded_error: Overloaded`; the body
 * stays on `error.error`, the class and `status` do not change.
 */
function readableApiError<T extends ApiErrorLike>(error: T): T {
  const prefix = `${error.status} {`
  if (error.status !== undefined && error.apiMessage && error.message.startsWith(prefix)) {
    const type = error.type ? `${error.type}: ` : ''
    Object.defineProperty(error, 'message', {
      value: `${error.status} ${type}${error.apiMessage}`,
      writable: true,
      configurable: true,
    })
  }
  return error
}

/**
 * A failed model call as the error the run fails with. The SDK's HTTP errors (`RateLimitError`,
 * `OverloadedError`...), its connection errors and `APIUserAbortError` pass through as they are
 * (an HTTP error's message shortened to `<status> <type>: <message>`). What
 * the SDK leaves raw becomes clear: a connection cut in the middle of the answer (`TypeError:
 * terminated`, or `AnthropicError('terminated')` from the stream helper) is a retryable
 * `ClaudeConnectionError`; an answer that does not parse (a raw `SyntaxError`) is a
 * `ClaudeMalformedResponseError`, not retried. Anything else passes through.
 */
export function mapClaudeError(error: unknown, call: FailedCall): unknown {
  if (isApiError(error)) return readableApiError(error)
  const chain = causesOf(error)
  const syntax = chain.find((link) => link instanceof SyntaxError) as SyntaxError | undefined
  const message = error instanceof Error ? error.message : String(error)
  if (syntax || (error instanceof Error && message.startsWith(outOfOrderMessage))) {
    return new ClaudeMalformedResponseError(
      `The Anthropic API sent an answer that is not a valid Messages response (model "${call.model}", ${call.cutAt}): ` +
        `${(syntax ?? (error as Error)).message}. Check the baseURL and any proxy in between; the run is not retried.`,
      { cause: error },
    )
  }
  const endedEarly = error instanceof Error && endedEarlyMessages.some((prefix) => message.startsWith(prefix))
  if (endedEarly || chain.some(isBrokenConnection)) {
    const reason = endedEarly ? 'the stream ended before message_stop' : message
    return new ClaudeConnectionError(
      `The connection to the Anthropic API was cut before Claude's answer was complete (model "${call.model}", ` +
        `${call.cutAt}): ${reason}. The partial answer was discarded. This error is retryable: the run ` +
        'repeats the request while retry.attempts allows (default 3), unless part of the answer already reached the reader.',
      { cutAt: call.cutAt, cause: error },
    )
  }
  return error
}
