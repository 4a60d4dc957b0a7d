import { type BaseMessage, HumanMessage } from '@langchain/core/messages'
import { CapabilityUnsupportedError } from '@runner/core'
import { isCreateAgent, type LangChainAgent } from './agent.js'
import { messageTypeOf } from './message-content.js'
import type { WrapUpModel } from './settings.js'

/**
 * The chat model that writes the wrap-up answer: a `createAgent` agent's own model (a model
 * name such as `openai:gpt-5.4-mini` is resolved with `initChatModel`, as `createAgent` does),
 * else the runner's `wrapUpModel`. Throws `CapabilityUnsupportedError` when there is none.
 */
export async function wrapUpModelOf(
  agent: LangChainAgent,
  configured: WrapUpModel | undefined,
  runnerName: string,
): Promise<WrapUpModel> {
  if (isCreateAgent(agent)) {
    const { model } = agent.options
    if (typeof model === 'string') {
      const { initChatModel } = await import('langchain/chat_models/universal')
      return (await initChatModel(
        model,
        model.startsWith('openai:') ? { useResponsesApi: true } : undefined,
      )) as unknown as WrapUpModel
    }
    if (typeof (model as WrapUpModel | undefined)?.invoke === 'function') return model as WrapUpModel
  }
  if (configured) return configured
  throw new CapabilityUnsupportedError(
    'maxTurnsRecovery',
    `${runnerName} reached the turn limit but cannot ask this agent to wrap up: it is not a createAgent agent, so its chat model is unknown. Pass wrapUpModel (a chat model without tools) in the runner's settings, or leave maxTurnsRecovery off.`,
  )
}

/** The wrap-up request: the conversation the model was about to get, then `prompts.wrapUp`. */
export function wrapUpMessages(prompt: readonly BaseMessage[], wrapUp: string): BaseMessage[] {
  return [...prompt, new HumanMessage(wrapUp)]
}

/**
 * The output of a run that ended with a wrap-up: `{ messages }`, the conversation the model last
 * saw (without the system prompt a `createAgent` agent adds itself), the wrap-up prompt and the
 * answer. LangGraph returns no state for a graph the runner stopped, so this is not the graph's.
 */
export function wrapUpOutput(
  agent: LangChainAgent,
  request: readonly BaseMessage[],
  answer: unknown,
): { messages: unknown[] } {
  const addsSystemPrompt = isCreateAgent(agent) && agent.options.systemPrompt !== undefined
  const conversation = addsSystemPrompt && messageTypeOf(request[0]) === 'system' ? request.slice(1) : request
  return { messages: [...conversation, answer] }
}
