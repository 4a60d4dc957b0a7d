import type { Usage } from '../activity/types.js'
import type { ToolCallInfo } from '../runner/hooks.js'
import type { ExecuteResult, RunContext } from '../runner/types.js'
import type { AnyToolDefinition } from './define-tool.js'
import { runToolCalls, type ToolCallOutcome } from './tool-call.js'

/** One model call's answer, in the loop's terms, whatever the API. */
export interface ModelAnswer<TNative> {
  /** The API's own response (a `ChatCompletion`, a `Message`...): given to `onModelCallEnd`. */
  native: TNative
  /** The assistant's text ('' when it only called tools). */
  text: string
  /** The tool calls it made, inputs parsed. */
  toolCalls: ToolCallInfo[]
  /** Token counts, when the server sent them. */
  usage?: Usage
}

/** What follows a model call: run its tool calls, return its answer, or call again as it is. */
export type NextStep = 'tools' | 'answer' | 'continue'

/** One turn as the loop asks a driver for its request. */
export interface LoopTurn {
  /** The turn number (1-based). */
  turn: number
  /** A wrap-up turn of `maxTurnsRecovery`: offer no tools. */
  wrapUp: boolean
  /** The tools to offer this turn (none on wrap-up turns). */
  tools: ReadonlyArray<AnyToolDefinition>
}

/**
 * One API's side of the tool loop: it keeps the conversation in the API's shape and makes the
 * calls. Everything else (turns, the turn limit and wrap-up, model hooks, usage, the tool-call
 * protocol, in-place retries of a failed request) is the loop's.
 */
export interface ToolLoopDriver<TNative, TRequest, TOutput> {
  /** Appends a user message (the wrap-up prompt, once, on the first wrap-up turn). */
  addUserMessage(text: string): void
  /** The request of the next call. */
  request(turn: LoopTurn): TRequest
  /**
   * Sends it: with the attempt's `context.signal`, streaming (deltas through `context.emit`) when
   * `context.streaming`, with the SDK's own retries off (the loop repeats a failed request).
   */
  send(request: TRequest, context: RunContext): Promise<ModelAnswer<TNative>>
  /**
   * What follows an answer. Default: its tool calls when it made some (never on a wrap-up turn),
   * else the answer. Throw to fail the attempt (a stop reason that means the answer is unusable).
   */
  next?(answer: ModelAnswer<TNative>, turn: LoopTurn): NextStep
  /** Appends the assistant's answer; `withToolCalls` false leaves out calls that will not run. */
  addAnswer(answer: ModelAnswer<TNative>, withToolCalls: boolean): void
  /** Appends the results of the turn's tool calls (in the calls' order). */
  addToolResults(outcomes: ReadonlyArray<ToolCallOutcome>): void
  /** The run's output and text, once `answer` is the final one. */
  result(answer: ModelAnswer<TNative>): ExecuteResult<TOutput>
}

/**
 * The tool loop, for runners whose SDK does not run one (`OpenAIRunner`, `ClaudeRunner`, your own
 * over a plain client). Per turn: `startTurn` (the turn limit; on wrap-up turns the `wrapUp` prompt
 * as a user message and no tools), `onModelCallStart`, the request through `context.modelRequest`
 * (repeated in place on a retryable failure), usage, `onModelCallEnd`, then what `next` says: every
 * tool call of the turn in parallel through the tool-call protocol (`runToolCalls`), results back
 * into the conversation; or the answer; or another call. `endTurn` closes each turn.
 */
export async function runToolLoop<TNative, TRequest, TOutput>(
  context: RunContext,
  driver: ToolLoopDriver<TNative, TRequest, TOutput>,
  tools: ReadonlyArray<AnyToolDefinition>,
): Promise<ExecuteResult<TOutput>> {
  let wrapUpAsked = false
  for (;;) {
    const { turn, wrapUp } = await context.startTurn()
    if (wrapUp && !wrapUpAsked) {
      driver.addUserMessage(context.prompts.wrapUp)
      wrapUpAsked = true
    }
    const loopTurn: LoopTurn = { turn, wrapUp, tools: wrapUp ? [] : tools }
    const request = driver.request(loopTurn)
    await context.hooks.modelCallStart({ request })
    const answer = await context.modelRequest(() => driver.send(request, context))
    if (answer.usage) context.addUsage(answer.usage)
    // Wrap-up turns offer no tools: a call made anyway is not run.
    const toolCalls = wrapUp ? [] : answer.toolCalls
    await context.hooks.modelCallEnd({
      response: answer.native,
      text: answer.text,
      toolCalls,
      ...(answer.usage ? { usage: answer.usage } : {}),
    })
    const next = driver.next?.(answer, loopTurn) ?? (toolCalls.length > 0 ? 'tools' : 'answer')
    const runsTools = next === 'tools' && toolCalls.length > 0
    driver.addAnswer(answer, runsTools)
    if (next === 'answer' || (next === 'tools' && !runsTools)) {
      // Never a half answer as a success: an abort during the call wins.
      context.signal.throwIfAborted()
      return driver.result(answer)
    }
    if (runsTools) driver.addToolResults(await runToolCalls(context, tools, toolCalls))
    context.endTurn()
  }
}
