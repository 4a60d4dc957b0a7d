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
 * Anything else is returned as it is.
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
  return error
}

const retryableMark = Symbol.for('langchain.errors.retryable')

/**
 * Whether a failed attempt is worth another: LangChain's own mark when the integration set one
 * (`@langchain/openai` marks 429, timeouts and connection errors retryable, 401/404/400 not),
 * else HTTP 408, 409, 429, >= 500 and network errors (core's default). Never an abort.
 */
export function isRetryableLangChainError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const name = nameOf(error)
  if (name === 'AbortError' || name === 'ModelAbortError') return false
  const marked = Object.getOwnPropertyDescriptor(error, retryableMark)?.value
  if (typeof marked === 'boolean') return marked
  return isTransientError(error)
}
