import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager'
import {
  BaseChatModel,
  type BaseChatModelCallOptions,
  type BindToolsInput,
} from '@langchain/core/language_models/chat_models'
import { AIMessage, AIMessageChunk, type BaseMessage, type UsageMetadata } from '@langchain/core/messages'
import { ChatGenerationChunk, type ChatResult } from '@langchain/core/outputs'
import { convertToOpenAITool } from '@langchain/core/utils/function_calling'
import { type ScenarioPlayer, type ScenarioTurn, waitForTurn } from '@runner/testkit'

interface ScenarioCallOptions extends BaseChatModelCallOptions {
  /** Tools bound with `bindTools`, in the OpenAI shape. */
  tools?: Array<{ function: { name: string } }>
}

/** What the model was asked, as the player records it (JSON, so that the suite can search it). */
export interface ScenarioRequest {
  messages: Array<{ type: string; content: unknown; toolCalls?: unknown; toolCallId?: string }>
  tools: string[]
}

/**
 * A LangChain chat model that plays a test-kit scenario, one turn per call: the conformance
 * driver. It supports `bindTools` (as `createAgent` needs), answers with `tool_calls` and
 * `usage_metadata`, streams text (and reasoning blocks) in small chunks when LangChain streams,
 * and fails the way a provider would: an HTTP error with `status`, a call that hangs until its
 * signal aborts, an answer that cannot be parsed, a stream cut in the middle.
 *
 * Like a real HTTP client, it sends nothing when the call's signal is already aborted.
 */
export class ScenarioChatModel extends BaseChatModel<ScenarioCallOptions> {
  readonly #player: () => ScenarioPlayer
  /** Pieces a streamed text is cut into. */
  readonly chunkSize: number

  /** `player` may be a function: the player of each call (for a model shared by several agents). */
  constructor(player: ScenarioPlayer | (() => ScenarioPlayer), options: { chunkSize?: number } = {}) {
    super({})
    this.#player = typeof player === 'function' ? player : () => player
    this.chunkSize = options.chunkSize ?? 8
  }

  /** The player of the next call. */
  get player(): ScenarioPlayer {
    return this.#player()
  }

  _llmType(): string {
    return 'scenario'
  }

  override bindTools(tools: BindToolsInput[], kwargs?: Partial<ScenarioCallOptions>) {
    return this.withConfig({
      tools: tools.map((tool) => convertToOpenAITool(tool)),
      ...kwargs,
    } as Partial<ScenarioCallOptions>)
  }

  async _generate(messages: BaseMessage[], options: this['ParsedCallOptions']): Promise<ChatResult> {
    const turn = await this.#play(messages, options)
    if (turn.fault?.type === 'cut-stream') throw connectionCut()
    const message = answerOf(turn)
    return { generations: [{ text: turn.text, message }] }
  }

  override async *_streamResponseChunks(
    messages: BaseMessage[],
    options: this['ParsedCallOptions'],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    const turn = await this.#play(messages, options)
    const cut = turn.fault?.type === 'cut-stream'
    const emit = async (message: AIMessageChunk, text: string) => {
      const chunk = new ChatGenerationChunk({ text, message })
      await runManager?.handleLLMNewToken(text, undefined, undefined, undefined, undefined, { chunk })
      return chunk
    }
    // With reasoning, the content is indexed blocks (reasoning first, then text), as providers send it.
    if (turn.reasoning) {
      yield await emit(
        new AIMessageChunk({ content: [{ type: 'reasoning', reasoning: turn.reasoning, index: 0 }] }),
        '',
      )
    }
    const pieces = turn.text.match(new RegExp(`[\\s\\S]{1,${this.chunkSize}}`, 'g')) ?? []
    for (const piece of cut ? pieces.slice(0, Math.ceil(pieces.length / 2)) : pieces) {
      const content = turn.reasoning ? [{ type: 'text' as const, text: piece, index: 1 }] : piece
      yield await emit(new AIMessageChunk({ content }), piece)
    }
    if (cut) throw connectionCut()
    if (turn.toolCalls.length > 0) {
      yield await emit(
        new AIMessageChunk({
          content: '',
          tool_call_chunks: turn.toolCalls.map((call, index) => ({
            type: 'tool_call_chunk' as const,
            id: call.id,
            name: call.name,
            args: JSON.stringify(call.input),
            index,
          })),
        }),
        '',
      )
    }
    yield await emit(new AIMessageChunk({ content: '', usage_metadata: usageOf(turn) }), '')
  }

  async #play(messages: BaseMessage[], options: this['ParsedCallOptions']): Promise<ScenarioTurn> {
    const signal = options.signal ?? new AbortController().signal
    signal.throwIfAborted()
    const request: ScenarioRequest = {
      messages: messages.map((message) => ({
        type: message.getType(),
        content: message.content,
        ...(AIMessage.isInstance(message) && message.tool_calls?.length
          ? { toolCalls: message.tool_calls }
          : {}),
        ...('tool_call_id' in message ? { toolCallId: String(message.tool_call_id) } : {}),
      })),
      tools: (options.tools ?? []).map((tool) => tool.function.name),
    }
    const turn = this.player.next(request, { signal })
    await waitForTurn(turn, signal)
    const fault = turn.fault
    if (fault?.type === 'error') throw Object.assign(new Error(fault.message), { status: fault.status })
    if (fault?.type === 'malformed') {
      throw new SyntaxError('Unexpected end of JSON input: the model sent an answer that is not valid JSON')
    }
    return turn
  }
}

function usageOf(turn: ScenarioTurn): UsageMetadata {
  const { inputTokens, outputTokens, cachedInputTokens, reasoningTokens } = turn.usage
  return {
    input_tokens: inputTokens,
    output_tokens: outputTokens,
    total_tokens: inputTokens + outputTokens,
    ...(cachedInputTokens === undefined ? {} : { input_token_details: { cache_read: cachedInputTokens } }),
    ...(reasoningTokens === undefined ? {} : { output_token_details: { reasoning: reasoningTokens } }),
  }
}

function answerOf(turn: ScenarioTurn): AIMessage {
  return new AIMessage({
    content: turn.reasoning
      ? [
          { type: 'reasoning', reasoning: turn.reasoning },
          { type: 'text', text: turn.text },
        ]
      : turn.text,
    tool_calls: turn.toolCalls.map((call) => ({
      type: 'tool_call' as const,
      id: call.id,
      name: call.name,
      args: call.input as Record<string, unknown>,
    })),
    usage_metadata: usageOf(turn),
  })
}

function connectionCut(): Error {
  return Object.assign(new TypeError('terminated: the connection closed in the middle of the answer'), {
    code: 'UND_ERR_SOCKET',
  })
}
