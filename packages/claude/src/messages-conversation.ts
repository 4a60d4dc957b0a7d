import type { Anthropic } from '@anthropic-ai/sdk'
import type {
  ContentBlockParam,
  Message,
  MessageCreateParamsBase,
  MessageParam,
  ToolResultBlockParam,
} from '@anthropic-ai/sdk/resources/messages'
import {
  type ExecuteResult,
  InvalidOptionsError,
  type RunContext,
  type RunnerPrompts,
  type ToolCallInfo,
} from '@runner/core'
import {
  type LoopTurn,
  type ModelAnswer,
  type NextStep,
  type ToolCallOutcome,
  type ToolLoopDriver,
  toolOutputText,
} from '@runner/core/adapter'
import type { JsonValue } from '@runner/core/store'
import { buildRequest } from './build-request.js'
import { createMessage } from './create-message.js'
import { mapUsage } from './map-usage.js'
import type { ResolvedAgent } from './resolve-agent.js'
import { turnOutcome } from './stop-reason.js'
import { streamMessage } from './stream-message.js'
import type { ClaudeOutput } from './types.js'

/** What one attempt's conversation starts from. */
export interface ConversationParts {
  client: Anthropic
  agent: ResolvedAgent
  /**
   * The conversation to start from (a copy of the input); the loop appends to it. Empty when the
   * run resumes: the loop restores the checkpoint's conversation.
   */
  messages: MessageParam[]
  prompts: RunnerPrompts
  /** Append `prompts.reportStatus` to the system prompt. */
  reportStatusPrompt: boolean
}

function textOf(message: Message): string {
  return message.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('')
}

function toolCallsOf(message: Message, inputs: ReadonlyMap<string, unknown> | undefined): ToolCallInfo[] {
  return message.content.flatMap((block) =>
    block.type === 'tool_use'
      ? [
          {
            toolCallId: block.id,
            toolName: block.name,
            input: inputs?.has(block.id) ? inputs.get(block.id) : block.input,
          },
        ]
      : [],
  )
}

/** A tool's outcome as a `tool_result` block; failures (thrown, denied, invalid input) carry `is_error`. */
function toolResult(outcome: ToolCallOutcome): ToolResultBlockParam {
  const text = toolOutputText(outcome.output)
  return {
    type: 'tool_result',
    tool_use_id: outcome.toolCallId,
    ...(text === '' ? {} : { content: text }),
    ...(outcome.isError ? { is_error: true } : {}),
  }
}

/**
 * The Messages API's side of core's tool loop (`runToolLoop`): the conversation as message params,
 * one request per turn (`buildRequest`: no tools and tool blocks as text on wrap-up turns), the
 * call (`messages.create`, or the message stream when somebody reads the deltas or `maxTokens` is
 * too large for a non-streamed call), and the stop reason (`turnOutcome`). The loop does the rest:
 * turns, model hooks, usage, the tool calls, and the in-place retry of a failed request. Its
 * checkpoint (`snapshot`) is the message params as sent and the answer's text so far.
 */
export class MessagesConversation implements ToolLoopDriver<Message, MessageCreateParamsBase, ClaudeOutput> {
  readonly #parts: ConversationParts
  #messages: MessageParam[]
  /** The answer's text: every message since the last tool results (pause_turn continues one answer). */
  #answerText = ''

  /** Who serves the model (the OpenTelemetry GenAI provider name). */
  readonly #provider: string

  constructor(parts: ConversationParts) {
    this.#parts = parts
    this.#messages = parts.messages
    this.#provider = providerOf(parts.client)
  }

  modelOf(request: MessageCreateParamsBase): { model: string; provider: string } {
    return { model: request.model, provider: this.#provider }
  }

  addUserMessage(text: string): void {
    this.#messages.push({ role: 'user', content: text })
    this.#answerText = ''
  }

  request(turn: LoopTurn): MessageCreateParamsBase {
    const { agent, prompts, reportStatusPrompt } = this.#parts
    return buildRequest({ agent, messages: this.#messages, wrapUp: turn.wrapUp, prompts, reportStatusPrompt })
  }

  async send(request: MessageCreateParamsBase, context: RunContext): Promise<ModelAnswer<Message>> {
    const { client } = this.#parts
    let streamed: { message: Message; toolInputs?: ReadonlyMap<string, unknown> } | undefined
    if (!context.streaming) {
      const message = await createMessage(client, request, context)
      if (message) streamed = { message }
    }
    // Somebody reads the deltas, or the SDK refused a non-streamed call this long.
    streamed ??= await streamMessage(client, request, context, { emitEvents: context.streaming })
    const { message, toolInputs } = streamed
    return {
      native: message,
      text: textOf(message),
      toolCalls: toolCallsOf(message, toolInputs),
      usage: mapUsage(message.usage),
      ...(message.model ? { model: message.model } : {}),
      ...(message.stop_reason ? { finishReasons: [message.stop_reason] } : {}),
    }
  }

  next(answer: ModelAnswer<Message>, turn: LoopTurn): NextStep {
    return turnOutcome(answer.native, {
      maxTokens: this.#parts.agent.maxTokens,
      toolCalls: answer.toolCalls,
      wrapUp: turn.wrapUp,
    })
  }

  /**
   * The message as the next request's assistant turn. Empty text blocks, which the API refuses,
   * are left out, and so are tool_use blocks that will not run (a wrap-up turn's): the API refuses
   * a tool_use without its tool_result.
   */
  addAnswer(answer: ModelAnswer<Message>, withToolCalls: boolean): void {
    const content = answer.native.content.filter(
      (block) =>
        !(block.type === 'text' && block.text === '') && (withToolCalls || block.type !== 'tool_use'),
    )
    this.#answerText += answer.text
    if (content.length > 0)
      this.#messages.push({ role: 'assistant', content: content as ContentBlockParam[] })
  }

  addToolResults(outcomes: ReadonlyArray<ToolCallOutcome>): void {
    this.#messages.push({ role: 'user', content: outcomes.map(toolResult) })
    this.#answerText = ''
  }

  result(answer: ModelAnswer<Message>): ExecuteResult<ClaudeOutput> {
    const message = answer.native
    return {
      output: { message, messages: this.#messages, stopReason: message.stop_reason },
      text: this.#answerText,
    }
  }

  /** The conversation for a checkpoint: `{ messages, answerText }`, the messages as the API takes them. */
  snapshot(): JsonValue {
    return { messages: this.#messages as unknown as JsonValue[], answerText: this.#answerText }
  }

  /** Continues the conversation of a checkpoint written by `snapshot`. */
  restore(state: JsonValue): void {
    const saved = state as { messages?: unknown; answerText?: unknown } | null
    if (typeof saved !== 'object' || saved === null || !Array.isArray(saved.messages)) {
      throw new InvalidOptionsError(
        [
          {
            field: 'checkpoint.state.conversation',
            message: 'is not a ClaudeRunner conversation ({ messages }); the run cannot continue from it',
          },
        ],
        { subject: 'checkpoint' },
      )
    }
    this.#messages = [...(saved.messages as MessageParam[])]
    this.#answerText = typeof saved.answerText === 'string' ? saved.answerText : ''
  }
}

/**
 * The OpenTelemetry GenAI provider name of a client: `aws.bedrock` and `gcp.vertex_ai` for the
 * Bedrock and Vertex clients of Anthropic's SDKs, else `anthropic`.
 */
function providerOf(client: object): string {
  const name = client.constructor?.name
  if (name === 'AnthropicBedrock') return 'aws.bedrock'
  if (name === 'AnthropicVertex') return 'gcp.vertex_ai'
  return 'anthropic'
}
