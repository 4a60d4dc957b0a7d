import { MaxTurnsExceededError, RunCanceledError, RunTimeoutError } from '@runner/core'
import { isTransientError } from '@runner/core/adapter'
import { isGraphRecursionError } from './langgraph-errors.js'

/** What `normalizeError` needs to know about the attempt that failed. */
export interface FailedAttempt {
  maxTurns: number
  /** Model calls the attempt made. */
  turns: number
  recursionLimit: number
  stepsPerTurn: number
  /** When the attempt started (`performance.now()`). */
  startedAt: number
}

function nameOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined
}

/**
 * A LangChain error in the contract's terms (the run's own cancel and timeout are the base
 * class's; these are the ones that come from elsewhere):
 * - `GraphRecursionError` -> `MaxTurnsExceededError`;
 * - an abort that is not the run's (`AbortError`, a DOMException or an SDK's, `ModelAbortError`:
 *   a signal of the agent's own) -> `RunCanceledError`;
 * - a DOMException `TimeoutError` (an `AbortSignal.timeout` of the agent's own) -> `RunTimeoutError`,
 *   with the time the attempt ran.
 * Anything else is returned as it is, its message made readable (see `readableMessage`).
 */
export function normalizeError(error: unknown, attempt: FailedAttempt): unknown {
  if (isGraphRecursionError(error)) {
    return new MaxTurnsExceededError(attempt.maxTurns, {
      message:
        `The graph reached its recursion limit (${attempt.recursionLimit} super-steps, for maxTurns ${attempt.maxTurns} ` +
        `at ${attempt.stepsPerTurn} steps per turn) after ${attempt.turns} model call(s), without a final answer. ` +
        'Raise maxTurns, or raise stepsPerTurn if the graph runs more nodes per model call.',
      cause: error,
    })
  }
  const name = nameOf(error)
  if (name === 'AbortError' || name === 'ModelAbortError') {
    return new RunCanceledError(`The run was canceled: ${(error as Error).message || 'aborted'}`, {
      reason: error,
      cause: error,
    })
  }
  if (name === 'TimeoutError' && error instanceof DOMException) {
    return new RunTimeoutError(Math.round(performance.now() - attempt.startedAt), { cause: error })
  }
  // The class, status and body stay: only the message the activity shows changes.
  const message = error instanceof Error ? readableMessage(error) : undefined
  if (message !== undefined) (error as Error).message = message
  return error
}

/** LangChain's blurb after the message of errors it knows (`lc_error_code` stays on the error). */
const troubleshooting = /\s*Troubleshooting URL: \S+\s*$/

/** An error body as the SDKs keep it on `error.error`: OpenAI's `{ message, type }`, Anthropic's `{ error: { type, message } }`. */
interface ErrorBody {
  message?: unknown
  type?: unknown
  error?: { message?: unknown; type?: unknown }
}

/**
 * What the activity shows of a provider's error: the provider's message, as
 * `<status> <type>: <message>` (`529 overloaded_error: Overloaded`), where the SDK's message is
 * the raw JSON body (the Anthropic SDK's HTTP errors and its `event: error` inside a stream),
 * without the troubleshooting link LangChain appends. `undefined` when the message needs no change.
 */
export function readableMessage(error: Error): string | undefined {
  const message = error.message.replace(troubleshooting, '')
  const status = (error as { status?: unknown }).status
  const prefix = typeof status === 'number' ? `${status} ` : ''
  const body = (error as { error?: unknown }).error as ErrorBody | null | undefined
  const detail = body?.error ?? body
  if (message.startsWith(`${prefix}{`) && typeof detail?.message === 'string') {
    const type = typeof detail.type === 'string' ? `${detail.type}: ` : ''
    return `${prefix}${type}${detail.message}`
  }
  return message === error.message ? undefined : message
}

const retryableMark = Symbol.for('langchain.errors.retryable')

/** Error types of an `event: error` inside a 200 stream (Anthropic's: no HTTP status) worth another attempt. */
const retryableStreamErrors = new Set(['overloaded_error', 'api_error', 'rate_limit_error', 'timeout_error'])

/**
 * Whether a failed attempt is worth another: LangChain's own mark when the integration set one
 * (`@langchain/openai` marks 429, timeouts and connection errors retryable, 401/404/400 not),
 * an error event inside a stream that says the provider is overloaded or failed
 * (`overloaded_error`, `api_error`, `rate_limit_error`, `timeout_error`), else HTTP 408, 409,
 * 429, >= 500 and network errors (core's default). Never an abort.
 */
export function isRetryableLangChainError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const name = nameOf(error)
  if (name === 'AbortError' || name === 'ModelAbortError') return false
  const marked = Object.getOwnPropertyDescriptor(error, retryableMark)?.value
  if (typeof marked === 'boolean') return marked
  const { status, type } = error as { status?: unknown; type?: unknown }
  if (status === undefined && typeof type === 'string' && retryableStreamErrors.has(type)) return true
  return isTransientError(error)
}
