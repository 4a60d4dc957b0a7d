import type { AnyToolDefinition, RunContext } from '@runner/core'
import { type ToolCallOutcome, toolOutputText } from '@runner/core/adapter'
import type OpenAI from 'openai'
import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions'
import type { ResolvedAgent } from './agent.js'
import { readChatStream } from './chat-stream.js'
import { inputMessages, type OpenAIChatOutput, type OpenAIInput } from './conversation.js'
import { toChatTools } from './convert-tools.js'
import { modelCallError, unusableAnswer } from './map-error.js'
import { chatUsage } from './map-usage.js'
import { chatSettingsBody } from './model-settings.js'
import type { ApiConversation, ModelAnswer, ModelToolCall } from './tool-loop.js'

/** The body of one Chat Completions call, before `stream` is decided. */
export type ChatRequest = Omit<ChatCompletionCreateParamsNonStreaming, 'stream'>

/**
 * A conversation on Chat Completions (`client.chat.completions.create`): the instructions as a
 * `system` message first, assistant messages with `tool_calls`, results as `tool` messages.
 */
export class ChatConversation implements ApiConversation<ChatCompletion, ChatRequest, OpenAIChatOutput> {
  readonly #messages: ChatCompletionMessageParam[]
  readonly #client: OpenAI
  readonly #agent: ResolvedAgent
  readonly #instructions: string

  constructor(client: OpenAI, agent: ResolvedAgent, instructions: string, input: OpenAIInput) {
    this.#client = client
    this.#agent = agent
    this.#instructions = instructions
    this.#messages = inputMessages<ChatCompletionMessageParam>(input, 'chat')
  }

  addUserMessage(text: string): void {
    this.#messages.push({ role: 'user', content: text })
  }

  request(tools: ReadonlyArray<AnyToolDefinition>): ChatRequest {
    const offersTools = tools.length > 0
    return {
      ...(chatSettingsBody(this.#agent.modelSettings, offersTools) as Partial<ChatRequest>),
      model: this.#agent.model,
      messages: [
        ...(this.#instructions ? [{ role: 'system' as const, content: this.#instructions }] : []),
        ...this.#messages,
      ],
      // An empty tool list is an error on OpenAI: no tools means no `tools` field.
      ...(offersTools ? { tools: toChatTools(tools) } : {}),
    }
  }

  async call(request: ChatRequest, context: RunContext): Promise<ModelAnswer<ChatCompletion>> {
    const { signal } = context
    let completion: ChatCompletion
    try {
      if (context.streaming) {
        const body: ChatCompletionCreateParamsStreaming = {
          ...request,
          stream: true,
          stream_options: { include_usage: true },
        }
        completion = await readChatStream(
          await this.#client.chat.completions.create(body, { signal }),
          context,
        )
      } else {
        completion = await this.#client.chat.completions.create({ ...request, stream: false }, { signal })
      }
    } catch (error) {
      throw modelCallError(error, signal)
    }
    return answerOf(completion, context.turn)
  }

  addAnswer(answer: ModelAnswer<ChatCompletion>, withToolCalls: boolean): void {
    const message = answer.native.choices[0]?.message
    this.#messages.push({
      role: 'assistant',
      // Content may be null only next to tool calls or a refusal.
      content: message?.content ?? (withToolCalls || message?.refusal ? null : ''),
      ...(message?.refusal ? { refusal: message.refusal } : {}),
      ...(withToolCalls
        ? {
            tool_calls: answer.toolCalls.map((call) => ({
              id: call.id,
              type: 'function' as const,
              function: { name: call.name, arguments: call.arguments },
            })),
          }
        : {}),
    })
  }

  addToolResults(outcomes: ReadonlyArray<ToolCallOutcome>): void {
    for (const outcome of outcomes) {
      this.#messages.push({
        role: 'tool',
        tool_call_id: outcome.toolCallId,
        content: toolOutputText(outcome.output),
      })
    }
  }

  output(answer: ModelAnswer<ChatCompletion>): OpenAIChatOutput {
    return { api: 'chat', completion: answer.native, messages: [...this.#messages] }
  }
}

/** The text, tool calls and usage of a completion. */
function answerOf(completion: ChatCompletion, turn: number): ModelAnswer<ChatCompletion> {
  const choice = completion?.choices?.[0]
  if (!choice?.message) {
    throw unusableAnswer(
      'The server answered without a choice (choices is empty). Check the model name and that the server speaks Chat Completions.',
    )
  }
  const message = choice.message
  const toolCalls: ModelToolCall[] = []
  for (const [position, call] of (message.tool_calls ?? []).entries()) {
    // Custom (free-form) tool calls are not the runner's: it only offers function tools.
    if (call.type === 'custom') continue
    toolCalls.push({
      // Some compatible servers leave ids out; the conversation needs one per call.
      id: call.id || `call_${turn}_${position}`,
      name: call.function?.name ?? '',
      arguments: call.function?.arguments ?? '',
    })
  }
  return {
    native: completion,
    text: message.content || message.refusal || '',
    toolCalls,
    usage: chatUsage(completion.usage),
  }
}
