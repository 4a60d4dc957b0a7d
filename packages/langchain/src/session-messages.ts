import {
  AIMessage,
  type BaseMessage,
  type BaseMessageLike,
  coerceMessageLikeToMessage,
  HumanMessage,
  isBaseMessage,
  mapChatMessagesToStoredMessages,
  mapStoredMessagesToChatMessages,
  type StoredMessage,
} from '@langchain/core/messages'
import { InvalidOptionsError } from '@runner/core'
import type { SessionCodec } from '@runner/core/adapter'
import type { JsonValue } from '@runner/core/store'
import type { LangChainAgent, LangChainInput, LangChainOutput } from './agent.js'
import { isChatModel } from './input.js'

function refuse(field: string, message: string): never {
  throw new InvalidOptionsError([{ field, message }], { subject: 'run input' })
}

/** The input's own messages: a string as a human message, message-likes as LangChain messages. */
function messagesOf(input: string | readonly BaseMessageLike[]): BaseMessage[] {
  return typeof input === 'string' ? [new HumanMessage(input)] : input.map(coerceMessageLikeToMessage)
}

/** LangChain messages as JSON (`StoredMessage`s: `{ type, data }`, LangChain's own storage shape). */
function stored(messages: readonly BaseMessage[]): JsonValue[] {
  return JSON.parse(JSON.stringify(mapChatMessagesToStoredMessages([...messages]))) as JsonValue[]
}

/**
 * Sessions of `LangChainRunner` (`RunOptions.session`): the messages are LangChain's, stored with
 * its own `mapChatMessagesToStoredMessages` and read back with `mapStoredMessagesToChatMessages`.
 * They go before the input of a run whose input is messages:
 * - a `createAgent` agent or a graph on a `messages` state (string or `{ messages, ... }` input):
 *   `{ ...input, messages: [...session, ...input's] }`; its conversation is the output's `messages`;
 * - a chat model, or a chain whose prompt has a `messages` placeholder (string or message list):
 *   the session's messages then the input's; its conversation adds the answer (an `AIMessage`, or
 *   the text a chain ends with).
 * Another input (a prompt's variables, a `Command`) is refused with `InvalidOptionsError` (`input`).
 */
export const langChainSessionMessages: SessionCodec<LangChainInput, LangChainOutput> = {
  continueFrom(history, input, agent) {
    const earlier = mapStoredMessagesToChatMessages(history as unknown as StoredMessage[])
    if (typeof input === 'string' && isChatModel(agent)) return [...earlier, ...messagesOf(input)]
    if (typeof input === 'string') return { messages: [...earlier, ...messagesOf(input)] }
    if (Array.isArray(input)) return [...earlier, ...messagesOf(input as BaseMessageLike[])]
    const own = (input as { messages?: unknown } | null)?.messages
    if (Array.isArray(own) && !isChatModel(agent as LangChainAgent)) {
      return { ...input, messages: [...earlier, ...messagesOf(own as BaseMessageLike[])] }
    }
    return refuse(
      'input',
      'a run with a session takes a string, a list of messages, or { messages } (for a createAgent agent or a graph on a messages state)',
    )
  },
  conversation(input, output) {
    const given = Array.isArray(input) ? input : ((input as { messages?: unknown[] }).messages ?? [])
    const state = (output as { messages?: unknown } | null)?.messages
    if (Array.isArray(state) && state.every(isBaseMessage)) return stored(state)
    const messages = messagesOf(given as BaseMessageLike[])
    if (isBaseMessage(output)) return stored([...messages, output])
    if (typeof output === 'string') return stored([...messages, new AIMessage(output)])
    return refuse(
      'session',
      'the agent’s output holds no messages (a { messages } state, a message or a text), so the session cannot take this run',
    )
  },
}
