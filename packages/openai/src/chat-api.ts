import type { ExecuteResult, RunContext, ToolCallInfo } from '@runner/core'
import {
  type LoopTurn,
  type ModelAnswer,
  type ToolCallOutcome,
  type ToolLoopDriver,
  toolOutputText,
} from '@runner/core/adapter'
import type { JsonValue } from '@runner/core/store'
import type OpenAI from 'openai'
import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessage,
  ChatCompletionMessageFunctionToolCall,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions'
import type { ResolvedAgent } from './agent.js'
import { readChatStream } from './chat-stream.js'
import { type OpenAIChatOutput, restoredMessages } from './conversation.js'
import { parseToolArguments, toChatTools } from './convert-tools.js'
import { modelCallError, unusableAnswer } from './map-error.js'
import { chatUsage } from './map-usage.js'
import { chatSettingsBody } from './model-settings.js'

/** The body of one Chat Completions call, before `stream` is decided. */
export type ChatRequest = Omit<ChatCompletionCreateParamsNonStreaming, 'stream'>

/**
 * A conversation on Chat Completions (`client.chat.completions.create`), as a driver of core's
 * tool loop: the instructions as a `system` message first, assistant messages with `tool_calls`,
 * results as `tool` messages. Its checkpoint (`snapshot`) is the messages as sent (without the
 * system message, which the agent gives again on a resume).
 */
export class ChatConversation implements ToolLoopDriver<ChatCompletion, ChatRequest, OpenAIChatOutput> {
  #messages: ChatCompletionMessageParam[]
  readonly #client: OpenAI
  readonly #agent: ResolvedAgent
  readonly #instructions: string
  readonly #provider: string

  /**
   * `messages`: the conversation to start from (the run's input); empty when the run resumes from
   * a checkpoint. `provider`: who serves the model (`openai`, `azure.ai.openai`).
   */
  constructor(
    client: OpenAI,
    agent: ResolvedAgent,
    instructions: string,
    messages: ChatCompletionMessageParam[],
    provider: string,
  ) {
    this.#client = client
    this.#agent = agent
    this.#instructions = instructions
    this.#messages = messages
    this.#provider = provider
  }

  modelOf(request: ChatRequest): { model: string; provider: string } {
    return { model: request.model, provider: this.#provider }
  }

  addUserMessage(text: string): void {
    this.#messages.push({ role: 'user', content: text })
  }

  request({ tools }: LoopTurn): ChatRequest {
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

  /** One request, on the runner's client whose own retries are off: the loop repeats a failed request, on the activity. */
  async send(request: ChatRequest, context: RunContext): Promise<ModelAnswer<ChatCompletion>> {
    const { signal } = context
    const options = { signal }
    let completion: ChatCompletion
    try {
      if (context.streaming) {
        const body: ChatCompletionCreateParamsStreaming = {
          ...request,
          stream: true,
          stream_options: { include_usage: true },
        }
        completion = await readChatStream(await this.#client.chat.completions.create(body, options), context)
      } else {
        completion = await this.#client.chat.completions.create({ ...request, stream: false }, options)
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
            // The calls as the model wrote them (arguments unparsed), with the ids the results answer to.
            tool_calls: functionCalls(message).map((call, position) => ({
              id: answer.toolCalls[position]?.toolCallId ?? call.id,
              type: 'function' as const,
              function: { name: call.function?.name ?? '', arguments: call.function?.arguments ?? '' },
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

  result(answer: ModelAnswer<ChatCompletion>): ExecuteResult<OpenAIChatOutput> {
    return {
      output: { api: 'chat', completion: answer.native, messages: [...this.#messages] },
      text: answer.text,
    }
  }

  /** The conversation for a checkpoint: `{ api: 'chat', messages }`, the messages as the API takes them. */
  snapshot(): JsonValue {
    return { api: 'chat', messages: this.#messages as unknown as JsonValue[] }
  }

  /** Continues the conversation of a checkpoint written by `snapshot`. */
  restore(state: JsonValue): void {
    this.#messages = restoredMessages<ChatCompletionMessageParam>(state, 'chat')
  }
}

/** The function tool calls of a message: custom (free-form) ones are not the runner's, it only offers functions. */
function functionCalls(message: ChatCompletionMessage | undefined): ChatCompletionMessageFunctionToolCall[] {
  return (message?.tool_calls ?? []).filter(
    (call): call is ChatCompletionMessageFunctionToolCall => call.type !== 'custom',
  )
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
  const toolCalls: ToolCallInfo[] = functionCalls(message).map((call, position) => ({
    // Some compatible servers leave ids out; the conversation needs one per call.
    toolCallId: call.id || `call_${turn}_${position}`,
    toolName: call.function?.name ?? '',
    input: parseToolArguments(call.function?.arguments),
  }))
  const usage = chatUsage(completion.usage)
  const finishReasons = completion.choices.flatMap((each) =>
    each?.finish_reason ? [each.finish_reason] : [],
  )
  return {
    native: completion,
    text: message.content || message.refusal || '',
    toolCalls,
    ...(usage ? { usage } : {}),
    ...(completion.model ? { model: completion.model } : {}),
    ...(finishReasons.length > 0 ? { finishReasons } : {}),
  }
}
