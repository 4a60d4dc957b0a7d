import { hasMarker, RunnerError, type RunnerErrorOptions } from './runner-error.js'

const marker = Symbol.for('runner.error.ResultUnavailableError')

/** A task completed but its result is kept nowhere any more (engine and store). */
export class ResultUnavailableError extends RunnerError {
  readonly [marker] = true
  readonly agentId: string

  constructor(agentId: string, detail: string, options: RunnerErrorOptions = {}) {
    super(`The result of ${agentId} is not available: ${detail}`, options)
    this.name = 'ResultUnavailableError'
    this.agentId = agentId
  }

  static override isInstance(value: unknown): value is ResultUnavailableError {
    return hasMarker(value, marker)
  }
}
