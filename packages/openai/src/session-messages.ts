import type { SessionCodec } from '@runner/core/adapter'
import type { JsonValue } from '@runner/core/store'
import type { OpenAIInput, OpenAIOutput } from './conversation.js'

/**
 * Sessions of `OpenAIRunner` (`RunOptions.session`): the messages are those of the agent's API,
 * as a durable checkpoint keeps them (Chat Completions messages, or Responses input items), which
 * are JSON already. The session's messages go before the input; a complete run's conversation is
 * `output.messages` (the input first, the final answer last, no system message).
 */
export const openAISessionMessages: SessionCodec<OpenAIInput, OpenAIOutput> = {
  continueFrom(history, input) {
    const own = typeof input === 'string' ? [{ role: 'user' as const, content: input }] : input
    return [...history, ...own] as unknown as OpenAIInput
  },
  conversation(_input, output) {
    return output.messages as unknown as JsonValue[]
  },
}
