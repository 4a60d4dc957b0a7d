import type { Message, StopReason } from '@anthropic-ai/sdk/resources/messages'
import { RunnerError } from '@runner/core'
import { hasMarker } from '@runner/core/adapter'

const marker = Symbol.for('runner.error.ClaudeStopReasonError')

/**
 * Claude stopped for a reason that leaves no complete answer: `max_tokens` (raise the agent's
 * `maxTokens`), `refusal`, `model_context_window_exceeded`, or a stop reason this version does
 * not know. The run fails instead of returning half an answer; `response` is the message as it
 * came (its partial text included). Not retryable: the same request stops the same way.
 */
export class ClaudeStopReasonError extends RunnerError {
  readonly [marker] = true
  /** The stop reason of the message (`null` when the API sent none). */
  readonly stopReason: StopReason | null
  /** The message Claude sent, as it came. */
  readonly response: Message

  constructor(message: string, options: { stopReason: StopReason | null; response: Message }) {
    super(message)
    this.name = 'ClaudeStopReasonError'
    this.stopReason = options.stopReason
    this.response = options.response
  }

  /** True for any `ClaudeStopReasonError`, whichever copy of the package created it. */
  static override isInstance(value: unknown): value is ClaudeStopReasonError {
    return hasMarker(value, marker)
  }
}
