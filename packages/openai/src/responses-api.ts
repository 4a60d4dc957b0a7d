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
  Response,
  ResponseCreateParamsNonStreaming,
  ResponseCreateParamsStreaming,
  ResponseInputItem,
} from 'openai/resources/responses/responses'
import type { ResolvedAgent } from './agent.js'
import { type OpenAIResponsesOutput, restoredMessages } from './conversation.js'
import { parseToolArguments, toResponsesTools } from './convert-tools.js'
import { modelCallError, unusableAnswer } from './map-error.js'
import { responsesUsage } from './map-usage.js'
import { responsesSettingsBody } from './model-settings.js'
import { readResponsesStream, responseFailed, withOutputText } from './responses-stream.js'

/** The body of one Responses call, before `stream` is decided. */
export type ResponsesRequest = Omit<ResponseCreateParamsNonStreaming, 'stream'>

/**
 * A conversation on the Responses API (`client.responses.create`), as a driver of core's tool
 * loop, stateless: every call sends the instructions and the whole conversation as input items
 * (the output items of earlier turns, `function_call_output` results), not a `previous_response_id`.
 * So its checkpoint (`snapshot`, the items as they were sent and received) is all a resumed run
 * needs: nothing of the conversation lives only on the server.
 */
export class ResponsesConversation
  implements ToolLoopDriver<Response, ResponsesRequest, OpenAIResponsesOutput>
{
  #items: ResponseInputItem[]
  readonly #client: OpenAI
  readonly #agent: ResolvedAgent
  readonly #instructions: string
  readonly #provider: string

  /**
   * `items`: the conversation to start from (the run's input); empty when the run resumes from a
   * checkpoint. `provider`: who serves the model (`openai`, `azure.ai.openai`).
   */
  constructor(
    client: OpenAI,
    agent: ResolvedAgent,
    instructions: string,
    items: ResponseInputItem[],
    provider: string,
  ) {
    this.#client = client
    this.#agent = agent
    this.#instructions = instructions
    this.#items = items
    this.#provider = provider
  }

  modelOf(request: ResponsesRequest): { model?: string; provider: string } {
    return typeof request.model === 'string'
      ? { model: request.model, provider: this.#provider }
      : { provider: this.#provider }
  }

  addUserMessage(text: string): void {
    this.#items.push({ role: 'user', content: text })
  }

  request({ tools }: LoopTurn): ResponsesRequest {
    const offersTools = tools.length > 0
    return {
      ...(responsesSettingsBody(this.#agent.modelSettings, offersTools) as Partial<ResponsesRequest>),
      model: this.#agent.model,
      ...(this.#instructions ? { instructions: this.#instructions } : {}),
      input: [...this.#items],
      ...(offersTools ? { tools: toResponsesTools(tools) } : {}),
    }
  }

  /** One request, on the runner's client whose own retries are off: the loop repeats a failed request, on the activity. */
  async send(request: ResponsesRequest, context: RunContext): Promise<ModelAnswer<Response>> {
    const { signal } = context
    const options = { signal }
    let response: Response
    try {
      if (context.streaming) {
        const body: ResponseCreateParamsStreaming = { ...request, stream: true }
        response = await readResponsesStream(await this.#client.responses.create(body, options), context)
      } else {
        response = await this.#client.responses.create({ ...request, stream: false }, options)
        response = checkedResponse(response)
      }
    } catch (error) {
      throw modelCallError(error, signal)
    }
    return answerOf(response, context.turn)
  }

  addAnswer(answer: ModelAnswer<Response>, withToolCalls: boolean): void {
    let call = 0
    for (const item of answer.native.output) {
      if (item.type === 'function_call') {
        // Calls of a wrap-up turn are not run: leave them out, or the next call would lack their results.
        if (!withToolCalls) continue
        // The id the results answer to (one was made up if the server sent none).
        const callId = answer.toolCalls[call++]?.toolCallId ?? item.call_id
        this.#items.push(item.call_id === callId ? item : { ...item, call_id: callId })
        continue
      }
      this.#items.push(item as ResponseInputItem)
    }
  }

  addToolResults(outcomes: ReadonlyArray<ToolCallOutcome>): void {
    for (const outcome of outcomes) {
      this.#items.push({
        type: 'function_call_output',
        call_id: outcome.toolCallId,
        output: toolOutputText(outcome.output),
      })
    }
  }

  result(answer: ModelAnswer<Response>): ExecuteResult<OpenAIResponsesOutput> {
    return {
      output: { api: 'responses', response: answer.native, messages: [...this.#items] },
      text: answer.text,
    }
  }

  /**
   * The conversation for a checkpoint: `{ api: 'responses', messages }`, the input items as the
   * API takes them (output items kept as the server sent them, reasoning included).
   */
  snapshot(): JsonValue {
    return { api: 'responses', messages: this.#items as unknown as JsonValue[] }
  }

  /** Continues the conversation of a checkpoint written by `snapshot`. */
  restore(state: JsonValue): void {
    this.#items = restoredMessages<ResponseInputItem>(state, 'responses')
  }
}

/** A non-streamed response the loop can use: completed or incomplete, never failed or pending. */
function checkedResponse(response: Response): Response {
  if (!response || !Array.isArray(response.output)) {
    throw unusableAnswer(
      'The server answered without an output list. Check the model name and that the server speaks the Responses API.',
    )
  }
  if (response.status === 'failed') throw responseFailed(response)
  if (response.status && response.status !== 'completed' && response.status !== 'incomplete') {
    throw unusableAnswer(
      `The response is "${response.status}", not completed (background responses are not supported).`,
    )
  }
  return response.output_text === undefined ? withOutputText(response) : response
}

/** The text, function calls and usage of a response. */
function answerOf(response: Response, turn: number): ModelAnswer<Response> {
  const toolCalls: ToolCallInfo[] = []
  let refusal = ''
  for (const [position, item] of response.output.entries()) {
    if (item.type === 'function_call') {
      toolCalls.push({
        toolCallId: item.call_id || `call_${turn}_${position}`,
        toolName: item.name,
        input: parseToolArguments(item.arguments),
      })
    } else if (item.type === 'message') {
      for (const part of item.content ?? []) if (part.type === 'refusal') refusal += part.refusal
    }
  }
  const usage = responsesUsage(response.usage)
  // The Responses API has no finish reason: why an incomplete response stopped, else its status.
  const finishReason = response.incomplete_details?.reason ?? response.status
  return {
    native: response,
    text: response.output_text || refusal,
    toolCalls,
    ...(usage ? { usage } : {}),
    ...(typeof response.model === 'string' && response.model ? { model: response.model } : {}),
    ...(finishReason ? { finishReasons: [finishReason] } : {}),
  }
}
