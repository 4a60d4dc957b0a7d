import type { SessionCodec } from '@runner/core/adapter'
import type { JsonValue } from '@runner/core/store'
import type { ModelMessage } from 'ai'
import { jsonMessages } from './durable-conversation.js'
import type { AISDKInput } from './input.js'
import type { AISDKOutput } from './output.js'

/** The input's own messages (a string prompt as one user message). */
function messagesOf(prompt: string | ModelMessage[]): ModelMessage[] {
  return typeof prompt === 'string' ? [{ role: 'user', content: prompt }] : prompt
}

/**
 * Sessions of `AISDKRunner` (`RunOptions.session`): the messages are the AI SDK's `ModelMessage`s,
 * made JSON as a durable checkpoint makes them (`jsonMessages`: binary file data as base64, which
 * the AI SDK reads back). The session's messages go before the input's (a `{ prompt, options }`
 * input becomes `{ messages, options }`); a complete run's conversation is its messages, then
 * `output.responseMessages`.
 */
export const aiSDKSessionMessages: SessionCodec<AISDKInput, AISDKOutput> = {
  continueFrom(history, input) {
    const earlier = history as unknown as ModelMessage[]
    if (typeof input === 'string' || Array.isArray(input)) return [...earlier, ...messagesOf(input)]
    const own = input.messages ?? messagesOf(input.prompt as string | ModelMessage[])
    return {
      messages: [...earlier, ...own],
      ...(input.options === undefined ? {} : { options: input.options }),
    } satisfies AISDKInput
  },
  conversation(input, output) {
    const given = Array.isArray(input) ? input : (input as { messages: ModelMessage[] }).messages
    return jsonMessages([...given, ...output.responseMessages]) as unknown as JsonValue[]
  },
}
