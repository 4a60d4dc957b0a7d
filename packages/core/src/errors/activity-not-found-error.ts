import { hasMarker, RunnerError, type RunnerErrorOptions } from './runner-error.js'

const marker = Symbol.for('runner.error.ActivityNotFoundError')

/** No activity with this agentId exists (or it exists but its metadata does not match the caller's filter). */
export class ActivityNotFoundError extends RunnerError {
  readonly [marker] = true
  readonly agentId: string

  constructor(agentId: string, options: RunnerErrorOptions = {}) {
    super(`No activity with agentId "${agentId}". Check the id, or create the activity first.`, options)
    this.name = 'ActivityNotFoundError'
    this.agentId = agentId
  }

  static override isInstance(value: unknown): value is ActivityNotFoundError {
    return hasMarker(value, marker)
  }
}
