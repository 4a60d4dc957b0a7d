import { hasMarker, RunnerError, type RunnerErrorOptions } from './runner-error.js'

const marker = Symbol.for('runner.error.MaxTurnsExceededError')

/** The agent used all of `maxTurns` model calls without a final answer (and `maxTurnsRecovery` was off or did not help). */
export class MaxTurnsExceededError extends RunnerError {
  readonly [marker] = true
  /** The turn limit that was reached. */
  readonly maxTurns: number

  constructor(maxTurns: number, options: RunnerErrorOptions & { message?: string } = {}) {
    super(
      options.message ??
        `The agent reached maxTurns (${maxTurns}) without a final answer. Raise maxTurns, or set maxTurnsRecovery: true to ask the model to wrap up.`,
      options,
    )
    this.name = 'MaxTurnsExceededError'
    this.maxTurns = maxTurns
  }

  static override isInstance(value: unknown): value is MaxTurnsExceededError {
    return hasMarker(value, marker)
  }
}
