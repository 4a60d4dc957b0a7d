import { isTransientError } from '@runner/core/adapter'
import { AISDKError, APICallError, NoOutputGeneratedError, RetryError, StreamProviderError } from 'ai'

/**
 * Whether a failed attempt is worth another (when the run's `retry.attempts` > 1), for the AI
 * SDK's errors; `undefined` for an error the AI SDK did not make (the base class classifies those):
 * - `APICallError`, `StreamProviderError`: their own `isRetryable` (HTTP 408, 409, 429, >= 500,
 *   a connection that failed or was cut in the middle);
 * - `RetryError` (the SDK's own retries, `maxRetries`, ran out): as its last error; never when it
 *   gave up because of an abort;
 * - `NoOutputGeneratedError` (a stream that ended early or empty): yes;
 * - `TypeError: terminated` (a raw connection cut): yes;
 * - any other `AISDKError` (an invalid prompt, a tool choice the model broke, an answer that
 *   does not parse...): no.
 */
export function isRetryableAISDKError(error: unknown): boolean | undefined {
  if (RetryError.isInstance(error)) {
    if (error.reason === 'abort') return false
    return isRetryableAISDKError(error.lastError) ?? isTransientError(error.lastError)
  }
  if (APICallError.isInstance(error)) return error.isRetryable
  if (StreamProviderError.isInstance(error)) return error.isRetryable
  if (NoOutputGeneratedError.isInstance(error)) return true
  if (AISDKError.isInstance(error)) return false
  if (error instanceof TypeError && error.message === 'terminated') return true
  return undefined
}
