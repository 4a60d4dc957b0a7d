import { APIConnectionError } from '@anthropic-ai/sdk'
import { hasMarker } from '@runner/core/adapter'

const marker = Symbol.for('runner.error.ClaudeConnectionError')

/**
 * The connection to the Anthropic API broke before Claude's answer was complete: a stream cut in
 * the middle (`TypeError: terminated` from the SDK), or a body that ended early. Nothing of the
 * turn is used. It is an `APIConnectionError` of the SDK, so it is retryable: the run repeats the
 * request in place (`retry.attempts`, default 3), unless text of the answer already reached the reader.
 */
export class ClaudeConnectionError extends APIConnectionError {
  readonly [marker] = true
  /** Where the answer was cut: `inside the tool_use block of "search"`, `in the middle of the text`... */
  readonly cutAt: string

  constructor(message: string, options: { cutAt: string; cause?: unknown }) {
    super({ message, ...(options.cause instanceof Error ? { cause: options.cause } : {}) })
    this.name = 'ClaudeConnectionError'
    this.cutAt = options.cutAt
  }

  /** True for any `ClaudeConnectionError`, whichever copy of the package created it. */
  static isInstance(value: unknown): value is ClaudeConnectionError {
    return hasMarker(value, marker)
  }
}
