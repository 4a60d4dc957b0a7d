import { hasMarker, RunnerError, type RunnerErrorOptions } from './runner-error.js'

const marker = Symbol.for('runner.error.RunTimeoutError')

/** The run did not finish within `timeoutMs`; its work was aborted. */
export class RunTimeoutError extends RunnerError {
  readonly [marker] = true
  /** The limit that was exceeded, in milliseconds. */
  readonly timeoutMs: number

  constructor(timeoutMs: number, options: RunnerErrorOptions = {}) {
    super(
      `The run did not finish within timeoutMs (${timeoutMs} ms) and was stopped. Raise timeoutMs or make the agent do less per run.`,
      options,
    )
    this.name = 'RunTimeoutError'
    this.timeoutMs = timeoutMs
  }

  static override isInstance(value: unknown): value is RunTimeoutError {
    return hasMarker(value, marker)
  }
}
