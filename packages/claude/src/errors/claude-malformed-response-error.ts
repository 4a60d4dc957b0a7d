import { RunnerError } from '@runner/core'
import { hasMarker } from '@runner/core/adapter'

const marker = Symbol.for('runner.error.ClaudeMalformedResponseError')

/**
 * The Anthropic API (or a proxy in front of it) answered something that is not a valid Messages
 * response: JSON or SSE that does not parse, or events out of order. Not retryable: the same
 * server is likely to answer the same way. `cause` is the SDK's error.
 */
export class ClaudeMalformedResponseError extends RunnerError {
  readonly [marker] = true

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options)
    this.name = 'ClaudeMalformedResponseError'
  }

  /** True for any `ClaudeMalformedResponseError`, whichever copy of the package created it. */
  static override isInstance(value: unknown): value is ClaudeMalformedResponseError {
    return hasMarker(value, marker)
  }
}
