import { hasMarker, RunnerError, type RunnerErrorOptions } from './runner-error.js'

const marker = Symbol.for('runner.error.CapabilityUnsupportedError')

/** The runner (or store, or engine) does not support the feature that was asked for. */
export class CapabilityUnsupportedError extends RunnerError {
  readonly [marker] = true
  /** The feature that is missing, such as `streaming` or `maxTurnsRecovery`. */
  readonly capability: string

  constructor(capability: string, detail?: string, options: RunnerErrorOptions = {}) {
    super(`${capability} is not supported${detail ? `: ${detail}` : '.'}`, options)
    this.name = 'CapabilityUnsupportedError'
    this.capability = capability
  }

  static override isInstance(value: unknown): value is CapabilityUnsupportedError {
    return hasMarker(value, marker)
  }
}
