import type { AnyToolDefinition, ExecuteResult, RunContext, Usage } from '@runner/core'
import { runToolCalls, type ToolCallOutcome } from '@runner/core/adapter'
import { parseToolArguments } from './convert-tools.js'

/** A tool call as the model wrote it: arguments still a JSON string. */
export interface ModelToolCall {
  id: string
  name: string
  arguments: string
}

/** One model call's answer, whatever the API. */
export interface ModelAnswer<TNative> {
  /** The API's own result (a `ChatCompletion`, a `Response`). */
  native: TNative
  /** The assistant's text ('' when it only called tools). */
  text: string
  toolCalls: ModelToolCall[]
  /** Token counts in the contract's names, when the server sent them. */
  usage: Usage | undefined
}

/**
 * One API's side of the tool loop: it keeps the conversation in the API's shape, builds each
 * turn's request and makes the call (streamed or not, events, errors).
 */
export interface ApiConversation<TNative, TRequest, TOutput> {
  /** Appends a user message (the wrap-up prompt). */
  addUserMessage(text: string): void
  /** The request body of the next call; `tools` empty means none are offered. */
  request(tools: ReadonlyArray<AnyToolDefinition>): TRequest
  /** Makes the call with `context.signal`, streaming when `context.streaming`. */
  call(request: TRequest, context: RunContext): Promise<ModelAnswer<TNative>>
  /** Appends the assistant's answer; `withToolCalls` false drops calls that will not run. */
  addAnswer(answer: ModelAnswer<TNative>, withToolCalls: boolean): void
  /** Appends the results of the turn's tool calls. */
  addToolResults(outcomes: ReadonlyArray<ToolCallOutcome>): void
  /** The run's output once `answer` is final. */
  output(answer: ModelAnswer<TNative>): TOutput
}

/**
 * The tool loop, the same for both APIs: per turn `startTurn` (wrap-up: the `wrapUp` prompt as a
 * user message and no tools), the model hooks around the call, usage, then every tool call of the
 * turn in parallel through core's `runToolCalls`, results back into the conversation, `endTurn`.
 * It stops at an answer without tool calls (or the wrap-up answer).
 */
export async function runToolLoop<TNative, TRequest, TOutput>(
  context: RunContext,
  conversation: ApiConversation<TNative, TRequest, TOutput>,
  tools: ReadonlyArray<AnyToolDefinition>,
): Promise<ExecuteResult<TOutput>> {
  let wrapUpAsked = false
  for (;;) {
    const { wrapUp } = await context.startTurn()
    if (wrapUp && !wrapUpAsked) {
      conversation.addUserMessage(context.prompts.wrapUp)
      wrapUpAsked = true
    }
    const request = conversation.request(wrapUp ? [] : tools)
    await context.hooks.modelCallStart({ request })
    const answer = await conversation.call(request, context)
    if (answer.usage) context.addUsage(answer.usage)
    // Wrap-up turns offer no tools: a call made anyway is not run.
    const toolCalls = wrapUp
      ? []
      : answer.toolCalls.map((call) => ({
          toolCallId: call.id,
          toolName: call.name,
          input: parseToolArguments(call.arguments),
        }))
    await context.hooks.modelCallEnd({
      response: answer.native,
      text: answer.text,
      toolCalls,
      ...(answer.usage ? { usage: answer.usage } : {}),
    })
    conversation.addAnswer(answer, toolCalls.length > 0)
    if (toolCalls.length === 0) {
      // Never a half answer as a success: an abort during the call wins.
      context.signal.throwIfAborted()
      return { output: conversation.output(answer), text: answer.text }
    }
    conversation.addToolResults(await runToolCalls(context, tools, toolCalls))
    context.endTurn()
  }
}
