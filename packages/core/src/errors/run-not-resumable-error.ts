import { hasMarker, RunnerError, type RunnerErrorOptions } from './runner-error.js'

const marker = Symbol.for('runner.error.RunNotResumableError')

/** Why a run cannot be resumed. */
export type NotResumableReason = 'not-found' | 'finished' | 'undecided' | 'mismatch' | 'expired'

/** A resume that cannot go ahead; nothing changed (except `expired`, which ends the run `error`). */
export class RunNotResumableError extends RunnerError {
  readonly [marker] = true
  readonly agentId: string
  readonly reason: NotResumableReason

  constructor(agentId: string, reason: NotResumableReason, detail: string, options: RunnerErrorOptions = {}) {
    super(`Cannot resume run ${agentId}: ${detail}`, options)
    this.name = 'RunNotResumableError'
    this.agentId = agentId
    this.reason = reason
  }

  static override isInstance(value: unknown): value is RunNotResumableError {
    return hasMarker(value, marker)
  }
}
