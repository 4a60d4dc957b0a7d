import { hasMarker, RunnerError, type RunnerErrorOptions } from './runner-error.js'

const marker = Symbol.for('runner.error.RunCanceledError')

/** The run was canceled: by the caller's `signal`, `RunStream.abort()`, a consumer that stopped iterating, or a pool cancel. */
export class RunCanceledError extends RunnerError {
  readonly [marker] = true
  /** The reason given to `abort(reason)`, if any. */
  readonly reason: unknown

  constructor(message = 'The run was canceled.', options: RunnerErrorOptions & { reason?: unknown } = {}) {
    super(message, options)
    this.name = 'RunCanceledError'
    this.reason = options.reason
  }

  static override isInstance(value: unknown): value is RunCanceledError {
    return hasMarker(value, marker)
  }
}
