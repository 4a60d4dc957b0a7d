import type { SessionCodec } from '@runner/core/adapter'
import type { JsonValue } from '@runner/core/store'
import type { ClaudeInput, ClaudeOutput } from './types.js'

/**
 * Sessions of `ClaudeRunner` (`RunOptions.session`): the messages are the Messages API's
 * `MessageParam`s, as a durable checkpoint keeps them (JSON already). The session's messages go
 * before the input; a complete run's conversation is `output.messages` (the input first, the final
 * answer last; the system prompt is the agent's and is not stored).
 */
export const claudeSessionMessages: SessionCodec<ClaudeInput, ClaudeOutput> = {
  continueFrom(history, input) {
    const own = typeof input === 'string' ? [{ role: 'user' as const, content: input }] : input
    return [...history, ...own] as unknown as ClaudeInput
  },
  conversation(_input, output) {
    return output.messages as unknown as JsonValue[]
  },
}
