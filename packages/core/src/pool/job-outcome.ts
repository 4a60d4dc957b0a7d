import { RunCanceledError } from '../errors/run-canceled-error.js'
import { RunTimeoutError } from '../errors/run-timeout-error.js'
import { redactSecrets } from '../util/secrets.js'
import type { CompleteJobOutcome, JobOutcome, JobOutcomeBase, WaitingJobOutcome } from './types.js'

/** An error as stored out of process. */
export interface SerializedJobError {
  /** `error.name`: `RunTimeoutError` and `RunCanceledError` are rebuilt as such. */
  name: string
  /** `error.message`. */
  message: string
  /** `error.stack`, when there was one. */
  stack?: string
  /** The limit of a `RunTimeoutError`. */
  timeoutMs?: number
}

/** A `JobOutcome` as plain JSON, for an engine that keeps outcomes out of process (Redis...). */
export type SerializedJobOutcome =
  | CompleteJobOutcome
  | WaitingJobOutcome
  | (JobOutcomeBase & {
      /** How the job ended. */
      status: 'error' | 'canceled'
      /** The error, serialized. */
      error: SerializedJobError
    })

/** Turns an outcome into plain JSON; secrets in the error's message and stack are redacted (`redactSecrets`). */
export function serializeJobOutcome(outcome: JobOutcome): SerializedJobOutcome {
  if (outcome.status === 'complete' || outcome.status === 'waiting') return outcome
  const { error } = outcome
  const serialized: SerializedJobError = { name: error.name, message: redactSecrets(error.message) }
  if (error.stack !== undefined) serialized.stack = redactSecrets(error.stack)
  if (RunTimeoutError.isInstance(error)) serialized.timeoutMs = error.timeoutMs
  return { ...outcome, error: serialized }
}

/**
 * Rebuilds an outcome from `serializeJobOutcome`. `RunTimeoutError` and `RunCanceledError` come back
 * as those classes (so `pool.result` keeps its contract across processes); any other error comes
 * back as an `Error` with the original name, message and stack.
 */
export function deserializeJobOutcome(serialized: SerializedJobOutcome): JobOutcome {
  if (serialized.status === 'complete' || serialized.status === 'waiting') return serialized
  return { ...serialized, error: rebuildError(serialized.error) }
}

function rebuildError(serialized: SerializedJobError): Error {
  let error: Error
  if (serialized.name === 'RunTimeoutError' && typeof serialized.timeoutMs === 'number') {
    error = new RunTimeoutError(serialized.timeoutMs)
  } else if (serialized.name === 'RunCanceledError') {
    error = new RunCanceledError(serialized.message)
  } else {
    error = new Error(serialized.message)
    error.name = serialized.name
  }
  if (serialized.stack !== undefined) error.stack = serialized.stack
  return error
}
