import type { ExecuteResult, RunContext, RunnerPrompts, ToolCallInfo, Usage } from '@runner/core'
import {
  type LoopTurn,
  type ModelAnswer,
  type ToolCallOutcome,
  type ToolLoopDriver,
  toolOutputText,
} from '@runner/core/adapter'
import {
  type TinyAgent,
  type TinyMessage,
  type TinyModel,
  TinyModelError,
  type TinyRequest,
  type TinyResponse,
  type TinyToolSpec,
} from './tiny-framework.ts'

/**
 * One attempt's conversation in the tiny framework's shapes: the driver of core's `runToolLoop`.
 * It keeps the messages and makes the model call; the loop does everything else (turns, wrap-up,
 * hooks, usage, tool calls, retries of a failed call).
 */
export class TinyConversation implements ToolLoopDriver<TinyResponse, TinyRequest, TinyResponse> {
  readonly #agent: TinyAgent
  readonly #prompts: RunnerPrompts
  readonly #specs: TinyToolSpec[]
  readonly #messages: TinyMessage[]

  constructor(agent: TinyAgent, prompts: RunnerPrompts, specs: TinyToolSpec[], prompt: string) {
    this.#agent = agent
    this.#prompts = prompts
    this.#specs = specs
    this.#messages = [{ role: 'user', content: prompt }]
  }

  /** The loop adds the wrap-up prompt here, once, when the turn limit is reached. */
  addUserMessage(text: string): void {
    this.#messages.push({ role: 'user', content: text })
  }

  /** The request of one turn. `turn.tools` is empty on wrap-up turns: then offer none. */
  request(turn: LoopTurn): TinyRequest {
    const offered = new Set(turn.tools.map((tool) => tool.name))
    return {
      // The report_status prompt only while report_status is offered.
      system: [this.#agent.instructions, turn.wrapUp ? '' : this.#prompts.reportStatus]
        .filter(Boolean)
        .join('\n\n'),
      messages: [...this.#messages],
      tools: this.#specs.filter((spec) => offered.has(spec.name)),
    }
  }

  /**
   * One model call, with the attempt's signal: streamed when somebody reads the deltas. The loop
   * sends it through `context.modelRequest`, which repeats it in place when it fails with an error
   * `isRetryable` accepts, unless the reader already saw some of its text.
   */
  async send(request: TinyRequest, context: RunContext): Promise<ModelAnswer<TinyResponse>> {
    const response = await callModel(this.#agent.model, { ...request, signal: context.signal }, context)
    return {
      native: response, // what onModelCallEnd receives
      text: response.content,
      toolCalls: response.toolCalls.map(
        (call): ToolCallInfo => ({
          toolCallId: call.id,
          toolName: call.name,
          input: parseArguments(call.arguments),
        }),
      ),
      usage: usageOf(response),
    }
  }

  /** The model's answer joins the conversation (without the tool calls that will not run). */
  addAnswer(answer: ModelAnswer<TinyResponse>, withToolCalls: boolean): void {
    this.#messages.push({
      role: 'assistant',
      content: answer.text,
      toolCalls: withToolCalls ? answer.native.toolCalls : [],
    })
  }

  /** The tool results, as the framework's `tool` messages (text, in the calls' order). */
  addToolResults(outcomes: ReadonlyArray<ToolCallOutcome>): void {
    for (const outcome of outcomes) {
      this.#messages.push({
        role: 'tool',
        callId: outcome.toolCallId,
        content: toolOutputText(outcome.output),
      })
    }
  }

  /** The run's output: the model's last response, and its text. */
  result(answer: ModelAnswer<TinyResponse>): ExecuteResult<TinyResponse> {
    return { output: answer.native, text: answer.text }
  }
}

/** One model call: streamed when somebody reads the deltas, a plain call otherwise. */
async function callModel(model: TinyModel, request: TinyRequest, context: RunContext): Promise<TinyResponse> {
  if (!context.streaming) return model.complete(request)
  if (!model.stream) {
    // A model that cannot stream still gives the reader its text, in one piece.
    const response = await model.complete(request)
    if (response.content) context.emit({ type: 'text-delta', text: response.content })
    return response
  }
  let response: TinyResponse | undefined
  for await (const chunk of model.stream(request)) {
    // The run settles at once on abort; stop reading too, so no delta follows the end.
    context.signal.throwIfAborted()
    if (context.includeNative) context.emit({ type: 'native', event: chunk })
    if (chunk.type === 'text') context.emit({ type: 'text-delta', text: chunk.text })
    else response = chunk.response
  }
  if (!response) {
    throw new TinyModelError('The model stream ended before its response.', { code: 'stream_interrupted' })
  }
  return response
}

/** The framework's token names in the contract's. */
function usageOf(response: TinyResponse): Usage {
  const { promptTokens, completionTokens } = response.usage
  return {
    inputTokens: promptTokens,
    outputTokens: completionTokens,
    totalTokens: promptTokens + completionTokens,
  }
}

/**
 * The model's JSON arguments as a value. Invalid JSON is passed on as the raw string: validation
 * then fails and the model reads why (`expected object, received string`), instead of a crash.
 */
function parseArguments(text: string): unknown {
  if (text.trim() === '') return {} // some models send "" for a call without arguments
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
